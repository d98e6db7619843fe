/* SPDX-License-Identifier: BSD-3-Clause */
/* The development PKI's directory (docs/dev-pki.md 1) and what `pki init` and `pki sign-csr` share: loading a
 * CA, a new certificate with a random serial, extensions, signing, PEM. */
#include "admin.h"
#include "admin_pki.h"
#include "cleanup.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* Development validity: roots 10 years, sub CAs 5 (docs/dev-pki.md 2). */
#define ROOT_DAYS  3652
#define SUBCA_DAYS 1826
#define PEM_MAX    (64 * 1024)

const struct pki_ca_info pki_cas[PKI_CA_COUNT] = {
    [PKI_SSIG_ROOT] = {"ssig-root", "Software Signing Root CA", PKI_SSIG_ROOT, ROOT_DAYS},
    [PKI_SSIG_SUBCA] = {"ssig-subca", "Software Signing Sub CA", PKI_SSIG_ROOT, SUBCA_DAYS},
    [PKI_GEN_ROOT] = {"gen-root", "General Root CA", PKI_GEN_ROOT, ROOT_DAYS},
    [PKI_GUESTOS_SUBCA] = {"guestos-subca", "GuestOS Signing Sub CA", PKI_GEN_ROOT, SUBCA_DAYS},
    [PKI_DEVICE_SUBCA] = {"device-subca", "Device Sub CA", PKI_GEN_ROOT, SUBCA_DAYS},
};

char *pki_path(const char *dir, const char *stem, const char *ext)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s%s%s", dir, stem, ext ? "." : "", ext ? ext : "") < 0 ? NULL : p;
}

int pki_dir_check(const char *dir, char **ret_error)
{
    _cleanup_free_ char *readme = pki_path(dir, PKI_README_FILE, NULL);
    _cleanup_openssl_free_ uint8_t *text = NULL;
    size_t len = 0;
    struct stat st;

    if (!readme)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (stat(dir, &st) < 0)
        return error_set(ret_error, -errno,
                         "--pki %s: %s; give the directory that `tagent-admin pki init DIR` made", dir,
                         strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(
            ret_error, -ENOTDIR,
            "--pki %s is not a directory; give the directory that `tagent-admin pki init DIR` made", dir);
    if (admin_file_read(readme, PEM_MAX, &text, &len, NULL) < 0 || len < strlen(PKI_README_MAGIC) ||
        memcmp(text, PKI_README_MAGIC, strlen(PKI_README_MAGIC)) != 0)
        return error_set(ret_error, -ENOENT,
                         "--pki %s is not a development PKI of tagent-admin (no %s beginning \"%s\"); give "
                         "the directory that `tagent-admin pki init DIR` made",
                         dir, readme, PKI_README_MAGIC);
    return 0;
}

int pki_cert_load(const char *path, X509 **ret_cert, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = NULL;
    int r = admin_file_bio(path, PEM_MAX, &bio, ret_error);
    if (r < 0)
        return r;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!cert) {
        r = error_set(ret_error, -EINVAL,
                      "%s: cannot read a PEM certificate (%s); restore it from a backup of the directory",
                      path, admin_openssl_reason("no CERTIFICATE block"));
        ERR_clear_error();
        return r;
    }
    *ret_cert = cert;
    return 0;
}

int pki_ca_load(const char *dir, enum pki_ca ca, X509 **ret_cert, EVP_PKEY **ret_key, char **ret_error)
{
    _cleanup_free_ char *cert_path = pki_path(dir, pki_cas[ca].stem, "pem");
    _cleanup_free_ char *key_path = pki_path(dir, pki_cas[ca].stem, "key");
    _cleanup_(X509_freep) X509 *cert = NULL;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    int r;

    if (!cert_path || !key_path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if ((r = pki_dir_check(dir, ret_error)) < 0 || (r = pki_cert_load(cert_path, &cert, ret_error)) < 0 ||
        (r = admin_private_key_load(key_path, PKI_KEY_HINT, &key, ret_error)) < 0)
        return r;
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return error_set(
            ret_error, -EINVAL,
            "%s does not belong to %s (their public keys differ); restore the pair from a backup "
            "of the directory",
            key_path, cert_path);
    }
    *ret_cert = TAKE_PTR(cert);
    *ret_key = TAKE_PTR(key);
    return 0;
}

