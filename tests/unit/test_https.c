/* SPDX-License-Identifier: BSD-3-Clause */
/* transport/ without a network: URL joining, status errors, and everything https_request() refuses before it
 * connects. The real TLS servers are in tests/integration/test_https.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

#define TOKEN "eyJhbGciOiJSUzM4NCJ9.unit-secret-token.c2ln"

static void assert_join(const char *base, const char *path, const char *want)
{
    char *s = https_url_join(base, path);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
}

static void url_join_cases(void **state)
{
    assert_join("https://hvs:8443/hvs/v2", "hosts", "https://hvs:8443/hvs/v2/hosts");
    assert_join("https://hvs:8443/hvs/v2/", "hosts", "https://hvs:8443/hvs/v2/hosts");
    assert_join("https://hvs:8443/hvs/v2", "/hosts", "https://hvs:8443/hvs/v2/hosts");
    assert_join("https://hvs:8443/hvs/v2/", "/hosts", "https://hvs:8443/hvs/v2/hosts");
    assert_join("https://hvs:8443/hvs/v2///", "//hosts", "https://hvs:8443/hvs/v2/hosts");
    assert_join("https://cms:8445/cms/v1/", "certificates?certType=tls",
                "https://cms:8445/cms/v1/certificates?certType=tls");
    assert_join("https://aas:8444/aas/v1", "credentials/", "https://aas:8444/aas/v1/credentials/");
    assert_join("https://h:1", "x/y", "https://h:1/x/y");
    assert_join("https://h/a", "", "https://h/a/");
    assert_join("https://h/a/", "/", "https://h/a/");
    /* The scheme's slashes are never taken for trailing ones. */
    assert_join("https://", "x", "https:///x");
    assert_null(https_url_join(NULL, "x"));
    assert_null(https_url_join("https://h", NULL));
}

static void status_error_text(void **state)
{
    static const char said[] = "token expired\r\n\tplease  renew\n";
    struct https_response resp = {.status = 401, .body = (uint8_t *)said, .body_len = sizeof(said) - 1};
    char *s = https_status_error("POST", "https://hvs/hvs/v2/hosts", &resp);
    assert_string_equal(s, "POST https://hvs/hvs/v2/hosts: HTTP 401: token expired please renew");
    free(s);

    resp = (struct https_response){.status = 500};
    s = https_status_error("GET", "https://h/x", &resp);
    assert_string_equal(s, "GET https://h/x: HTTP 500");
    free(s);

    /* Not NUL-terminated, binary, and longer than 200: cut at 200 printable bytes. */
    uint8_t big[300];
    memset(big, 'a', sizeof(big));
    big[0] = 0x00;
    big[1] = 0xff;
    resp = (struct https_response){.status = 502, .body = big, .body_len = sizeof(big)};
    s = https_status_error("GET", "https://h/x", &resp);
    const char *words = strstr(s, "HTTP 502: ");
    assert_non_null(words);
    words += strlen("HTTP 502: ");
    assert_int_equal(strlen(words), 203);
    assert_memory_equal(words, "??aaa", 5);
    assert_string_equal(words + 200, "...");
    free(s);

    /* Exactly 200 bytes plus trailing whitespace is not a cut. */
    char exact[210];
    memset(exact, 'b', 200);
    memcpy(exact + 200, "\n\n\n", 3); /* NOLINT(bugprone-not-null-terminated-result): a body with a length */
    resp = (struct https_response){.status = 400, .body = (uint8_t *)exact, .body_len = 203};
    s = https_status_error("GET", "https://h/x", &resp);
    assert_null(strstr(s, "..."));
    assert_int_equal(strlen(strstr(s, ": b") + 2), 200);
    free(s);
}

static void response_free_null(void **state)
{
    https_response_free(NULL);
    struct https_response resp = {0};
    https_response_free(&resp);
    resp.body = malloc(4);
    memcpy(resp.body, "abc", 4);
    resp.body_len = 3;
    resp.content_type = strdup("text/plain");
    https_response_free(&resp);
    assert_null(resp.body);
    assert_null(resp.content_type);
}

/* What https_request() refuses before opening a socket (port 9 on loopback would refuse anyway). */
static void assert_refused(int want, const char *method, const char *url, const char *const *headers,
                           const struct https_options *opts, const char *fragment)
{
    struct https_response resp = {0};
    char *err = NULL;
    int r = https_request(method, url, headers, NULL, 0, opts, &resp, &err);
    assert_int_equal(r, want);
    assert_non_null(err);
    if (!strstr(err, fragment))
        fail_msg("error \"%s\" does not mention \"%s\"", err, fragment);
    assert_null(strstr(err, TOKEN));
    assert_null(resp.body);
    free(err);
}

static void request_argument_checks(void **state)
{
    struct https_options opts = {.no_verify = true, .bearer = TOKEN};

    assert_refused(-EINVAL, "GET", "http://127.0.0.1:9/x", NULL, &opts,
                   "GET http://127.0.0.1:9/x: only https://");
    assert_refused(-EINVAL, "get", "https://127.0.0.1:9/x", NULL, &opts, "not an HTTP method");
    assert_refused(-EINVAL, "G T", "https://127.0.0.1:9/x", NULL, &opts, "not an HTTP method");

    const char *const bad_header[] = {"Accept: a\r\nX-Injected: 1", NULL};
    assert_refused(-EINVAL, "GET", "https://127.0.0.1:9/x", bad_header, &opts, "header 0");
    const char *const no_colon[] = {"Accept: a", "nonsense", NULL};
    assert_refused(-EINVAL, "GET", "https://127.0.0.1:9/x", no_colon, &opts, "header 1");

    struct https_options nl = {.no_verify = true, .bearer = TOKEN "\r\nX-Evil: 1"};
    assert_refused(-EINVAL, "GET", "https://127.0.0.1:9/x", NULL, &nl, "bearer token");

    struct https_options pin = {.no_verify = true, .pin_sha384 = "abc", .pin_name = "CMS_TLS_CERT_SHA384"};
    assert_refused(-EINVAL, "GET", "https://127.0.0.1:9/x", NULL, &pin,
                   "CMS_TLS_CERT_SHA384 is not a SHA-384");
    char pin_g[97];
    memset(pin_g, 'a', 96);
    pin_g[95] = 'g';
    pin_g[96] = '\0';
    pin.pin_sha384 = pin_g;
    assert_refused(-EINVAL, "GET", "https://127.0.0.1:9/x", NULL, &pin, "96 hex digits");

    struct https_options missing = {.ca_dir = "/nonexistent/tagent-cacerts"};
    assert_refused(-ENOENT, "GET", "https://127.0.0.1:9/x", NULL, &missing, "/nonexistent/tagent-cacerts");

    char dir[] = "/tmp/tagent-https-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct https_options empty = {.ca_dir = dir};
    assert_refused(-ENOENT, "GET", "https://127.0.0.1:9/x", NULL, &empty, "no CA certificate (*.pem) in");
    rmdir(dir);

    struct https_options nothing = {0};
    assert_refused(-ENOENT, "GET", "https://127.0.0.1:9/x", NULL, &nothing, "no CA certificates");

    struct https_response resp = {0};
    assert_int_equal(https_request("POST", "https://127.0.0.1:9/x", NULL, NULL, 5, &opts, &resp, NULL),
                     -EINVAL);
    assert_int_equal(https_request("GET", "https://127.0.0.1:9/x", NULL, NULL, 0, &opts, NULL, NULL),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_join_cases),
        cmocka_unit_test(status_error_text),
        cmocka_unit_test(response_free_null),
        cmocka_unit_test(request_argument_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
