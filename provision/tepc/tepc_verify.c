/* SPDX-License-Identifier: BSD-3-Clause */
/* Signature verification of a parsed container against the owner's public key (docs/tep-formats.md 3, steps
 * 3 and 4). */
#include "cleanup_openssl.h"
#include "tepc.h"
#include "tepc_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/* The DER SPKI as a key, which must be EC on the profile's curve and use all spki_len bytes. */
static int spki_load(const uint8_t *spki, size_t spki_len, const struct tepc_profile_params *p,
                     EVP_PKEY **ret_key, char **ret_error)
{
    const unsigned char *q = spki;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = d2i_PUBKEY(NULL, &q, (long)spki_len);
    char group[64] = "";

    if (!key || q != spki + spki_len)
        return error_set(ret_error, -EBADMSG,
                         "the signing public key (%zu bytes) is not a DER "
                         "SubjectPublicKeyInfo",
                         spki_len);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
        strcmp(group, p->curve_sn) != 0)
        return error_set(ret_error, -EBADMSG,
                         "the signing public key is not an EC key on %s (the %s "
                         "profile's curve)",
                         p->curve_sn, p->name);
    *ret_key = TAKE_PTR(key);
    return 0;
}

static int signature_check(const struct tepc_blob *blob, EVP_PKEY *key, const char *digest, char **ret_error)
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, key, NULL) != 1)
        return error_set(ret_error, -EIO, "cannot set up ECDSA verification with %s", digest);
    if (EVP_DigestVerify(md, blob->signature, blob->signature_len, blob->signed_part, blob->signed_len) != 1)
        return error_set(ret_error, -EBADMSG,
                         "the signature does not verify with the signing key: the container was changed "
                         "after signing, or signed with another key");
    return 0;
}

int tepc_verify(const struct tepc_blob *blob, const uint8_t *spki, size_t spki_len, char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_by_curve(blob->header.sig_curve, NULL);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    uint8_t kid[TEPC_KID_LEN];
    int r;

    if (!p)
        return error_set(ret_error, -EBADMSG, "sig_curve 0x%04x is neither P-384 (0x%04x) nor P-256 (0x%04x)",
                         blob->header.sig_curve, TEPC_CURVE_NIST_P384, TEPC_CURVE_NIST_P256);
    if (blob->header.sig_hash != p->sig_hash)
        return error_set(ret_error, -EBADMSG,
                         "sig_hash 0x%04x does not go with sig_curve 0x%04x (%s: 0x%04x)",
                         blob->header.sig_hash, p->sig_curve, p->name, p->sig_hash);
    if ((r = tepc_key_id(spki, spki_len, kid)) < 0)
        return error_set(ret_error, r, "cannot compute the signing key's id");
    if (CRYPTO_memcmp(kid, blob->header.signer_kid, TEPC_KID_LEN) != 0)
        return error_set(ret_error, -EBADMSG,
                         "signer_kid is not the SHA-256 of the signing key: the container was signed for "
                         "another key");
    /* a malformed key or signature leaves entries on OpenSSL's error queue: they are this call's, not a later
     * TLS or PEM call's */
    ERR_set_mark();
    r = spki_load(spki, spki_len, p, &key, ret_error);
    if (r >= 0)
        r = signature_check(blob, key, p->digest, ret_error);
    ERR_pop_to_mark();
    return r;
}
