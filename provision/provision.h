/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision/: the setup tasks of `tagent setup`. Each task is one file that fills a table entry with a
 * validate step ("is this already done?") and a run step. The engine that runs them, prints progress and
 * decides about --force lives in agent/cmd_setup.c; nothing here prints.
 */
#ifndef TAGENT_PROVISION_H
#define TAGENT_PROVISION_H

#include <stdbool.h>

#include "config.h"
#include "quote.h"

struct provision_ctx {
    const char *root;             /* root prefix ("" for /) */
    struct tagent_config *cfg;    /* defaults + config.yml (+ what earlier tasks changed) */
    bool cfg_exists;              /* config.yml was there when setup started */
    const struct config_env *env; /* trustagent.env given with -f, or NULL */
    char *const *envp;            /* the process environment */
    struct config_diags *diags;   /* what went wrong, for the engine to print */
    bool cfg_changed;             /* set by a task that changed cfg: the engine saves config.yml */
    tpm_t *tpm;                   /* opened by provision_tpm() on first use; the engine closes it */
};

struct provision_task {
    const char *name;
    const char *summary; /* one line for `tagent help` */
    const char *remedy;  /* what a person can do when the task fails */
    /* 0 when the task's result is already in place; -errno otherwise (not reported as a failure). */
    int (*validate)(struct provision_ctx *ctx);
    /* 0 on success; on failure diagnostics explain why. */
    int (*run)(struct provision_ctx *ctx);
};

/* All tasks in `setup all` order, NULL-terminated. */
extern const struct provision_task *const provision_tasks[];
const struct provision_task *provision_task_find(const char *name);

/* The TPM (cfg->tcti, else TAGENT_TCTI, else /dev/tpmrm0), opened on first use. */
int provision_tpm(struct provision_ctx *ctx, tpm_t **ret_tpm);
/* Decodes cfg->owner_secret / endorsement_secret / tag_secret_key (reports bad formats). */
int provision_auth(struct provision_ctx *ctx, const char *secret, const char *key, struct tpm_auth *ret_auth);
/* Reports a TPM error as a diagnostic of the task. Returns r. */
int provision_tpm_error(struct provision_ctx *ctx, int r, const struct tpm_error *err);

/* Loads defaults + <root>/etc/trustagent/config.yml (absent is fine). */
int provision_config_load(const char *root, struct tagent_config *cfg, bool *ret_exists,
                          struct config_diags *diags);
/* Creates <root>/etc/trustagent (0755) if needed and writes config.yml atomically, mode 0640. */
int provision_config_save(const char *root, const struct tagent_config *cfg, const char **ret_why);

#endif
