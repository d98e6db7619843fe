/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` in HTTP mode (spec 4.1) against a provisioned world (tests/harness/world.h), with
 * libcurl (OpenSSL) as the client of the server's libmicrohttpd (GnuTLS): TLS 1.3 only, the routes' status
 * codes before a handler runs (404, 405, 401 without a token, 400 for a Content-Type the route refuses), the
 * version without a token, HSTS on every response; with tokens the mock AAS mints: the permission each route
 * needs, the bodies (AIK as DER that OpenSSL reads, host info JSON, quote XML), malformed bodies 400, the TPM
 * gone 500 at once and quotes back when it returns; `tagent status` naming the mode and the listener, and a
 * SIGTERM that ends the service cleanly. (HVS's own verdicts over HTTP are test_http_attest.c's.)
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
#include <curl/curl.h>
#include <openssl/x509.h>

#include "harness.h"
#include "world.h"

static const char *tagent_bin, *corpora;
static world_t *w;
static uint16_t port;
static char *token_all, *token_aik; /* "Authorization: Bearer ..." with every TA rule / aik:retrieve only */

#define QUOTE_BODY                                                                                           \
    "{\"nonce\":\"EsJ0GRgwSvwn9u3ir9NhidLSKVX5oVn2UJKsH4heHuQ=\",\"pcrs\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13," \
    "14,15,16,"                                                                                              \
    "17,18,19,20,21,22,23],\"pcrbanks\":[]}"

struct http_reply {
    long status;
    char body[1 << 16];
    size_t len;
    char headers[1 << 14];
    size_t headers_len;
};

static size_t take(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
    size_t room = cap - 1 - *len;
    size_t k = n < room ? n : room;
    memcpy(buf + *len, data, k);
    *len += k;
    buf[*len] = '\0';
    return n;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct http_reply *r = userdata;
    return take(r->body, sizeof(r->body), &r->len, data, size * n);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct http_reply *r = userdata;
    return take(r->headers, sizeof(r->headers), &r->headers_len, data, size * n);
}

/* One request to the service with the caller's extra headers (NULL: none); tls12_only offers TLS 1.2 and
 * nothing newer. The curl result (CURLE_OK when an HTTP answer came). */
static CURLcode request_with(const char *method, const char *path, struct curl_slist *headers,
                             const char *body, bool tls12_only, struct http_reply *r)
{
    char url[256], ca[700];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", port, path);
    snprintf(ca, sizeof(ca), "%s", w->mock->ca_file);
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (tls12_only)
        curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    return rc;
}

/* The same with up to two extra header lines (NULL: none). */
static CURLcode request(const char *method, const char *path, const char *h1, const char *h2,
                        const char *body, bool tls12_only, struct http_reply *r)
{
    struct curl_slist *headers = h1 ? curl_slist_append(NULL, h1) : NULL;
    if (h2)
        headers = curl_slist_append(headers, h2);
    CURLcode rc = request_with(method, path, headers, body, tls12_only, r);
    curl_slist_free_all(headers);
    return rc;
}

static bool has_header(const struct http_reply *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
}

/* POST /aas/v1/custom-claims-token to the mock AAS: an "Authorization: Bearer <JWT>" header line for TA with
 * these rules (a JSON array text). */
static char *token_mint(const char *rules_json)
{
    char url[128], body[512], *auth = NULL, *header = NULL;
    snprintf(url, sizeof(url), "%s/custom-claims-token", w->mock->aas_url);
    snprintf(body, sizeof(body),
             "{\"subject\":\"1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9\",\"validity_seconds\":600,"
             "\"claims\":{\"permissions\":[{\"service\":\"TA\",\"rules\":%s}]}}",
             rules_json);
    assert_true(asprintf(&auth, "Authorization: Bearer %s", w->mock->bearer) > 0);
    struct http_reply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: text/plain");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, w->mock->ca_file);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(auth);
    if (r->status != 200)
        fail_msg("the mock AAS minted no token: %ld: %s", r->status, r->body);
    assert_true(asprintf(&header, "Authorization: Bearer %s", r->body) > 0);
    free(r);
    return header;
}

/* config.yml switched to HTTP mode on a free port (the world's setup made it for outbound mode) */
static void http_mode_config(void)
{
    char cmd[2048];
    assert_int_equal(harness_port_free(&port), 0);
    snprintf(
        cmd, sizeof(cmd),
        "sed -i -e 's/^ta-service-mode: .*/ta-service-mode: http/' -e 's/^\\(  *port:\\) .*/\\1 %u/' "
        "'%s/etc/trustagent/config.yml' && grep -q '^ta-service-mode: http' '%s/etc/trustagent/config.yml' "
        "&& grep -q '  port: %u' '%s/etc/trustagent/config.yml' "
        "&& sed -i 's/^TA_SERVICE_MODE=.*/TA_SERVICE_MODE=http/' '%s/ta.env'",
        port, w->root, w->root, port, w->root, w->dir);
    assert_int_equal(system(cmd), 0);
}

/* HTTP mode's certificate and key, which the world's outbound-mode setup does not fetch */
static void download_cert(void)
{
    char env[600], log[600];
    snprintf(env, sizeof(env), "%s/ta.env", w->dir);
    snprintf(log, sizeof(log), "%s/download-cert.log", w->dir);
    const char *argv[] = {tagent_bin, "--root", w->root, "setup", "download-cert", "-f", env, NULL};
    if (harness_run(argv, log, 60000) != 0) {
        harness_log_tail(log, 40);
        fail_msg("tagent setup download-cert failed");
    }
}

/* Started once GET /v2/version answers (the listener is dual-stack: harness_wait_listening() reads only
 * /proc/net/tcp). */
static void agent_start(void)
{
    const char *argv[] = {tagent_bin, "--root", w->root, "startService", NULL};
    char tcti[300];
    snprintf(tcti, sizeof(tcti), "TAGENT_TCTI=%s", w->tpm->tcti);
    const char *env[] = {tcti, NULL};
    assert_int_equal(harness_spawn_env(argv, env, w->log, &w->agent), 0);
    struct http_reply r;
    for (int64_t until = world_now_ms() + 40000; world_now_ms() < until;) {
        if (request("GET", "/v2/version", NULL, NULL, NULL, false, &r) == CURLE_OK && r.status == 200)
            return;
        if (harness_proc_exited(w->agent) == 1) {
            w->agent = 0;
            harness_log_tail(w->log, 60);
            fail_msg("tagent startService (HTTP mode) exited");
        }
        usleep(100 * 1000);
    }
    harness_log_tail(w->log, 60);
    fail_msg("tagent startService (HTTP mode) does not answer on port %u", port);
}

static int group_setup(void **state)
{
    (void)state;
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-http"};
    assert_int_equal(world_start(&o, &w), 0);
    http_mode_config();
    download_cert();
    agent_start();
    token_all = token_mint("[\"*:*\"]");
    token_aik = token_mint("[\"aik:retrieve\"]");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(token_all);
    free(token_aik);
    world_free(w);
    return 0;
}

static void test_version_without_token(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(request("GET", "/v2/version", NULL, NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain"));
    assert_true(has_header(&r, "Strict-Transport-Security: max-age=63072000; includeSubDomains"));
    assert_non_null(strstr(r.body, "Version"));
}

static void test_tls12_refused(void **state)
{
    (void)state;
    struct http_reply r;
    CURLcode rc = request("GET", "/v2/version", NULL, NULL, NULL, true, &r);
    if (rc == CURLE_OK)
        fail_msg("a TLS 1.2 client was served (status %ld): HTTP mode must take TLS 1.3 only", r.status);
}

static void test_token_required(void **state)
{
    (void)state;
    static const char *const gets[] = {"/v2/aik", "/v2/host", "/v2/binding-key-certificate"};
    struct http_reply r;
    for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
        assert_int_equal(request("GET", gets[i], NULL, NULL, NULL, false, &r), CURLE_OK);
        if (r.status != 401)
            fail_msg("GET %s without a token: %ld (expected 401): %s", gets[i], r.status, r.body);
        /* empty, as the Go agent answers a refused token (HVS's retry needs it); the reason in the header */
        assert_int_equal(r.len, 0);
        assert_true(has_header(&r, "WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\""));
        assert_true(has_header(&r, "Strict-Transport-Security:"));
    }
    assert_int_equal(request("POST", "/v2/tpm/quote", "Content-Type: application/json", NULL,
                             "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[]}", false, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 401);
    /* a token that is no JWT: refused, and the token itself never reaches the log */
    assert_int_equal(
        request("GET", "/v2/aik", "Authorization: Bearer not-a-jwt-5ecr3t", NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 401);
    assert_null(strstr(r.body, "5ecr3t"));
    assert_null(strstr(r.headers, "5ecr3t"));
    assert_false(world_log_has(w, "5ecr3t"));
}

static void test_routing(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(request("GET", "/v2/nothing-here", NULL, NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    /* exact paths, as the Go agent's router (SkipClean): no trailing slash, no dot segments */
    assert_int_equal(request("GET", "/v2/version/", NULL, NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(request("POST", "/v2/version", NULL, NULL, "x", false, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET"));
    assert_int_equal(request("GET", "/v2/tpm/quote", NULL, NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    /* headers past config.yml's max-header-bytes (the default 1 MiB): 431, the service unharmed. Sent raw
     * through `openssl s_client` (libcurl refuses to send that much) */
    char path[700], cmd[1400], status_line[256] = "";
    snprintf(path, sizeof(path), "%s/big-headers.http", w->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "GET /v2/version HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (int i = 0; i < 20; i++) {
        fprintf(f, "X-Big-%02d: ", i);
        for (int k = 0; k < 64 * 1024; k++)
            fputc('a', f);
        fputs("\r\n", f);
    }
    fputs("Connection: close\r\n\r\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "openssl s_client -connect 127.0.0.1:%u -tls1_3 -quiet < '%s' 2>/dev/null",
             port, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(status_line, sizeof(status_line), p))
        status_line[0] = '\0';
    while (fgetc(p) != EOF)
        ;
    pclose(p);
    fprintf(stderr, "1.3 MB of headers: %s", status_line);
    assert_non_null(strstr(status_line, " 431 "));
    assert_int_equal(request("GET", "/v2/version", NULL, NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
}

static void test_with_token(void **state)
{
    (void)state;
    struct http_reply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    /* the AIK as DER, which OpenSSL reads as a certificate */
    assert_int_equal(request("GET", "/v2/aik", token_aik, NULL, NULL, false, r), CURLE_OK);
    assert_int_equal(r->status, 200);
    const unsigned char *p = (const unsigned char *)r->body;
    X509 *aik = d2i_X509(NULL, &p, (long)r->len);
    assert_non_null(aik);
    assert_ptr_equal(p, (const unsigned char *)r->body + r->len);
    X509_free(aik);
    /* a token without the route's permission: 401, as the Go agent's RequiresPermission */
    assert_int_equal(
        request("POST", "/v2/tpm/quote", token_aik, "Content-Type: application/json", QUOTE_BODY, false, r),
        CURLE_OK);
    assert_int_equal(r->status, 401);

    assert_int_equal(request("GET", "/v2/host", token_all, NULL, NULL, false, r), CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_true(has_header(r, "Content-Type: application/json"));
    assert_non_null(strstr(r->body, "\"hardware_uuid\""));
    /* no workload agent here: the Go agent answers 500 */
    assert_int_equal(request("GET", "/v2/binding-key-certificate", token_all, NULL, NULL, false, r),
                     CURLE_OK);
    assert_int_equal(r->status, 500);
    assert_non_null(strstr(r->body, "bindingkey.pem"));
    free(r);
}

/* POST /v2/tpm/quote with every TA permission. */
static CURLcode quote(const char *content_type, const char *body, struct http_reply *r)
{
    return request("POST", "/v2/tpm/quote", token_all, content_type, body, false, r);
}

static void test_quote(void **state)
{
    (void)state;
    struct http_reply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(quote("Content-Type: application/json", QUOTE_BODY, r), CURLE_OK);
    if (r->status != 200)
        fail_msg("quote: %ld: %s", r->status, r->body);
    assert_true(has_header(r, "Content-Type: application/xml"));
    static const char head[] = "  <tpm_quote_response>\n      <timestamp>";
    assert_true(strncmp(r->body, head, strlen(head)) == 0);
    assert_non_null(strstr(r->body, "<selectedPcrBanks>SHA384</selectedPcrBanks>"));
    /* malformed bodies and Content-Types: 400 with a reason */
    static const struct {
        const char *content_type, *body;
    } bad[] = {
        {"Content-Type: application/json", "{"},
        {"Content-Type: application/json", "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[],\"x\":1}"},
        {"Content-Type: application/json", "{\"nonce\":\"\",\"pcrs\":[0],\"pcrbanks\":[]}"},
        {"Content-Type: application/json", "{\"nonce\":\"AAAA\",\"pcrs\":[99],\"pcrbanks\":[]}"},
        {"Content-Type: application/json; charset=utf-8", QUOTE_BODY},
        {"Content-Type: text/plain", QUOTE_BODY},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(quote(bad[i].content_type, bad[i].body, r), CURLE_OK);
        if (r->status != 400 || r->len < 2)
            fail_msg("quote %s %s: %ld (expected 400 with a reason): %s", bad[i].content_type, bad[i].body,
                     r->status, r->body);
    }
    free(r);
}

/* The TPM gone: the quote fails at once with the Go agent's 500 and a reason; back when the TPM is. */
static void test_tpm_down(void **state)
{
    (void)state;
    struct http_reply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(swtpm_stop(w->tpm), 0);
    int64_t start = world_now_ms();
    assert_int_equal(quote("Content-Type: application/json", QUOTE_BODY, r), CURLE_OK);
    int64_t ms = world_now_ms() - start;
    fprintf(stderr, "quote with the TPM down: %ld in %lld ms: %s", r->status, (long long)ms, r->body);
    assert_int_equal(r->status, 500);
    assert_true(r->len > 1);
    assert_true(ms < 3000);
    assert_int_equal(swtpm_restart(w->tpm), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(quote("Content-Type: application/json", QUOTE_BODY, r), CURLE_OK);
        if (r->status == 200)
            break;
        usleep(200 * 1000);
    }
    assert_int_equal(r->status, 200);
    free(r);
}

/* the quote of test_tpm_hung, on a thread of its own */
struct hung_quote {
    struct http_reply *r;
    CURLcode rc;
    int64_t ms;
};

static void *hung_quote_run(void *arg)
{
    struct hung_quote *q = arg;
    int64_t start = world_now_ms();
    q->rc = quote("Content-Type: application/json", QUOTE_BODY, q->r);
    q->ms = world_now_ms() - start;
    return NULL;
}

/* A TPM that hangs (swtpm stopped with SIGSTOP): the quote is answered at the deadline (8 s, NATS mode's)
 * with 503 and a reason, not left to HVS's timeout; a request that needs no TPM is answered meanwhile; once
 * the TPM resumes, quotes work again. */
static void test_tpm_hung(void **state)
{
    (void)state;
    struct http_reply *r = calloc(1, sizeof(*r)), *v = calloc(1, sizeof(*v));
    assert_non_null(r);
    assert_non_null(v);
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    struct hung_quote q = {.r = r};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hung_quote_run, &q), 0);
    usleep(500 * 1000);
    int64_t start = world_now_ms();
    assert_int_equal(request("GET", "/v2/version", NULL, NULL, NULL, false, v), CURLE_OK);
    int64_t version_ms = world_now_ms() - start;
    pthread_join(t, NULL);
    fprintf(stderr, "TPM hung: version in %lld ms meanwhile; quote %ld in %lld ms: %s", (long long)version_ms,
            r->status, (long long)q.ms, r->body);
    assert_int_equal(q.rc, CURLE_OK);
    assert_int_equal(v->status, 200);
    assert_true(version_ms < 2000);
    assert_int_equal(r->status, 503);
    assert_non_null(strstr(r->body, "no answer from the TPM"));
    assert_true(q.ms >= 7500 && q.ms < 12000);
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(quote("Content-Type: application/json", QUOTE_BODY, r), CURLE_OK);
        if (r->status == 200)
            break;
        usleep(200 * 1000);
    }
    assert_int_equal(r->status, 200);
    free(r);
    free(v);
}

static void test_status_shows_listener(void **state)
{
    (void)state;
    char cmd[1200], out[8192] = "";
    snprintf(cmd, sizeof(cmd), "'%s' --root '%s' status", tagent_bin, w->root);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    fprintf(stderr, "%s", out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char want[64];
    snprintf(want, sizeof(want), "Mode:        http, listening on [::]:%u", port);
    if (!strstr(out, want)) {
        snprintf(want, sizeof(want), "Mode:        http, listening on 0.0.0.0:%u", port);
        assert_non_null(strstr(out, want));
    }
}

static void *quote_thread(void *arg)
{
    struct http_reply *r = arg;
    if (quote("Content-Type: application/json", QUOTE_BODY, r) != CURLE_OK)
        r->status = -1;
    return NULL;
}

/* SIGTERM while a quote waits for the TPM (swtpm stopped): no new connection is taken, the quote in flight
 * is answered once the TPM is back, then the service exits 0 with a clean log. */
static void test_sigterm_drains(void **state)
{
    (void)state;
    struct http_reply *in_flight = calloc(1, sizeof(*in_flight)), *late = calloc(1, sizeof(*late));
    assert_non_null(in_flight);
    assert_non_null(late);
    pthread_t t;
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    assert_int_equal(pthread_create(&t, NULL, quote_thread, in_flight), 0);
    usleep(500 * 1000);
    assert_int_equal(harness_proc_signal(w->agent, SIGTERM), 0);
    usleep(500 * 1000);
    CURLcode rc = request("GET", "/v2/version", NULL, NULL, NULL, false, late);
    if (rc == CURLE_OK)
        fail_msg("a new request was served after SIGTERM: %ld", late->status);
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    pthread_join(t, NULL);
    if (in_flight->status != 200)
        fail_msg("the quote in flight at SIGTERM: %ld: %s", in_flight->status, in_flight->body);
    free(in_flight);
    free(late);
    assert_int_equal(world_agent_stop(w), 0);
    assert_true(world_log_clean(w));
    assert_true(world_log_has(w, "serving HTTPS on"));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_without_token),
        cmocka_unit_test(test_tls12_refused),
        cmocka_unit_test(test_token_required),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_with_token),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_tpm_down),
        cmocka_unit_test(test_tpm_hung),
        cmocka_unit_test(test_status_shows_listener),
        cmocka_unit_test(test_sigterm_drains),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    curl_global_cleanup();
    return rc;
}
