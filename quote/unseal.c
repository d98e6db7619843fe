/* SPDX-License-Identifier: BSD-3-Clause */
/* Unsealing the LUKS passphrase at 0x8100A001 (tep-provisioning-luks.md 3.6, later boots): the owner's key
 * from NV 0x018A0000 verifies the signed state and gives a ticket; a policy session salted with the recorded
 * SRK replays PolicyPCR [+ PolicyNV] and PolicyAuthorize; Unseal answers with the secret encrypted on the
 * bus. Every refusal is reported once and never retried. */
#include "policy_key.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const TPMT_SYM_DEF session_aes = {
    .algorithm = TPM2_ALG_AES,
    .keyBits = {.aes = 128},
    .mode = {.aes = TPM2_ALG_CFB},
};

/* What one unseal holds on the TPM; everything flushed or closed by unseal_release(). */
struct unseal {
    struct policy_key key;
    ESYS_TR ext;     /* the policy key, loaded external in the owner hierarchy */
    ESYS_TR srk;     /* salts the policy session */
    ESYS_TR session; /* the policy session */
    ESYS_TR sealed;  /* 0x8100A001 */
    TPMT_TK_VERIFIED *ticket;
};

static void unseal_release(tpm_t *t, struct unseal *u)
{
    tpm_flush(t, &u->ext);
    tpm_flush(t, &u->session);
    tpm_tr_close(t, &u->srk);
    tpm_tr_close(t, &u->sealed);
    Esys_Free(u->ticket);
    u->ticket = NULL;
}

/* LoadExternal in the owner hierarchy: a key loaded in the NULL hierarchy gives a NULL ticket, which
 * PolicyAuthorize refuses (spec 2.1). */
static int policy_key_load(tpm_t *t, struct unseal *u, char **ret_error)
{
    _cleanup_free_ uint8_t *spki = NULL;
    size_t len = 0;
    int r = tpm_tep_policy_key_get(t, false, &spki, &len, ret_error);
    if (r == 0)
        r = policy_key_public(spki, len, &u->key, ret_error);
    if (r < 0)
        return r;
    TSS2_RC rc = Esys_LoadExternal(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &u->key.pub,
                                   ESYS_TR_RH_OWNER, &u->ext);
    return rc == TSS2_RC_SUCCESS ? 0
                                 : tpm_fail(t, rc, "loading the policy key from NV 0x018a0000", ret_error);
}

static int signature_verify(tpm_t *t, struct unseal *u, const struct tpm_signed_policy *policy,
                            char **ret_error)
{
    TPM2B_DIGEST ahash;
    TPMT_SIGNATURE sig;
    int r = policy_key_ahash(&u->key, policy->approved, &ahash, ret_error);
    if (r == 0)
        r = policy_key_signature(&u->key, policy->signature, policy->signature_len, &sig, ret_error);
    if (r < 0)
        return r;
    TSS2_RC rc = Esys_VerifySignature(t->esys, u->ext, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash, &sig,
                                      &u->ticket);
    if (rc == TSS2_RC_SUCCESS)
        return 0;
    if (tpm_rc_base(rc) == TPM2_RC_SIGNATURE)
        return tpm_fail_as(
            t, rc, -EBADMSG,
            "the signed policy's signature does not verify with the key in NV 0x018a0000 (signed "
            "by another key, or altered)",
            ret_error);
    return tpm_fail(t, rc, "verifying the signed policy's signature", ret_error);
}

static int session_start(tpm_t *t, struct unseal *u, const uint8_t *srk_name, size_t srk_name_len,
                         char **ret_error)
{
    int r = tpm_srk_load_checked(t, srk_name, srk_name_len, &u->srk, ret_error);
    if (r < 0)
        return r;
    TSS2_RC rc =
        Esys_StartAuthSession(t->esys, u->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                              TPM2_SE_POLICY, &session_aes, TPM2_ALG_SHA256, &u->session);
    /* The session keeps the salt. Closed now: ESAPI has one ESYS_TR per TPM handle, and a salted session
     * started later in this call (reading the version index for a message) may load and close it again. */
    tpm_tr_close(t, &u->srk);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "starting the policy session salted with the storage key", ret_error);
    /* ENCRYPT: Unseal's response parameter, the secret, crosses the bus encrypted with the session key. */
    rc = Esys_TRSess_SetAttributes(t->esys, u->session, TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
                                   0xff);
    return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(t, rc, "setting the policy session's attributes", ret_error);
}

/* PolicyNV refused: the version index no longer equals the version the state was signed for. Says which
 * value it has now, when it can be read. */
static int version_revoked(tpm_t *t, TSS2_RC rc, uint64_t version, char **ret_error)
{
    _cleanup_free_ uint8_t *data = NULL;
    _cleanup_free_ char *error = NULL;
    size_t len = 0;
    char text[256];
    if (tpm_nv_read_all(t, TPM_NV_TEP_LUKS_VERSION, ESYS_TR_NONE, NULL, &data, &len, &error) == 0 &&
        len == 8) {
        uint64_t now = 0;
        for (size_t i = 0; i < 8; i++)
            now = now << 8 | data[i];
        snprintf(
            text, sizeof(text),
            "the policy was signed for version %llu; the device's version index (NV 0x018a0001) is %llu: "
            "revoked",
            (unsigned long long)version, (unsigned long long)now);
    } else
        snprintf(
            text, sizeof(text),
            "the policy was signed for version %llu; the device's version index (NV 0x018a0001) differs: "
            "revoked",
            (unsigned long long)version);
    return tpm_fail_as(t, rc, -EKEYREVOKED, text, ret_error);
}

