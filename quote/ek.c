/* SPDX-License-Identifier: BSD-3-Clause */
/* The endorsement key: its certificate from NV, the EK from its template, persisted at 0x81010000. */
#include "tpm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

/* TCG EK Credential Profile: the policy digest of PolicySecret(TPM_RH_ENDORSEMENT). */
static const uint8_t ek_policy[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
                                      0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
                                      0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

static void ek_default_template(TPM2B_PUBLIC *pub)
{
    *pub = (TPM2B_PUBLIC){
        .publicArea =
            {
                .type = TPM2_ALG_RSA,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                .authPolicy = {.size = 32},
                .parameters.rsaDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                      .keyBits.aes = 128,
                                      .mode.aes = TPM2_ALG_CFB},
                        /* cppcheck-suppress unknownEvaluationOrder ; designated initializers, no side effects
                         */
                        .scheme = {.scheme = TPM2_ALG_NULL},
                        .keyBits = 2048,
                        .exponent = 0,
                    },
                .unique.rsa = {.size = 256},
            },
    };
    memcpy(pub->publicArea.authPolicy.buffer, ek_policy, sizeof(ek_policy));
}

/* The template the manufacturer left in NV (0x01C00004, with its nonce in 0x01C00003), else the default. */
static int ek_template(tpm_t *t, TPM2B_PUBLIC *pub, char **ret_error)
{
    uint8_t *tmpl = NULL, *nonce = NULL;
    size_t tmpl_len = 0, nonce_len = 0;
    uint16_t size;
    int r = tpm_nv_size(t, TPM_NV_EK_TEMPLATE, &size, ret_error);
    if (r < 0 || size == 0) {
        ek_default_template(pub);
        return r;
    }
    /* Template and nonce indexes are readable with their own (empty) auth: TCG EK profile PPWRITE/AUTHREAD.
     */
    r = tpm_nv_read_all(t, TPM_NV_EK_TEMPLATE, ESYS_TR_NONE, NULL, &tmpl, &tmpl_len, ret_error);
    size_t off = 0;
    if (r == 0 && Tss2_MU_TPMT_PUBLIC_Unmarshal(tmpl, tmpl_len, &off, &pub->publicArea) != TSS2_RC_SUCCESS)
        r = tpm_error_set(ret_error, -EBADMSG, "the EK template in NV 0x%08x is not a valid TPMT_PUBLIC",
                          TPM_NV_EK_TEMPLATE);
    /* No nonce (or none readable) leaves the template's own unique field: not an error. */
    if (r == 0 && tpm_nv_size(t, TPM_NV_EK_NONCE, &size, NULL) == 0 && size &&
        tpm_nv_read_all(t, TPM_NV_EK_NONCE, ESYS_TR_NONE, NULL, &nonce, &nonce_len, NULL) == 0 &&
        pub->publicArea.type == TPM2_ALG_RSA && nonce_len <= 256) {
        /* TCG EK profile: unique = nonce padded with zeros to the key size. */
        memset(&pub->publicArea.unique.rsa, 0, sizeof(pub->publicArea.unique.rsa));
        memcpy(pub->publicArea.unique.rsa.buffer, nonce, nonce_len);
        pub->publicArea.unique.rsa.size = 256;
    }
    free(tmpl);
    free(nonce);
    return r;
}

int tpm_ek_cert_read(tpm_t *t, const struct tpm_auth *owner, struct tpm_ek_cert *ret_cert, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    struct tpm_ek_cert cert = {0};
    uint16_t size = 0;
    r = tpm_nv_size(t, TPM_NV_EK_CERT, &size, ret_error);
    if (r == 0 && size == 0)
        r = tpm_error_set(
            ret_error, -ENOENT,
            "this TPM has no EK certificate at NV 0x%08x; HVS needs one to trust the TPM (ask the "
            "platform vendor, or provision one)",
            TPM_NV_EK_CERT);
    if (r == 0)
        r = tpm_nv_read_all(t, TPM_NV_EK_CERT, ESYS_TR_RH_OWNER, owner, &cert.der, &cert.der_len, ret_error);
    /* The on-die chain is optional: an index that cannot be sized counts as absent. */
    if (r == 0 && tpm_nv_size(t, TPM_NV_EK_CHAIN, &size, NULL) == 0 && size)
        r = tpm_nv_read_all(t, TPM_NV_EK_CHAIN, ESYS_TR_RH_OWNER, owner, &cert.chain, &cert.chain_len,
                            ret_error);
    tpm_leave(t);

    /* Some TPMs pad the certificate index: keep the DER object only. */
    if (r == 0) {
        const unsigned char *p = cert.der;
        X509 *x = d2i_X509(NULL, &p, (long)cert.der_len);
        if (!x)
            r = tpm_error_set(ret_error, -EBADMSG,
                              "the EK certificate in NV 0x%08x is not a DER X.509 certificate",
                              TPM_NV_EK_CERT);
        else
            cert.der_len = (size_t)(p - cert.der);
        X509_free(x);
    }
    if (r < 0) {
        tpm_ek_cert_free(&cert);
        return r;
    }
    *ret_cert = cert;
    return 0;
}

