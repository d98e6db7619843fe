/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin pki show: each CA of a development PKI, whether it verifies up to its root, whether its key
 * file belongs to it, and the files' modes (docs/dev-pki.md 4). */
#include "admin.h"
#include "admin_pki.h"
#include "cleanup.h"
#include "cleanup_cjson.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

struct ca_report {
    char subject[512], issuer[512], serial[48], not_before[32], not_after[32], key_type[32], sha256[96];
    char *cert_error;               /* the certificate could not be read */
    char *verify_error;             /* NULL: verifies up to its root */
    char *key_error;                /* NULL: the key file holds the certificate's key */
    char cert_mode[8], key_mode[8]; /* "0644", or "missing" */
    bool key_mode_ok;
};

static void ca_report_done(struct ca_report *r)
{
    free(r->cert_error);
    free(r->verify_error);
    free(r->key_error);
}

/* The permission bits as "0600", or "missing"; true when they are want. */
static bool file_mode(const char *path, int want, char out[static 8])
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(out, 8, "missing");
        return false;
    }
    snprintf(out, 8, "%04o", (unsigned)(st.st_mode & 07777));
    return (int)(st.st_mode & 07777) == want;
}

static void cert_describe(X509 *cert, struct ca_report *r)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    _cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    _cleanup_openssl_free_ char *serial = bn ? BN_bn2hex(bn) : NULL;

    pki_name_format(X509_get_subject_name(cert), r->subject, sizeof(r->subject));
    pki_name_format(X509_get_issuer_name(cert), r->issuer, sizeof(r->issuer));
    snprintf(r->serial, sizeof(r->serial), "%s", serial ? serial : "?");
    pki_time_format(X509_get0_notBefore(cert), r->not_before, sizeof(r->not_before));
    pki_time_format(X509_get0_notAfter(cert), r->not_after, sizeof(r->not_after));
    pki_key_describe(X509_get0_pubkey(cert), r->key_type, sizeof(r->key_type));
    if (X509_digest(cert, EVP_sha256(), md, &md_len))
        for (unsigned int i = 0; i < md_len && 3 * i + 3 <= sizeof(r->sha256); i++)
            snprintf(r->sha256 + 3 * i, sizeof(r->sha256) - 3 * i, i + 1 < md_len ? "%02X:" : "%02X", md[i]);
}

/* cert up to root (root trusted, nothing else): OpenSSL's path validation, with its reason on failure. */
static char *chain_verify(X509 *cert, X509 *root)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    char *msg = NULL;
    if (!store || !ctx || !root || !X509_STORE_add_cert(store, root) ||
        !X509_STORE_CTX_init(ctx, store, cert, NULL))
        return strdup("cannot set up the verification (the root certificate is missing or out of memory)");
    if (X509_verify_cert(ctx) == 1)
        return NULL;
    ERR_clear_error();
    return asprintf(&msg, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx))) < 0 ? NULL
                                                                                                  : msg;
}

static void ca_inspect(const char *dir, enum pki_ca ca, X509 *const *certs, struct ca_report *r)
{
    _cleanup_free_ char *cert_path = pki_path(dir, pki_cas[ca].stem, "pem");
    _cleanup_free_ char *key_path = pki_path(dir, pki_cas[ca].stem, "key");
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;

    if (!cert_path || !key_path) {
        r->cert_error = strdup("out of memory");
        return;
    }
    file_mode(cert_path, 0644, r->cert_mode);
    r->key_mode_ok = file_mode(key_path, 0600, r->key_mode);
    if (!certs[ca]) {
        if (!r->cert_error)
            r->cert_error = strdup("cannot read the certificate");
        return;
    }
    cert_describe(certs[ca], r);
    r->verify_error = chain_verify(certs[ca], certs[pki_cas[ca].issuer]);
    if (admin_private_key_load(key_path, PKI_KEY_HINT, &key, &r->key_error) < 0)
        return;
    if (X509_check_private_key(certs[ca], key) != 1) {
        ERR_clear_error();
        if (asprintf(&r->key_error, "%s does not hold the certificate's key", key_path) < 0)
            r->key_error = NULL;
    }
}

