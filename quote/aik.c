/* SPDX-License-Identifier: BSD-3-Clause */
/* The attestation identity key: created under the EK, persisted at 0x81018000; its public key and name;
 * ActivateCredential for the privacy-CA identity challenge. */
#include "tpm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

static void aik_template(TPM2B_PUBLIC *pub)
{
    *pub = (TPM2B_PUBLIC){
        .publicArea =
            {
                .type = TPM2_ALG_RSA,
                .nameAlg = TPM2_ALG_SHA256,
                /* NODA on top of the Go agent's attributes: the AIK's auth is empty, so dictionary-attack
                 * protection guards nothing, while a TPM that counts unclean shutdowns as failed tries
                 * (libtpms does) would otherwise lock the AIK after a few power losses and stop all quotes.
                 * HVS never sees the attributes (the name it binds is computed here). */
                .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                                    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
                .parameters.rsaDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_NULL},
                        .scheme = {.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256},
                        .keyBits = 2048,
                        .exponent = 0,
                    },
            },
    };
}

static int aik_provision(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                         char **ret_error)
{
    TPM2B_PUBLIC template, *out_pub = NULL;
    TPM2B_PRIVATE *out_priv = NULL;
    TPM2B_SENSITIVE_CREATE sensitive = {0}; /* empty userAuth, as the Go agent and HVS expect */
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    ESYS_TR ek = ESYS_TR_NONE, policy = ESYS_TR_NONE, aik = ESYS_TR_NONE;
    bool exists;

    aik_template(&template);
    tpm_tr_close(t, &t->aik); /* the cached handle is about to be replaced */
    int r = tpm_evict(t, TPM_HANDLE_AIK, owner, ret_error);
    if (r == 0)
        r = tpm_handle_load(t, TPM_HANDLE_EK, &ek, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no EK at 0x%08x to create the AIK under",
                          TPM_HANDLE_EK);
    if (r == 0)
        r = tpm_session_ek_policy(t, endorsement, &policy, ret_error);
    if (r < 0)
        goto out;
    TSS2_RC rc = Esys_Create(t->esys, ek, policy, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template, &outside,
                             &pcrs, &out_priv, &out_pub, NULL, NULL, NULL);
    tpm_flush(t, &policy);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "creating the AIK under the EK", ret_error);
        goto out;
    }
    /* A policy session is spent by use: Load needs a fresh one. */
    r = tpm_session_ek_policy(t, endorsement, &policy, ret_error);
    if (r < 0)
        goto out;
    rc = Esys_Load(t->esys, ek, policy, ESYS_TR_NONE, ESYS_TR_NONE, out_priv, out_pub, &aik);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "loading the AIK", ret_error);
        goto out;
    }
    r = tpm_persist(t, aik, TPM_HANDLE_AIK, owner, ret_error);
out:
    Esys_Free(out_pub);
    Esys_Free(out_priv);
    tpm_flush(t, &policy);
    tpm_flush(t, &aik);
    tpm_tr_close(t, &ek);
    return r;
}

int tpm_aik_provision(tpm_t *t, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                      char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = aik_provision(t, owner, endorsement, ret_error);
    tpm_leave(t);
    return r;
}

/* SubjectPublicKeyInfo PEM of an RSA public key (e = 65537 when the TPM says 0). */
static int rsa_pem(const TPMT_PUBLIC *pub, char **ret_pem, char **ret_error)
{
    uint32_t e = pub->parameters.rsaDetail.exponent ? pub->parameters.rsaDetail.exponent : 65537;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL);
    BIGNUM *be = BN_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    int r = -ENOMEM;

    if (!bld || !n || !be || !ctx || !bio || !BN_set_word(be, e) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
        !PEM_write_bio_PUBKEY(bio, key)) {
        tpm_error_set(ret_error, r, "cannot encode the AIK public key as PEM");
        goto out;
    }
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    /* The BIO's memory is not NUL-terminated: copy exactly len bytes. */
    if (!(*ret_pem = malloc((size_t)len + 1)))
        goto out;
    memcpy(*ret_pem, data, (size_t)len);
    (*ret_pem)[len] = '\0';
    r = 0;
out:
    BIO_free(bio);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(be);
    return r;
}

