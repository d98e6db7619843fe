/* SPDX-License-Identifier: BSD-3-Clause */
/* The CSR and the development self-signed certificate, both signed by the TPM through the tpm2 provider
 * (EVP_DigestSignInit_ex + X509_REQ_sign_ctx / X509_sign_ctx: OpenSSL 3.0 has no X509_REQ_sign_ex). */
#include "identity.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_NAME *, X509_NAME_free)

static void extensions_freep(STACK_OF(X509_EXTENSION) * *exts)
{
    sk_X509_EXTENSION_pop_free(*exts, X509_EXTENSION_free);
}

static int sign_error(const char *what, char **ret_error)
{
    char why[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    return error_set(ret_error, -EIO, "the TPM could not sign the %s (%s); check that the TPM answers", what,
                     e ? why : "no OpenSSL error recorded");
}

/* A digest-sign context over the TPM key: the hash in the default provider, the signature in the TPM. */
static EVP_MD_CTX *sign_ctx(const struct identity_key *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx &&
        EVP_DigestSignInit_ex(ctx, NULL, key->digest, key->libctx, IDENTITY_PROPQ, key->pkey, NULL) <= 0) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* conf: an extension value in openssl.cnf's syntax (critical, CA:FALSE...). */
static X509_EXTENSION *extension(X509V3_CTX *ctx, int nid, const char *conf)
{
    return X509V3_EXT_conf_nid(NULL, ctx, nid, conf);
}

static int san_add(STACK_OF(X509_EXTENSION) * exts, X509V3_CTX *ctx, const struct identity_subject *s)
{
    char uri[64];
    if (!s->uuid[0])
        return 0;
    snprintf(uri, sizeof(uri), "URI:urn:uuid:%s", s->uuid);
    X509_EXTENSION *e = extension(ctx, NID_subject_alt_name, uri);
    if (!e || !sk_X509_EXTENSION_push(exts, e)) {
        X509_EXTENSION_free(e);
        return -ENOMEM;
    }
    return 0;
}

/* The request's key must be the TPM's and its signature must verify with it (in the default provider: an
 * independent check of what the TPM produced). */
static int csr_check(X509_REQ *req, const uint8_t *spki, size_t spki_len, char **ret_error)
{
    _cleanup_openssl_free_ unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der);
    if (n <= 0 || (size_t)n != spki_len || memcmp(der, spki, spki_len) != 0)
        return error_set(
            ret_error, -EKEYREJECTED,
            "the key the tpm2 provider used is not the one quote/ read at that handle; run again, "
            "and check that nothing else changes the TPM meanwhile");
    const unsigned char *p = spki;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!pub || X509_REQ_verify(req, pub) != 1) {
        ERR_clear_error();
        return error_set(ret_error, -EBADMSG,
                         "the TPM's signature on the request does not verify with its public key");
    }
    return 0;
}

int identity_csr_make(const struct identity_key *key, const struct identity_subject *subject,
                      const uint8_t *spki, size_t spki_len, char **ret_pem, char **ret_error)
{
    _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new_ex(key->libctx, IDENTITY_PROPQ);
    _cleanup_(extensions_freep) STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    X509V3_CTX v3;
    if (!req || !exts || !bio || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
        !X509_REQ_set_subject_name(req, subject->name) || !X509_REQ_set_pubkey(req, key->pkey))
        return error_set(ret_error, -ENOMEM, "building the request failed (out of memory)");
    X509V3_set_ctx(&v3, NULL, NULL, req, NULL, 0);
    int r = san_add(exts, &v3, subject);
    if (r == 0 && sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts))
        r = -ENOMEM;
    if (r < 0)
        return error_set(ret_error, r, "building the request's SAN failed (out of memory)");
    if (!(ctx = sign_ctx(key)) || X509_REQ_sign_ctx(req, ctx) <= 0)
        return sign_error("request", ret_error);
    r = csr_check(req, spki, spki_len, ret_error);
    if (r < 0)
        return r;
    if (!PEM_write_bio_X509_REQ(bio, req) || identity_bio_text(bio, ret_pem, NULL) < 0)
        return error_set(ret_error, -ENOMEM, "encoding the request failed (out of memory)");
    return 0;
}

/* Issuer = subject = the given name plus OU=IDENTITY_DEV_MARKER; a random positive 128-bit serial. */
static int self_signed_fields(X509 *cert, const struct identity_subject *subject, unsigned days,
                              const struct identity_key *key)
{
    _cleanup_(X509_NAME_freep) X509_NAME *name = X509_NAME_dup(subject->name);
    unsigned char serial[16];
    _cleanup_(BN_freep) BIGNUM *bn = NULL;
    if (!name ||
        !X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName, MBSTRING_UTF8,
                                    (const unsigned char *)IDENTITY_DEV_MARKER, -1, -1, 0) ||
        RAND_bytes(serial, sizeof(serial)) != 1)
        return -ENOMEM;
    serial[0] &= 0x7f;
    serial[0] |= 0x40;
    if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
        return -ENOMEM;
    if (!X509_set_version(cert, X509_VERSION_3) || !X509_set_subject_name(cert, name) ||
        !X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key->pkey) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL))
        return -ENOMEM;
    return 0;
}

static int self_signed_extensions(X509 *cert, const struct identity_subject *subject)
{
    static const struct {
        int nid;
        const char *conf;
    } fixed[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "clientAuth"},
        {NID_subject_key_identifier, "hash"},
    };
    _cleanup_(extensions_freep) STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509V3_CTX v3;
    int r = exts ? 0 : -ENOMEM;
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    for (size_t i = 0; r == 0 && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        X509_EXTENSION *e = extension(&v3, fixed[i].nid, fixed[i].conf);
        if (!e || !sk_X509_EXTENSION_push(exts, e)) {
            X509_EXTENSION_free(e);
            r = -ENOMEM;
        }
    }
    if (r == 0)
        r = san_add(exts, &v3, subject);
    for (int i = 0; r == 0 && i < sk_X509_EXTENSION_num(exts); i++)
        if (!X509_add_ext(cert, sk_X509_EXTENSION_value(exts, i), -1))
            r = -ENOMEM;
    return r;
}

int identity_self_signed_make(const struct identity_key *key, const struct identity_subject *subject,
                              unsigned days, char **ret_pem, char **ret_error)
{
    _cleanup_(X509_freep) X509 *cert = X509_new_ex(key->libctx, IDENTITY_PROPQ);
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!cert || !bio || self_signed_fields(cert, subject, days, key) < 0 ||
        self_signed_extensions(cert, subject) < 0) {
        ERR_clear_error();
        return error_set(ret_error, -ENOMEM, "building the self-signed certificate failed (out of memory)");
    }
    if (!(ctx = sign_ctx(key)) || X509_sign_ctx(cert, ctx) <= 0)
        return sign_error("self-signed certificate", ret_error);
    if (!PEM_write_bio_X509(bio, cert) || identity_bio_text(bio, ret_pem, NULL) < 0)
        return error_set(ret_error, -ENOMEM, "encoding the certificate failed (out of memory)");
    return 0;
}