/* device-ca-chain.pem holds device-subca.pem then gen-root.pem, and nothing else. NULL when it does. */
static char *chain_check(const char *dir, X509 *const *certs)
{
    _cleanup_free_ char *path = pki_path(dir, PKI_CHAIN_FILE, NULL);
    _cleanup_(BIO_freep) BIO *bio = NULL;
    X509 *const want[] = {certs[PKI_DEVICE_SUBCA], certs[PKI_GEN_ROOT]};
    char *msg = NULL;
    size_t n = 0;
    bool same = true;

    if (!path || admin_file_bio(path, 64 * 1024, &bio, &msg) < 0)
        return msg ? msg : strdup("out of memory");
    for (X509 *x; (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)); n++) {
        same = same && n < 2 && want[n] && X509_cmp(x, want[n]) == 0;
        X509_free(x);
    }
    ERR_clear_error();
    if (same && n == 2)
        return NULL;
    return asprintf(&msg, "%s does not hold exactly %s.pem then %s.pem (%zu certificates)", PKI_CHAIN_FILE,
                    pki_cas[PKI_DEVICE_SUBCA].stem, pki_cas[PKI_GEN_ROOT].stem, n) < 0
               ? NULL
               : msg;
}

static bool ca_ok(const struct ca_report *r)
{
    return !r->cert_error && !r->verify_error && !r->key_error;
}

static void text_print(const char *dir, const struct ca_report *reports, const char *chain_error)
{
    printf("development PKI %s\n", dir);
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        const struct ca_report *r = &reports[ca];
        printf("\n%s (%s)\n", pki_cas[ca].stem, pki_cas[ca].cn);
        if (r->cert_error) {
            printf("  certificate: UNREADABLE: %s\n", r->cert_error);
            continue;
        }
        printf("  subject:     %s\n  issuer:      %s\n  serial:      %s\n  not before:  %s\n"
               "  not after:   %s\n  key:         %s\n  SHA-256:     %s\n",
               r->subject, r->issuer, r->serial, r->not_before, r->not_after, r->key_type, r->sha256);
        if (r->verify_error)
            printf("  verifies:    NO: %s\n", r->verify_error);
        else
            printf("  verifies:    yes, %s %s\n",
                   pki_cas[ca].issuer == (enum pki_ca)ca ? "self-signed" : "up to",
                   pki_cas[ca].issuer == (enum pki_ca)ca ? "root" : pki_cas[pki_cas[ca].issuer].stem);
        printf("  key file:    %s\n", r->key_error ? r->key_error : "matches the certificate");
        printf("  modes:       %s.key %s%s, %s.pem %s\n", pki_cas[ca].stem, r->key_mode,
               r->key_mode_ok || strcmp(r->key_mode, "missing") == 0 ? ""
                                                                     : " (WARNING: not 0600; chmod 600 it)",
               pki_cas[ca].stem, r->cert_mode);
    }
    printf("\n%s: %s\n", PKI_CHAIN_FILE, chain_error ? chain_error : "device-subca.pem + gen-root.pem");
}

static int json_print(const char *dir, const struct ca_report *reports, const char *chain_error)
{
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
    cJSON *cas = cJSON_AddArrayToObject(root, "cas");
    _cleanup_free_ char *text = NULL;
    bool ok = root && cas && cJSON_AddStringToObject(root, "pki", dir) &&
              cJSON_AddStringToObject(root, "warning", PKI_WARNING_LINE) &&
              cJSON_AddBoolToObject(root, "device_chain_ok", !chain_error) &&
              (!chain_error || cJSON_AddStringToObject(root, "device_chain_error", chain_error));
    for (int ca = 0; ok && ca < PKI_CA_COUNT; ca++) {
        const struct ca_report *r = &reports[ca];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(cas, o) && cJSON_AddStringToObject(o, "name", pki_cas[ca].stem) &&
             cJSON_AddStringToObject(o, "role", pki_cas[ca].cn) &&
             cJSON_AddStringToObject(o, "issuer_ca", pki_cas[pki_cas[ca].issuer].stem) &&
             cJSON_AddStringToObject(o, "key_mode", r->key_mode) &&
             cJSON_AddStringToObject(o, "cert_mode", r->cert_mode) &&
             cJSON_AddBoolToObject(o, "key_mode_ok", r->key_mode_ok) &&
             (r->cert_error
                  ? cJSON_AddStringToObject(o, "cert_error", r->cert_error) != NULL
                  : cJSON_AddStringToObject(o, "subject", r->subject) &&
                        cJSON_AddStringToObject(o, "issuer", r->issuer) &&
                        cJSON_AddStringToObject(o, "serial", r->serial) &&
                        cJSON_AddStringToObject(o, "not_before", r->not_before) &&
                        cJSON_AddStringToObject(o, "not_after", r->not_after) &&
                        cJSON_AddStringToObject(o, "key_type", r->key_type) &&
                        cJSON_AddStringToObject(o, "sha256_fingerprint", r->sha256) &&
                        cJSON_AddBoolToObject(o, "verifies", !r->verify_error) &&
                        (!r->verify_error || cJSON_AddStringToObject(o, "verify_error", r->verify_error)) &&
                        cJSON_AddBoolToObject(o, "key_matches", !r->key_error) &&
                        (!r->key_error || cJSON_AddStringToObject(o, "key_error", r->key_error)));
    }
    if (!ok || !(text = cJSON_Print(root)))
        return admin_error("pki show: out of memory");
    printf("%s\n", text);
    return 0;
}

