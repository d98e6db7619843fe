/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the owner's key files: the signing key (PEM), its public half (PEM SPKI) and the raw AES key. */
#include "admin.h"
#include "cleanup_openssl.h"
#include "error.h"
#include "tepc.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* A PEM file is small; anything bigger is not one of ours. */
#define PEM_MAX (64 * 1024)

const char *admin_openssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *s = e ? ERR_reason_error_string(e) : NULL;
    return s ? s : fallback;
}

int admin_private_key_load(const char *path, const char *which, EVP_PKEY **ret_key, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = NULL;
    int r = admin_file_bio(path, PEM_MAX, &bio, ret_error);
    if (r < 0)
        return r;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (!key) {
        r = error_set(ret_error, -EINVAL, "%s: cannot read a PEM private key (%s); use %s", path,
                      admin_openssl_reason("not a PEM key"), which);
        ERR_clear_error();
        return r;
    }
    *ret_key = key;
    return 0;
}

int admin_public_key_load(const char *path, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    _cleanup_(BIO_freep) BIO *bio = NULL;
    int r = admin_file_bio(path, PEM_MAX, &bio, ret_error);
    if (r < 0)
        return r;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    unsigned char *der = NULL;
    int n = key ? i2d_PUBKEY(key, &der) : -1;
    if (n <= 0) {
        r = error_set(ret_error, -EINVAL,
                      "%s: cannot read a PEM public key (%s); use the sign-key.pub.pem that "
                      "`tagent-admin keys gen` wrote",
                      path, admin_openssl_reason("not a PEM key"));
        ERR_clear_error();
        return r;
    }
    *ret_spki = der;
    *ret_len = (size_t)n;
    return 0;
}

int admin_aes_key_load(const char *path, uint8_t **ret_key, size_t *ret_len, char **ret_error)
{
    uint8_t *key = NULL;
    size_t len = 0;
    int r = admin_file_read(path, 64, &key, &len, ret_error);
    if (r < 0)
        return r;
    if (len != 16 && len != 32) {
        OPENSSL_clear_free(key, len);
        return error_set(ret_error, -EINVAL,
                         "%s has %zu bytes; an AES key file holds exactly 16 (dtpm) or 32 "
                         "(ptt) raw bytes",
                         path, len);
    }
    *ret_key = key;
    *ret_len = len;
    return 0;
}

int admin_key_profile(EVP_PKEY *key, int *ret_profile, char **ret_error)
{
    char group[64] = "";
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
        for (int p = TEPC_PROFILE_PTT; p <= TEPC_PROFILE_DTPM; p++)
            if (strcmp(group, tepc_profile_params((enum tepc_profile)p)->curve_sn) == 0) {
                *ret_profile = p;
                return 0;
            }
    return error_set(ret_error, -EINVAL,
                     "the signing key is not an EC key on P-384 (ptt) or P-256 (dtpm)%s%s",
                     group[0] ? ": it is on " : "", group);
}
