/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent identity csr|install|self-provision|show`: the device identity (docs/device-identity.md). A
 * non-exportable ECC key in the TPM (0x8100A010 unless --handle), a CSR for it signed by the TPM through
 * OpenSSL's tpm2 provider, the certificate the device CA returns installed under /etc/tep/identity after it
 * is checked against the TPM key and the device trust anchor. Creating or replacing the key needs
 * TPM_OWNER_SECRET from the environment (never argv).
 *
 * Exit status: 0 done; 1 failed (arguments, TPM, files); 2 refused: install's certificate is not for this
 * TPM key, not a leaf, not valid now or does not chain to --ca (nothing written), or show found the
 * installed certificate so (1 when it could not read the TPM or none is installed).
 */
#include "cleanup.h"
#include "cleanup_cjson.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "provision.h"
#include "quote.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#define EXIT_REFUSED     2
#define SELF_SIGNED_DAYS 365

enum {
    OPT_SUBJECT = 1 << 0,
    OPT_OUT = 1 << 1,
    OPT_PROFILE = 1 << 2,
    OPT_HANDLE = 1 << 3,
    OPT_NEW_KEY = 1 << 4,
    OPT_CERT = 1 << 5,
    OPT_CA = 1 << 6,
    OPT_JSON = 1 << 7,
    OPT_DAYS = 1 << 8,
};

struct options {
    const char *subject, *out, *profile, *handle_text, *cert, *ca, *days_text;
    bool new_key, json;
    uint32_t handle;
    uint16_t curve; /* from --profile; 0 when not given */
    unsigned days;
};

struct subcommand {
    const char *name;
    unsigned options; /* OPT_* it takes */
    const char *usage;
    const char *help;
    int (*run)(struct tagent_cli *cli, const struct options *o);
};

static const struct subcommand *current;

static int usage(const char *why, const char *arg)
{
    log_error("identity%s%s: %s%s%s%s; usage: tagent identity %s", current ? " " : "",
              current ? current->name : "", why, arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "",
              current ? current->usage : cmd_identity.usage);
    return TAGENT_EXIT_ERROR;
}

static int fail(const char *error)
{
    log_error("identity %s: %s", current->name, error ? error : "out of memory");
    return TAGENT_EXIT_ERROR;
}

/* ---- arguments ---- */

static const char **option_slot(struct options *o, const char *arg, unsigned *ret_bit)
{
    static const struct {
        const char *name;
        unsigned bit;
        size_t offset;
    } table[] = {
        {"--subject", OPT_SUBJECT, offsetof(struct options, subject)},
        {"-o", OPT_OUT, offsetof(struct options, out)},
        {"--profile", OPT_PROFILE, offsetof(struct options, profile)},
        {"--handle", OPT_HANDLE, offsetof(struct options, handle_text)},
        {"--cert", OPT_CERT, offsetof(struct options, cert)},
        {"--ca", OPT_CA, offsetof(struct options, ca)},
        {"--days", OPT_DAYS, offsetof(struct options, days_text)},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(arg, table[i].name) == 0) {
            *ret_bit = table[i].bit;
            return (const char **)((char *)o + table[i].offset);
        }
    return NULL;
}

static bool flag_set(struct options *o, const char *arg, unsigned allowed)
{
    bool *flag = (allowed & OPT_NEW_KEY) && strcmp(arg, "--new-key") == 0 ? &o->new_key
                 : (allowed & OPT_JSON) && strcmp(arg, "--json") == 0     ? &o->json
                                                                          : NULL;
    if (!flag || *flag)
        return false;
    *flag = true;
    return true;
}

static int values_check(struct options *o)
{
    char *end = NULL;
    o->handle = TPM_HANDLE_IDENTITY_KEY;
    if (o->handle_text) {
        errno = 0;
        unsigned long h = strtoul(o->handle_text, &end, 16);
        if (errno || strncmp(o->handle_text, "0x", 2) != 0 || !o->handle_text[2] || *end || h > UINT32_MAX)
            return usage("--handle needs a persistent handle in hex such as 0x8100a010, not", o->handle_text);
        o->handle = (uint32_t)h;
        const char *problem = tpm_identity_handle_problem(o->handle);
        if (problem) {
            log_error("identity %s: --handle %s cannot hold the identity key: %s; the default is 0x%08x",
                      current->name, o->handle_text, problem, TPM_HANDLE_IDENTITY_KEY);
            return TAGENT_EXIT_ERROR;
        }
    }
    if (o->profile) {
        if (strcmp(o->profile, "dtpm") == 0)
            o->curve = TPM_ECC_P256;
        else if (strcmp(o->profile, "ptt") == 0)
            o->curve = TPM_ECC_P384;
        else
            return usage("--profile is \"dtpm\" (ECC P-256, SHA-256) or \"ptt\" (ECC P-384, SHA-384), not",
                         o->profile);
    }
    o->days = SELF_SIGNED_DAYS;
    if (o->days_text) {
        errno = 0;
        unsigned long d = strtoul(o->days_text, &end, 10);
        if (errno || !*o->days_text || *end || o->days_text[0] == '-' || d == 0 || d > 3650)
            return usage("--days needs a number of days from 1 to 3650, not", o->days_text);
        o->days = (unsigned)d;
    }
    return TAGENT_EXIT_OK;
}

static int parse(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        unsigned bit = 0;
        const char **value = option_slot(o, argv[i], &bit);
        if (!value || !(current->options & bit)) {
            if (flag_set(o, argv[i], current->options))
                continue;
            return usage("unknown or repeated argument", argv[i]);
        }
        if (*value)
            return usage("given twice:", argv[i]);
        if (i + 1 >= argc || !*argv[i + 1])
            return usage("a value is missing after", argv[i]);
        *value = argv[++i];
    }
    if ((current->options & OPT_OUT) && !o->out)
        return usage("-o FILE (where the CSR goes) is required", NULL);
    if ((current->options & OPT_CERT) && (!o->cert || !o->ca))
        return usage(o->cert ? "--ca (the device trust anchor) is required" : "--cert is required", NULL);
    return values_check(o);
}

/* ---- the TPM key ---- */

/* Creates (or with replace, replaces) the key: TPM_OWNER_SECRET, sessions salted with the recorded SRK when
 * provision-device recorded one, the SRK created when absent. */
static int key_create(struct tagent_cli *cli, tpm_t *tpm, const struct options *o, uint16_t curve,
                      bool replace, char **ret_error)
{
    const char *secret = getenv("TPM_OWNER_SECRET");
    struct tpm_auth owner = {0};
    uint8_t srk_name[TPM_NAME_MAX];
    size_t srk_name_len = 0;
    log_redact_add(secret);
    int r = tpm_auth_from_secret(secret, &owner, ret_error);
    if (r == 0)
        r = tep_srk_pin(cli->root, tpm, ret_error);
    if (r == 0)
        r = tpm_srk_ensure(tpm, &owner, srk_name, &srk_name_len, ret_error);
    if (r == 0)
        r = tpm_identity_key_create(tpm, &owner, srk_name, srk_name_len, o->handle, curve, replace,
                                    ret_error);
    tpm_auth_clear(&owner);
    return r;
}

static const char *curve_name(uint16_t curve)
{
    return curve == TPM_ECC_P384 ? "ECC P-384" : "ECC P-256";
}

/* An existing identity key is kept (without --new-key); a --profile it does not match is refused. */
static int key_reuse(const struct options *o, const struct tpm_identity_public *pub, char **ret_error)
{
    if (o->curve && pub->curve != o->curve)
        return error_set(
            ret_error, -EEXIST,
            "the key at 0x%08x is %s, --profile %s asks for %s: leave --profile out to keep using "
            "it, or replace it with --new-key",
            o->handle, curve_name(pub->curve), o->profile, curve_name(o->curve));
    printf("identity key 0x%08x: %s, in the TPM (reused)\n", o->handle, curve_name(pub->curve));
    return 0;
}

/* A new key at the handle (replacing what is there, loudly), and *ret_pub read back. */
static int key_new(struct tagent_cli *cli, tpm_t *tpm, const struct options *o, bool replace,
                   struct tpm_identity_public *ret_pub, char **ret_error)
{
    if (replace)
        log_warning("--new-key: the key at 0x%08x is evicted and a new one created; every certificate issued "
                    "for the old key stops matching this device",
                    o->handle);
    tpm_identity_public_clear(ret_pub);
    int r = key_create(cli, tpm, o, o->curve ? o->curve : TPM_ECC_P256, replace, ret_error);
    if (r == 0)
        r = tpm_identity_key_public(tpm, o->handle, ret_pub, ret_error);
    if (r == 0)
        printf("identity key 0x%08x: %s, %s (in the TPM, non-exportable)\n", o->handle,
               curve_name(ret_pub->curve),
               replace ? "a NEW key REPLACED the old one: certificates issued for the old key no longer match"
                       : "created");
    return r;
}

/* The key at the handle, created when absent, replaced with --new-key; *ret_pub its public key. The TPM
 * connection is closed on return: the tpm2 provider opens its own. */
static int key_ensure(struct tagent_cli *cli, const struct options *o, struct tpm_identity_public *ret_pub,
                      char **ret_error)
{
    tpm_t *tpm = NULL;
    int r = tpm_open(NULL, &tpm, ret_error);
    if (r == 0)
        r = tpm_identity_key_public(tpm, o->handle, ret_pub, ret_error);
    if (r == -EMEDIUMTYPE && o->new_key) { /* not an identity key: --new-key replaces it too */
        free(*ret_error);
        *ret_error = NULL;
        r = 0;
    }
    if (r == 0)
        r = ret_pub->present && !o->new_key ? key_reuse(o, ret_pub, ret_error)
                                            : key_new(cli, tpm, o, ret_pub->present, ret_pub, ret_error);
    tpm_close(tpm);
    return r;
}

static int subject_get(struct tagent_cli *cli, const struct options *o, struct identity_subject *ret,
                       char **ret_error)
{
    return o->subject ? identity_subject_parse(cli->root, o->subject, ret, ret_error)
                      : identity_subject_default(cli->root, ret, ret_error);
}

static void subject_print(const struct identity_subject *s)
{
    _cleanup_free_ char *text = identity_name_text(s->name);
    printf("subject: %s\n", text ? text : "?");
    if (s->uuid[0])
        printf("SAN: URI:urn:uuid:%s\n", s->uuid);
}

/* ---- csr ---- */

/* What csr and self-provision sign with: the subject, the TPM key (created when needed) through the tpm2
 * provider, and its public key as quote/ read it. */
struct signer {
    struct identity_subject subject;
    struct tpm_identity_public pub;
    struct identity_key key;
};

static int signer_open(struct tagent_cli *cli, const struct options *o, struct signer *s, char **ret_error)
{
    int r = subject_get(cli, o, &s->subject, ret_error);
    if (r == 0)
        r = key_ensure(cli, o, &s->pub, ret_error);
    if (r == 0)
        r = identity_key_open(NULL, o->handle, &s->key, ret_error);
    return r;
}

static void signer_close(struct signer *s)
{
    identity_key_close(&s->key);
    tpm_identity_public_clear(&s->pub);
    identity_subject_clear(&s->subject);
}

static int csr_run(struct tagent_cli *cli, const struct options *o)
{
    struct signer s = {0};
    _cleanup_free_ char *error = NULL, *pem = NULL;
    int r = signer_open(cli, o, &s, &error);
    if (r == 0)
        r = identity_csr_make(&s.key, &s.subject, s.pub.spki, s.pub.spki_len, &pem, &error);
    if (r == 0 && (r = config_write_file_atomic(o->out, pem, strlen(pem), 0644)) < 0)
        r = error_set(&error, r, "writing %s: %s", o->out, strerror(-r));
    if (r == 0) {
        subject_print(&s.subject);
        printf("CSR written to %s (signed by the TPM, %s); have the device CA sign it, then `tagent identity "
               "install --cert device.pem --ca device-ca.pem`\n",
               o->out, s.key.digest);
    }
    signer_close(&s);
    if (r < 0)
        return fail(error);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}

