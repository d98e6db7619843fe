/* SPDX-License-Identifier: BSD-3-Clause */
/* take-ownership: the owner secret (TPM_OWNER_SECRET) becomes the TPM's owner auth (spec section 2). */
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>

static int validate(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0};
    tpm_t *tpm;
    bool owned = false;
    int r = provision_tpm_owner(ctx, &tpm, &owner, NULL);
    if (r == 0)
        r = tpm_owned_with_auth(tpm, &owner, &owned, NULL);
    return r < 0 ? r : owned ? 0 : -EACCES;
}

static int run(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0}, endorsement = {0};
    _cleanup_free_ char *error = NULL;
    tpm_t *tpm;
    int r = provision_tpm_owner(ctx, &tpm, &owner, &endorsement);
    if (r == 0 && (r = tpm_take_ownership(tpm, &owner, &endorsement, &error)) < 0)
        provision_tpm_error(ctx, r, error);
    return r;
}

const struct provision_task task_take_ownership = {
    .name = "take-ownership",
    .summary = "make TPM_OWNER_SECRET the TPM's owner secret (needs a cleared TPM or the same secret)",
    .remedy = "set TPM_OWNER_SECRET to the TPM's owner secret, or clear the TPM, and run the task again",
    .validate = validate,
    .run = run,
};
