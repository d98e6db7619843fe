/* SPDX-License-Identifier: BSD-3-Clause */
/* The owner side of TEPC v1: encrypt-then-sign (tepc_seal), and the software decryption tagent-admin uses to
 * open a container for debugging (the device decrypts in the TPM). */
#include "cleanup_openssl.h"
#include "tepc.h"
#include "tepc_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER *, EVP_CIPHER_free)

int tepc_aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[TEPC_IV_LEN], const uint8_t *in,
                 size_t len, uint8_t *out, char **ret_error)
{
    const char *name = key_len == 32 ? "AES-256-CTR" : key_len == 16 ? "AES-128-CTR" : NULL;
    int n = 0, fin = 0;

    if (!name)
        return error_set(ret_error, -EINVAL, "the AES key has %zu bytes, not 16 or 32", key_len);
    if (len > INT_MAX)
        return error_set(ret_error, -EFBIG, "%zu bytes are too many for one AES-CTR call", len);
    _cleanup_(EVP_CIPHER_freep) EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!cipher || !ctx)
        return error_set(ret_error, -ENOMEM, "cannot set up %s", name);
    /* CTR is symmetric: encryption is decryption */
    if (EVP_EncryptInit_ex2(ctx, cipher, key, iv, NULL) != 1 ||
        (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) ||
        EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)n + (size_t)fin != len)
        return error_set(ret_error, -EIO, "%s failed", name);
    return 0;
}

/* The signing key's DER SPKI hashed: signer_kid. The key must be EC on the profile's curve. */
static int sign_key_check(EVP_PKEY *key, const struct tepc_profile_params *p, uint8_t ret_kid[TEPC_KID_LEN],
                          char **ret_error)
{
    _cleanup_openssl_free_ unsigned char *der = NULL;
    char group[64] = "";
    int n;

    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
        strcmp(group, p->curve_sn) != 0)
        return error_set(ret_error, -EINVAL,
                         "the signing key is not an EC key on %s, which the %s profile "
                         "needs",
                         p->curve_sn, p->name);
    if ((n = i2d_PUBKEY(key, &der)) <= 0)
        return error_set(ret_error, -EIO, "cannot encode the signing key's public half");
    return tepc_key_id(der, (size_t)n, ret_kid);
}

static int header_make(const struct tepc_seal_params *params, const struct tepc_profile_params *p,
                       size_t payload_len, const uint8_t kid[TEPC_KID_LEN], struct tepc_header *ret_h,
                       char **ret_error)
{
    struct tepc_header h = {
        .version = TEPC_VERSION,
        .header_len = TEPC_HEADER_LEN,
        .enc_alg = TEPC_ALG_AES,
        .enc_mode = TEPC_ALG_CTR,
        .enc_key_bits = p->enc_key_bits,
        .sig_alg = TEPC_ALG_ECDSA,
        .sig_hash = p->sig_hash,
        .sig_curve = p->sig_curve,
        .flags = TEPC_FLAG_TGZ,
        .enc_key_handle = TEPC_ENC_KEY_HANDLE,
        .sequence = params->sequence,
        .payload_len = payload_len,
        .created = params->created,
    };
    /* 12 random bytes, then a 32-bit block counter from 0 (docs/tep-formats.md 2) */
    if (params->iv_random)
        memcpy(h.iv, params->iv_random, TEPC_IV_RANDOM_LEN);
    else if (RAND_bytes(h.iv, TEPC_IV_RANDOM_LEN) != 1)
        return error_set(ret_error, -EIO, "cannot draw a random IV");
    memcpy(h.signer_kid, kid, TEPC_KID_LEN);
    *ret_h = h;
    return 0;
}

static int sign(EVP_PKEY *key, const char *digest, const uint8_t *data, size_t len, uint8_t *sig,
                size_t *ret_sig_len, char **ret_error)
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = TEPC_MAX_SIG;

    if (!md)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, sig, &n, data, len) != 1)
        return error_set(ret_error, -EIO, "ECDSA signing with %s failed", digest);
    if (n < TEPC_MIN_SIG || n > TEPC_MAX_SIG)
        return error_set(ret_error, -EIO, "the signature has %zu bytes, outside %d..%d", n, TEPC_MIN_SIG,
                         TEPC_MAX_SIG);
    *ret_sig_len = n;
    return 0;
}