static int aik_info(tpm_t *t, struct tpm_aik_info *info, char **ret_error)
{
    ESYS_TR tr;
    bool exists;
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL;
    int r = tpm_handle_load(t, TPM_HANDLE_AIK, &tr, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no AIK at 0x%08x; run `tagent setup provision-aik`",
                          TPM_HANDLE_AIK);
    if (r < 0)
        return r;
    TSS2_RC rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, "reading the AIK", ret_error);
    else if (pub->publicArea.type != TPM2_ALG_RSA || pub->publicArea.unique.rsa.size != 256 ||
             name->size != sizeof(info->name))
        r = tpm_error_set(ret_error, -EBADMSG, "the key at 0x%08x is not an RSA-2048 AIK", TPM_HANDLE_AIK);
    else {
        memcpy(info->modulus, pub->publicArea.unique.rsa.buffer, 256);
        memcpy(info->name, name->name, name->size);
        info->name_len = name->size;
        r = rsa_pem(&pub->publicArea, &info->pem, ret_error);
    }
    Esys_Free(pub);
    Esys_Free(name);
    tpm_tr_close(t, &tr);
    return r;
}

int tpm_aik_info(tpm_t *t, struct tpm_aik_info *ret_info, char **ret_error)
{
    memset(ret_info, 0, sizeof(*ret_info));
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = aik_info(t, ret_info, ret_error);
    tpm_leave(t);
    return r;
}

static int activate(tpm_t *t, const struct tpm_auth *endorsement, const TPM2B_ID_OBJECT *blob,
                    const TPM2B_ENCRYPTED_SECRET *secret, uint8_t **ret, size_t *ret_len, char **ret_error)
{
    ESYS_TR aik = ESYS_TR_NONE, ek = ESYS_TR_NONE, hmac = ESYS_TR_NONE, policy = ESYS_TR_NONE;
    TPM2B_DIGEST *cert_info = NULL;
    bool exists;
    int r = tpm_handle_load(t, TPM_HANDLE_AIK, &aik, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no AIK at 0x%08x", TPM_HANDLE_AIK);
    if (r == 0)
        r = tpm_handle_load(t, TPM_HANDLE_EK, &ek, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no EK at 0x%08x", TPM_HANDLE_EK);
    /* certInfo is the privacy CA's secret: it comes back encrypted in the AIK's session. */
    if (r == 0)
        r = tpm_session_salted(t, TPMA_SESSION_ENCRYPT, &hmac, ret_error);
    if (r == 0)
        r = tpm_session_ek_policy(t, endorsement, &policy, ret_error);
    if (r < 0)
        goto out;
    tpm_set_auth(t, aik, NULL);
    TSS2_RC rc =
        Esys_ActivateCredential(t->esys, aik, ek, hmac, policy, ESYS_TR_NONE, blob, secret, &cert_info);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "ActivateCredential (the challenge was not made for this TPM's EK and AIK?)",
                     ret_error);
        goto out;
    }
    if (!(*ret = malloc(cert_info->size ? cert_info->size : 1))) {
        r = tpm_error_set(ret_error, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*ret, cert_info->buffer, cert_info->size);
    *ret_len = cert_info->size;
out:
    if (cert_info)
        OPENSSL_cleanse(cert_info, sizeof(*cert_info));
    Esys_Free(cert_info);
    tpm_flush(t, &hmac);
    tpm_flush(t, &policy);
    tpm_tr_close(t, &aik);
    tpm_tr_close(t, &ek);
    return r;
}

int tpm_activate_credential(tpm_t *t, const struct tpm_auth *endorsement, const uint8_t *credential_blob,
                            size_t credential_len, const uint8_t *secret, size_t secret_len,
                            uint8_t **ret_cert_info, size_t *ret_len, char **ret_error)
{
    TPM2B_ID_OBJECT blob = {0};
    TPM2B_ENCRYPTED_SECRET enc = {0};
    if (!credential_len || credential_len > sizeof(blob.credential) || !secret_len ||
        secret_len > sizeof(enc.secret))
        return tpm_error_set(ret_error, -EINVAL,
                             "the credential (%zu bytes) or secret (%zu bytes) has an impossible size",
                             credential_len, secret_len);
    blob.size = (UINT16)credential_len;
    memcpy(blob.credential, credential_blob, credential_len);
    enc.size = (UINT16)secret_len;
    memcpy(enc.secret, secret, secret_len);

    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = activate(t, endorsement, &blob, &enc, ret_cert_info, ret_len, ret_error);
    tpm_leave(t);
    return r;
}
