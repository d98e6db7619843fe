/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP service mode end to end (issue 18): `tagent setup` in http mode against the mock control plane
 * (download-cert from the mock CMS; create-host registers intel:https://127.0.0.1:<port> with the mock HVS),
 * `tagent startService` up (READY=1, GET /v2/version), then HVS's own HTTPS client (tests/mock/
 * hvs_http_client.c, the same code tagent-hvs runs) attests it with a token the mock AAS minted: TRUSTED.
 * Tokens the Go agent refuses (none, not a JWT, a bad signature, expired, an unknown kid, other permissions)
 * get its status, 401, with an empty body (the reason in WWW-Authenticate) on a connection kept open, and HVS
 * concludes "HTTP Status :401" after its one retry, which reaches the agent for the quote (a POST) too; a
 * cached token that expired is replaced by HVS's retry and the quote succeeds, as against the Go agent;
 * malformed quote requests get 400 with a reason; with the TPM gone a quote gets the Go agent's 500, fast.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "harness.h"
#include "hvs_http_client.h"
#include "hvs_verify.h"
#include "world.h"

#define TA_RULES        "[\"host_info:retrieve\",\"aik:retrieve\",\"quote:create\"]"
#define HVS_CLAIMS      "{\"permissions\":[{\"service\":\"TA\",\"rules\":" TA_RULES "}]}"
#define TPM_DOWN_MAX_MS 3000 /* a quote with the TPM gone is answered within this */

static const char *tagent_bin, *corpora;
static world_t *w;
static char good_token[700], expired_token[700];
static int64_t expired_minted_ms;

static struct hvs_http *client(const char *token_file)
{
    struct hvs_http *h = NULL;
    char why[400] = "";
    if (hvs_http_new(w->url, w->ca, token_file, 10000, &h, why, sizeof(why)) != 0)
        fail_msg("HVS's client for %s: %s", w->url, why);
    return h;
}

struct answer {
    long status;
    char *body;
    size_t len;
    int64_t ms;
};

static void request(struct hvs_http *h, const char *method, const char *path, const char *const *headers,
                    const char *body, struct answer *a)
{
    char why[400] = "";
    int64_t start = world_now_ms();
    *a = (struct answer){0};
    if (hvs_http_raw(h, method, path, headers, body, &a->status, &a->body, &a->len, why, sizeof(why)) != 0)
        fail_msg("%s %s: no answer: %s", method, path, why);
    a->ms = world_now_ms() - start;
}

/* A quote request as HVS's json.Encoder writes it, with a fresh nonce (into nonce when not NULL). */
static void quote_payload(uint8_t nonce[32], char *buf, size_t size)
{
    uint8_t n[32];
    assert_int_equal(RAND_bytes(n, sizeof(n)), 1);
    if (nonce)
        memcpy(nonce, n, sizeof(n));
    world_quote_payload(n, buf, size);
}

static int group_setup(void **state)
{
    (void)state;
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .http = true};
    if (world_start(&o, &w) != 0)
        return -1;
    /* minted now so that it has expired when its test runs */
    expired_minted_ms = world_now_ms();
    if (world_token_file(w, "expired.jwt", HVS_CLAIMS, 1, expired_token, sizeof(expired_token)) != 0 ||
        world_token_file(w, "hvs.jwt", HVS_CLAIMS, 3600, good_token, sizeof(good_token)) != 0)
        return -1;
    return world_agent_start(w, NULL, 40000) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    bool clean = w && world_log_clean(w);
    world_free(w);
    harness_cleanup_all();
    return clean ? 0 : -1;
}

/* create-host: the mock HVS has the host under CURRENT_IP with the https connection string, and the
 * HOST_UNIQUE flavor request for it; the service is up (READY=1 came). */