int tepc_seal(const uint8_t *payload, size_t payload_len, EVP_PKEY *sign_key, const uint8_t *aes_key,
              size_t aes_key_len, const struct tepc_seal_params *params, uint8_t **ret_blob, size_t *ret_len,
              char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_params(params->profile);
    uint8_t kid[TEPC_KID_LEN];
    struct tepc_header h;
    size_t sig_len = 0;
    int r;

    if (!p)
        return error_set(ret_error, -EINVAL, "unknown profile %d", (int)params->profile);
    if (aes_key_len * 8 != p->enc_key_bits)
        return error_set(ret_error, -EINVAL, "the AES key has %zu bytes, the %s profile needs %u",
                         aes_key_len, p->name, p->enc_key_bits / 8);
    if (payload_len > TEPC_MAX_PAYLOAD)
        return error_set(ret_error, -EFBIG, "the payload has %zu bytes, at most %llu fit a container",
                         payload_len, (unsigned long long)TEPC_MAX_PAYLOAD);
    ERR_set_mark();
    r = sign_key_check(sign_key, p, kid, ret_error);
    ERR_pop_to_mark();
    if (r < 0 || (r = header_make(params, p, payload_len, kid, &h, ret_error)) < 0)
        return r;

    size_t signed_len = TEPC_HEADER_LEN + payload_len;
    _cleanup_free_ uint8_t *out = malloc(signed_len + 2 + TEPC_MAX_SIG);
    if (!out)
        return error_set(ret_error, -ENOMEM, "out of memory for a %zu-byte container", signed_len);
    tepc_header_encode(&h, out);
    if ((r = tepc_aes_ctr(aes_key, aes_key_len, h.iv, payload, payload_len, out + TEPC_HEADER_LEN,
                          ret_error)) < 0)
        return r;
    ERR_set_mark();
    r = sign(sign_key, p->digest, out, signed_len, out + signed_len + 2, &sig_len, ret_error);
    ERR_pop_to_mark();
    if (r < 0)
        return r;
    tepc_put16(out + signed_len, (uint16_t)sig_len);
    *ret_len = signed_len + 2 + sig_len;
    *ret_blob = TAKE_PTR(out);
    return 0;
}

int tepc_decrypt_soft(const struct tepc_blob *blob, const uint8_t *aes_key, size_t aes_key_len,
                      uint8_t **ret_payload, size_t *ret_len, char **ret_error)
{
    const struct tepc_header *h = &blob->header;
    int r;

    if (h->enc_alg != TEPC_ALG_AES || h->enc_mode != TEPC_ALG_CTR)
        return error_set(ret_error, -EBADMSG, "enc_alg 0x%04x / enc_mode 0x%04x is not AES-CTR", h->enc_alg,
                         h->enc_mode);
    if (aes_key_len * 8 != h->enc_key_bits)
        return error_set(ret_error, -EINVAL, "the AES key has %zu bits, the container says enc_key_bits %u",
                         aes_key_len * 8, h->enc_key_bits);
    /* at least one byte, so an empty payload is still a pointer the caller frees */
    uint8_t *plain = OPENSSL_malloc(blob->ciphertext_len ? blob->ciphertext_len : 1);
    if (!plain)
        return error_set(ret_error, -ENOMEM, "out of memory for %zu bytes", blob->ciphertext_len);
    r = tepc_aes_ctr(aes_key, aes_key_len, h->iv, blob->ciphertext, blob->ciphertext_len, plain, ret_error);
    if (r < 0) {
        OPENSSL_clear_free(plain, blob->ciphertext_len);
        return r;
    }
    *ret_payload = plain;
    *ret_len = blob->ciphertext_len;
    return 0;
}
