/* SPDX-License-Identifier: BSD-3-Clause */
/* What makes a certificate this device's identity: its key is the TPM's, it is a leaf, valid now, and it
 * chains to the device trust anchor for TLS client authentication. `install` refuses on the first problem;
 * `show` reports it. */
#include "identity.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "config.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define CERT_FILE_MAX (1024 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)

void identity_certs_free(STACK_OF(X509) * certs)
{
    sk_X509_pop_free(certs, X509_free);
}

int identity_certs_load(const char *path, STACK_OF(X509) * *ret_certs, char **ret_error)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = config_read_file(path, CERT_FILE_MAX, &text, &len);
    if (r < 0)
        return error_set(ret_error, r, "reading %s: %s", path, strerror(-r));
    _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(text, (int)len);
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (!bio || !certs) {
        sk_X509_free(certs);
        return error_set(ret_error, -ENOMEM, "out of memory");
    }
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            identity_certs_free(certs);
            return error_set(ret_error, -ENOMEM, "out of memory");
        }
    /* the loop ends at the end of the text (PEM_R_NO_START_LINE) or at a damaged certificate */
    unsigned long e = ERR_peek_last_error();
    bool damaged = e && ERR_GET_REASON(e) != PEM_R_NO_START_LINE;
    ERR_clear_error();
    if (damaged || sk_X509_num(certs) == 0) {
        identity_certs_free(certs);
        return error_set(ret_error, damaged ? -EBADMSG : -ENODATA,
                         "%s %s; give a file of PEM certificates (-----BEGIN CERTIFICATE-----)", path,
                         damaged ? "holds a damaged certificate" : "holds no PEM certificate");
    }
    *ret_certs = certs;
    return 0;
}

bool identity_cert_key_matches(X509 *cert, const uint8_t *spki, size_t spki_len)
{
    _cleanup_openssl_free_ unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    return n > 0 && (size_t)n == spki_len && memcmp(der, spki, spki_len) == 0;
}

static int key_check(X509 *cert, const uint8_t *spki, size_t spki_len, char **ret_error)
{
    if (spki && !identity_cert_key_matches(cert, spki, spki_len))
        return error_set(ret_error, -EKEYREJECTED,
                         "the certificate's public key is not this TPM's identity key: it was issued for "
                         "another key (another device, or a key replaced with --new-key); send a new `tagent "
                         "identity csr` to the CA");
    return 0;
}

static int leaf_check(X509 *cert, char **ret_error)
{
    if (X509_check_ca(cert) != 0)
        return error_set(ret_error, -EPERM,
                         "the certificate is a CA certificate, not a device certificate (CA:FALSE); give the "
                         "certificate the CA issued for the CSR with --cert and the CA with --ca");
    return 0;
}

static int validity_check(X509 *cert, char **ret_error)
{
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
        return error_set(ret_error, -EKEYEXPIRED,
                         "the certificate is not valid yet (notBefore is in the future); check this device's "
                         "clock, or have the CA issue one valid from now");
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
        return error_set(ret_error, -EKEYEXPIRED,
                         "the certificate has expired (notAfter is past); have the CA issue a new one for a "
                         "new `tagent identity csr`");
    return 0;
}

/* Every anchor trusted as given (X509_V_FLAG_PARTIAL_CHAIN: a device sub CA may be the anchor without its
 * root); the purpose is TLS client authentication, so an EKU without clientAuth fails. */
static int chain_check(X509 *cert, STACK_OF(X509) * chain, STACK_OF(X509) * anchors, char **ret_error)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!store || !ctx)
        return error_set(ret_error, -ENOMEM, "out of memory");
    for (int i = 0; i < sk_X509_num(anchors); i++)
        if (!X509_STORE_add_cert(store, sk_X509_value(anchors, i)))
            return error_set(ret_error, -ENOMEM, "out of memory");
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
    if (!X509_STORE_CTX_init(ctx, store, cert, chain) ||
        !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT))
        return error_set(ret_error, -ENOMEM, "out of memory");
    int ok = X509_verify_cert(ctx);
    int err = X509_STORE_CTX_get_error(ctx);
    ERR_clear_error();
    if (ok == 1)
        return 0;
    if (err == X509_V_ERR_INVALID_PURPOSE)
        return error_set(ret_error, -EBADMSG,
                         "the certificate is not for TLS client authentication (its extendedKeyUsage or "
                         "keyUsage leaves clientAuth out); have the CA issue one with extendedKeyUsage "
                         "clientAuth");
    return error_set(
        ret_error, -EBADMSG,
        "the certificate does not verify against the device trust anchor (--ca): %s; give the CA "
        "certificate that issued it (or its chain) with --ca",
        X509_verify_cert_error_string(err));
}

int identity_cert_check(X509 *cert, STACK_OF(X509) * chain, STACK_OF(X509) * anchors, const uint8_t *spki,
                        size_t spki_len, char **ret_error)
{
    int r = key_check(cert, spki, spki_len, ret_error);
    if (r == 0)
        r = leaf_check(cert, ret_error);
    if (r == 0)
        r = validity_check(cert, ret_error);
    if (r == 0)
        r = chain_check(cert, chain, anchors, ret_error);
    return r;
}

bool identity_cert_is_development(X509 *cert)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, i)) >= 0;) {
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        if ((size_t)ASN1_STRING_length(v) == strlen(IDENTITY_DEV_MARKER) &&
            memcmp(ASN1_STRING_get0_data(v), IDENTITY_DEV_MARKER, strlen(IDENTITY_DEV_MARKER)) == 0)
            return true;
    }
    /* self-issued and self-signed: whoever made it vouches for nobody but itself */
    bool self = X509_check_issued(cert, cert) == X509_V_OK;
    ERR_clear_error();
    return self;
}
