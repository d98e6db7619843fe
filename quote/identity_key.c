/* SPDX-License-Identifier: BSD-3-Clause */
/* The device identity key (docs/device-identity.md): an ECC signing key created in the TPM under the SRK,
 * persistent at an owner handle (0x8100A010 by default), and its public key as a SubjectPublicKeyInfo. The
 * signatures themselves are made through OpenSSL's tpm2 provider (identity/), not here. */
#include "tpm_internal.h"

#include "cleanup.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Never leaves this TPM (fixedTPM, fixedParent, generated inside), signs anything (no restricted: a CSR or a
 * TLS handshake is not a TPM-generated structure), usable with its empty authValue and outside
 * dictionary-attack counting (userWithAuth, noDA: the secret is the TPM itself, not a password). */
#define IDENTITY_ATTRIBUTES                                                                                  \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |                      \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT)

static const uint32_t reserved_handles[] = {
    TPM_HANDLE_PRIMARY_KEY, TPM_HANDLE_SRK_ECC,     TPM_HANDLE_EK,
    TPM_HANDLE_AIK,         TPM_HANDLE_TEP_ENC_KEY, TPM_HANDLE_TEP_SEALED,
};

const char *tpm_identity_handle_problem(uint32_t handle)
{
    /* TPM 2.0 part 2, 7.3 / TCG handle registry: 0x81000000-0x817FFFFF are the owner's persistent objects */
    if (handle < 0x81000000u || handle > 0x817fffffu)
        return "it is not an owner-hierarchy persistent handle (0x81000000 to 0x817fffff)";
    for (size_t i = 0; i < sizeof(reserved_handles) / sizeof(reserved_handles[0]); i++)
        if (handle == reserved_handles[i])
            return "another key of this device lives there (0x81000000 primary key, 0x81000002 SRK, "
                   "0x81010000 EK, 0x81018000 AIK, 0x8100a000/0x8100a001 TEP keys)";
    return NULL;
}

static const char *identity_public_problem(const TPMT_PUBLIC *p)
{
    const TPMA_OBJECT needed = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                               TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
    if (p->type != TPM2_ALG_ECC)
        return "it is not an ECC key";
    if (p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 &&
        p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P384)
        return "its curve is neither P-256 nor P-384";
    if ((p->objectAttributes & needed) != needed)
        return "it is not a signing key generated inside this TPM and bound to it (fixedTPM, fixedParent, "
               "sensitiveDataOrigin, sign)";
    if (p->objectAttributes & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT))
        return "it is restricted or a decryption key (an attestation or storage key, not an identity key)";
    return NULL;
}

/* SubjectPublicKeyInfo DER of an ECC public area (the coordinates left-padded to the field size). */
static int ecc_spki(const TPMT_PUBLIC *p, uint8_t **ret_der, size_t *ret_len, char **ret_error)
{
    bool p384 = p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384;
    size_t n = p384 ? 48 : 32;
    const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
    uint8_t point[1 + 2 * 48] = {0x04};
    if (x->size > n || y->size > n)
        return tpm_error_set(ret_error, -EBADMSG, "the identity key's coordinates are longer than its curve");
    memcpy(point + 1 + n - x->size, x->buffer, x->size);
    memcpy(point + 1 + 2 * n - y->size, y->buffer, y->size);

    char group[] = "P-256";
    if (p384)
        memcpy(group, "P-384", sizeof(group));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * n),
        OSSL_PARAM_construct_end(),
    };
    _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    uint8_t *der = NULL;
    int len = -1;
    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) > 0)
        len = i2d_PUBKEY(key, &der);
    if (len <= 0)
        return tpm_error_set(ret_error, -EBADMSG,
                             "the identity key's public point is not on its curve (OpenSSL refused it)");
    /* handed over with the system allocator, so that callers free() it like every other buffer here */
    *ret_der = malloc((size_t)len);
    if (*ret_der)
        memcpy(*ret_der, der, (size_t)len);
    OPENSSL_free(der);
    if (!*ret_der)
        return tpm_error_set(ret_error, -ENOMEM, "out of memory");
    *ret_len = (size_t)len;
    return 0;
}

