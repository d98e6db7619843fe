/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-admin pki sign-csr: an end-entity certificate from a PKCS#10 request (docs/dev-pki.md 3). From the
 * CSR only the subject, the public key and the subjectAltName are taken, after its self-signature verifies;
 * every other extension is the CA's choice, so a request cannot make itself a CA.
 */
#include "admin.h"
#include "admin_pki.h"
#include "cleanup.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define CSR_MAX      (64 * 1024)
#define DEFAULT_DAYS 365
#define RSA_MIN_BITS 2048

struct sign_args {
    const char *pki, *ca_name, *csr, *out;
    size_t profile; /* index in profiles[] */
    long days;
    bool days_given, force;
};

/* The sub CA that signs for each --ca, and the extended key usage it grants. */
static const struct {
    const char *name;
    enum pki_ca ca;
    const char *eku;
} profiles[] = {
    {"device", PKI_DEVICE_SUBCA, "clientAuth,serverAuth"},
    {"guestos", PKI_GUESTOS_SUBCA, "codeSigning"},
    {"ssig", PKI_SSIG_SUBCA, "codeSigning"},
};

static void extensions_free(STACK_OF(X509_EXTENSION) * s)
{
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(STACK_OF(X509_EXTENSION) *, extensions_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)

static int csr_load(const char *path, X509_REQ **ret_req, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = NULL;
    int r = admin_file_bio(path, CSR_MAX, &bio, ret_error);
    if (r < 0)
        return r;
    X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    ERR_clear_error();
    if (!req)
        return error_set(ret_error, -EINVAL,
                         "%s is not a PEM certificate request (no readable CERTIFICATE REQUEST block); give "
                         "the CSR the device made (e.g. `tagent identity csr`, or `openssl req -new`)",
                         path);
    *ret_req = req;
    return 0;
}

/* The key a certificate may carry: EC on P-256 or P-384, or RSA of at least 2048 bits. */
static int key_check(const char *path, EVP_PKEY *pub, char **ret_error)
{
    char what[64], group[64] = "";
    int id = EVP_PKEY_get_base_id(pub);
    pki_key_describe(pub, what, sizeof(what));
    if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pub) >= RSA_MIN_BITS)
        return 0;
    if (id == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) &&
        (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0))
        return 0;
    return error_set(ret_error, -EINVAL,
                     "%s: the CSR's key is %s; this CA certifies EC P-256, EC P-384 or RSA keys of at least "
                     "%d bits: make the CSR with such a key",
                     path, what, RSA_MIN_BITS);
}

static int csr_check(const char *path, X509_REQ *req, char **ret_error)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    const X509_NAME *subject = X509_REQ_get_subject_name(req);
    int r;

    if (!pub)
        return error_set(ret_error, -EINVAL, "%s: the CSR's public key cannot be read; make the CSR again",
                         path);
    if (X509_REQ_verify(req, pub) != 1) {
        ERR_clear_error();
        return error_set(ret_error, -EBADMSG,
                         "%s: the CSR's self-signature does not verify (it was changed after signing, or "
                         "signed with another key); make the CSR again with the key it names",
                         path);
    }
    if ((r = key_check(path, pub, ret_error)) < 0)
        return r;
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    const ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)) : NULL;
    if (!cn || ASN1_STRING_length(cn) == 0)
        return error_set(ret_error, -EINVAL,
                         "%s: the CSR's subject has no commonName (CN); make it with a subject such as "
                         "-subj \"/CN=device-42\"",
                         path);
    return 0;
}

/* The CSR's subjectAltName, when it has DNS, URI and IP names only, onto cert (not critical: the subject has
 * a CN). */
static int san_copy(const char *path, X509_EXTENSION *ext, X509 *cert, char **ret_error)
{
    _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
    if (!names) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL,
                         "%s: the CSR's subjectAltName cannot be decoded; make the CSR again", path);
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        int type = sk_GENERAL_NAME_value(names, i)->type;
        if (type != GEN_DNS && type != GEN_URI && type != GEN_IPADD)
            return error_set(ret_error, -EINVAL,
                             "%s: the CSR's subjectAltName holds a name other than DNS, URI or IP (type %d); "
                             "make the CSR with only those",
                             path, type);
    }
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        return error_set(ret_error, -ENOMEM, "cannot add the subjectAltName (out of memory)");
    return 0;
}

