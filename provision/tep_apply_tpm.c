/* SPDX-License-Identifier: BSD-3-Clause */
/* The real TPM steps of config-apply (struct tep_apply_ops, docs/tep-formats.md section 3), on quote/'s TEP
 * functions, with the authValue and the SRK Name from their root-only files. */
#include "provision.h"

#include "error.h"
#include "tep_files.h"

#include <errno.h>
#include <string.h>

/* The device's profile, from its TPM objects only (contract 1.1): the policy key's size and the AES key's
 * bits must name the same profile. */
static int op_profile(void *userdata, enum tepc_profile *ret_profile, char **ret_error)
{
    struct tep_tpm_apply *s = userdata;
    struct tpm_tep_state st;
    int r = tpm_tep_state(s->tpm, &st, ret_error);
    if (r < 0)
        return r;
    if (!st.policy_key_defined || !st.enc_key_present)
        return error_set(ret_error, -ENOENT,
                         "this device is not provisioned for configuration updates (%s missing); run `tagent "
                         "provision-device`",
                         !st.policy_key_defined ? "the policy key NV 0x018a0000 is"
                                                : "the AES key 0x8100a000 is");
    static const enum tepc_profile profiles[] = {TEPC_PROFILE_PTT, TEPC_PROFILE_DTPM};
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        const struct tepc_profile_params *p = tepc_profile_params(profiles[i]);
        if (p && st.policy_key_len == p->spki_len && st.enc_key_bits == p->enc_key_bits) {
            *ret_profile = profiles[i];
            return 0;
        }
    }
    return error_set(
        ret_error, -EBADMSG,
        "the TPM's TEP objects match no profile (policy key of %u bytes, AES key of %u bits); run "
        "`tagent provision-device --force`",
        st.policy_key_len, st.enc_key_bits);
}

static int op_policy_key(void *userdata, uint8_t **ret_spki, size_t *ret_len, char **ret_error)
{
    struct tep_tpm_apply *s = userdata;
    return tpm_tep_policy_key_read(s->tpm, ret_spki, ret_len, ret_error);
}

static int op_last_sequence(void *userdata, uint64_t *ret_sequence, char **ret_error)
{
    struct tep_tpm_apply *s = userdata;
    return tpm_nv_u64_read(s->tpm, TPM_NV_TEP_CONFIG_SEQ, ret_sequence, ret_error);
}

static int op_decrypt(void *userdata, const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out,
                      char **ret_error)
{
    struct tep_tpm_apply *s = userdata;
    return tpm_tep_decrypt(s->tpm, &s->enc_auth, s->srk_name, s->srk_name_len, iv, in, len, out, ret_error);
}

static int op_record_sequence(void *userdata, uint64_t sequence, char **ret_error)
{
    struct tep_tpm_apply *s = userdata;
    return tpm_nv_u64_write(s->tpm, &s->owner, TPM_NV_TEP_CONFIG_SEQ, sequence, ret_error);
}

int tep_apply_tpm_ops(const char *root, tpm_t *tpm, const struct tpm_auth *owner, struct tep_tpm_apply *state,
                      struct tep_apply_ops *ret_ops, char **ret_error)
{
    memset(state, 0, sizeof(*state));
    state->tpm = tpm;
    if (owner)
        state->owner = *owner;
    int r = tep_srk_name_load(root, state->srk_name, &state->srk_name_len, ret_error);
    if (r == 0)
        r = tep_enc_auth_load(root, &state->enc_auth, ret_error);
    if (r < 0) {
        tep_tpm_apply_clear(state);
        return r;
    }
    *ret_ops = (struct tep_apply_ops){
        .userdata = state,
        .profile = op_profile,
        .policy_key = op_policy_key,
        .last_sequence = op_last_sequence,
        .decrypt = op_decrypt,
        .record_sequence = op_record_sequence,
    };
    return 0;
}

void tep_tpm_apply_clear(struct tep_tpm_apply *state)
{
    if (!state)
        return;
    tpm_auth_clear(&state->owner);
    tpm_auth_clear(&state->enc_auth);
    memset(state->srk_name, 0, sizeof(state->srk_name));
    state->srk_name_len = 0;
}
