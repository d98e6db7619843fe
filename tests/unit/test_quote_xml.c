/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's TpmQuoteResponse XML (quote_xml.c) against HVS's own sample (corpora isecl/quote/
 * sample_tpm_quote.xml, written by Go's indenting printer with no prefix and before imaLogs existed): the
 * sample's values rendered by quote_reply_xml() must be the sample's bytes with the v5 controller's prefix
 * ("  " before every line) and the empty <imaLogs></imaLogs> after eventLog. Then the cases the sample lacks:
 * TCB measurements (nested list), an asset tag, and text that Go escapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "measurement_xml.h"
#include "quote.h"
#include "quote_reply.h"

static char *read_corpus(const char *rel, size_t *ret_len)
{
    const char *corpora = getenv("TAGENT_CORPORA");
    assert_non_null(corpora);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", corpora, rel);
    char *text = NULL;
    assert_int_equal(config_read_file(path, 1u << 24, &text, ret_len), 0);
    return text;
}

static const char *child_text(const struct xml_elem *root, const char *name)
{
    for (size_t i = 0; i < root->n_children; i++)
        if (strcmp(root->children[i].name, name) == 0)
            return root->children[i].text;
    fail_msg("the sample has no <%s>", name);
    return NULL;
}

/* The sample as the v5 controller would write it: "  " before each line, imaLogs added, no final newline. */
static char *expected_from_sample(const char *sample)
{
    size_t n = strlen(sample);
    char *out = calloc(1, n * 2 + 64), *o = out;
    assert_non_null(out);
    const char *line = sample;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len == 0)
            break;
        o += sprintf(o, "%s  %.*s", o == out ? "" : "\n", (int)len, line);
        if (strncmp(line, "    <eventLog>", 14) == 0)
            o += sprintf(o, "\n      <imaLogs></imaLogs>");
        line = end ? end + 1 : line + len;
    }
    return out;
}

static void test_hvs_sample(void **state)
{
    (void)state;
    size_t len = 0;
    char *sample = read_corpus("isecl/quote/sample_tpm_quote.xml", &len);
    struct xml_elem root = {0};
    assert_int_equal(xml_parse(sample, len, &root, NULL), 0);
    const uint16_t banks[] = {TCG_ALG_SHA256, TCG_ALG_SHA1};
    struct quote_reply q = {.timestamp = 1653051234,
                            .aik = child_text(&root, "aik"),
                            .quote = child_text(&root, "quote"),
                            .event_log = child_text(&root, "eventLog"),
                            .banks = banks,
                            .n_banks = 2};
    char *xml = NULL, *want = expected_from_sample(sample);
    size_t xml_len = 0;
    assert_int_equal(quote_reply_xml(&q, &xml, &xml_len), 0);
    assert_int_equal(xml_len, strlen(xml));
    assert_string_equal(xml, want);
    free(xml);
    free(want);
    xml_elem_free(&root);
    free(sample);
}

static void test_tcb_tag_escapes(void **state)
{
    (void)state;
    char *tcb[] = {"<Measurement a=\"1\">\n'x'&\t\r</Measurement>", "b", NULL};
    const uint16_t banks[] = {TCG_ALG_SHA384};
    struct quote_reply q = {.timestamp = 7,
                            .aik = "A",
                            .quote = "Q",
                            .event_log = "[]",
                            .ima_logs = "{\"k\":1}",
                            .tcb = tcb,
                            .banks = banks,
                            .n_banks = 1,
                            .tag_present = true,
                            .asset_tag = "dGFn"};
    char *xml = NULL;
    size_t xml_len = 0;
    assert_int_equal(quote_reply_xml(&q, &xml, &xml_len), 0);
    assert_string_equal(xml,
                        "  <tpm_quote_response>\n"
                        "      <timestamp>7</timestamp>\n"
                        "      <errorCode>0</errorCode>\n"
                        "      <errorMessage>OK</errorMessage>\n"
                        "      <aik>A</aik>\n"
                        "      <quote>Q</quote>\n"
                        "      <eventLog>[]</eventLog>\n"
                        "      <imaLogs>{&#34;k&#34;:1}</imaLogs>\n"
                        "      <tcbMeasurements>\n"
                        "          <tcbMeasurements>&lt;Measurement a=&#34;1&#34;&gt;&#xA;&#39;x&#39;&amp;"
                        "&#x9;&#xD;&lt;/Measurement&gt;</tcbMeasurements>\n"
                        "          <tcbMeasurements>b</tcbMeasurements>\n"
                        "      </tcbMeasurements>\n"
                        "      <selectedPcrBanks>\n"
                        "          <selectedPcrBanks>SHA384</selectedPcrBanks>\n"
                        "      </selectedPcrBanks>\n"
                        "      <isTagProvisioned>true</isTagProvisioned>\n"
                        "      <assetTag>dGFn</assetTag>\n"
                        "  </tpm_quote_response>");
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvs_sample),
        cmocka_unit_test(test_tcb_tag_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
