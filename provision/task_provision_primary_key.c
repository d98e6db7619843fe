/* SPDX-License-Identifier: BSD-3-Clause */
/* provision-primary-key: the workload agent's storage key at 0x81000000 (spec section 2). */
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>

static int validate(struct provision_ctx *ctx)
{
    tpm_t *tpm;
    bool exists = false;
    int r = provision_tpm(ctx, &tpm);
    if (r == 0)
        r = tpm_handle_exists(tpm, TPM_HANDLE_PRIMARY_KEY, &exists, NULL);
    return r < 0 ? r : exists ? 0 : -ENOENT;
}

static int run(struct provision_ctx *ctx)
{
    _cleanup_(tpm_auth_clear) struct tpm_auth owner = {0};
    _cleanup_free_ char *error = NULL;
    tpm_t *tpm;
    int r = provision_tpm_owner(ctx, &tpm, &owner, NULL);
    if (r == 0 && (r = tpm_primary_key_provision(tpm, &owner, &error)) < 0)
        provision_tpm_error(ctx, r, error);
    return r;
}

const struct provision_task task_provision_primary_key = {
    .name = "provision-primary-key",
    .summary = "create the workload agent's storage key at 0x81000000",
    .remedy = "check TPM_OWNER_SECRET (the task needs the owner secret) and run the task again",
    .validate = validate,
    .run = run,
};