/* ---- install ---- */

static void certs_freep(STACK_OF(X509) * *certs)
{
    identity_certs_free(*certs);
}

static int tpm_public_read(uint32_t handle, struct tpm_identity_public *ret_pub, char **ret_error)
{
    tpm_t *tpm = NULL;
    int r = tpm_open(NULL, &tpm, ret_error);
    if (r == 0)
        r = tpm_identity_key_public(tpm, handle, ret_pub, ret_error);
    tpm_close(tpm);
    if (r == 0 && !ret_pub->present)
        r = error_set(ret_error, -ENOENT,
                      "there is no identity key at 0x%08x; create it with `tagent identity csr` (or give the "
                      "--handle it was created at)",
                      handle);
    return r;
}

static void installed_print(struct tagent_cli *cli, X509 *cert)
{
    _cleanup_free_ char *subject = identity_name_text(X509_get_subject_name(cert));
    _cleanup_free_ char *issuer = identity_name_text(X509_get_issuer_name(cert));
    _cleanup_free_ char *cert_path = config_path(cli->root, IDENTITY_CERT_FILE);
    _cleanup_free_ char *ca_path = config_path(cli->root, IDENTITY_CA_FILE);
    bool dev = identity_cert_is_development(cert);
    printf("%sidentity certificate installed: %s and %s\nsubject: %s\nissuer: %s\n",
           dev ? IDENTITY_DEV_LABEL " " : "", cert_path ? cert_path : "?", ca_path ? ca_path : "?",
           subject ? subject : "?", issuer ? issuer : "?");
}

