/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * agent/auth/ against the mock AAS (tests/mock, tagent-mock-cp): a token AAS minted with chosen permissions
 * (POST /aas/v1/custom-claims-token), its signing certificate unknown to the agent, fetched once from
 * GET /aas/v1/jwt-certificates over TLS trusting cacerts, saved into jwt/ the Go agent's way and found
 * there by the next verifier without asking AAS; AAS failing and the one-fetch-a-minute limit, counted in
 * the mock's request log.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "harness.h"
#include "token_auth.h"
#include "transport.h"

#define FETCHES "GET /aas/v1/jwt-certificates "

static mockcp_t *mock;

static int group_setup(void **state)
{
    (void)state;
    if (harness_init() < 0)
        return -1;
    const struct mockcp_opts opts = {0};
    return mockcp_start(&opts, &mock) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int r = mock ? mockcp_stop(mock) : 0;
    mockcp_free(mock);
    return r;
}

/* A root whose cacerts holds the mock's root CA and whose jwt/ is empty. */
static char *root_new(void)
{
    char *root = NULL, *path = NULL, *ca = harness_file_slurp(mock->ca_file);
    assert_int_equal(harness_tmpdir_create("token-auth", &root), 0);
    assert_non_null(ca);
    const char *dirs[] = {TAGENT_CACERTS_DIR, TAGENT_JWT_DIR};
    for (size_t i = 0; i < 2; i++) {
        char *d = config_path(root, dirs[i]);
        assert_int_equal(config_mkdir_p(d, 0755), 0);
        free(d);
    }
    assert_true(asprintf(&path, "%s%s/ca.pem", root, TAGENT_CACERTS_DIR) > 0);
    assert_int_equal(harness_file_write(path, ca, 0644), 0);
    free(path);
    free(ca);
    return root;
}

/* POST /aas/v1/custom-claims-token: an ES384 JWT for TA with these rules (a JSON array text). */
static char *token_mint(const char *root, const char *rules_json)
{
    char *body = NULL, *url = NULL, *error = NULL;
    assert_true(asprintf(&body,
                         "{\"subject\":\"1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9\",\"validity_seconds\":600,"
                         "\"claims\":{\"permissions\":[{\"service\":\"TA\",\"rules\":%s}]}}",
                         rules_json) > 0);
    assert_true(asprintf(&url, "%s/custom-claims-token", mock->aas_url) > 0);
    const char *headers[] = {"Accept: text/plain", "Content-Type: application/json", NULL};
    char *ca_dir = config_path(root, TAGENT_CACERTS_DIR);
    struct https_options opts = {.ca_dir = ca_dir, .bearer = mock->bearer};
    struct https_response resp = {0};
    int r = https_request("POST", url, headers, body, strlen(body), &opts, &resp, &error);
    if (r < 0)
        fail_msg("minting a token: %s", error);
    assert_int_equal(resp.status, 200);
    char *token = strndup((const char *)resp.body, resp.body_len);
    https_response_free(&resp);
    free(ca_dir);
    free(url);
    free(body);
    return token;
}

static struct token_auth *auth_new(const char *root)
{
    char *url = NULL, *error = NULL;
    assert_true(asprintf(&url, "%s/", mock->aas_url) > 0);
    struct tagent_config cfg = {.aas_base_url = url};
    struct token_auth *a = NULL;
    assert_int_equal(token_auth_new(root, &cfg, &a, &error), 0);
    free(url);
    return a;
}

static int check(struct token_auth *a, const char *token, const char *permission, char **ret_reason)
{
    char *header = NULL;
    assert_true(asprintf(&header, "Bearer %s", token) > 0);
    int status = token_auth_check(a, header, permission, ret_reason);
    free(header);
    return status;
}

/* How many files jwt/ holds; the last one's name into ret_name. */
static int jwt_files(const char *root, char ret_name[256])
{
    char *dir = config_path(root, TAGENT_JWT_DIR);
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.') {
            snprintf(ret_name, 256, "%s", de->d_name);
            n++;
        }
    closedir(d);
    free(dir);
    return n;
}