static int policy_satisfy(tpm_t *t, struct unseal *u, const struct tpm_signed_policy *policy,
                          char **ret_error)
{
    static const TPM2B_DIGEST current = {0}; /* empty pcrDigest: the TPM takes its current values */
    static const TPM2B_NONCE no_ref = {0};
    TPML_PCR_SELECTION sel;
    TPM2B_DIGEST approved = {.size = 32};
    TPM2B_NAME *key_name = NULL;

    tpm_pcr_selection(policy->bank, policy->pcr_mask, &sel);
    TSS2_RC rc =
        Esys_PolicyPCR(t->esys, u->session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "PolicyPCR over the current PCR values (is the bank allocated?)", ret_error);
    if (policy->has_version) {
        rc = tpm_policy_nv_version(t, u->session, policy->version);
        if (tpm_rc_base(rc) == TPM2_RC_POLICY)
            return version_revoked(t, rc, policy->version, ret_error);
        if (rc != TSS2_RC_SUCCESS)
            return tpm_fail(t, rc, "PolicyNV on the version index 0x018a0001", ret_error);
    }
    rc = Esys_TR_GetName(t->esys, u->ext, &key_name);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "reading the policy key's Name", ret_error);
    memcpy(approved.buffer, policy->approved, 32);
    rc = Esys_PolicyAuthorize(t->esys, u->session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &approved,
                              &no_ref, key_name, u->ticket);
    Esys_Free(key_name);
    if (rc == TSS2_RC_SUCCESS)
        return 0;
    /* The session's digest (this boot's PCRs [+ version]) is not the approved one. */
    if (tpm_rc_base(rc) == TPM2_RC_VALUE)
        return tpm_fail_as(t, rc, -EPERM, "the PCRs are not the signed state", ret_error);
    return tpm_fail(t, rc, "PolicyAuthorize with the signed policy", ret_error);
}

/* Unseal through the satisfied session, the answer copied straight into locked memory. */
static int unseal_secret(tpm_t *t, struct unseal *u, uint8_t **ret_secret, size_t *ret_len, char **ret_error)
{
    TPM2B_SENSITIVE_DATA *out = NULL;
    TSS2_RC rc = Esys_Unseal(t->esys, u->sealed, u->session, ESYS_TR_NONE, ESYS_TR_NONE, &out);
    if (rc != TSS2_RC_SUCCESS) {
        /* The session satisfied PolicyAuthorize, so the object's authPolicy is not authorized.policy of the
         * key in NV 0x018a0000: it was sealed for another owner key. */
        if (tpm_rc_base(rc) == TPM2_RC_POLICY_FAIL)
            return tpm_fail_as(t, rc, -EPERM,
                               "the sealed object at 0x8100a001 was not sealed for the key in NV 0x018a0000 "
                               "(its authPolicy is not that key's authorized.policy); seal it again",
                               ret_error);
        return tpm_fail(t, rc, "unsealing the object at 0x8100a001", ret_error);
    }
    int r = 0;
    uint8_t *secret = tpm_secret_alloc(out->size);
    if (!secret)
        r = tpm_error_set(ret_error, -errno,
                          "cannot lock memory for the unsealed secret (mlock: %m; RLIMIT_MEMLOCK too low?)");
    else {
        memcpy(secret, out->buffer, out->size);
        *ret_secret = secret;
        *ret_len = out->size;
    }
    OPENSSL_cleanse(out, sizeof(*out));
    Esys_Free(out);
    return r;
}

static int tep_unseal(tpm_t *t, const struct tpm_signed_policy *policy, const uint8_t *srk_name,
                      size_t srk_name_len, uint8_t **ret_secret, size_t *ret_len, char **ret_error)
{
    struct unseal u = {
        .ext = ESYS_TR_NONE, .srk = ESYS_TR_NONE, .session = ESYS_TR_NONE, .sealed = ESYS_TR_NONE};
    bool exists = false;
    int r = tpm_handle_load(t, TPM_HANDLE_TEP_SEALED, &u.sealed, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "nothing is sealed at 0x8100a001");
    if (r == 0)
        r = policy_key_load(t, &u, ret_error);
    if (r == 0)
        r = signature_verify(t, &u, policy, ret_error);
    if (r == 0)
        r = session_start(t, &u, srk_name, srk_name_len, ret_error);
    if (r == 0)
        r = policy_satisfy(t, &u, policy, ret_error);
    if (r == 0)
        r = unseal_secret(t, &u, ret_secret, ret_len, ret_error);
    unseal_release(t, &u);
    return r;
}

int tpm_tep_unseal(tpm_t *t, const struct tpm_signed_policy *policy, const uint8_t *srk_name,
                   size_t srk_name_len, uint8_t **ret_secret, size_t *ret_len, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = tep_unseal(t, policy, srk_name, srk_name_len, ret_secret, ret_len, ret_error);
    tpm_leave(t);
    return r;
}
