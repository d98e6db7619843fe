/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * update-service-config: trustagent.env + process environment -> config.yml.
 * "Already done" means: config.yml exists and applying the environment would change nothing in it. (The Go
 * agent only checks that a few keys are set, so a changed trustagent.env is silently ignored without
 * --force; here a change always gets applied.)
 */
#include "tasks.h"

#include <errno.h>

static int validate(struct provision_ctx *ctx)
{
    if (!ctx->cfg_exists)
        return -ENOENT;

    /* ctx->cfg is what config.yml holds; probe is what it would hold after this task. */
    struct tagent_config probe;
    struct config_diags scratch = {0};
    bool exists;
    int r = provision_config_load(ctx->root, &probe, &exists, &scratch);
    if (r == 0)
        r = config_apply_env(&probe, ctx->env, ctx->envp, &scratch);
    if (r == 0)
        r = config_check(&probe, &scratch);
    if (r == 0 && !config_equal(&probe, ctx->cfg))
        r = -ESTALE;
    config_free(&probe);
    config_diags_free(&scratch);
    return r;
}

static int run(struct provision_ctx *ctx)
{
    int r = config_apply_env(ctx->cfg, ctx->env, ctx->envp, ctx->diags);
    if (r == 0)
        r = config_check(ctx->cfg, ctx->diags);
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