static int install_run(struct tagent_cli *cli, const struct options *o)
{
    _cleanup_(certs_freep) STACK_OF(X509) *chain = NULL, *anchors = NULL;
    struct tpm_identity_public pub = {0};
    _cleanup_free_ char *error = NULL;
    int r = identity_certs_load(o->cert, &chain, &error);
    if (r == 0)
        r = identity_certs_load(o->ca, &anchors, &error);
    if (r < 0)
        return fail(error);
    X509 *cert = sk_X509_shift(chain); /* the device certificate first, then what the device sends with it */
    r = tpm_public_read(o->handle, &pub, &error);
    if (r < 0) {
        X509_free(cert);
        return fail(error);
    }
    r = identity_cert_check(cert, chain, anchors, pub.spki, pub.spki_len, &error);
    tpm_identity_public_clear(&pub);
    if (r < 0) {
        X509_free(cert);
        log_error("identity install: refused, nothing written: %s", error ? error : "out of memory");
        return error ? EXIT_REFUSED : TAGENT_EXIT_ERROR;
    }
    r = identity_store(cli->root, cert, chain, anchors, &error);
    if (r == 0)
        installed_print(cli, cert);
    X509_free(cert);
    if (r < 0)
        return fail(error);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}

/* ---- self-provision ---- */

