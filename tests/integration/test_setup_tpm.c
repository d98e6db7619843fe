/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent setup` tasks that need only the TPM (update-service-config, take-ownership, define-tag-index,
 * provision-primary-key) and `tagent fetch-ekcert-with-issuer`, run as a user runs them: the real binary
 * against a real swtpm with an EK certificate. Checks the TPM afterwards through quote/, an independent
 * path from the binary's output.
 */
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "harness.h"
#include "quote.h"

#define OWNER  "hex:5ec7e7005ec7e7005ec7e700"
#define BEARER "eyJhbGciOiJSUzM4NCJ9.eyJCEARERSETUPSECRET.c2ln"

static const char *tagent_bin;

struct fixture {
    swtpm_t *tpm;
    char *dir, *root, *env_file, *log;
};

/* Runs tagent with args; returns its exit status (harness_run: 0 only for status 0). */
static int tagent(struct fixture *f, const char *const *args)
{
    const char *argv[16] = {tagent_bin, "--root", f->root};
    size_t n = 3;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return harness_run(argv, f->log, 60000);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct swtpm_opts opts = {.ek_cert = true};
    assert_int_equal(swtpm_start(&opts, &f->tpm), 0);
    assert_int_equal(harness_tmpdir_create("setup", &f->dir), 0);
    assert_int_equal(harness_path_join(f->dir, "root", &f->root), 0);
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_int_equal(harness_path_join(f->dir, "trustagent.env", &f->env_file), 0);
    assert_int_equal(harness_path_join(f->dir, "out.log", &f->log), 0);

    char env[1024];
    snprintf(
        env, sizeof(env),
        "AAS_API_URL=https://127.0.0.1:8444/aas/v1\nTPM_OWNER_SECRET=%s\nBEARER_TOKEN=%s\nTAGENT_TCTI=%s\n",
        OWNER, BEARER, f->tpm->tcti);
    assert_int_equal(harness_file_write(f->env_file, env, 0600), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    swtpm_free(f->tpm);
    harness_tmpdir_remove(f->dir);
    free(f->dir);
    free(f->root);
    free(f->env_file);
    free(f->log);
    free(f);
    return 0;
}

static void assert_log_lacks_secrets(struct fixture *f)
{
    char *out = harness_file_slurp(f->log);
    assert_null(strstr(out, "5ec7e700"));
    assert_null(strstr(out, "SETUPSECRET"));
    free(out);
}

static void test_setup_provisions_the_tpm(void **state)
{
    struct fixture *f = *state;
    /* the tasks that need only the TPM (the control-plane tasks have their own test against the mock) */
    const char *args[] = {"setup",
                          "update-service-config",
                          "take-ownership",
                          "define-tag-index",
                          "provision-primary-key",
                          "-f",
                          f->env_file,
                          NULL};
    assert_int_equal(tagent(f, args), 0);
    char *out = harness_file_slurp(f->log);
    assert_non_null(strstr(out, "[2/4] take-ownership ... ok"));
    assert_non_null(strstr(out, "[3/4] define-tag-index ... ok"));
    assert_non_null(strstr(out, "[4/4] provision-primary-key ... ok"));
    free(out);
    assert_log_lacks_secrets(f);

    /* config.yml: mode 0640, a generated tag secret, no owner secret or bearer token */
    char path[512];
    snprintf(path, sizeof(path), "%s/etc/trustagent/config.yml", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    char *yml = harness_file_slurp(path);
    char *tag = strstr(yml, "tag-secret-key: \"hex:");
    assert_non_null(tag);
    assert_null(strstr(yml, "5ec7e700"));
    assert_null(strstr(yml, "SETUPSECRET"));
    char tag_secret[45];
    memcpy(tag_secret, tag + strlen("tag-secret-key: \""), 44);
    tag_secret[44] = '\0';
    free(yml);

    /* the TPM, checked through quote/: owned with the secret, tag index readable with the tag secret,
     * primary key present */
    tpm_t *t;
    struct tpm_auth owner, tag_auth;
    bool owned = false, exists = false, present = true;
    uint8_t value[TPM_ASSET_TAG_SIZE];
    assert_int_equal(tpm_open(f->tpm->tcti, &t, NULL), 0);
    assert_int_equal(tpm_auth_from_secret(OWNER, &owner, NULL), 0);
    assert_int_equal(tpm_auth_from_secret(tag_secret, &tag_auth, NULL), 0);
    assert_int_equal(tpm_owned_with_auth(t, &owner, &owned, NULL), 0);
    assert_true(owned);
    assert_int_equal(tpm_tag_read(t, &tag_auth, value, &present, NULL), 0);
    assert_false(present); /* defined, zeros: no tag yet */
    assert_int_equal(tpm_handle_exists(t, TPM_HANDLE_PRIMARY_KEY, &exists, NULL), 0);
    assert_true(exists);
    tpm_close(t);

    /* again: every task is already done, and config.yml keeps the same tag secret */
    assert_int_equal(tagent(f, args), 0);
    out = harness_file_slurp(f->log);
    assert_non_null(strstr(out, "[2/4] take-ownership ... already done"));
    assert_non_null(strstr(out, "[3/4] define-tag-index ... already done"));
    assert_non_null(strstr(out, "[4/4] provision-primary-key ... already done"));
    free(out);
    yml = harness_file_slurp(path);
    assert_non_null(strstr(yml, tag_secret));
    free(yml);
}

static void test_wrong_owner_secret(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"setup", "take-ownership", "-f", f->env_file, NULL};
    assert_int_equal(tagent(f, args), 0);

    setenv("TPM_OWNER_SECRET", "a-wrong-secret", 1);
    int rc = tagent(f, args);
    unsetenv("TPM_OWNER_SECRET");
    assert_true(rc != 0);
    char *out = harness_file_slurp(f->log);
    assert_non_null(strstr(out, "the TPM's owner secret is not TPM_OWNER_SECRET"));
    assert_null(strstr(out, "a-wrong-secret"));
    free(out);
}

static void test_tpm_unreachable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(swtpm_stop(f->tpm), 0);
    const char *args[] = {"setup", "provision-primary-key", "-f", f->env_file, NULL};
    assert_true(tagent(f, args) != 0);
    char *out = harness_file_slurp(f->log);
    assert_non_null(strstr(out, "cannot open the TPM through \"swtpm:"));
    free(out);
}

/* The Go agent's output format; each base64 line decodes to a PEM certificate whose issuer is printed. */
static void test_fetch_ekcert_with_issuer(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"fetch-ekcert-with-issuer", NULL};
    setenv("TAGENT_TCTI", f->tpm->tcti, 1);
    int rc = tagent(f, args);
    unsetenv("TAGENT_TCTI");
    assert_int_equal(rc, 0);

    char *out = harness_file_slurp(f->log);
    char issuer[256] = "", b64[8192] = "";
    assert_int_equal(
        sscanf(out, "Issuer: %255[^\n]\nTPM Endorsment Certificate Base64 Encoded: %8191s", issuer, b64), 2);
    unsigned char pem[8192];
    int n = EVP_DecodeBlock(pem, (unsigned char *)b64, (int)strlen(b64));
    assert_true(n > 0);
    BIO *bio = BIO_new_mem_buf(pem, n);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, issuer);
    X509_free(x);
    BIO_free(bio);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/tagent\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_setup_provisions_the_tpm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_owner_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tpm_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_ekcert_with_issuer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
