/* SPDX-License-Identifier: BSD-3-Clause */
/* The two profiles of docs/tep-formats.md 1.1, the header's algorithm check against one, and the key id. */
#include "tepc.h"
#include "tepc_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

static const struct tepc_profile_params profiles[] = {
    [TEPC_PROFILE_PTT] = {.name = "ptt",
                          .enc_key_bits = 256,
                          .sig_hash = TEPC_ALG_SHA384,
                          .sig_curve = TEPC_CURVE_NIST_P384,
                          .curve_sn = "secp384r1",
                          .digest = "SHA384",
                          .spki_len = 120},
    [TEPC_PROFILE_DTPM] = {.name = "dtpm",
                           .enc_key_bits = 128,
                           .sig_hash = TEPC_ALG_SHA256,
                           .sig_curve = TEPC_CURVE_NIST_P256,
                           .curve_sn = "prime256v1",
                           .digest = "SHA256",
                           .spki_len = 91},
};

const struct tepc_profile_params *tepc_profile_params(enum tepc_profile profile)
{
    if ((unsigned)profile >= sizeof(profiles) / sizeof(profiles[0]))
        return NULL;
    return &profiles[profile];
}

int tepc_profile_from_name(const char *name, enum tepc_profile *ret_profile, char **ret_error)
{
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (name && strcmp(name, profiles[i].name) == 0) {
            *ret_profile = (enum tepc_profile)i;
            return 0;
        }
    return error_set(ret_error, -EINVAL,
                     "unknown profile \"%s\": use \"ptt\" (P-384, AES-256) or \"dtpm\" "
                     "(P-256, AES-128)",
                     name ? name : "");
}

const struct tepc_profile_params *tepc_profile_by_curve(uint16_t curve, enum tepc_profile *ret_profile)
{
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (profiles[i].sig_curve == curve) {
            if (ret_profile)
                *ret_profile = (enum tepc_profile)i;
            return &profiles[i];
        }
    return NULL;
}

/* One field against its expected value; the message names the field, both values and the profile. */
static int field_check(const char *field, uint32_t got, uint32_t want, const char *profile, char **ret_error)
{
    if (got == want)
        return 0;
    return error_set(ret_error, -EBADMSG, "%s is 0x%04x, the %s profile needs 0x%04x", field, got, profile,
                     want);
}

int tepc_check_profile(const struct tepc_header *h, enum tepc_profile profile, char **ret_error)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    int r;

    if (!p)
        return error_set(ret_error, -EINVAL, "unknown profile %d", (int)profile);
    if ((r = field_check("enc_alg", h->enc_alg, TEPC_ALG_AES, p->name, ret_error)) < 0 ||
        (r = field_check("enc_mode", h->enc_mode, TEPC_ALG_CTR, p->name, ret_error)) < 0)
        return r;
    if (h->enc_key_bits != p->enc_key_bits)
        return error_set(ret_error, -EBADMSG, "enc_key_bits is %u, the %s profile needs %u", h->enc_key_bits,
                         p->name, p->enc_key_bits);
    if ((r = field_check("sig_alg", h->sig_alg, TEPC_ALG_ECDSA, p->name, ret_error)) < 0 ||
        (r = field_check("sig_hash", h->sig_hash, p->sig_hash, p->name, ret_error)) < 0 ||
        (r = field_check("sig_curve", h->sig_curve, p->sig_curve, p->name, ret_error)) < 0)
        return r;
    if (h->enc_key_handle != TEPC_ENC_KEY_HANDLE)
        return error_set(ret_error, -EBADMSG, "enc_key_handle is 0x%08x, the device's key is at 0x%08x",
                         h->enc_key_handle, TEPC_ENC_KEY_HANDLE);
    return 0;
}

int tepc_key_id(const uint8_t *spki, size_t spki_len, uint8_t ret_kid[TEPC_KID_LEN])
{
    unsigned int n = 0;
    if (!spki || spki_len == 0)
        return -EINVAL;
    if (!EVP_Digest(spki, spki_len, ret_kid, &n, EVP_sha256(), NULL) || n != TEPC_KID_LEN)
        return -EIO;
    return 0;
}