static int identity_public(tpm_t *t, uint32_t handle, struct tpm_identity_public *ret, char **ret_error)
{
    TPM2B_PUBLIC *pub = NULL;
    char what[64];
    snprintf(what, sizeof(what), "reading the identity key at 0x%08x", handle);
    memset(ret, 0, sizeof(*ret));
    int r = tpm_persistent_public(t, handle, what, &pub, ret_error);
    if (r < 0 || !pub)
        return r;
    ret->present = true;
    const char *problem = identity_public_problem(&pub->publicArea);
    if (problem)
        r = tpm_error_set(
            ret_error, -EMEDIUMTYPE,
            "the object at 0x%08x is not a device identity key: %s; choose another --handle, or "
            "replace it with `tagent identity csr --new-key` after checking what uses it",
            handle, problem);
    else {
        ret->curve = pub->publicArea.parameters.eccDetail.curveID;
        r = ecc_spki(&pub->publicArea, &ret->spki, &ret->spki_len, ret_error);
    }
    Esys_Free(pub);
    return r;
}

int tpm_identity_key_public(tpm_t *t, uint32_t handle, struct tpm_identity_public *ret_pub, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = identity_public(t, handle, ret_pub, ret_error);
    tpm_leave(t);
    return r;
}

void tpm_identity_public_clear(struct tpm_identity_public *pub)
{
    free(pub->spki);
    memset(pub, 0, sizeof(*pub));
}

static int identity_create(tpm_t *t, const struct tpm_auth *owner, const uint8_t *srk_name,
                           size_t srk_name_len, uint32_t handle, uint16_t curve, bool replace,
                           char **ret_error)
{
    /* scheme NULL: the caller (OpenSSL's tpm2 provider) names the hash with each signature */
    const TPM2B_PUBLIC template = {
        .publicArea =
            {
                .type = TPM2_ALG_ECC,
                .nameAlg = curve == TPM2_ECC_NIST_P384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256,
                .objectAttributes = IDENTITY_ATTRIBUTES,
                .parameters.eccDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_NULL},
                        /* cppcheck-suppress unknownEvaluationOrder ; designated initializers */
                        .scheme = {.scheme = TPM2_ALG_NULL},
                        .curveID = curve,
                        .kdf = {.scheme = TPM2_ALG_NULL},
                    },
            },
    };
    static const TPM2B_SENSITIVE_CREATE no_auth = {0};
    static const TPM2B_DATA no_outside = {0};
    static const TPML_PCR_SELECTION no_pcrs = {0};
    char exists_text[128];
    snprintf(exists_text, sizeof(exists_text),
             "0x%08x already holds a key; `tagent identity csr` reuses it, --new-key replaces it", handle);
    int r = tpm_srk_child_slot(t, handle, srk_name, srk_name_len, owner, replace, exists_text, ret_error);
    if (r < 0)
        return r;
    ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    r = tpm_srk_parent_open(t, srk_name, srk_name_len, &srk, &session, ret_error);
    if (r < 0)
        return r;
    TSS2_RC rc = Esys_Create(t->esys, srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &no_auth, &template,
                             &no_outside, &no_pcrs, &priv, &pub, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, "creating the identity key under the storage key", ret_error);
    else
        r = tpm_srk_child_persist(t, &srk, &session, priv, pub, handle, owner, "loading the new identity key",
                                  ret_error);
    Esys_Free(priv);
    Esys_Free(pub);
    tpm_flush(t, &session);
    tpm_tr_close(t, &srk);
    return r;
}

int tpm_identity_key_create(tpm_t *t, const struct tpm_auth *owner, const uint8_t *srk_name,
                            size_t srk_name_len, uint32_t handle, uint16_t curve, bool replace,
                            char **ret_error)
{
    const char *problem = tpm_identity_handle_problem(handle);
    if (problem)
        return tpm_error_set(ret_error, -EINVAL, "handle 0x%08x cannot hold the identity key: %s", handle,
                             problem);
    if (curve != TPM2_ECC_NIST_P256 && curve != TPM2_ECC_NIST_P384)
        return tpm_error_set(ret_error, -EINVAL, "the identity key is P-256 or P-384, not curve %u", curve);
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = identity_create(t, owner, srk_name, srk_name_len, handle, curve, replace, ret_error);
    tpm_leave(t);
    return r;
}