/* The requested extensions: subjectAltName copied, every other one named on stderr and left out. */
static int requested_extensions(const char *path, X509_REQ *req, X509 *cert, char **ret_error)
{
    _cleanup_(extensions_freep) STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    int r;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        if (OBJ_obj2nid(obj) == NID_subject_alt_name) {
            if ((r = san_copy(path, ext, cert, ret_error)) < 0)
                return r;
            continue;
        }
        char name[80];
        OBJ_obj2txt(name, sizeof(name), obj, 0); /* a known extension by name, else its OID */
        fprintf(stderr,
                "tagent-admin: pki sign-csr: note: ignoring the CSR's requested %s extension (the CA "
                "sets its own; only subjectAltName is copied)\n",
                name);
    }
    ERR_clear_error();
    return 0;
}

/* notAfter: now + days, at most the CA's own notAfter; an explicit --days beyond it is an error. */
static int not_after_pick(const struct sign_args *a, X509 *ca_cert, time_t *ret, char **ret_error)
{
    const ASN1_TIME *ca_end = X509_get0_notAfter(ca_cert);
    struct tm tm;
    int days = 0, secs = 0;
    char end[32];

    pki_time_format(ca_end, end, sizeof(end));
    if (!ASN1_TIME_to_tm(ca_end, &tm) || !ASN1_TIME_diff(&days, &secs, NULL, ca_end))
        return error_set(ret_error, -EINVAL, "the CA certificate's notAfter cannot be read");
    if (days < 0 || secs < 0 || (days == 0 && secs == 0))
        return error_set(ret_error, -EKEYEXPIRED, "the %s CA expired on %s; make a new PKI with `pki init`",
                         a->ca_name, end);
    if (a->days_given && a->days > days)
        return error_set(ret_error, -ERANGE,
                         "--days %ld: the %s CA's certificate ends on %s, %d days from now; give --days %d "
                         "or less",
                         a->days, a->ca_name, end, days, days);
    time_t ca_limit = timegm(&tm), want = time(NULL) + (time_t)a->days * 86400;
    if (want > ca_limit)
        fprintf(
            stderr,
            "tagent-admin: pki sign-csr: note: the certificate ends with the %s CA's, on %s (%d days, not "
            "%ld)\n",
            a->ca_name, end, days, a->days);
    *ret = want < ca_limit ? want : ca_limit;
    return 0;
}