static void test_registered_and_ready(void **state)
{
    (void)state;
    char *hvs = NULL, want[200];
    assert_int_equal(mockcp_state(w->mock, &hvs), 0);
    cJSON *st = cJSON_Parse(hvs);
    bool host = false;
    const cJSON *h;
    snprintf(want, sizeof(want), "intel:https://127.0.0.1:%u", w->port);
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(st, "hosts"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "host_name"));
        const char *conn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "connection_string"));
        host |= name && conn && strcmp(name, "127.0.0.1") == 0 && strcmp(conn, want) == 0;
    }
    char flavor[300];
    snprintf(flavor, sizeof(flavor),
             "\"connection_string\":\"%s\",\"partial_flavor_types\":[\"HOST_UNIQUE\"]", want);
    bool flavor_sent = strstr(hvs, flavor) != NULL;
    if (!host || !flavor_sent)
        fail_msg("the mock HVS lacks the host 127.0.0.1 / %s or its flavor request:\n%s", want, hvs);
    cJSON_Delete(st);
    free(hvs);
    fprintf(stderr, "READY=1 after %lld ms\n", (long long)w->ready_ms);
}

/* tagent-hvs, HVS's client and checks as a program, given the connection string: its exit status and
 * report; each call one request answered 200. */
static cJSON *hvs_attest(int want_status)
{
    const char *bin = getenv("TAGENT_HVS");
    assert_non_null(bin);
    char cmd[3000];
    snprintf(cmd, sizeof(cmd), "'%s' --url 'intel:%s' --ca '%s' --token-file '%s'", bin, w->url, w->ca,
             good_token);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 1 << 20);
    assert_non_null(out);
    size_t n = fread(out, 1, (1 << 20) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cJSON *report = cJSON_Parse(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != want_status || !report) {
        fprintf(stderr, "%s\n", out);
        fail_msg("tagent-hvs over HTTPS: exit %#x, want %d (report above)", st, want_status);
    }
    free(out);
    const cJSON *c, *check;
    int calls = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(report, "calls"))
    {
        calls++;
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "status")), 200);
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "attempts")), 1);
    }
    assert_int_equal(calls, 3);
    /* the quote's own checks pass either way; only the replay tells the two runs apart */
    cJSON_ArrayForEach(check, cJSON_GetObjectItemCaseSensitive(report, "checks"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(check, "name"));
        if (strcmp(name, "eventlog-replay") != 0 &&
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(check, "ok")))
            fail_msg("check %s failed", name);
    }
    return report;
}

static int replay_count(const cJSON *report, const char *key)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(report, "checks"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name")), "eventlog-replay") == 0)
            return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, key));
    }
    fail_msg("no eventlog-replay check in the report");
    return -1;
}

/* The measure log as the agent serves it in a quote over HTTPS. */
static char *served_eventlog(void)
{
    struct hvs_http *h = client(good_token);
    struct hvs_ta_result r;
    char payload[512];
    quote_payload(NULL, payload, sizeof(payload));
    hvs_http_call(h, "quote", payload, &r);
    assert_int_equal(r.outcome, HVS_OK);
    cJSON *j = cJSON_Parse(r.json);
    char *eventlog = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "EventLog")));
    cJSON_Delete(j);
    hvs_ta_result_free(&r);
    hvs_http_free(h);
    return eventlog;
}

/* The corpus event log was recorded on another machine: the quote verifies but every replayed PCR
 * mismatches (untrusted, as over NATS). With swtpm's PCRs extended from the log (the agent stopped with
 * SIGTERM and started again): TRUSTED. */
static void test_hvs_attests_trusted(void **state)
{
    (void)state;
    cJSON *report = hvs_attest(1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "trusted")));
    int compared = replay_count(report, "compared");
    assert_true(compared > 0);
    assert_int_equal(replay_count(report, "mismatched"), compared);
    cJSON_Delete(report);

    char *eventlog = served_eventlog();
    assert_int_equal(world_agent_stop(w), 0);
    assert_int_equal(world_extend_pcrs_from_log(w, eventlog), 0);
    free(eventlog);
    assert_int_equal(world_agent_start(w, NULL, 40000), 0);

    report = hvs_attest(0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "trusted")));
    assert_true(replay_count(report, "compared") > 0);
    assert_int_equal(replay_count(report, "mismatched"), 0);
    cJSON_Delete(report);
}

/* The same calls in process: the AIK is the DER of aik.pem (OpenSSL reads the PEM), and the quote, decoded
 * as HVS decodes the XML, verifies against this request's nonce. */
