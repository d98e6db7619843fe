/* SPDX-License-Identifier: BSD-3-Clause */
/* The owner's policy key as the TPM sees it: its DER SubjectPublicKeyInfo (NV 0x018A0000) as the public area
 * tpm2_loadexternal builds, so that its Name, and with it authorized.policy, is the one the admin tool
 * computed (tep-provisioning-luks.md 2.1); a DER ECDSA signature as a TPMT_SIGNATURE; and the digest it
 * signs. */
#include "policy_key.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* tpm2_loadexternal's template (0x00060040): any other attribute changes the Name. */
#define POLICY_KEY_ATTRIBUTES (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT)

static int coordinate(const EVP_PKEY *pkey, const char *param, size_t size, TPM2B_ECC_PARAMETER *ret)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return -EBADMSG;
    int ok = BN_bn2binpad(bn, ret->buffer, (int)size) == (int)size;
    BN_free(bn);
    ret->size = (UINT16)size;
    return ok ? 0 : -EBADMSG;
}

int policy_key_public(const uint8_t *spki, size_t len, struct policy_key *ret, char **ret_error)
{
    const unsigned char *p = spki;
    char group[32] = "";
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    int r = 0;
    memset(ret, 0, sizeof(*ret));
    if (!pkey || p != spki + len || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
        r = -EBADMSG;
        goto out;
    }
    TPMT_PUBLIC *pub = &ret->pub.publicArea;
    if (strcmp(group, "prime256v1") == 0) {
        pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        ret->hash = TPM2_ALG_SHA256;
        ret->md = EVP_sha256();
        ret->coord_size = 32;
    } else if (strcmp(group, "secp384r1") == 0) {
        pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
        ret->hash = TPM2_ALG_SHA384;
        ret->md = EVP_sha384();
        ret->coord_size = 48;
    } else {
        r = -EBADMSG;
        goto out;
    }
    /* nameAlg follows the curve: the TPM computes aHash with the key's nameAlg (spec 2.1: a P-384 key with
     * nameAlg SHA-256 and a SHA-384 signature verifies, then PolicyAuthorize refuses). */
    pub->type = TPM2_ALG_ECC;
    pub->nameAlg = ret->hash;
    pub->objectAttributes = POLICY_KEY_ATTRIBUTES;
    pub->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    pub->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    r = coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_X, ret->coord_size, &pub->unique.ecc.x);
    if (r == 0)
        r = coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, ret->coord_size, &pub->unique.ecc.y);
out:
    EVP_PKEY_free(pkey);
    if (r < 0)
        return tpm_error_set(
            ret_error, r,
            "NV index 0x018a0000 does not hold a P-256 or P-384 public key (DER "
            "SubjectPublicKeyInfo); run `tagent provision-device --force` with the owner's key");
    return 0;
}

int policy_key_signature(const struct policy_key *key, const uint8_t *der, size_t len,
                         TPMT_SIGNATURE *ret_sig, char **ret_error)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r_bn = NULL, *s_bn = NULL;
    int size = (int)key->coord_size;
    memset(ret_sig, 0, sizeof(*ret_sig));
    bool ok = sig && p == der + len;
    if (ok) {
        ECDSA_SIG_get0(sig, &r_bn, &s_bn);
        /* r and s zero-padded to the curve size; a value that does not fit is not this curve's signature. */
        ok = BN_bn2binpad(r_bn, ret_sig->signature.ecdsa.signatureR.buffer, size) == size &&
             BN_bn2binpad(s_bn, ret_sig->signature.ecdsa.signatureS.buffer, size) == size;
    }
    ECDSA_SIG_free(sig);
    if (!ok)
        return tpm_error_set(ret_error, -EBADMSG,
                             "the signed policy's signature is not a DER ECDSA signature for a P-%u key (the "
                             "key in NV 0x018a0000)",
                             key->coord_size == 32 ? 256u : 384u);
    ret_sig->sigAlg = TPM2_ALG_ECDSA;
    ret_sig->signature.ecdsa.hash = key->hash;
    ret_sig->signature.ecdsa.signatureR.size = (UINT16)size;
    ret_sig->signature.ecdsa.signatureS.size = (UINT16)size;
    return 0;
}

int policy_key_ahash(const struct policy_key *key, const uint8_t approved[32], TPM2B_DIGEST *ret,
                     char **ret_error)
{
    unsigned n = 0;
    /* aHash = H_nameAlg(approvedPolicy || policyRef) with an empty policyRef. */
    if (!EVP_Digest(approved, 32, ret->buffer, &n, key->md, NULL))
        return tpm_error_set(ret_error, -EIO, "hashing the approved policy failed (OpenSSL)");
    ret->size = (UINT16)n;
    return 0;
}
