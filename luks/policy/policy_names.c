/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TPM Names: nameAlg || H_nameAlg(marshaled public area). The owner's key as tpm2_loadexternal loads it (what
 * PolicyAuthorize names) and the version index as provision-device defines it (what PolicyNV names). A Name
 * that differs by one attribute bit gives another policy digest, so the templates here copy the ones the TPM
 * really holds: tpm2_loadexternal's (spec 2.1) and quote/nv.c's u64_define.
 */
#include "cleanup_openssl.h"
#include "error.h"
#include "luks_policy.h"
#include "policy_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <tss2/tss2_mu.h>

static int name_of(uint16_t name_alg, const uint8_t *area, size_t len, uint8_t *ret_name, size_t *ret_len)
{
    const char *md = name_alg == TPM2_ALG_SHA384 ? "SHA384" : "SHA256";
    ret_name[0] = (uint8_t)(name_alg >> 8);
    ret_name[1] = (uint8_t)name_alg;
    int r = policy_hash(md, &(struct hash_part){area, len}, 1, ret_name + 2);
    *ret_len = 2 + (name_alg == TPM2_ALG_SHA384 ? 48 : 32);
    return r;
}

void luks_policy_version_nv_name(uint8_t ret_name[34])
{
    /* quote/nv.c: SHA-256 nameAlg, empty authPolicy, 8 bytes; WRITTEN because provisioning writes 0 at once
     * (and a PolicyNV on an unwritten index fails anyway). */
    TPMS_NV_PUBLIC pub = {.nvIndex = LUKS_VERSION_NV_INDEX,
                          .nameAlg = TPM2_ALG_SHA256,
                          .attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD |
                                        TPMA_NV_NO_DA | TPMA_NV_WRITTEN,
                          .dataSize = 8};
    uint8_t buf[sizeof(TPMS_NV_PUBLIC)];
    size_t len = 0, name_len = 0;
    /* Neither call can fail for this fixed structure in a buffer its own size (SHA-256 aside, which an
     * OpenSSL without SHA-256 could not have built this program's TLS either): a zero Name would be caught
     * by the oracle tests. */
    if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(&pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS ||
        name_of(TPM2_ALG_SHA256, buf, len, ret_name, &name_len) < 0)
        memset(ret_name, 0, 34);
}

static int ec_coordinate(EVP_PKEY *key, const char *param, size_t size, uint8_t *out)
{
    _cleanup_(BN_freep) BIGNUM *bn = NULL;
    return EVP_PKEY_get_bn_param(key, param, &bn) && BN_bn2binpad(bn, out, (int)size) == (int)size ? 0
                                                                                                   : -EINVAL;
}

int luks_policy_key_name(const uint8_t *spki, size_t spki_len, uint8_t ret_name[LUKS_POLICY_MAX_NAME],
                         size_t *ret_name_len, char **ret_error)
{
    const unsigned char *p = spki;
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)spki_len);
    char group[64] = "";
    if (!key || p != spki + spki_len) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL, "the policy key is not a DER SubjectPublicKeyInfo");
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
        group[0] = 0;
    /* The key's size decides nameAlg (spec 2.1): the TPM computes aHash with it, so a P-384 key loaded with
     * SHA-256 verifies its SHA-384 signature but fails PolicyAuthorize. */
    uint16_t curve, name_alg;
    size_t size;
    if (strcmp(group, "prime256v1") == 0)
        curve = TPM2_ECC_NIST_P256, name_alg = TPM2_ALG_SHA256, size = 32;
    else if (strcmp(group, "secp384r1") == 0)
        curve = TPM2_ECC_NIST_P384, name_alg = TPM2_ALG_SHA384, size = 48;
    else
        return error_set(ret_error, -EINVAL, "the policy key is not an EC key on P-256 or P-384%s%s",
                         group[0] ? ": it is on " : "", group);

    /* tpm2_loadexternal's template for a PEM EC public key: userwithauth|decrypt|sign, no auth policy,
     * symmetric, scheme and kdf NULL. */
    TPMT_PUBLIC pub = {.type = TPM2_ALG_ECC,
                       .nameAlg = name_alg,
                       .objectAttributes =
                           TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT,
                       .parameters.eccDetail = {.symmetric.algorithm = TPM2_ALG_NULL,
                                                .scheme.scheme = TPM2_ALG_NULL,
                                                .curveID = curve,
                                                .kdf.scheme = TPM2_ALG_NULL}};
    pub.unique.ecc.x.size = pub.unique.ecc.y.size = (UINT16)size;
    if (ec_coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X, size, pub.unique.ecc.x.buffer) < 0 ||
        ec_coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y, size, pub.unique.ecc.y.buffer) < 0) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL, "cannot read the policy key's point from OpenSSL");
    }
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t len = 0;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
        return error_set(ret_error, -EINVAL, "marshaling the policy key's public area failed");
    int r = name_of(name_alg, buf, len, ret_name, ret_name_len);
    return r < 0 ? error_set(ret_error, r, "hashing the policy key's public area failed") : 0;
}
