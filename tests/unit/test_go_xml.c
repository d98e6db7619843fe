/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mock HVS's XML decode of a TpmQuoteResponse (tests/mock/go_xml.c) against what Go's encoding/xml does
 * with the same bytes: HVS's own test vector (sample_tpm_quote.xml) decodes and then verifies with HVS's
 * checks (tests/mock/hvs_verify.c), and every malformed form fails with Go's error text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "go_xml.h"
#include "hvs_verify.h"

static cJSON *decode_ok(const char *xml)
{
    char err[512];
    cJSON *o = NULL;
    if (go_xml_quote_response(xml, strlen(xml), &o, err, sizeof(err)) != 0)
        fail_msg("refused %s: %s", xml, err);
    return o;
}

static void expect_error(const char *xml, const char *want)
{
    char err[512];
    cJSON *o = NULL;
    if (go_xml_quote_response(xml, strlen(xml), &o, err, sizeof(err)) == 0) {
        cJSON_Delete(o);
        fail_msg("accepted %s", xml);
    }
    if (strcmp(err, want) != 0)
        fail_msg("%s: error \"%s\", want \"%s\"", xml, err, want);
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "(not a string)";
}

static double num(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* HVS's test vector: decoded, then every check of HVS's passes with its nonce. */
static void test_sample_quote_verifies(void **state)
{
    (void)state;
    const char *corpora = getenv("TAGENT_CORPORA");
    char path[1024];
    assert_non_null(corpora);
    snprintf(path, sizeof(path), "%s/isecl/quote/sample_tpm_quote.xml", corpora);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char xml[65536];
    size_t n = fread(xml, 1, sizeof(xml) - 1, f);
    fclose(f);
    xml[n] = '\0';
    cJSON *o = decode_ok(xml);
    assert_int_equal((int)num(o, "TimeStamp"), 1653051234);
    assert_string_equal(str(o, "ErrorMessage"), "OK");
    const cJSON *banks = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "SelectedPcrBanks"), "SelectedPcrBanks");
    assert_int_equal(cJSON_GetArraySize(banks), 2);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "IsTagProvisioned")));

    size_t nonce_len = 0;
    uint8_t *nonce = hvs_b64_decode("EsJ0GRgwSvwn9u3ir9NhidLSKVX5oVn2UJKsH4heHuQ=", &nonce_len);
    struct hvs_quote *q = calloc(1, sizeof(*q));
    assert_non_null(q);
    bool ok = hvs_verify_quote(o, nonce, nonce_len, q);
    for (size_t i = 0; i < q->nchecks; i++)
        if (!q->checks[i].ok)
            print_message("%s: %s\n", q->checks[i].name, q->checks[i].msg);
    assert_true(ok);
    /* a nonce other than the one quoted fails the nonce check: the oracle can fail */
    nonce[0] ^= 1;
    assert_false(hvs_verify_quote(o, nonce, nonce_len, q));
    free(q);
    free(nonce);
    cJSON_Delete(o);
}

/* Field matching and values as encoding/xml sets them. */
static void test_fields(void **state)
{
    (void)state;
    cJSON *o =
        decode_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><!DOCTYPE x [<!ENTITY a \"b\">]>"
                  "<h:tpm_quote_response xmlns:h=\"urn:x\" a='1'>"
                  "<errorCode> 7\n</errorCode><unknown><aik>no</aik></unknown>"
                  "<aik>A<i>dropped</i>B&lt;&#65;&#x42;<![CDATA[<&]]>\r\nC</aik>"
                  "<quote/><eventLog>first</eventLog><eventLog>second</eventLog>"
                  "<selectedPcrBanks><selectedPcrBanks>SHA256</selectedPcrBanks><x/></selectedPcrBanks>"
                  "<selectedPcrBanks><selectedPcrBanks> SHA1 </selectedPcrBanks></selectedPcrBanks>"
                  "<isTagProvisioned>True</isTagProvisioned><timestamp></timestamp>"
                  "<AssetTag>case matters</AssetTag>"
                  "</h:tpm_quote_response> trailing <junk is not read");
    assert_int_equal((int)num(o, "ErrorCode"), 7);
    assert_string_equal(str(o, "Aik"), "AB<AB<&\nC");
    assert_string_equal(str(o, "Quote"), "");
    assert_string_equal(str(o, "EventLog"), "second");
    assert_string_equal(str(o, "AssetTag"), "");
    assert_int_equal((int)num(o, "TimeStamp"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "IsTagProvisioned")));
    const cJSON *banks = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "SelectedPcrBanks"), "SelectedPcrBanks");
    assert_int_equal(cJSON_GetArraySize(banks), 2);
    assert_string_equal(cJSON_GetArrayItem(banks, 1)->valuestring, " SHA1 ");
    /* no <tcbMeasurements>: a nil slice, null as json.Marshal writes it */
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "TcbMeasurements"), "TcbMeasurements")));
    cJSON_Delete(o);
}

