/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NATS nkeys: ed25519 keys (OpenSSL raw keys) in NATS's text form.
 *
 * Public key text: base32 (RFC 4648 alphabet, no padding) of
 *   prefix byte | 32-byte public key | CRC-16/XMODEM of the previous 33 bytes, little-endian
 * = 35 bytes -> 56 characters. The prefix byte is chosen so the first character names the type:
 *   'O' operator 14<<3, 'A' account 0, 'U' user 20<<3, 'N' server 13<<3, 'C' cluster 2<<3.
 * Seed text: base32 of
 *   (18<<3 | type>>5) | ((type & 31) << 3) | 32-byte ed25519 seed | CRC-16 little-endian
 * = 36 bytes -> 58 characters, "S" followed by the type letter ("SO", "SA", "SU", ...).
 */
#include "natsjwt.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PREFIX_SEED    (18 << 3)
#define RAW_PUBLIC_LEN 35 /* prefix + key + crc */
#define RAW_SEED_LEN   36 /* two prefix bytes + seed + crc */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int type_prefix(char type, uint8_t *ret_prefix)
{
    switch (type) {
    case 'O': *ret_prefix = 14 << 3; return 0;
    case 'A': *ret_prefix = 0; return 0;
    case 'U': *ret_prefix = 20 << 3; return 0;
    case 'N': *ret_prefix = 13 << 3; return 0;
    case 'C': *ret_prefix = 2 << 3; return 0;
    default: return -EINVAL;
    }
}

static int prefix_type(uint8_t prefix, char *ret_type)
{
    static const char types[] = "OAUNC";

    for (const char *t = types; *t; t++) {
        uint8_t p;

        if (type_prefix(*t, &p) == 0 && p == prefix) {
            *ret_type = *t;
            return 0;
        }
    }
    return -EINVAL;
}

/* CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor. */
static uint16_t crc16_xmodem(const uint8_t *data, size_t len)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

static void crc_append(uint8_t *raw, size_t len)
{
    uint16_t crc = crc16_xmodem(raw, len);

    raw[len] = (uint8_t)(crc & 0xff);
    raw[len + 1] = (uint8_t)(crc >> 8);
}

static bool crc_ok(const uint8_t *raw, size_t len_with_crc)
{
    uint16_t crc = crc16_xmodem(raw, len_with_crc - 2);

    return raw[len_with_crc - 2] == (crc & 0xff) && raw[len_with_crc - 1] == (crc >> 8);
}

/* out must hold ceil(len * 8 / 5) + 1 characters. */
static void base32_encode(const uint8_t *in, size_t len, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* Decodes exactly out_len bytes from text (which must be exactly as long as the encoding of out_len bytes,
 * with zero pad bits, as Go's strict decoder wants). */
static int base32_decode(const char *text, uint8_t *out, size_t out_len)
{
    size_t want = (out_len * 8 + 4) / 5, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (strnlen(text, want + 1) != want)
        return -EINVAL;
    for (size_t i = 0; i < want; i++) {
        const char *p = text[i] ? strchr(b32_alphabet, text[i]) : NULL;

        if (!p)
            return -EINVAL;
        acc = (acc << 5) | (uint32_t)(p - b32_alphabet);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (o != out_len || (acc & ((1u << bits) - 1)) != 0)
        return -EINVAL;
    return 0;
}

static EVP_PKEY *pkey_from_seed(const uint8_t seed[32])
{
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

static int key_from_seed_bytes(char type, const uint8_t seed[32], struct nkey *ret_key)
{
    struct nkey key = {.type = type};
    EVP_PKEY *pkey = pkey_from_seed(seed);
    size_t len = sizeof(key.pub);
    int r = 0;

    if (!pkey)
        return -EIO;
    if (EVP_PKEY_get_raw_public_key(pkey, key.pub, &len) != 1 || len != sizeof(key.pub))
        r = -EIO;
    EVP_PKEY_free(pkey);
    if (r == 0) {
        memcpy(key.seed, seed, sizeof(key.seed));
        *ret_key = key;
    }
    OPENSSL_cleanse(&key, sizeof(key));
    return r;
}

int nkey_create(char type, struct nkey *ret_key)
{
    uint8_t seed[32], prefix;
    int r;

    if (type_prefix(type, &prefix) < 0)
        return -EINVAL;
    if (RAND_bytes(seed, sizeof(seed)) != 1)
        return -EIO;
    r = key_from_seed_bytes(type, seed, ret_key);
    OPENSSL_cleanse(seed, sizeof(seed));
    return r;
}

int nkey_from_seed(const char *seed_text, struct nkey *ret_key)
{
    uint8_t raw[RAW_SEED_LEN], prefix;
    char type;
    int r = -EINVAL;

    if (!seed_text || base32_decode(seed_text, raw, sizeof(raw)) < 0 || !crc_ok(raw, sizeof(raw)))
        goto out;
    if ((raw[0] & 0xf8) != PREFIX_SEED)
        goto out;
    prefix = (uint8_t)(((raw[0] & 0x07) << 5) | ((raw[1] & 0xf8) >> 3));
    if (prefix_type(prefix, &type) < 0)
        goto out;
    r = key_from_seed_bytes(type, raw + 2, ret_key);
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return r;
}

int nkey_public_decode(const char *text, char *ret_type, uint8_t ret_pub[32])
{
    uint8_t raw[RAW_PUBLIC_LEN];
    char type;

    if (!text || base32_decode(text, raw, sizeof(raw)) < 0 || !crc_ok(raw, sizeof(raw)) ||
        prefix_type(raw[0], &type) < 0)
        return -EINVAL;
    if (ret_type)
        *ret_type = type;
    if (ret_pub)
        memcpy(ret_pub, raw + 1, 32);
    return 0;
}

void nkey_public_string(const struct nkey *key, char out[57])
{
    uint8_t raw[RAW_PUBLIC_LEN], prefix = 0;

    type_prefix(key->type, &prefix);
    raw[0] = prefix;
    memcpy(raw + 1, key->pub, 32);
    crc_append(raw, 33);
    base32_encode(raw, sizeof(raw), out);
}

void nkey_seed_string(const struct nkey *key, char out[59])
{
    uint8_t raw[RAW_SEED_LEN], prefix = 0;

    type_prefix(key->type, &prefix);
    raw[0] = (uint8_t)(PREFIX_SEED | (prefix >> 5));
    raw[1] = (uint8_t)((prefix & 31) << 3);
    memcpy(raw + 2, key->seed, 32);
    crc_append(raw, 34);
    base32_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
}

int nkey_sign(const struct nkey *key, const void *data, size_t len, uint8_t ret_sig[64])
{
    EVP_PKEY *pkey = pkey_from_seed(key->seed);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sig_len = 64;
    int r = -EIO;

    if (pkey && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, ret_sig, &sig_len, data, len) == 1 && sig_len == 64)
        r = 0;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return r;
}

int nkey_verify(const char *public_text, const void *data, size_t len, const uint8_t sig[64])
{
    uint8_t pub[32];
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    int r;

    r = nkey_public_decode(public_text, NULL, pub);
    if (r < 0)
        return r;
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof(pub));
    ctx = EVP_MD_CTX_new();
    if (!pkey || !ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
        r = -EIO;
    else
        r = EVP_DigestVerify(ctx, sig, 64, data, len) == 1 ? 0 : -EBADMSG;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return r;
}

void nkey_wipe(struct nkey *key)
{
    if (key)
        OPENSSL_cleanse(key, sizeof(*key));
}
