/* SPDX-License-Identifier: BSD-3-Clause */
/* The LUKS passphrase sealed at 0x8100A001 under the SRK (docs/tep-formats.md section 5): a keyed-hash data
 * object whose only way in is its authPolicy, PolicyAuthorize by the owner's key (authorized.policy). */
#include "tpm_internal.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

/* adminwithpolicy and no userwithauth: neither use nor administration is possible with the (empty) authValue;
 * noda because no authValue is ever tried, so there is nothing to guess. */
#define SEALED_ATTRIBUTES                                                                                    \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_NODA)

/* TPM2B_SENSITIVE_DATA holds at most MAX_SYM_DATA (128) bytes. */
#define SEALED_SECRET_MAX 128

static void sealed_template(const uint8_t auth_policy[32], TPM2B_PUBLIC *ret)
{
    memset(ret, 0, sizeof(*ret));
    TPMT_PUBLIC *p = &ret->publicArea;
    p->type = TPM2_ALG_KEYEDHASH;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = SEALED_ATTRIBUTES;
    p->authPolicy.size = 32;
    memcpy(p->authPolicy.buffer, auth_policy, 32);
    p->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL; /* sealed data, not an HMAC key */
}

/* Create + Load under the SRK in one SRK-salted session whose DECRYPT attribute encrypts the first parameter,
 * inSensitive, which holds the secret; then EvictControl to TPM_HANDLE_TEP_SEALED. */
static int sealed_create(tpm_t *t, const struct tpm_auth *owner, const uint8_t auth_policy[32],
                         const uint8_t *secret, size_t secret_len, const uint8_t *srk_name,
                         size_t srk_name_len, char **ret_error)
{
    static const TPM2B_DATA no_outside = {0};
    static const TPML_PCR_SELECTION no_pcrs = {0};
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_PUBLIC template;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;

    sealed_template(auth_policy, &template);
    sensitive.sensitive.data.size = (UINT16)secret_len;
    memcpy(sensitive.sensitive.data.buffer, secret, secret_len);
    int r = tpm_srk_parent_open(t, srk_name, srk_name_len, &srk, &session, ret_error);
    if (r < 0)
        goto out;
    TSS2_RC rc = Esys_Create(t->esys, srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template,
                             &no_outside, &no_pcrs, &priv, &pub, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "sealing the secret under the storage key", ret_error);
        goto out;
    }
    r = tpm_srk_child_persist(t, &srk, &session, priv, pub, TPM_HANDLE_TEP_SEALED, owner,
                              "loading the sealed object", ret_error);
out:
    OPENSSL_cleanse(&sensitive, sizeof(sensitive));
    Esys_Free(priv);
    Esys_Free(pub);
    tpm_flush(t, &session);
    tpm_tr_close(t, &srk);
    return r;
}

static int tep_seal(tpm_t *t, const struct tpm_auth *owner, const uint8_t auth_policy[32],
                    const uint8_t *secret, size_t secret_len, const uint8_t *srk_name, size_t srk_name_len,
                    bool force, char **ret_error)
{
    if (secret_len == 0 || secret_len > SEALED_SECRET_MAX)
        return tpm_error_set(ret_error, -EINVAL, "a sealed secret has 1 to %d bytes, not %zu",
                             SEALED_SECRET_MAX, secret_len);
    int r = tpm_srk_child_slot(t, TPM_HANDLE_TEP_SEALED, srk_name, srk_name_len, owner, force,
                               "0x8100a001 already holds a sealed secret; replacing it needs --force (and "
                               "whatever it unlocks must have another key first)",
                               ret_error);
    if (r == 0)
        r = sealed_create(t, owner, auth_policy, secret, secret_len, srk_name, srk_name_len, ret_error);
    return r;
}

int tpm_tep_seal(tpm_t *t, const struct tpm_auth *owner, const uint8_t auth_policy[32], const uint8_t *secret,
                 size_t secret_len, const uint8_t *srk_name, size_t srk_name_len, bool force,
                 char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tep_seal(t, owner, auth_policy, secret, secret_len, srk_name, srk_name_len, force, ret_error);
    tpm_leave(t);
    return r;
}

static int sealed_policy(tpm_t *t, uint8_t ret_policy[32], bool *ret_present, char **ret_error)
{
    TPM2B_PUBLIC *pub = NULL;
    int r = tpm_persistent_public(t, TPM_HANDLE_TEP_SEALED, "reading the sealed object at 0x8100a001", &pub,
                                  ret_error);
    *ret_present = pub != NULL;
    if (r < 0 || !pub)
        return r;
    if (pub->publicArea.type != TPM2_ALG_KEYEDHASH || pub->publicArea.authPolicy.size != 32)
        r = tpm_error_set(ret_error, -EBADMSG,
                          "the object at 0x8100a001 is not a sealed secret with a SHA-256 policy (type 0x%x, "
                          "authPolicy of %u bytes); something else was put there",
                          pub->publicArea.type, pub->publicArea.authPolicy.size);
    else
        memcpy(ret_policy, pub->publicArea.authPolicy.buffer, 32);
    Esys_Free(pub);
    return r;
}

int tpm_tep_sealed_policy(tpm_t *t, uint8_t ret_policy[32], bool *ret_present, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = sealed_policy(t, ret_policy, ret_present, ret_error);
    tpm_leave(t);
    return r;
}