static void test_aik_der_and_quote(void **state)
{
    (void)state;
    struct hvs_http *h = client(good_token);
    struct hvs_ta_result aik, quote, info;
    hvs_http_call(h, "host", NULL, &info);
    assert_int_equal(info.outcome, HVS_OK);
    hvs_http_call(h, "aik", NULL, &aik);
    assert_int_equal(aik.outcome, HVS_OK);
    char path[700];
    snprintf(path, sizeof(path), "%s/etc/trustagent/aik.pem", w->root);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    assert_true(der_len > 0);
    assert_int_equal(aik.body_len, (size_t)der_len);
    assert_memory_equal(aik.body, der, (size_t)der_len);
    OPENSSL_free(der);
    X509_free(x);

    uint8_t nonce[32];
    char payload[512];
    quote_payload(nonce, payload, sizeof(payload));
    hvs_http_call(h, "quote", payload, &quote);
    if (quote.outcome != HVS_OK)
        fail_msg("quote: %s (status %ld)", quote.error, quote.http_status);
    assert_non_null(quote.json);
    cJSON *resp = cJSON_Parse(quote.json);
    struct hvs_quote *q = calloc(1, sizeof(*q));
    assert_non_null(q);
    bool ok = hvs_verify_quote(resp, nonce, sizeof(nonce), q);
    for (size_t i = 0; i < q->nchecks; i++)
        if (!q->checks[i].ok)
            fprintf(stderr, "check %s: %s\n", q->checks[i].name, q->checks[i].msg);
    assert_true(ok);
    nonce[0] ^= 1; /* another request's nonce does not verify */
    assert_false(hvs_verify_quote(resp, nonce, sizeof(nonce), q));
    free(q);
    cJSON_Delete(resp);
    hvs_ta_result_free(&info);
    hvs_ta_result_free(&aik);
    hvs_ta_result_free(&quote);
    hvs_http_free(h);
}

/* One refused token: every route answers an empty 401 whose WWW-Authenticate gives a reason that does not
 * echo the token, and HVS's client concludes "HTTP Status :401" after fetching a token again and retrying
 * once; for the quote (a POST) that retry reaches the agent only after an empty, kept-alive 401
 * (hvs_http_client.c). */
static void expect_refused(const char *what, const char *token_file, const char *path)
{
    struct hvs_http *h = client(token_file);
    struct answer a;
    char payload[512];
    quote_payload(NULL, payload, sizeof(payload));
    static const char *const json[] = {"Content-Type: application/json", NULL};
    bool post = strcmp(path, "/tpm/quote") == 0;
    request(h, post ? "POST" : "GET", path, post ? json : NULL, post ? payload : NULL, &a);
    char *token = token_file ? harness_file_slurp(token_file) : strdup("");
    assert_non_null(token);
    token[strcspn(token, "\n")] = '\0';
    const char *reason = hvs_http_www_authenticate(h);
    if (a.status != 401 || a.len != 0 || !strstr(reason, "error_description=\"") ||
        (token[0] && strstr(reason, token)))
        fail_msg(
            "%s on %s: status %ld, body \"%s\", WWW-Authenticate \"%s\"; want an empty 401 with a reason "
            "(and not the token) in WWW-Authenticate",
            what, path, a.status, a.body, reason);
    fprintf(stderr, "%s on %s: 401, WWW-Authenticate: %s\n", what, path, reason);
    free(token);
    free(a.body);

    struct hvs_ta_result r;
    hvs_http_call(h, post ? "quote" : path + 1, post ? payload : NULL, &r);
    assert_int_equal(r.outcome, HVS_ERROR);
    assert_int_equal(r.attempts, 2);
    if (!strstr(r.error, "HTTP Status :401"))
        fail_msg("%s on %s: HVS concludes %s", what, path, r.error);
    hvs_ta_result_free(&r);
    hvs_http_free(h);
}

/* A token file holding text (0600 in the world's dir). */
static void token_text(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", w->dir, name);
    assert_int_equal(harness_file_write(path, text, 0600), 0);
}

/* HVS's cached token expired: its first quote request gets 401, it fetches a new token (here: reads the
 * token file again, now holding a fresh one) and sends the same POST again on the same connection; the agent
 * answers it. Against a 401 with a body, or a closed connection, Go's transport could not resend the body. */