/* Go's errors, word for word. */
static void test_errors(void **state)
{
    (void)state;
    expect_error("", "EOF");
    expect_error("   <!-- only a comment -->", "EOF");
    expect_error("tagent: quote failed", "EOF");
    expect_error("{\"Aik\":\"x\"}", "EOF");
    expect_error("<TpmQuoteResponse></TpmQuoteResponse>",
                 "expected element type <tpm_quote_response> but have <TpmQuoteResponse>");
    expect_error("<tpm_quote_response><aik>x</aik>", "XML syntax error on line 1: unexpected EOF");
    expect_error("<tpm_quote_response>\n<aik>x</quote></tpm_quote_response>",
                 "XML syntax error on line 2: element <aik> closed by </quote>");
    expect_error("<tpm_quote_response><aik>&nbsp;</aik></tpm_quote_response>",
                 "XML syntax error on line 1: invalid character entity &nbsp;");
    expect_error("<tpm_quote_response><aik>a & b</aik></tpm_quote_response>",
                 "XML syntax error on line 1: invalid character entity & (no semicolon)");
    expect_error("<tpm_quote_response><aik>&#0;</aik></tpm_quote_response>",
                 "XML syntax error on line 1: illegal character code U+0000");
    expect_error("<tpm_quote_response><aik>\x01</aik></tpm_quote_response>",
                 "XML syntax error on line 1: illegal character code U+0001");
    expect_error("<tpm_quote_response><aik>\xff</aik></tpm_quote_response>",
                 "XML syntax error on line 1: invalid UTF-8");
    expect_error("<tpm_quote_response a=1></tpm_quote_response>",
                 "XML syntax error on line 1: unquoted or missing attribute value in element");
    expect_error("<tpm_quote_response a></tpm_quote_response>",
                 "XML syntax error on line 1: attribute name without = in element");
    expect_error("<tpm_quote_response><aik>]]></aik></tpm_quote_response>",
                 "XML syntax error on line 1: unescaped ]]> not in CDATA section");
    expect_error("<!-- a -- b --><tpm_quote_response/>",
                 "XML syntax error on line 1: invalid sequence \"--\" not allowed in comments");
    expect_error("<?xml version=\"1.1\"?><tpm_quote_response/>",
                 "xml: unsupported version \"1.1\"; only version 1.0 is supported");
    expect_error("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><tpm_quote_response/>",
                 "xml: encoding \"ISO-8859-1\" declared but Decoder.CharsetReader is nil");
    expect_error("<tpm_quote_response><errorCode>zero</errorCode></tpm_quote_response>",
                 "strconv.ParseInt: parsing \"zero\": invalid syntax");
    expect_error("<tpm_quote_response><timestamp>99999999999999999999</timestamp></tpm_quote_response>",
                 "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
    expect_error("<tpm_quote_response><errorCode> </errorCode></tpm_quote_response>",
                 "strconv.ParseInt: parsing \"\": invalid syntax");
    expect_error("<tpm_quote_response><isTagProvisioned>yes</isTagProvisioned></tpm_quote_response>",
                 "strconv.ParseBool: parsing \"yes\": invalid syntax");
    expect_error("</tpm_quote_response>",
                 "XML syntax error on line 1: unexpected end element </tpm_quote_response>");
    expect_error("< tpm_quote_response/>", "XML syntax error on line 1: expected element name after <");
    /* an error inside an unknown (skipped) element is still an error */
    expect_error("<tpm_quote_response><x><y></x></tpm_quote_response>",
                 "XML syntax error on line 1: element <y> closed by </x>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_quote_verifies),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
