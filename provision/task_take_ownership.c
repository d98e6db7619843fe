/* SPDX-License-Identifier: BSD-3-Clause */
/* take-ownership: the owner secret (TPM_OWNER_SECRET) becomes the TPM's owner auth (spec section 2). */
#include "tasks.h"

#include <errno.h>

static int validate(struct provision_ctx *ctx)
{
    tpm_t *tpm;
    struct tpm_auth owner = {0};
    struct tpm_error err;
    bool owned = false;
    int r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->owner_secret, "TPM_OWNER_SECRET", &owner);
    if (r == 0)
        r = tpm_owned_with_auth(tpm, &owner, &owned, &err);
    tpm_auth_clear(&owner);
    return r < 0 ? r : owned ? 0 : -EACCES;
}

static int run(struct provision_ctx *ctx)
{
    tpm_t *tpm;
    struct tpm_auth owner = {0}, endorsement = {0};
    struct tpm_error err = {0};
    int r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->owner_secret, "TPM_OWNER_SECRET", &owner);
    if (r == 0)
        r = provision_auth(ctx, ctx->cfg->endorsement_secret, "TPM_ENDORSEMENT_SECRET", &endorsement);
    if (r == 0 && (r = tpm_take_ownership(tpm, &owner, &endorsement, &err)) < 0)
        provision_tpm_error(ctx, r, &err);
    tpm_auth_clear(&owner);
    tpm_auth_clear(&endorsement);
    return r;
}

const struct provision_task task_take_ownership = {
    .name = "take-ownership",
    .summary = "make TPM_OWNER_SECRET the TPM's owner secret (needs a cleared TPM or the same secret)",
    .remedy = "set TPM_OWNER_SECRET to the TPM's owner secret, or clear the TPM, and run the task again",
    .validate = validate,
    .run = run,
};
