/* SPDX-License-Identifier: BSD-3-Clause */
/* The policy a signed LUKS state stands for, built inside the TPM: PolicyPCR over the current values of the
 * state's PCRs, then (with a version) PolicyNV on the version index. A trial session gives the digest of the
 * PCRs now, which tells which signed state to try (luks/policy/luks_policy.h computes the same in software).
 */
#include "tpm_internal.h"

#include <errno.h>
#include <string.h>

void tpm_pcr_selection(uint16_t bank, uint32_t pcr_mask, TPML_PCR_SELECTION *ret_sel)
{
    memset(ret_sel, 0, sizeof(*ret_sel));
    ret_sel->count = 1;
    ret_sel->pcrSelections[0].hash = bank;
    ret_sel->pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < 3; i++)
        ret_sel->pcrSelections[0].pcrSelect[i] = (uint8_t)(pcr_mask >> (8 * i));
}

TSS2_RC tpm_policy_nv_version(tpm_t *t, ESYS_TR session, uint64_t version)
{
    TPM2B_OPERAND operand = {.size = 8};
    ESYS_TR nv = ESYS_TR_NONE;
    for (unsigned i = 0; i < 8; i++)
        operand.buffer[i] = (uint8_t)(version >> (56 - 8 * i));
    TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, TPM_NV_TEP_LUKS_VERSION, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    /* authread with the index's empty authValue: reading the version needs no secret, and a password
     * session is enough for an empty one. */
    tpm_set_auth(t, nv, NULL);
    rc = Esys_PolicyNV(t->esys, nv, nv, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &operand, 0,
                       TPM2_EO_EQ);
    tpm_tr_close(t, &nv);
    return rc;
}

static int version_index_missing(tpm_t *t, bool *ret_missing, char **ret_error)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    int r = tpm_nv_public(t, TPM_NV_TEP_LUKS_VERSION, &pub, ret_error);
    *ret_missing = r == 0 && !pub;
    Esys_Free(pub);
    return r;
}

static int policy_digest_now(tpm_t *t, const struct tpm_signed_policy *policy, uint8_t ret_digest[32],
                             char **ret_error)
{
    static const TPMT_SYM_DEF none = {.algorithm = TPM2_ALG_NULL};
    static const TPM2B_DIGEST current = {0}; /* empty pcrDigest: the TPM takes its current values */
    TPML_PCR_SELECTION sel;
    TPM2B_DIGEST *digest = NULL;
    ESYS_TR trial = ESYS_TR_NONE;
    bool missing = false;
    int r = 0;

    if (policy->has_version) {
        r = version_index_missing(t, &missing, ret_error);
        if (r == 0 && missing)
            r = tpm_error_set(ret_error, -ENOENT,
                              "NV index 0x018a0001 (the LUKS policy version) is not defined; run `tagent "
                              "provision-device`");
        if (r < 0)
            return r;
    }
    TSS2_RC rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256, &trial);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "starting a trial policy session", ret_error);
    tpm_pcr_selection(policy->bank, policy->pcr_mask, &sel);
    rc = Esys_PolicyPCR(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "PolicyPCR over the current PCR values (is the bank allocated?)", ret_error);
        goto out;
    }
    if (policy->has_version) {
        rc = tpm_policy_nv_version(t, trial, policy->version);
        if (rc != TSS2_RC_SUCCESS) {
            r = tpm_fail(t, rc, "PolicyNV on the version index 0x018a0001", ret_error);
            goto out;
        }
    }
    rc = Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest);
    if (rc != TSS2_RC_SUCCESS) {
        r = tpm_fail(t, rc, "reading the trial policy digest", ret_error);
        goto out;
    }
    if (digest->size != 32)
        r = tpm_error_set(ret_error, -EPROTO, "the trial policy digest has %u bytes, not 32", digest->size);
    else
        memcpy(ret_digest, digest->buffer, 32);
    Esys_Free(digest);
out:
    tpm_flush(t, &trial);
    return r;
}

int tpm_policy_digest_now(tpm_t *t, const struct tpm_signed_policy *policy, uint8_t ret_digest[32],
                          char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = policy_digest_now(t, policy, ret_digest, ret_error);
    tpm_leave(t);
    return r;
}
