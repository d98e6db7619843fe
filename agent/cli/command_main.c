/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every command starts with, in the front (`version`) and in each module: the log, the secrets out of
 * the environment, no core dumps, --root, the argument checks, `<command> --help`; then the command's run
 * function from the caller's table.
 */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* The Go agent accepts only ^[a-zA-Z0-9_ /.-]*$ in every argument; so do we (secrets never come on argv),
 * except for what a command of our own declares (argv_extra: `identity --subject /CN=...` needs '='). */
static int argv_check(int argc, char **argv, const char *extra)
{
    for (int i = 1; i < argc; i++) {
        for (const char *c = argv[i]; *c; c++) {
            bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("_ /.-", *c) || (extra && strchr(extra, *c));
            if (!ok) {
                log_error("argument %d contains a character other than letters, digits, space and _/.- "
                          "(the argument is not repeated here)",
                          i);
                return -1;
            }
        }
    }
    return 0;
}

/* The command list (not the whole `tagent help`: its setup tasks live in the "manage" module). */
static int usage_error(void)
{
    command_print_usage(stdout);
    fputs("\n`tagent help` also lists the setup tasks and the trustagent.env keys.\n", stdout);
    fflush(stdout);
    return TAGENT_EXIT_ERROR;
}

static tagent_run_fn table_run(const struct module_command *table, const struct tagent_command *cmd)
{
    for (size_t i = 0; table[i].cmd; i++)
        if (table[i].cmd == cmd)
            return table[i].run;
    return NULL;
}

/*
 * Before anything reads a secret: no core file and no ptrace/proc access from other users, for every command.
 * Secrets reach this process from config.yml (tag secret, API token), the NATS creds file (nkey seed) and the
 * environment, and a core dump of the service held all three. PR_SET_DUMPABLE 0 stops the dump (unless
 * fs.suid_dumpable=2) and gives the /proc/PID files to root, so another uid cannot read our environ or
 * memory. RLIMIT_CORE 0 stops a core file even under suid_dumpable=2, and unlike dumpability it survives
 * exec, so children (tbootxm's measure) get it too. A failure is only a warning: the command still works.
 */
static void process_harden(void)
{
    /* the limit first: tests/integration/test_secrets.c reads it once it sees the process undumpable */
    if (setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) < 0)
        log_warning("cannot set the core size limit to 0: %m; a core dump could hold secrets");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        log_warning("cannot make the process undumpable: %m; a core dump could hold secrets");
}

/* The commands that read a secret from the process environment (trustagent.env keys may come from there);
 * every other command drops those variables at once. */
static bool command_reads_secret_env(const struct tagent_command *cmd)
{
    return cmd == &cmd_setup || cmd == &cmd_fetch_ekcert || cmd == &cmd_provision_device ||
           cmd == &cmd_config_apply || cmd == &cmd_luks || cmd == &cmd_identity;
}

int command_main(int argc, char **argv, const struct module_command *table)
{
    log_setup();
    /* the values leave the area /proc/PID/environ shows before anything else runs (getenv still works);
     * before process_harden(), so a process seen undumpable has them hidden already (test_secrets.c) */
    if (config_env_hide_secrets() < 0) {
        log_warning("out of memory hiding the secret environment variables; they are dropped instead");
        config_env_forget_secrets();
    }
    process_harden();

    const char *root_arg = NULL;
    int i;
    /* the command word first (it decides which characters its arguments may hold), still unchecked */
    const struct tagent_command *cmd = command_of_argv(argc, argv, &i);
    if (argv_check(argc, argv, cmd ? cmd->argv_extra : NULL) < 0)
        return usage_error();
    i = 1;
    while (i < argc && strcmp(argv[i], "--root") == 0) {
        if (i + 1 >= argc) {
            log_error("--root needs a directory");
            return usage_error();
        }
        root_arg = argv[i + 1];
        i += 2;
    }
    if (i >= argc)
        return usage_error();

    if (!cmd) {
        log_error("unknown command \"%s\"", argv[i]);
        return usage_error();
    }

    /* `<command> --help`: that command's usage, before the command sees (and refuses) the option */
    if (i + 2 == argc && (strcmp(argv[i + 1], "--help") == 0 || strcmp(argv[i + 1], "-h") == 0)) {
        printf("Usage: tagent [--root DIR] %s\n  %s\n`tagent help` lists every command, setup task and "
               "trustagent.env key.\n",
               cmd->usage, cmd->summary);
        return fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
    }

    tagent_run_fn run = table_run(table, cmd);
    if (!run) { /* main.c chose this module by the same table: only a mismatched installation gets here */
        log_error("command \"%s\" is not in the module that was loaded for it; the installed modules do not "
                  "match this tagent binary: reinstall tagent",
                  cmd->name);
        return TAGENT_EXIT_ERROR;
    }

    char *root = NULL;
    _cleanup_free_ char *error = NULL;
    if (config_root_resolve(root_arg, &root, &error) < 0) {
        log_error("root prefix \"%s\": %s", root_arg ? root_arg : getenv("TAGENT_ROOT"),
                  error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    if (!command_reads_secret_env(cmd))
        config_env_forget_secrets();
    struct tagent_cli cli = {.root = root};
    int rc = run(&cli, argc - i, argv + i);
    config_env_forget_secrets();
    free(root);
    log_redact_clear();
    return rc;
}
