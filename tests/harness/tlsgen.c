/* A throwaway PKI for loopback TLS: an EC P-256 CA and leaf certificates, written as PEM. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define VALID_DAYS 30

struct tlsgen_ca {
    X509 *cert;
    EVP_PKEY *key;
};

static int ssl_fail(const char *what)
{
    fprintf(stderr, "tlsgen: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    return -EIO;
}

/* issuer NULL: self-signed, the new certificate is its own issuer. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return ssl_fail(value);
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : ssl_fail("X509_add_ext");
}

/* Everything but extensions and signature: version, random serial, validity, names, key. */
static int cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, X509 **ret_cert)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIGNUM *serial = BN_new();
    int r = -EIO;

    if (!cert || !name || !serial)
        goto out;
    /* Positive 63-bit serials: unique per run without keeping a serial file. */
    if (!BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)))
        goto out;
    if (!X509_set_version(cert, X509_VERSION_3) || !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)VALID_DAYS * 24 * 3600))
        goto out;
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tagent tests", -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
        goto out;
    if (!X509_set_subject_name(cert, name) ||
        !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_set_pubkey(cert, key))
        goto out;
    *ret_cert = cert;
    cert = NULL;
    r = 0;
out:
    if (r < 0)
        ssl_fail("building a certificate");
    X509_free(cert);
    X509_NAME_free(name);
    BN_free(serial);
    return r;
}

int tlsgen_ca_create(const char *cn, tlsgen_ca_t **ret_ca)
{
    tlsgen_ca_t *ca = calloc(1, sizeof(*ca));
    int r = -ENOMEM;

    if (!ca)
        return r;
    ca->key = EVP_EC_gen("P-256");
    if (!ca->key) {
        r = ssl_fail("EC P-256 key generation");
        goto out;
    }
    r = cert_new(cn, ca->key, NULL, &ca->cert);
    if (r == 0)
        r = add_ext(ca->cert, NULL, NID_basic_constraints, "critical,CA:TRUE");
    if (r == 0)
        r = add_ext(ca->cert, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (r == 0)
        r = add_ext(ca->cert, NULL, NID_subject_key_identifier, "hash");
    if (r == 0 && !X509_sign(ca->cert, ca->key, EVP_sha256()))
        r = ssl_fail("signing the CA certificate");
out:
    if (r < 0) {
        tlsgen_ca_free(ca);
        return r;
    }
    *ret_ca = ca;
    return 0;
}

void tlsgen_ca_free(tlsgen_ca_t *ca)
{
    if (!ca)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

static FILE *create_file(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (!f) {
        fprintf(stderr, "tlsgen: open %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

static int write_pem(const char *cert_path, X509 *cert, const char *key_path, EVP_PKEY *key)
{
    FILE *f;
    int ok;

    f = create_file(cert_path, 0644);
    if (!f)
        return -EIO;
    ok = PEM_write_X509(f, cert);
    if (fclose(f) != 0 || !ok)
        return ssl_fail(cert_path);
    if (!key_path)
        return 0;
    f = create_file(key_path, 0600);
    if (!f)
        return -EIO;
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || !ok)
        return ssl_fail(key_path);
    return 0;
}

int tlsgen_ca_save(const tlsgen_ca_t *ca, const char *cert_path, const char *key_path)
{
    return write_pem(cert_path, ca->cert, key_path, ca->key);
}

int tlsgen_ca_load(const char *cert_path, const char *key_path, tlsgen_ca_t **ret_ca)
{
    tlsgen_ca_t *ca = calloc(1, sizeof(*ca));
    FILE *f;

    if (!ca)
        return -ENOMEM;
    f = fopen(cert_path, "re");
    if (f) {
        ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    f = fopen(key_path, "re");
    if (f) {
        ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!ca->cert || !ca->key) {
        fprintf(stderr, "tlsgen: cannot load CA from %s and %s\n", cert_path, key_path);
        ERR_print_errors_fp(stderr);
        tlsgen_ca_free(ca);
        return -EINVAL;
    }
    *ret_ca = ca;
    return 0;
}

int tlsgen_leaf_issue(const tlsgen_ca_t *ca, const struct tlsgen_leaf *leaf, const char *cert_path,
                      const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = NULL;
    char san[256] = "";
    int r;

    if (!key)
        return ssl_fail("EC P-256 key generation");
    if (leaf->ip_san)
        snprintf(san, sizeof(san), "IP:%s", leaf->ip_san);
    if (leaf->dns_san)
        snprintf(san + strlen(san), sizeof(san) - strlen(san), "%sDNS:%s", *san ? "," : "", leaf->dns_san);
    r = cert_new(leaf->cn, key, ca->cert, &cert);
    if (r == 0)
        r = add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
    if (r == 0)
        r = add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature");
    if (r == 0)
        r = add_ext(cert, ca->cert, NID_ext_key_usage, leaf->client ? "clientAuth" : "serverAuth");
    if (r == 0)
        r = add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always");
    if (r == 0 && *san)
        r = add_ext(cert, ca->cert, NID_subject_alt_name, san);
    if (r == 0 && !X509_sign(cert, ca->key, EVP_sha256()))
        r = ssl_fail("signing a leaf certificate");
    if (r == 0)
        r = write_pem(cert_path, cert, key_path, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return r;
}
