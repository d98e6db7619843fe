/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions: salted HMAC sessions for anything secret, the EK's PolicySecret(ENDORSEMENT) policy session, and
 * primary keys created under a hierarchy's secret inside one. */
#include "tpm_internal.h"

#include <errno.h>
#include <string.h>

static const TPMT_SYM_DEF session_aes = {
    .algorithm = TPM2_ALG_AES,
    .keyBits = {.aes = 128},
    .mode = {.aes = TPM2_ALG_CFB},
};

/* A throw-away ECC P-256 storage key in the NULL hierarchy, only to salt a session: it needs no auth and
 * no provisioning. It protects against a passive observer of the bus; an active one could substitute it, so
 * once the SRK's Name is recorded (tpm_set_srk_name) the SRK is used instead. */
static int salt_key_create(tpm_t *t, ESYS_TR *ret_key, char **ret_error)
{
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_PUBLIC template = {
        .publicArea =
            {
                .type = TPM2_ALG_ECC,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA,
                .parameters.eccDetail =
                    {
                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                      .keyBits.aes = 128,
                                      .mode.aes = TPM2_ALG_CFB},
                        /* cppcheck-suppress unknownEvaluationOrder ; designated initializers, no side effects
                         */
                        .scheme = {.scheme = TPM2_ALG_NULL},
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf = {.scheme = TPM2_ALG_NULL},
                    },
            },
    };
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TSS2_RC rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &sensitive, &template, &outside, &pcrs, ret_key, NULL, NULL, NULL, NULL);
    return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(t, rc, "creating the session salt key", ret_error);
}

int tpm_create_primary(tpm_t *t, ESYS_TR hierarchy, const struct tpm_auth *auth, const TPM2B_PUBLIC *template,
                       const char *what, ESYS_TR *ret_key, TPM2B_PUBLIC **ret_pub, char **ret_error)
{
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    ESYS_TR session = ESYS_TR_NONE;
    int r = tpm_session_salted(t, 0, &session, ret_error);
    if (r < 0)
        return r;
    tpm_set_auth(t, hierarchy, auth);
    TSS2_RC rc = Esys_CreatePrimary(t->esys, hierarchy, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                                    template, &outside, &pcrs, ret_key, ret_pub, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = tpm_fail(t, rc, what, ret_error);
    tpm_flush(t, &session);
    return r;
}

int tpm_session_salted_key(tpm_t *t, ESYS_TR key, TPMA_SESSION flags, ESYS_TR *ret_session, char **ret_error)
{
    TSS2_RC rc = Esys_StartAuthSession(t->esys, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       NULL, TPM2_SE_HMAC, &session_aes, TPM2_ALG_SHA256, ret_session);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "starting a salted session", ret_error);
    rc = Esys_TRSess_SetAttributes(t->esys, *ret_session, flags | TPMA_SESSION_CONTINUESESSION, 0xff);
    if (rc != TSS2_RC_SUCCESS) {
        tpm_flush(t, ret_session);
        return tpm_fail(t, rc, "setting session attributes", ret_error);
    }
    return 0;
}

int tpm_set_srk_name(tpm_t *t, const uint8_t *name, size_t len)
{
    if (len > TPM_NAME_MAX || (len && !name))
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    if (len)
        memcpy(t->srk_name, name, len);
    t->srk_name_len = len;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int tpm_session_salted(tpm_t *t, TPMA_SESSION flags, ESYS_TR *ret_session, char **ret_error)
{
    /* A recorded SRK Name authenticates the salt key; the NULL-hierarchy key below is authenticated by
     * nothing. */
    if (t->srk_name_len)
        return tpm_session_salted_srk(t, t->srk_name, t->srk_name_len, flags, ret_session, ret_error);
    ESYS_TR key = ESYS_TR_NONE;
    int r = salt_key_create(t, &key, ret_error);
    if (r == 0)
        r = tpm_session_salted_key(t, key, flags, ret_session, ret_error);
    tpm_flush(t, &key); /* the session keeps the salt; the key is no longer needed */
    return r;
}

int tpm_session_ek_policy(tpm_t *t, const struct tpm_auth *endorsement, ESYS_TR *ret_session,
                          char **ret_error)
{
    static const TPMT_SYM_DEF none = {.algorithm = TPM2_ALG_NULL};
    ESYS_TR policy = ESYS_TR_NONE, hmac = ESYS_TR_NONE;
    TSS2_RC rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &none, TPM2_ALG_SHA256, &policy);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "starting the EK policy session", ret_error);

    /* The endorsement auth is proven with an HMAC over a salted session: it never crosses the bus. */
    int r = tpm_session_salted(t, 0, &hmac, ret_error);
    if (r == 0) {
        tpm_set_auth(t, ESYS_TR_RH_ENDORSEMENT, endorsement);
        rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, policy, hmac, ESYS_TR_NONE, ESYS_TR_NONE,
                               NULL, NULL, NULL, 0, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
            r = tpm_fail(t, rc, "endorsement authorization (TPM_ENDORSEMENT_SECRET) for the EK policy",
                         ret_error);
    }
    tpm_flush(t, &hmac);
    if (r < 0) {
        tpm_flush(t, &policy);
        return r;
    }
    *ret_session = policy;
    return 0;
}

void tpm_flush(tpm_t *t, ESYS_TR *h)
{
    if (*h != ESYS_TR_NONE && t->esys)
        Esys_FlushContext(t->esys, *h);
    *h = ESYS_TR_NONE;
}

void tpm_tr_close(tpm_t *t, ESYS_TR *h)
{
    if (*h != ESYS_TR_NONE && t->esys)
        Esys_TR_Close(t->esys, h);
    *h = ESYS_TR_NONE;
}

size_t tpm_auth_len(const struct tpm_auth *auth)
{
    size_t n = auth ? auth->len : 0;
    while (n && auth->bytes[n - 1] == 0)
        n--;
    return n;
}

void tpm_set_auth(tpm_t *t, ESYS_TR tr, const struct tpm_auth *auth)
{
    TPM2B_AUTH value = {.size = (UINT16)tpm_auth_len(auth)};
    if (value.size)
        memcpy(value.buffer, auth->bytes, value.size);
    Esys_TR_SetAuth(t->esys, tr, &value);
    memset(&value, 0, sizeof(value));
}