static void test_expired_cached_token_recovers(void **state)
{
    (void)state;
    char path[700];
    snprintf(path, sizeof(path), "%s/cached.jwt", w->dir);
    char *expired = harness_file_slurp(expired_token), *fresh = harness_file_slurp(good_token);
    int64_t age = world_now_ms() - expired_minted_ms;
    if (age < 2500)
        usleep((useconds_t)(2500 - age) * 1000);
    assert_int_equal(harness_file_write(path, expired, 0600), 0);
    struct hvs_http *h = client(path);                          /* HVS holds the expired token */
    assert_int_equal(harness_file_write(path, fresh, 0600), 0); /* AAS would give it a fresh one */
    char payload[512];
    quote_payload(NULL, payload, sizeof(payload));
    struct hvs_ta_result r;
    hvs_http_call(h, "quote", payload, &r);
    if (r.outcome == HVS_ERROR)
        fail_msg("HVS's retry with a fresh token failed: %s", r.error);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(hvs_http_connections(h), 1); /* the retry went on the 401's connection */
    hvs_ta_result_free(&r);
    hvs_http_free(h);
    free(expired);
    free(fresh);
}

static void test_refused_tokens(void **state)
{
    (void)state;
    char *good = harness_file_slurp(good_token);
    good[strcspn(good, "\n")] = '\0';
    char path[700], text[4096];
    const char *dot1 = strchr(good, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);

    expect_refused("no token", NULL, "/host");
    token_text("garbage.jwt", "not-a-jwt", path, sizeof(path));
    expect_refused("not a JWT", path, "/tpm/quote");

    /* a signature byte changed: base64url of r || s, 128 characters, none of them padding */
    snprintf(text, sizeof(text), "%s", good);
    char *sig = text + (dot2 - good) + 1;
    size_t mid = strlen(sig) / 2;
    sig[mid] = sig[mid] == 'A' ? 'B' : 'A';
    token_text("badsig.jwt", text, path, sizeof(path));
    expect_refused("a bad signature", path, "/tpm/quote");

    /* a kid AAS never had (the header says so; the agent fetches AAS's certificates and still has none) */
    char *header = NULL;
    static const char kid_header[] =
        "{\"alg\":\"ES384\",\"kid\":\"00000000000000000000000000000000000000ff\","
        "\"typ\":\"JWT\"}";
    unsigned char b64[256];
    int n = EVP_EncodeBlock(b64, (const unsigned char *)kid_header, (int)strlen(kid_header));
    for (int i = 0; i < n; i++) /* base64url without padding */
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    while (n > 0 && b64[n - 1] == '=')
        b64[--n] = '\0';
    assert_true(asprintf(&header, "%s%s", (const char *)b64, dot1) > 0);
    token_text("kid.jwt", header, path, sizeof(path));
    free(header);
    expect_refused("an unknown kid", path, "/aik");

    /* expired: minted in the group's setup with 1 s of validity */
    int64_t age = world_now_ms() - expired_minted_ms;
    if (age < 2500)
        usleep((useconds_t)(2500 - age) * 1000);
    expect_refused("an expired token", expired_token, "/tpm/quote");

    /* other permissions: only host_info (quote and aik refused, host allowed); TA rules under another service
     */
    char only_host[700], other_service[700];
    assert_int_equal(
        world_token_file(w, "host-only.jwt",
                         "{\"permissions\":[{\"service\":\"TA\",\"rules\":[\"host_info:retrieve\"]}]}", 3600,
                         only_host, sizeof(only_host)),
        0);
    expect_refused("a token without quote:create", only_host, "/tpm/quote");
    expect_refused("a token without aik:retrieve", only_host, "/aik");
    struct hvs_http *h = client(only_host);
    struct hvs_ta_result r;
    hvs_http_call(h, "host", NULL, &r);
    assert_int_equal(r.outcome, HVS_OK);
    hvs_ta_result_free(&r);
    hvs_http_free(h);
    assert_int_equal(world_token_file(w, "hvs-service.jwt",
                                      "{\"permissions\":[{\"service\":\"HVS\",\"rules\":" TA_RULES "}]}",
                                      3600, other_service, sizeof(other_service)),
                     0);
    expect_refused("TA's rules under service HVS", other_service, "/tpm/quote");
    free(good);
}

/* Quote requests the Go agent refuses with 400: wrong or missing Content-Type, not JSON, an unknown field, a
 * nonce that is not base64; and a GET with a Content-Type. Each with a reason; the service keeps serving. */
