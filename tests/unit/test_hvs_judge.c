/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The mock HVS's judgement (tests/mock/hvs_ta_client.c, go_unmarshal.c) against what HVS's own Go code does
 * with the same bytes, and the agent's error replies (agent/service/service_error.c) through that judgement:
 * every error form of every subject must be an error on HVS's side, never a success or a panic.
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

#include "go_unmarshal.h"
#include "hvs_ta_client.h"
#include "service_error.h"

static enum hvs_outcome judge(const char *suffix, const char *body, const char *status, char *why,
                              size_t size)
{
    struct hvs_ta_result r = {0};
    hvs_ta_judge(suffix, body, body ? strlen(body) : 0, status, &r);
    if (why)
        snprintf(why, size, "%s", r.error);
    return r.outcome;
}

static void expect_outcome(const char *suffix, const char *body, const char *status, enum hvs_outcome want,
                           const char *want_error)
{
    char why[512];
    enum hvs_outcome got = judge(suffix, body, status, why, sizeof(why));
    if (got != want)
        fail_msg("%s <- %s (Status %s): %s (%s), want %s", suffix, body ? body : "(no reply)",
                 status ? status : "-", hvs_outcome_name(got), why, hvs_outcome_name(want));
    if (want_error && !strstr(why, want_error))
        fail_msg("%s <- %s: error \"%s\" lacks \"%s\"", suffix, body ? body : "(no reply)", why, want_error);
}

/* Go's syntax check: what encoding/json refuses although cJSON would take it, and what it takes. */
static void test_json_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",      " ",      "+1",       "01",      "1.",        ".5",    "[1,]",  "{\"a\":1,}",
        "{a:1}", "'x'",    "\"\x01\"", "\"\\x\"", "\"\\u12\"", "tru",   "nul",   "{} {}",
        "[",     "{\"a\"", "{\"a\":}", "1e",      "-",         "\"abc", "[1 2]", "NaN",
    };
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (go_unmarshal(bad[i], strlen(bad[i]), &go_type_measurement, err, sizeof(err)) == 0)
            fail_msg("accepted invalid JSON %s", bad[i]);
    assert_int_equal(go_unmarshal("", 0, &go_type_measurement, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unexpected end of JSON input");
    assert_int_equal(go_unmarshal("{} x", 4, &go_type_measurement, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "invalid character 'x' after top-level value");

    static const char *const good[] = {
        " null ",
        "{}",
        "{\"File\":[],\"x\":[1,-0.5e+3,true,false,null,{\"y\":\"\\ud83d\\ude00\\u00e9\\\"\"}]}",
        "{\"Label\":\"\\ud800\"}",
        "{\"label\":\"case folded\"}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (go_unmarshal(good[i], strlen(good[i]), &go_type_measurement, err, sizeof(err)) != 0)
            fail_msg("refused %s: %s", good[i], err);
}

/* Type fit as encoding/json checks it, with Go's messages. */
static void test_json_types(void **state)
{
    (void)state;
    char err[256];
    const char *s = "\"tagent: quote-request: failed: TPM gone\"";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_tpm_quote_response, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "json: cannot unmarshal string into Go value of type ta.TpmQuoteResponse");

    s = "{\"ErrorCode\":1.5}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_tpm_quote_response, err, sizeof(err)), -EINVAL);
    assert_string_equal(err,
                        "json: cannot unmarshal number 1.5 into Go struct field TpmQuoteResponse.ErrorCode "
                        "of type int");
    s = "{\"TimeStamp\":99999999999999999999}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_tpm_quote_response, err, sizeof(err)), -EINVAL);
    s = "{\"SelectedPcrBanks\":{\"SelectedPcrBanks\":\"SHA256\"}}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_tpm_quote_response, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cannot unmarshal string into Go struct field"));
    s = "{\"IsTagProvisioned\":\"true\"}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_tpm_quote_response, err, sizeof(err)), -EINVAL);

    /* ",string" fields of HostInfo: a string holding the literal, nothing else */
    s = "{\"no_of_sockets\":\"4\",\"tboot_installed\":\"false\",\"hardware_features\":{\"TPM\":{\"enabled\":"
        "\"false\",\"meta\":{\"tpm_version\":\"\"}},\"UEFI\":null}}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_host_info, err, sizeof(err)), 0);
    s = "{\"no_of_sockets\":4}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_host_info, err, sizeof(err)), -EINVAL);
    assert_string_equal(
        err, "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into int");
    s = "{\"hardware_features\":{\"TPM\":{\"enabled\":\"yes\"}}}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_host_info, err, sizeof(err)), -EINVAL);
    assert_string_equal(err,
                        "json: invalid use of ,string struct tag, trying to unmarshal \"yes\" into bool");
    s = "{\"installed_components\":[\"tagent\",1]}";
    assert_int_equal(go_unmarshal(s, strlen(s), &go_type_host_info, err, sizeof(err)), -EINVAL);
}