/* The certificate just made, parsed back and checked like any other (with itself as the anchor). */
static int self_signed_install(struct tagent_cli *cli, const char *pem, const struct tpm_identity_public *pub,
                               char **ret_error)
{
    _cleanup_(certs_freep) STACK_OF(X509) *anchors = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!anchors || !cert || !X509_up_ref(cert) || !sk_X509_push(anchors, cert)) {
        X509_free(cert);
        return error_set(ret_error, -ENOMEM, "reading back the self-signed certificate failed");
    }
    int r = identity_cert_check(cert, NULL, anchors, pub->spki, pub->spki_len, ret_error);
    if (r == 0)
        r = identity_store(cli->root, cert, NULL, anchors, ret_error);
    if (r == 0)
        installed_print(cli, cert);
    X509_free(cert);
    return r;
}

static int self_provision_run(struct tagent_cli *cli, const struct options *o)
{
    struct signer s = {0};
    _cleanup_free_ char *error = NULL, *pem = NULL;
    int r = signer_open(cli, o, &s, &error);
    if (r == 0)
        r = identity_self_signed_make(&s.key, &s.subject, o->days, &pem, &error);
    if (r == 0)
        r = self_signed_install(cli, pem, &s.pub, &error);
    if (r == 0)
        printf("valid for %u days; for development only: peers trust it only when told to trust this very "
               "certificate. A production identity is `tagent identity csr` + `tagent identity install`\n",
               o->days);
    signer_close(&s);
    if (r < 0)
        return fail(error);
    return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}

/* ---- show ---- */

static const char *json_text(const cJSON *obj, const char *field)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, field));
    return s ? s : "";
}

static void show_print(const cJSON *j)
{
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(j, "key");
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(j, "certificate");
    printf("handle:       %s\n", json_text(j, "handle"));
    if (cJSON_IsNull(key))
        printf("key:          unknown: the TPM could not be read: %s\n", json_text(j, "tpm_error"));
    else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(key, "present")))
        printf("key:          none (create it with `tagent identity csr`)\n");
    else
        printf("key:          %s, in the TPM (non-exportable)\nkey SHA-256:  %s (SubjectPublicKeyInfo)\n",
               json_text(key, "algorithm"), json_text(key, "spki_sha256"));
    if (cJSON_IsNull(cert)) {
        printf("certificate:  none installed (`tagent identity install`, or `tagent identity "
               "self-provision` for development)\n");
        return;
    }
    const cJSON *matches = cJSON_GetObjectItemCaseSensitive(cert, "key_matches");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cert, "development")))
        printf("certificate:  %s, %s\n", IDENTITY_DEV_LABEL, json_text(cert, "file"));
    else
        printf("certificate:  %s\n", json_text(cert, "file"));
    printf("subject:      %s\nissuer:       %s\nserial:       %s\nvalid:        %s to %s\nSAN:          %s\n",
           json_text(cert, "subject"), json_text(cert, "issuer"), json_text(cert, "serial"),
           json_text(cert, "not_before"), json_text(cert, "not_after"), json_text(cert, "san"));
    printf("key matches:  %s\nstatus:       %s\n",
           cJSON_IsNull(matches)   ? "unknown (TPM not read)"
           : cJSON_IsTrue(matches) ? "yes"
                                   : "NO",
           json_text(cert, "status"));
}