static void test_malformed_bodies(void **state)
{
    (void)state;
    struct hvs_http *h = client(good_token);
    char payload[512], unknown[600];
    quote_payload(NULL, payload, sizeof(payload));
    snprintf(unknown, sizeof(unknown), "%.*s,\"extra\":1}", (int)strlen(payload) - 1, payload);
    static const char *const json[] = {"Content-Type: application/json", NULL};
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    static const char *const charset[] = {"Content-Type: application/json; charset=utf-8", NULL};
    static const char *const none[] = {"Content-Type:", NULL};
    const struct {
        const char *what, *method, *path;
        const char *const *headers;
        const char *body;
    } cases[] = {
        {"not JSON", "POST", "/tpm/quote", json, "{\"nonce\": "},
        {"an unknown field", "POST", "/tpm/quote", json, unknown},
        {"a nonce that is not base64", "POST", "/tpm/quote", json,
         "{\"nonce\":\"***\",\"pcrs\":[0],\"pcrbanks\":[],\"ima_measure_enabled\":false}"},
        {"pcrs not a list", "POST", "/tpm/quote", json, "{\"nonce\":\"AAAA\",\"pcrs\":\"0\"}"},
        {"Content-Type text/plain", "POST", "/tpm/quote", text, payload},
        {"Content-Type with a charset", "POST", "/tpm/quote", charset, payload},
        {"no Content-Type", "POST", "/tpm/quote", none, payload},
        {"a GET with a Content-Type", "GET", "/host", json, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct answer a;
        request(h, cases[i].method, cases[i].path, cases[i].headers, cases[i].body, &a);
        if (a.status != 400 || a.len == 0)
            fail_msg("%s: status %ld, body \"%s\"; want 400 with a reason", cases[i].what, a.status, a.body);
        fprintf(stderr, "%s: 400 \"%.*s\"\n", cases[i].what, (int)strcspn(a.body, "\n"), a.body);
        free(a.body);
    }
    struct hvs_ta_result r;
    hvs_http_call(h, "quote", payload, &r);
    assert_int_equal(r.outcome, HVS_OK);
    hvs_ta_result_free(&r);
    hvs_http_free(h);
}

/* swtpm stopped: a quote gets the Go agent's 500 ("There was an error collecting the tpm quote") within
 * TPM_DOWN_MAX_MS, HVS concludes "HTTP Status :500"; with swtpm back, quotes are served again. */
static void test_tpm_down(void **state)
{
    (void)state;
    struct hvs_http *h = client(good_token);
    char payload[512];
    quote_payload(NULL, payload, sizeof(payload));
    assert_int_equal(swtpm_stop(w->tpm), 0);
    struct hvs_ta_result r;
    hvs_http_call(h, "quote", payload, &r);
    fprintf(stderr, "TPM down: status %ld after %lld ms: %s\n", r.http_status, (long long)r.ms, r.body);
    if (r.http_status != 500 || r.ms > TPM_DOWN_MAX_MS || !r.body || !r.body[0])
        fail_msg("TPM down: status %ld after %lld ms (want 500 with a reason within %d ms): %s",
                 r.http_status, (long long)r.ms, TPM_DOWN_MAX_MS, r.body);
    assert_non_null(strstr(r.error, "HTTP Status :500"));
    hvs_ta_result_free(&r);

    assert_int_equal(swtpm_restart(w->tpm), 0);
    bool back = false;
    for (int64_t until = world_now_ms() + 20000; !back && world_now_ms() < until;) {
        quote_payload(NULL, payload, sizeof(payload));
        hvs_http_call(h, "quote", payload, &r);
        back = r.outcome == HVS_OK;
        hvs_ta_result_free(&r);
        if (!back)
            usleep(500 * 1000);
    }
    assert_true(back);
    hvs_http_free(h);
}

int main(int argc, char **argv)
{
    if (world_main_args(argc, argv, &tagent_bin, &corpora) < 0)
        return 2;
    if (hvs_http_global_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered_and_ready),
        cmocka_unit_test(test_hvs_attests_trusted),
        cmocka_unit_test(test_aik_der_and_quote),
        cmocka_unit_test(test_refused_tokens),
        cmocka_unit_test(test_expired_cached_token_recovers),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_tpm_down),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