/* 128 bits from the DRBG: positive by construction (DER adds a 0 octet when the top bit is set, 17 octets at
 * most, within RFC 5280's 20), unique without a serial file. */
static int serial_random(X509 *cert, char **ret_error)
{
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return error_set(ret_error, -EIO, "cannot draw a random serial number (the OpenSSL DRBG failed)");
    raw[sizeof(raw) - 1] |= 1; /* never zero, which RFC 5280 forbids */
    _cleanup_(BN_freep) BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ASN1_INTEGER *serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = serial && X509_set_serialNumber(cert, serial);
    ASN1_INTEGER_free(serial);
    return ok ? 0 : error_set(ret_error, -ENOMEM, "out of memory");
}

int pki_cert_new(const X509_NAME *subject, EVP_PKEY *pub, X509 *issuer, time_t not_after, X509 **ret_cert,
                 char **ret_error)
{
    _cleanup_(X509_freep) X509 *cert = X509_new();
    int r;

    if (!cert || !X509_set_version(cert, X509_VERSION_3) || !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject) ||
        !X509_set_pubkey(cert, pub) || !X509_gmtime_adj(X509_getm_notBefore(cert), -PKI_CLOCK_SKEW) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert), not_after))
        return error_set(ret_error, -ENOMEM, "cannot fill in a certificate (out of memory)");
    if ((r = serial_random(cert, ret_error)) < 0)
        return r;
    *ret_cert = TAKE_PTR(cert);
    return 0;
}

int pki_ext_add(X509 *cert, X509 *issuer, int nid, const char *value, char **ret_error)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) {
        int r = error_set(ret_error, -EINVAL, "cannot add the %s extension \"%s\" (%s)", OBJ_nid2ln(nid),
                          value, admin_openssl_reason("out of memory"));
        ERR_clear_error();
        return r;
    }
    return 0;
}

int pki_cert_sign(X509 *cert, EVP_PKEY *ca_key, char **ret_error)
{
    if (X509_sign(cert, ca_key, EVP_sha384()) <= 0) {
        int r =
            error_set(ret_error, -EIO, "cannot sign the certificate (%s)", admin_openssl_reason("unknown"));
        ERR_clear_error();
        return r;
    }
    return 0;
}

int pki_cert_pem_append(X509 *cert, char **buf, size_t *len, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (!bio || !PEM_write_bio_X509(bio, cert))
        return error_set(ret_error, -ENOMEM, "cannot encode a certificate as PEM (out of memory)");
    size_t n = (size_t)BIO_get_mem_data(bio, &data);
    char *grown = realloc(*buf, *len + n + 1);
    if (!grown)
        return error_set(ret_error, -ENOMEM, "out of memory");
    memcpy(grown + *len, data, n);
    *len += n;
    grown[*len] = '\0';
    *buf = grown;
    return 0;
}

void pki_time_format(const ASN1_TIME *t, char *out, size_t size)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "(invalid time)");
}

void pki_key_describe(EVP_PKEY *key, char *out, size_t size)
{
    char group[64] = "";
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
        const char *nist = EC_curve_nid2nist(OBJ_txt2nid(group));
        snprintf(out, size, "EC %s", nist ? nist : group);
    } else if (id == EVP_PKEY_RSA)
        snprintf(out, size, "RSA %d", EVP_PKEY_get_bits(key));
    else
        snprintf(out, size, "%s", OBJ_nid2sn(id));
}

void pki_name_format(const X509_NAME *name, char *out, size_t size)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    out[0] = '\0';
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        long n = BIO_get_mem_data(bio, &data);
        snprintf(out, size, "%.*s", (int)n, data);
    }
}