static void test_base64(void **state)
{
    (void)state;
    char err[64];
    assert_true(go_base64_std_valid("", 0, err, sizeof(err)));
    assert_true(go_base64_std_valid("AAAA", 4, err, sizeof(err)));
    assert_true(go_base64_std_valid("AA==", 4, err, sizeof(err)));
    assert_true(go_base64_std_valid("AAA=\r\n", 6, err, sizeof(err)));
    assert_false(go_base64_std_valid("AAA", 3, err, sizeof(err)));
    assert_false(go_base64_std_valid("A===", 4, err, sizeof(err)));
    assert_false(go_base64_std_valid("AA=A", 4, err, sizeof(err)));
    assert_false(go_base64_std_valid("AA-_", 4, err, sizeof(err)));
    assert_string_equal(err, "illegal base64 data at input byte 2");
}

/* What HVS made of the replies tagent sent before this judge existed: each wrong conclusion, as the issue
 * that introduced it reports. The judge must reproduce them, or it could not see the fix either. */
static void test_old_error_replies(void **state)
{
    (void)state;
    const char *quote_shape =
        "{\"XMLName\":{\"Space\":\"\",\"Local\":\"\"},\"TimeStamp\":0,\"ErrorCode\":2,"
        "\"ErrorMessage\":\"TPM gone\",\"Aik\":\"\",\"Quote\":\"\",\"EventLog\":\"\","
        "\"ImaLogs\":\"\",\"TcbMeasurements\":{\"XMLName\":{\"Space\":\"\",\"Local\":\"\"},"
        "\"TcbMeasurements\":[]},\"SelectedPcrBanks\":{\"XMLName\":{\"Space\":\"\","
        "\"Local\":\"\"},\"SelectedPcrBanks\":[]},\"IsTagProvisioned\":false,\"AssetTag\":\"\"}";
    const char *generic = "{\"ErrorCode\":2,\"ErrorMessage\":\"failed\"}";
    expect_outcome("quote-request", quote_shape, NULL, HVS_PANIC, "nil pointer");
    expect_outcome("host-info-request", generic, NULL, HVS_OK, NULL);
    expect_outcome("application-measurement-request", generic, NULL, HVS_OK, NULL);
    expect_outcome("aik-request", generic, NULL, HVS_OK, NULL);
    expect_outcome("get-binding-certificate", generic, NULL, HVS_OK, NULL);
    expect_outcome("deploy-asset-tag", generic, NULL, HVS_OK, NULL);
    expect_outcome("deploy-manifest", generic, NULL, HVS_OK, NULL);
}