static int show_run(struct tagent_cli *cli, const struct options *o)
{
    struct tpm_identity_public pub = {0};
    _cleanup_free_ char *tpm_error = NULL, *error = NULL, *text = NULL;
    _cleanup_(cJSON_Deletep) cJSON *j = NULL;
    tpm_t *tpm = NULL;
    bool ok = false;
    int tpm_r = tpm_open(NULL, &tpm, &tpm_error);
    if (tpm_r == 0)
        tpm_r = tpm_identity_key_public(tpm, o->handle, &pub, &tpm_error);
    tpm_close(tpm);
    int r = identity_describe(cli->root, o->handle, tpm_r == 0 ? &pub : NULL, tpm_error, &j, &ok, &error);
    tpm_identity_public_clear(&pub);
    if (r < 0)
        return fail(error);
    if (o->json) {
        if (!(text = cJSON_Print(j)))
            return fail(NULL);
        puts(text);
    } else
        show_print(j);
    if (fflush(stdout) != 0)
        return TAGENT_EXIT_ERROR;
    if (ok)
        return TAGENT_EXIT_OK;
    if (tpm_r < 0) /* nothing to say about the match without the TPM */
        return TAGENT_EXIT_ERROR;
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "certificate")) ? TAGENT_EXIT_ERROR
                                                                            : EXIT_REFUSED;
}

/* ---- dispatch ---- */

static const struct subcommand subcommands[] = {
    {"csr", OPT_SUBJECT | OPT_OUT | OPT_PROFILE | OPT_HANDLE | OPT_NEW_KEY,
     "csr -o FILE [--subject /CN=.../serialNumber=...] [--profile dtpm|ptt] [--handle 0x8100a010] "
     "[--new-key]",
     "creates the identity key in the TPM when absent (TPM_OWNER_SECRET), reuses it when present, replaces "
     "it "
     "with --new-key; writes a CSR signed by the TPM. Subject default: CN = SMBIOS product UUID, "
     "serialNumber = "
     "SMBIOS serial number, SAN URI urn:uuid:<product UUID>. dtpm: ECC P-256/SHA-256 (default), ptt: P-384",
     csr_run},
    {"install", OPT_CERT | OPT_CA | OPT_HANDLE,
     "install --cert device.pem --ca device-ca.pem [--handle 0x8100a010]",
     "checks that the certificate is for the TPM's identity key, a CA:FALSE leaf, valid now and chains to "
     "the "
     "device trust anchor (--ca) for TLS client authentication, then stores both under " IDENTITY_DIR
     "; exit 2 refused (nothing written)",
     install_run},
    {"self-provision", OPT_SUBJECT | OPT_PROFILE | OPT_HANDLE | OPT_NEW_KEY | OPT_DAYS,
     "self-provision [--subject ...] [--profile dtpm|ptt] [--handle 0x8100a010] [--new-key] [--days N]",
     "development only: a certificate self-signed by the TPM key (OU=" IDENTITY_DEV_MARKER "), installed as "
     "its own trust anchor, shown as " IDENTITY_DEV_LABEL,
     self_provision_run},
    {"show", OPT_HANDLE | OPT_JSON, "show [--handle 0x8100a010] [--json]",
     "the key, the installed certificate and whether it still matches the TPM key and chains to the anchor; "
     "exit 2 when it does not, 1 when none is installed or the TPM cannot be read",
     show_run},
};

int cmd_identity_run(struct tagent_cli *cli, int argc, char **argv)
{
    current = NULL;
    if (argc < 2)
        return usage("a subcommand is missing", NULL);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            current = &subcommands[i];
    if (!current)
        return usage("unknown subcommand", argv[1]);
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        printf("Usage: tagent [--root DIR] identity %s\n  %s\n", current->usage, current->help);
        return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
    }
    struct options o = {0};
    if (parse(argc - 1, argv + 1, &o) != TAGENT_EXIT_OK)
        return TAGENT_EXIT_ERROR;
    return current->run(cli, &o);
}