void tpm_ek_cert_free(struct tpm_ek_cert *cert)
{
    if (!cert)
        return;
    free(cert->der);
    free(cert->chain);
    memset(cert, 0, sizeof(*cert));
}

/* IsValidEk: the certificate's RSA modulus must be the EK's. */
static int ek_matches_cert(const TPM2B_PUBLIC *pub, const struct tpm_ek_cert *cert, char **ret_error)
{
    const unsigned char *p = cert->der;
    X509 *x = d2i_X509(NULL, &p, (long)cert->der_len);
    EVP_PKEY *key = x ? X509_get0_pubkey(x) : NULL;
    BIGNUM *n = NULL;
    int r = -EBADMSG;
    if (!key || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n)) {
        tpm_error_set(
            ret_error, r,
            "the EK certificate does not hold an RSA key; tagent (like the Go agent) needs the RSA EK");
        goto out;
    }
    const TPM2B_PUBLIC_KEY_RSA *m = &pub->publicArea.unique.rsa;
    uint8_t buf[512];
    if (m->size > sizeof(buf) || BN_bn2binpad(n, buf, m->size) != m->size ||
        memcmp(buf, m->buffer, m->size) != 0) {
        r = tpm_error_set(
            ret_error, -EKEYREJECTED,
            "the EK this TPM creates does not match its EK certificate; refusing to continue "
            "(was the endorsement hierarchy's seed changed, or is the certificate for another TPM?)");
        goto out;
    }
    r = 0;
out:
    BN_free(n);
    X509_free(x);
    return r;
}

static int ek_provision(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                        const struct tpm_ek_cert *cert, char **ret_error)
{
    TPM2B_PUBLIC template, *pub = NULL;
    ESYS_TR ek = ESYS_TR_NONE;

    int r = tpm_evict(t, TPM_HANDLE_EK, owner, ret_error);
    if (r == 0)
        r = ek_template(t, &template, ret_error);
    if (r == 0)
        r = tpm_create_primary(t, ESYS_TR_RH_ENDORSEMENT, endorsement, &template,
                               "creating the EK (endorsement authorization, TPM_ENDORSEMENT_SECRET)", &ek,
                               &pub, ret_error);
    if (r == 0)
        r = ek_matches_cert(pub, cert, ret_error);
    if (r == 0)
        r = tpm_persist(t, ek, TPM_HANDLE_EK, owner, ret_error);
    Esys_Free(pub);
    tpm_flush(t, &ek);
    return r;
}

int tpm_ek_provision(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                     const struct tpm_ek_cert *cert, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = ek_provision(t, owner, endorsement, cert, ret_error);
    tpm_leave(t);
    return r;
}

int tpm_public_marshal(tpm_t *t, TPM2_HANDLE handle, const char *name, uint8_t **ret_pub, size_t *ret_len,
                       char **ret_error)
{
    ESYS_TR tr;
    bool exists;
    TPM2B_PUBLIC *pub = NULL;
    int r = tpm_handle_load(t, handle, &tr, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no %s at 0x%08x; run `tagent setup provision-aik`",
                          name, handle);
    if (r < 0)
        return r;
    TSS2_RC rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, "reading a public key", ret_error);
    uint8_t *buf = r == 0 ? malloc(sizeof(TPM2B_PUBLIC)) : NULL;
    size_t off = 0;
    if (r == 0 && !buf)
        r = tpm_error_set(ret_error, -ENOMEM, "out of memory");
    if (r == 0 && Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &off) != TSS2_RC_SUCCESS)
        r = tpm_error_set(ret_error, -EPROTO, "cannot marshal the public key");
    if (r == 0) {
        *ret_pub = buf;
        *ret_len = off;
        buf = NULL;
    }
    free(buf);
    Esys_Free(pub);
    tpm_tr_close(t, &tr);
    return r;
}

int tpm_ek_public(tpm_t *t, uint8_t **ret_pub, size_t *ret_len, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tpm_public_marshal(t, TPM_HANDLE_EK, "EK", ret_pub, ret_len, ret_error);
    tpm_leave(t);
    return r;
}