/* nats.go's ErrNoResponders needs both: an empty body and Status exactly "503". */
static void test_no_responders_rule(void **state)
{
    (void)state;
    expect_outcome("deploy-manifest", "", "503", HVS_ERROR, "nats: no responders available for request");
    expect_outcome("deploy-manifest", "", NULL, HVS_OK, NULL);
    expect_outcome("deploy-manifest", "", "503 No Responders", HVS_OK, NULL);
    expect_outcome("deploy-manifest", "x", "503", HVS_OK, NULL);
    expect_outcome("aik-request", "", NULL, HVS_ERROR, "Empty AIK received");
    expect_outcome("get-binding-certificate", "null", NULL, HVS_OK, NULL);
    expect_outcome("version-request", NULL, NULL, HVS_ERROR, "nats: timeout");
    expect_outcome("no-such-request", "", "503", HVS_ERROR, "no responders");
}

/* The quote's steps after the decode: the tag, the Aik's base64 and its PEM block. */
static void test_quote_after_decode(void **state)
{
    (void)state;
    expect_outcome("quote-request", "null", NULL, HVS_PANIC, "nil pointer");
    expect_outcome("quote-request", "{\"Aik\":\"not base64!\"}", NULL, HVS_ERROR, "illegal base64");
    expect_outcome("quote-request", "{\"IsTagProvisioned\":true,\"Aik\":\"\"}", NULL, HVS_ERROR,
                   "tag was not");
    /* base64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") */
    expect_outcome(
        "quote-request",
        "{\"aik\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\"}",
        NULL, HVS_OK, NULL);
}

/* Every error the agent can send, for every subject it serves and an unknown one, is an error on HVS's side,
 * carries the code and message in its headers, and says what failed in one line. */
static void test_agent_error_replies(void **state)
{
    (void)state;
    static const char *const suffixes[] = {
        "quote-request",   "host-info-request",       "application-measurement-request",
        "aik-request",     "get-binding-certificate", "deploy-asset-tag",
        "deploy-manifest", "version-request",         "no-such-request",
    };
    char long_message[3000];
    memset(long_message, 'x', sizeof(long_message) - 1);
    long_message[sizeof(long_message) - 1] = '\0';
    long_message[10] = '\n';
    const char *messages[] = {"TPM is down <&>", long_message};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        for (int code = SERVICE_ERR_REQUEST; code <= SERVICE_ERR_TOO_LARGE; code++)
            for (size_t m = 0; m < 2; m++) {
                const struct service_handler *h = service_handler_find(suffixes[i]);
                if (i + 1 < sizeof(suffixes) / sizeof(suffixes[0]))
                    assert_non_null(h);
                struct service_reply reply;
                assert_int_equal(service_error_reply(h, suffixes[i], code, messages[m], &reply), 0);
                const char *status = NULL, *code_text = NULL, *text = NULL;
                for (size_t k = 0; k < reply.n_headers; k++) {
                    if (strcmp(reply.headers[k].key, "Status") == 0)
                        status = reply.headers[k].value;
                    else if (strcmp(reply.headers[k].key, "Tagent-Error-Code") == 0)
                        code_text = reply.headers[k].value;
                    else if (strcmp(reply.headers[k].key, "Tagent-Error") == 0)
                        text = reply.headers[k].value;
                    assert_null(strpbrk(reply.headers[k].value, "\r\n"));
                }
                assert_non_null(code_text);
                assert_int_equal(atoi(code_text), code);
                assert_non_null(text);
                assert_true(strlen(text) <= SERVICE_ERROR_MESSAGE_MAX);
                assert_non_null(strstr(text, suffixes[i]));
                struct hvs_ta_result r = {0};
                hvs_ta_judge(suffixes[i], reply.body, reply.len, status, &r);
                if (r.outcome != HVS_ERROR)
                    fail_msg("%s code %d: HVS concludes %s from body %.80s (Status %s)", suffixes[i], code,
                             hvs_outcome_name(r.outcome), reply.body, status ? status : "-");
                if (reply.len) /* a body is for people: no raw <>& (Go's escapes) and the message in it */
                    assert_null(strpbrk(reply.body, "<>&"));
                service_reply_done(&reply);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_syntax),
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_old_error_replies),
        cmocka_unit_test(test_no_responders_rule),
        cmocka_unit_test(test_quote_after_decode),
        cmocka_unit_test(test_agent_error_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
