/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * update-service-config: trustagent.env + process environment -> config.yml.
 * The engine has already applied the environment to ctx->cfg (every task sees the same settings, as the Go
 * agent's viper does). "Already done" means config.yml exists and holds exactly those settings. (The Go
 * agent only checks that a few keys are set, so a changed trustagent.env is silently ignored without
 * --force; here a change always gets written.)
 */
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>

static int validate(struct provision_ctx *ctx)
{
    if (!ctx->cfg_exists)
        return -ENOENT;
    /* zeroed: provision_config_load may fail before it fills anything in */
    _cleanup_(config_free) struct tagent_config on_disk = {0};
    _cleanup_(config_diags_free) struct config_diags scratch = {0};
    bool exists;
    int r = provision_config_load(ctx->root, &on_disk, &exists, &scratch);
    if (r == 0)
        r = config_check(ctx->cfg, &scratch);
    if (r == 0 && !config_equal(&on_disk, ctx->cfg))
        r = -ESTALE;
    return r;
}

static int run(struct provision_ctx *ctx)
{
    int r = config_check(ctx->cfg, ctx->diags);
    if (r == 0)
        ctx->cfg_changed = true;
    return r;
}

const struct provision_task task_update_service_config = {
    .name = "update-service-config",
    .summary = "validate trustagent.env and the environment, and write /etc/trustagent/config.yml",
    .remedy = "fix the settings named above in trustagent.env (or the environment) and run the task again",
    .validate = validate,
    .run = run,
};