/* The certificate for the CSR, signed by the sub CA of --ca. */
static int cert_issue(const struct sign_args *a, X509 **ret_cert, char **ret_error)
{
    enum pki_ca ca = profiles[a->profile].ca;
    _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
    _cleanup_(X509_freep) X509 *ca_cert = NULL, *cert = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *ca_key = NULL;
    time_t not_after = 0;
    int r;

    if ((r = csr_load(a->csr, &req, ret_error)) < 0 || (r = csr_check(a->csr, req, ret_error)) < 0 ||
        (r = pki_ca_load(a->pki, ca, &ca_cert, &ca_key, ret_error)) < 0 ||
        (r = not_after_pick(a, ca_cert, &not_after, ret_error)) < 0 ||
        (r = pki_cert_new(X509_REQ_get_subject_name(req), X509_REQ_get0_pubkey(req), ca_cert, not_after,
                          &cert, ret_error)) < 0 ||
        (r = pki_ext_add(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE", ret_error)) < 0 ||
        (r = pki_ext_add(cert, ca_cert, NID_key_usage, "critical,digitalSignature", ret_error)) < 0 ||
        (r = pki_ext_add(cert, ca_cert, NID_ext_key_usage, profiles[a->profile].eku, ret_error)) < 0 ||
        (r = pki_ext_add(cert, ca_cert, NID_subject_key_identifier, "hash", ret_error)) < 0 ||
        (r = pki_ext_add(cert, ca_cert, NID_authority_key_identifier, "keyid:always", ret_error)) < 0 ||
        (r = requested_extensions(a->csr, req, cert, ret_error)) < 0 ||
        (r = pki_cert_sign(cert, ca_key, ret_error)) < 0)
        return r;
    *ret_cert = TAKE_PTR(cert);
    return 0;
}

static int sign_csr(const struct sign_args *a, char **ret_error)
{
    _cleanup_(X509_freep) X509 *cert = NULL;
    _cleanup_free_ char *pem = NULL;
    size_t len = 0;
    struct stat st;
    int r;

    /* before any work: the common mistake costs nothing */
    if (!a->force && lstat(a->out, &st) == 0)
        return error_set(ret_error, -EEXIST,
                         "%s exists; refusing to overwrite it (choose another -o, or give --force)", a->out);
    if ((r = cert_issue(a, &cert, ret_error)) < 0 ||
        (r = pki_cert_pem_append(cert, &pem, &len, ret_error)) < 0)
        return r;
    r = a->force ? admin_file_replace(a->out, pem, len, 0644, ret_error)
                 : admin_file_install_new(a->out, pem, len, 0644, ret_error);
    if (r < 0)
        return r;

    char until[32], subject[256];
    _cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    _cleanup_openssl_free_ char *serial = bn ? BN_bn2hex(bn) : NULL;
    pki_time_format(X509_get0_notAfter(cert), until, sizeof(until));
    pki_name_format(X509_get_subject_name(cert), subject, sizeof(subject));
    printf("wrote %s: %s, serial %s, valid until %s, issued by the %s\n", a->out, subject,
           serial ? serial : "?", until, pki_cas[profiles[a->profile].ca].cn);
    return 0;
}

static int pki_sign_csr_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pki", required_argument, NULL, 'P'},
        {"ca", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"days", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct sign_args a = {.days = DEFAULT_DAYS};
    _cleanup_free_ char *err = NULL;
    char *end = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'P')
            a.pki = optarg;
        else if (c == 'c')
            a.ca_name = optarg;
        else if (c == 'o')
            a.out = optarg;
        else if (c == 'f')
            a.force = true;
        else if (c == 'd') {
            errno = 0;
            a.days = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || a.days < 1 || a.days > INT_MAX / 86400)
                return admin_usage_error(&admin_pki_sign_csr,
                                         "--days takes a whole number of days, 1 or more (at most the CA's "
                                         "remaining validity)");
            a.days_given = true;
        } else if (c == 'h') {
            admin_command_help(&admin_pki_sign_csr);
            return ADMIN_EXIT_OK;
        } else
            return admin_usage_error(&admin_pki_sign_csr, NULL);
    }
    if (optind == argc)
        return admin_usage_error(&admin_pki_sign_csr, "the CSR file is required");
    if (optind + 1 != argc)
        return admin_usage_error(&admin_pki_sign_csr, "unexpected argument after the CSR");
    a.csr = argv[optind];
    if (!a.pki || !a.ca_name || !a.out)
        return admin_usage_error(&admin_pki_sign_csr, !a.pki       ? "--pki DIR is required"
                                                      : !a.ca_name ? "--ca device|guestos|ssig is required"
                                                                   : "-o OUT is required");
    while (a.profile < sizeof(profiles) / sizeof(profiles[0]) &&
           strcmp(profiles[a.profile].name, a.ca_name) != 0)
        a.profile++;
    if (a.profile == sizeof(profiles) / sizeof(profiles[0]))
        return admin_usage_error(&admin_pki_sign_csr, "--ca takes device, guestos or ssig");
    if (sign_csr(&a, &err) < 0)
        return admin_error("pki sign-csr: %s", err ? err : "out of memory");
    return ADMIN_EXIT_OK;
}

const struct admin_command admin_pki_sign_csr = {
    .group = "pki",
    .name = "sign-csr",
    .usage = "--pki DIR --ca device|guestos|ssig CSR -o OUT [--days N] [--force]",
    .summary = "issue a certificate for a PKCS#10 request with one of the sub CAs",
    .help =
        "  --pki DIR        the directory of `tagent-admin pki init`\n"
        "  --ca device      the Device Sub CA: a TLS client and server certificate (clientAuth, serverAuth)\n"
        "  --ca guestos     the GuestOS Signing Sub CA: a code signing certificate\n"
        "  --ca ssig        the Software Signing Sub CA: a code signing certificate\n"
        "  CSR              the request, PEM; its self-signature must verify; EC P-256/P-384 or RSA >= 2048\n"
        "  -o, --output OUT where to write the certificate (PEM, 0644, atomically)\n"
        "  --days N         validity from now (default 365; clipped to the CA's own end, which an explicit\n"
        "                   N must not pass)\n"
        "  --force          replace OUT when it exists\n"
        "\n"
        "The subject and the subjectAltName (DNS, URI and IP names) come from the CSR; every other\n"
        "requested extension is ignored (a note on stderr says which). The certificate has a random\n"
        "128-bit serial, notBefore 5 minutes in the past (clock skew), basicConstraints CA:FALSE and\n"
        "keyUsage digitalSignature (both critical), the extended key usage above, subject and authority\n"
        "key identifiers, and is signed with ECDSA-SHA384. docs/dev-pki.md has the details.\n",
    .run = pki_sign_csr_run,
};
