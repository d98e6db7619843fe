/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` in HTTP mode (spec 4.1) against a provisioned world (tests/harness/world.h), with
 * libcurl (OpenSSL) as the client of the server's libmicrohttpd (GnuTLS): TLS 1.3 only, the routes' status
 * codes before a handler runs (404, 405, 401 without a token, 400 for a Content-Type the route refuses), the
 * version without a token, HSTS on every response, `tagent status` naming the mode and the listener, and a
 * SIGTERM that ends the service cleanly. (The attestation itself over HTTP, with tokens, is
 * test_http_attest.c's.)
 */
#include <errno.h>
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

#include "harness.h"
#include "world.h"

static const char *tagent_bin, *corpora;
static world_t *w;
static uint16_t port;

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

/* One request to the service; extra_header may be NULL; tls12_only offers TLS 1.2 and nothing newer.
 * The curl result (CURLE_OK when an HTTP answer came). */
static CURLcode request(const char *method, const char *path, const char *extra_header, const char *body,
                        bool tls12_only, struct http_reply *r)
{
    char url[256], ca[700];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", port, path);
    snprintf(ca, sizeof(ca), "%s", w->mock->ca_file);
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *headers = extra_header ? curl_slist_append(NULL, extra_header) : NULL;
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
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return rc;
}

static bool has_header(const struct http_reply *r, const char *line)
{
    return strcasestr(r->headers, line) != NULL;
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
        if (request("GET", "/v2/version", NULL, NULL, false, &r) == CURLE_OK && r.status == 200)
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
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(w);
    return 0;
}

static void test_version_without_token(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(request("GET", "/v2/version", NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain"));
    assert_true(has_header(&r, "Strict-Transport-Security: max-age=63072000; includeSubDomains"));
    assert_non_null(strstr(r.body, "Version"));
}

static void test_tls12_refused(void **state)
{
    (void)state;
    struct http_reply r;
    CURLcode rc = request("GET", "/v2/version", NULL, NULL, true, &r);
    if (rc == CURLE_OK)
        fail_msg("a TLS 1.2 client was served (status %ld): HTTP mode must take TLS 1.3 only", r.status);
}

static void test_token_required(void **state)
{
    (void)state;
    static const char *const gets[] = {"/v2/aik", "/v2/host", "/v2/binding-key-certificate"};
    struct http_reply r;
    for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
        assert_int_equal(request("GET", gets[i], NULL, NULL, false, &r), CURLE_OK);
        if (r.status != 401)
            fail_msg("GET %s without a token: %ld (expected 401): %s", gets[i], r.status, r.body);
        assert_true(r.len > 1); /* a body that says why */
        assert_true(has_header(&r, "Strict-Transport-Security:"));
    }
    assert_int_equal(request("POST", "/v2/tpm/quote", "Content-Type: application/json",
                             "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[]}", false, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 401);
    /* a token that is no JWT: refused, and the token itself never reaches the log */
    assert_int_equal(request("GET", "/v2/aik", "Authorization: Bearer not-a-jwt-5ecr3t", NULL, false, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 401);
    assert_null(strstr(r.body, "5ecr3t"));
    assert_false(world_log_has(w, "5ecr3t"));
}

static void test_routing(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(request("GET", "/v2/nothing-here", NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    /* exact paths, as the Go agent's router (SkipClean): no trailing slash, no dot segments */
    assert_int_equal(request("GET", "/v2/version/", NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(request("POST", "/v2/version", NULL, "x", false, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET"));
    assert_int_equal(request("GET", "/v2/tpm/quote", NULL, NULL, false, &r), CURLE_OK);
    assert_int_equal(r.status, 405);
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

static void test_sigterm_stops(void **state)
{
    (void)state;
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
        cmocka_unit_test(test_version_without_token), cmocka_unit_test(test_tls12_refused),
        cmocka_unit_test(test_token_required),        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_status_shows_listener), cmocka_unit_test(test_sigterm_stops),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    curl_global_cleanup();
    return rc;
}
