/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent setup <task|all>... [-f FILE] [--force]`: the task engine. For each task, without --force, a task
 * whose validate step passes is skipped; otherwise it runs and is validated again (unless validate cannot
 * see the result: provision_task_checkable()). The first failure stops the batch. config.yml is saved
 * after every task that changed it, so an interrupted batch keeps what it finished.
 */
#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "provision.h"
#include "service_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct setup_args {
    const char *names[32]; /* tasks, groups or "all", as given */
    size_t n_names;
    const char *env_file;
    bool force;
};

static unsigned diag_line(const struct config_diag *d)
{
    return d->line ? d->line : ~0u; /* cross-field rules and the environment go last */
}

/* In line order, so a person can fix the file top to bottom. Insertion sort: stable, and lists are short. */
static void sort_diags(struct config_diags *d)
{
    for (size_t i = 1; i < d->n; i++) {
        struct config_diag item = d->items[i];
        size_t j = i;
        for (; j > 0 && diag_line(&d->items[j - 1]) > diag_line(&item); j--)
            d->items[j] = d->items[j - 1];
        d->items[j] = item;
    }
}

static void print_diags(const struct config_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *line = config_diag_format(&d->items[i]);
        if (!line)
            continue;
        if (d->items[i].severity == CONFIG_ERROR)
            log_error("%s", line);
        else
            log_warning("%s", line);
        free(line);
    }
}

static void print_task_names(void)
{
    fprintf(stderr, "Tasks: all, provision-attestation, update-certificates");
    for (size_t i = 0; provision_tasks[i]; i++)
        fprintf(stderr, ", %s", provision_tasks[i]->name);
    fputc('\n', stderr);
}

static int parse_args(int argc, char **argv, struct setup_args *a)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            a->force = true;
        else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--file") == 0) {
            if (++i == argc) {
                log_error("setup: %s needs a file name: the trustagent.env to read", argv[i - 1]);
                return -EINVAL;
            }
            a->env_file = argv[i];
        } else if (!provision_name_known(argv[i])) {
            log_error("setup: unknown task \"%s\"", argv[i]);
            print_task_names();
            return -EINVAL;
        } else if (a->n_names < sizeof(a->names) / sizeof(a->names[0]))
            a->names[a->n_names++] = argv[i];
    }
    if (a->n_names == 0) {
        log_error("setup: name the tasks to run, or all");
        print_task_names();
        return -EINVAL;
    }
    return 0;
}

/* Registers every secret the inputs hold with the logger before anything can be printed. */
static void redact_secrets(const struct config_env *env)
{
    for (size_t i = 0; env && i < env->n; i++)
        if (config_env_key_is_secret(env->entries[i].key))
            log_redact_add(env->entries[i].value);
    for (char **e = environ; e && *e; e++) {
        char *eq = strchr(*e, '=');
        if (!eq || (size_t)(eq - *e) >= 64)
            continue;
        char key[64];
        memcpy(key, *e, (size_t)(eq - *e));
        key[eq - *e] = '\0';
        if (config_env_key_is_secret(key))
            log_redact_add(eq + 1);
    }
}

/* "Is it already done?" is a question, not a failure: whatever validate reports is dropped. */
static int validate_quietly(struct provision_ctx *ctx, const struct provision_task *t)
{
    struct config_diags scratch = {0}, *saved = ctx->diags;
    ctx->diags = &scratch;
    int r = t->validate(ctx);
    ctx->diags = saved;
    config_diags_free(&scratch);
    return r;
}

/*
 * The second line of a failure: what to do, following from the cause. A task's remedy is about its settings
 * and the services it talks to, so it is only right when those failed; a local file, the disk, the TPM or
 * the user running setup need their own advice. wrote: saving config.yml failed. NULL: the message above
 * already says what to do.
 */
static const char *failure_hint(const struct provision_task *t, int r, bool wrote, const char *root,
                                char *buf, size_t size)
{
    switch (-r) {
    case ENOSPC:
    case EDQUOT:
        snprintf(buf, size, "free space on the file system that holds %s%s, then run the task again", root,
                 TAGENT_CONFIG_DIR);
        return buf;
    case EROFS:
        snprintf(buf, size,
                 "%s%s is on a read-only file system: remount it read-write, then run the task again", root,
                 TAGENT_CONFIG_DIR);
        return buf;
    case EACCES:
    case EPERM:
        if (!wrote)
            break; /* a control plane's refusal: the task's remedy names the token and URL */
        snprintf(
            buf, size,
            "cannot write %s%s: run setup as root (`sudo tagent setup %s`), or give --root DIR to provision "
            "a copy",
            root, TAGENT_CONFIG_FILE, t->name);
        return buf;
    case ENODEV: return NULL; /* the TPM cannot be opened: quote/'s message names the TCTI and TAGENT_TCTI */
    case ENOENT:
    case ENODATA:
        /* a local file (SMBIOS, a certificate) is missing or empty; the message above names it */
        snprintf(buf, size,
                 "restore the file named above (with --root DIR, copy the host's file to the same path under "
                 "DIR), then run the task again");
        return buf;
    default: break;
    }
    return t->remedy;
}

/* A failed task logs its diagnostics and reason here; the line that says what to do goes into remedy (empty
 * when there is none), for the caller to log last. */
static int run_task(struct provision_ctx *ctx, const struct provision_task *t, size_t i, size_t n, bool force,
                    char *remedy, size_t remedy_size)
{
    int64_t start = monotonic_ms();
    printf("[%zu/%zu] %s ... ", i, n, t->name);
    fflush(stdout);

    if (!force && validate_quietly(ctx, t) == 0) {
        printf("already done (--force runs it again)\n");
        return 0;
    }
    ctx->cfg_changed = false;
    int r = t->run(ctx);
    _cleanup_free_ char *error = NULL;
    const char *why = NULL;
    if (r == 0 && ctx->cfg_changed) {
        r = provision_config_save(ctx->root, ctx->cfg, &error);
        why = error;
        ctx->cfg_exists = r == 0;
    }
    if (r == 0 && provision_task_checkable(t) && validate_quietly(ctx, t) != 0) {
        r = -EPROTO;
        why = "the task ran but its result does not check out";
    }
    if (r == 0) {
        printf("ok (%lld ms)\n", (long long)(monotonic_ms() - start));
        return 0;
    }
    printf("failed\n");
    fflush(stdout);
    sort_diags(ctx->diags);
    print_diags(ctx->diags);
    if (why)
        log_error("%s: %s: %s", t->name, why, strerror(-r));
    char buf[512];
    const char *hint = failure_hint(t, r, why != NULL, ctx->root, buf, sizeof(buf));
    if (hint)
        snprintf(remedy, remedy_size, "%s: %s", t->name, hint);
    return r;
}

int cmd_setup_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct setup_args args = {0};
    struct config_env env = {0};
    struct config_diags diags = {0};
    struct tagent_config cfg = {0};
    bool cfg_exists = false;
    int r = parse_args(argc, argv, &args);
    if (r < 0)
        return TAGENT_EXIT_ERROR;
    /* The Go agent refuses too; here the reason names what root is needed for */
    if (!*cli->root && geteuid() != 0) {
        log_error(
            "setup: must run as root: it writes %s and %s and acts as the TPM's owner; run `sudo tagent "
            "setup ...`, or give --root DIR to provision a copy",
            TAGENT_CONFIG_FILE, TAGENT_INSTALL_DIR);
        return TAGENT_EXIT_ERROR;
    }

    /* Even a file with bad lines returns its good entries: their secrets must be known before printing. */
    if (args.env_file)
        r = config_env_load(args.env_file, &env, &diags);
    redact_secrets(&env);
    /* Every task sees config.yml overridden by trustagent.env and the environment. With syntax errors in
     * the file, the good lines' values are still checked, so everything is reported at once. */
    if (r == 0 || r == -EINVAL) {
        int rl = provision_config_load(cli->root, &cfg, &cfg_exists, &diags);
        int ra = rl == 0 ? config_apply_env(&cfg, args.env_file ? &env : NULL, environ, &diags) : rl;
        if (r == 0)
            r = ra;
    }
    if (r == 0)
        log_apply_config(&cfg, LOG_WARNING);
    sort_diags(&diags);
    print_diags(&diags);
    if (r < 0) {
        log_error("setup: nothing was changed; fix the problems above and run setup again");
        goto out;
    }
    config_diags_free(&diags);

    struct provision_ctx ctx = {
        .root = cli->root,
        .cfg = &cfg,
        .cfg_exists = cfg_exists,
        .env = args.env_file ? &env : NULL,
        .envp = environ,
        .diags = &diags,
    };
    const struct provision_task *tasks[32];
    size_t n_tasks = 0;
    char *plan_error = NULL;
    if ((r = provision_plan(args.names, args.n_names, cfg.mode, tasks, 32, &n_tasks, &plan_error)) < 0)
        log_error("setup: %s", plan_error ? plan_error : "cannot plan the tasks");
    free(plan_error);
    char remedy[600] = "";
    for (size_t i = 0; i < n_tasks && r == 0; i++) {
        r = run_task(&ctx, tasks[i], i + 1, n_tasks, args.force, remedy, sizeof(remedy));
        if (r == 0)
            print_diags(&diags); /* warnings of a task that succeeded */
        config_diags_free(&diags);
    }
    tpm_close(ctx.tpm);
    /* The service runs as tagent and must read what the tasks wrote as root, even after a failed task
     * (what finished stays done). Only root may give files away; a test prefix without the user is a note. */
    if (n_tasks > 0) {
        fflush(stdout); /* the progress lines come first */
        int k = service_user_hand_over_config("setup", cli->root);
        r = r < 0 ? r : k;
    }
    /* after the hand-over's notes: the last line is what a unit's status shows, and must say what to do */
    if (*remedy)
        log_error("%s", remedy);
out:
    config_free(&cfg);
    config_env_free(&env);
    config_diags_free(&diags);
    return r == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
