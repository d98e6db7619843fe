/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Typed cleanup for the OpenSSL objects more than one module holds in locals (cleanup.h explains the style):
 *
 *     _cleanup_(X509_freep) X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
 *     _cleanup_openssl_free_ unsigned char *der = NULL;           from i2d_*(): OpenSSL's allocator
 *
 * Header only (static inline), so a module gets nothing it does not call; it links OpenSSL itself. Add a type
 * here when a second module needs it; one module's own types stay in that module.
 */
#ifndef TAGENT_CLEANUP_OPENSSL_H
#define TAGENT_CLEANUP_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free)

/* OPENSSL_free is a macro (it passes file and line), so it gets a function of its own. */
static inline void openssl_freep(void *p)
{
    OPENSSL_free(*(void **)p);
}
#define _cleanup_openssl_free_ _cleanup_(openssl_freep)

#endif
