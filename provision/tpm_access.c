/* SPDX-License-Identifier: BSD-3-Clause */
/* The setup tasks' way to the TPM and its secrets. */
#include "provision.h"

#include "cleanup.h"

#include <errno.h>

int provision_tpm(struct provision_ctx *ctx, tpm_t **ret_tpm)
{
    if (!ctx->tpm) {
        _cleanup_free_ char *error = NULL;
        int r = tpm_open(ctx->cfg->tcti, &ctx->tpm, &error);
        if (r == 0)
            r = tep_srk_pin(ctx->root, ctx->tpm, &error);
        if (r < 0)
            return provision_tpm_error(ctx, r, error);
    }
    *ret_tpm = ctx->tpm;
    return 0;
}

int provision_auth(struct provision_ctx *ctx, const char *secret, const char *key, struct tpm_auth *ret_auth)
{
    _cleanup_free_ char *error = NULL;
    int r = tpm_auth_from_secret(secret, ret_auth, &error);
    if (r < 0)
        config_diag_add(ctx->diags, CONFIG_ERROR, NULL, 0, key, "%s", error ? error : "out of memory");
    return r;
}

int provision_tpm_owner(struct provision_ctx *ctx, tpm_t **ret_tpm, struct tpm_auth *ret_owner,
                        struct tpm_auth *ret_endorsement)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0}, endorsement = {0};
    tpm_t *tpm = NULL;
    int r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->owner_secret, "TPM_OWNER_SECRET", &owner);
    if (r == 0 && ret_endorsement)
        r = provision_auth(ctx, ctx->cfg->endorsement_secret, "TPM_ENDORSEMENT_SECRET", &endorsement);
    if (r < 0)
        return r;
    *ret_tpm = tpm;
    *ret_owner = owner;
    if (ret_endorsement)
        *ret_endorsement = endorsement;
    return 0;
}

int provision_tpm_error(struct provision_ctx *ctx, int r, const char *error)
{
    config_diag_add(ctx->diags, CONFIG_ERROR, NULL, 0, NULL, "%s", error ? error : "out of memory");
    return r;
}
