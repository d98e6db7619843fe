/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM side of luks_unlock() over quote.h, and `tagent luks revoke` (the version index). */
#include "error.h"
#include "luks.h"
#include "luks_policy.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static int t_get_random(void *u, uint8_t *buf, size_t len, char **ret_error)
{
    return tpm_get_random(((struct luks_tpm *)u)->tpm, buf, len, ret_error);
}

static int t_policy_key(void *u, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    return tpm_tep_policy_key_read(((struct luks_tpm *)u)->tpm, ret_spki, ret_len, ret_error);
}

static int t_version(void *u, bool *ret_defined, uint64_t *ret_version, char **ret_error)
{
    struct luks_tpm *t = u;
    int r = tpm_handle_exists(t->tpm, TPM_NV_TEP_LUKS_VERSION, ret_defined, ret_error);
    if (r < 0 || !*ret_defined)
        return r;
    return tpm_nv_u64_read(t->tpm, TPM_NV_TEP_LUKS_VERSION, ret_version, ret_error);
}

static int t_seal(void *u, const uint8_t auth_policy[32], const uint8_t *secret, size_t len, bool force,
                  char **ret_error)
{
    struct luks_tpm *t = u;
    return tpm_tep_seal(t->tpm, t->owner, auth_policy, secret, len, t->srk_name, t->srk_name_len, force,
                        ret_error);
}

static int t_sealed_policy(void *u, uint8_t ret_policy[32], bool *ret_present, char **ret_error)
{
    return tpm_tep_sealed_policy(((struct luks_tpm *)u)->tpm, ret_policy, ret_present, ret_error);
}

/* The digest a state would need now, from the TPM's PCR values and the policy math (luks/policy), not from
 * a trial session: one PCR_Read instead of a session and three policy commands, and the same answer (a trial
 * session does not evaluate PolicyNV either: a revoked state still "matches" and its unseal says so). */
static int t_digest_now(void *u, const struct tpm_signed_policy *policy, uint8_t ret_digest[32],
                        char **ret_error)
{
    struct luks_pcr_state state = {.bank = policy->bank,
                                   .pcr_mask = policy->pcr_mask,
                                   .has_version = policy->has_version,
                                   .version = policy->version};
    uint8_t values[24][64];
    size_t size = policy->bank == TPM_BANK_SHA384 ? 48 : 32;
    int r = tpm_pcr_read(((struct luks_tpm *)u)->tpm, policy->bank, policy->pcr_mask, values, ret_error);
    if (r < 0)
        return r;
    for (int i = 0; i < 24; i++)
        memcpy(state.values[i], values[i], size);
    return luks_policy_approved(&state, ret_digest, ret_error);
}

static int t_unseal(void *u, const struct tpm_signed_policy *policy, uint8_t **ret_secret, size_t *ret_len,
                    char **ret_error)
{
    struct luks_tpm *t = u;
    return tpm_tep_unseal(t->tpm, policy, t->srk_name, t->srk_name_len, ret_secret, ret_len, ret_error);
}

static void t_secret_free(void *u, uint8_t *secret, size_t len)
{
    tpm_secret_free(secret, len);
}

static int t_pcr_read(void *u, uint16_t bank, uint32_t mask, uint8_t ret_values[24][64], char **ret_error)
{
    return tpm_pcr_read(((struct luks_tpm *)u)->tpm, bank, mask, ret_values, ret_error);
}

static int t_close_unseal(void *u, uint32_t pcr, char **ret_error)
{
    return tpm_close_unseal(((struct luks_tpm *)u)->tpm, pcr, ret_error);
}

void luks_tpm_ops_init(struct luks_tpm *state, struct luks_tpm_ops *ret_ops)
{
    *ret_ops = (struct luks_tpm_ops){
        .userdata = state,
        .get_random = t_get_random,
        .policy_key = t_policy_key,
        .version = t_version,
        .seal = t_seal,
        .sealed_policy = t_sealed_policy,
        .digest_now = t_digest_now,
        .unseal = t_unseal,
        .secret_free = t_secret_free,
        .pcr_read = t_pcr_read,
        .close_unseal = t_close_unseal,
    };
}

int luks_revoke(tpm_t *tpm, const struct tpm_auth *owner, uint64_t to, uint64_t *ret_previous,
                char **ret_error)
{
    uint64_t now = 0;
    int r = tpm_nv_u64_read(tpm, TPM_NV_TEP_LUKS_VERSION, &now, ret_error);
    if (r < 0)
        return r;
    /* an index only moves forward: going back would revive every policy revoked since */
    if (to <= now)
        return error_set(
            ret_error, -ERANGE,
            "the LUKS policy version is %" PRIu64 " now; --to must be greater (it never goes back)", now);
    if ((r = tpm_nv_u64_write(tpm, owner, TPM_NV_TEP_LUKS_VERSION, to, ret_error)) < 0)
        return r;
    if (ret_previous)
        *ret_previous = now;
    return 0;
}