static void test_fetch_save_reload(void **state)
{
    (void)state;
    char *root = root_new(), *reason = NULL, name[256] = "";
    char *token = token_mint(root, "[\"quote:create:*\",\"aik:retrieve:*\"]");
    int before = mockcp_request_count(mock, FETCHES);

    struct token_auth *a = auth_new(root);
    int status = check(a, token, "quote:create", &reason);
    if (status != 0)
        fail_msg("refused: %s", reason);
    assert_int_equal(mockcp_request_count(mock, FETCHES), before + 1);
    /* known now: no further fetch */
    assert_int_equal(check(a, token, "aik:retrieve", &reason), 0);
    assert_int_equal(check(a, token, "binding_key:retrieve", &reason), 401);
    assert_non_null(strstr(reason, "insufficient privileges"));
    assert_null(strstr(reason, token));
    free(reason);
    reason = NULL;
    assert_int_equal(mockcp_request_count(mock, FETCHES), before + 1);
    token_auth_free(a);

    /* saved as jwt/<9 hex>.pem, 0600, the certificate AAS served */
    assert_int_equal(jwt_files(root, name), 1);
    assert_int_equal(strlen(name), 13);
    assert_string_equal(name + 9, ".pem");
    char *path = NULL;
    assert_true(asprintf(&path, "%s%s/%s", root, TAGENT_JWT_DIR, name) > 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    free(path);

    /* a new verifier (the service restarted) finds it in jwt/ without asking AAS */
    a = auth_new(root);
    assert_int_equal(check(a, token, "quote:create", &reason), 0);
    assert_int_equal(mockcp_request_count(mock, FETCHES), before + 1);
    token_auth_free(a);

    free(token);
    harness_tmpdir_remove(root);
    free(root);
}

/* AAS answering 500: refused with AAS's status in the reason; the next token with the unknown kid does not
 * make the agent ask again within the minute, even after AAS recovered. */
static void test_aas_down_rate_limited(void **state)
{
    (void)state;
    char *root = root_new(), *reason = NULL;
    char *token = token_mint(root, "[\"*:*\"]");
    struct token_auth *a = auth_new(root);
    int before = mockcp_request_count(mock, FETCHES);

    assert_int_equal(mockcp_fault(mock, "server-error", NULL), 0);
    assert_int_equal(check(a, token, "quote:create", &reason), 401);
    assert_non_null(strstr(reason, "fetching AAS's signing certificate failed"));
    assert_non_null(strstr(reason, "HTTP 500"));
    assert_null(strstr(reason, token));
    free(reason);
    reason = NULL;
    assert_int_equal(mockcp_fault(mock, NULL, "all"), 0);
    int after_first = mockcp_request_count(mock, FETCHES);
    assert_true(after_first >= before + 1);

    assert_int_equal(check(a, token, "quote:create", &reason), 401);
    assert_non_null(strstr(reason, "AAS was not asked"));
    free(reason);
    assert_int_equal(mockcp_request_count(mock, FETCHES), after_first);
    token_auth_free(a);

    /* cacerts without the mock's CA: the TLS connection to AAS is refused, nothing is trusted or saved */
    char *ca = NULL, name[256];
    assert_true(asprintf(&ca, "%s%s/ca.pem", root, TAGENT_CACERTS_DIR) > 0);
    assert_int_equal(remove(ca), 0);
    free(ca);
    a = auth_new(root);
    reason = NULL;
    assert_int_equal(check(a, token, "quote:create", &reason), 401);
    assert_non_null(strstr(reason, "fetching AAS's signing certificate failed"));
    free(reason);
    assert_int_equal(jwt_files(root, name), 0);
    token_auth_free(a);

    free(token);
    harness_tmpdir_remove(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_save_reload),
        cmocka_unit_test(test_aas_down_rate_limited),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