static int pki_show(const char *dir, bool json)
{
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *chain_error = NULL;
    X509 *certs[PKI_CA_COUNT] = {0};
    struct ca_report reports[PKI_CA_COUNT] = {0};
    int status = ADMIN_EXIT_OK;

    if (pki_dir_check(dir, &err) < 0)
        return admin_error("pki show: %s", err ? err : "out of memory");
    fprintf(stderr, "tagent-admin: warning: %s\n", PKI_WARNING_LINE);
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        _cleanup_free_ char *path = pki_path(dir, pki_cas[ca].stem, "pem");
        if (!path || pki_cert_load(path, &certs[ca], &reports[ca].cert_error) < 0)
            certs[ca] = NULL;
    }
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        ca_inspect(dir, (enum pki_ca)ca, certs, &reports[ca]);
        if (!ca_ok(&reports[ca]))
            status = ADMIN_EXIT_ERROR;
    }
    if ((chain_error = chain_check(dir, certs)))
        status = ADMIN_EXIT_ERROR;
    if (json ? json_print(dir, reports, chain_error) < 0 : (text_print(dir, reports, chain_error), false))
        status = ADMIN_EXIT_ERROR;
    for (int ca = 0; ca < PKI_CA_COUNT; ca++) {
        X509_free(certs[ca]);
        ca_report_done(&reports[ca]);
    }
    if (status != ADMIN_EXIT_OK)
        admin_error(
            "pki show: a CA of %s does not verify, or a key, certificate or the chain file is unusable "
            "(above); "
            "restore the files from a backup, or make a new PKI with `pki init` in another directory",
            dir);
    return status;
}

static int pki_show_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pki", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *dir = NULL;
    bool json = false;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'P')
            dir = optarg;
        else if (c == 'j')
            json = true;
        else if (c == 'h') {
            admin_command_help(&admin_pki_show);
            return ADMIN_EXIT_OK;
        } else
            return admin_usage_error(&admin_pki_show, NULL);
    }
    if (optind != argc)
        return admin_usage_error(&admin_pki_show, "unexpected argument");
    if (!dir)
        return admin_usage_error(&admin_pki_show, "--pki DIR is required");
    return pki_show(dir, json);
}

const struct admin_command admin_pki_show = {
    .group = "pki",
    .name = "show",
    .usage = "--pki DIR [--json]",
    .summary = "list the CAs of a development PKI and check them",
    .help =
        "  --pki DIR  the directory of `tagent-admin pki init`\n"
        "  --json     one JSON object instead of text\n"
        "\n"
        "For each CA: subject, issuer, serial, validity, key type, SHA-256 fingerprint of the DER\n"
        "certificate; whether the certificate verifies up to its root; whether the key file holds its\n"
        "key; the files' modes (a key that is not 0600 is flagged); whether " PKI_CHAIN_FILE " holds\n"
        "device-subca.pem and gen-root.pem. Exit 0 when every CA verifies, every key matches and the chain\n"
        "file is right, 1 otherwise.\n",
    .run = pki_show_run,
};
