/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent: argument checks, global options, and dispatch to one command of the table. */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

const struct tagent_command *const tagent_commands[] = {
    &cmd_help,
    &cmd_version,
    &cmd_setup,
    &cmd_fetch_ekcert,
    &cmd_eventlog,
    &cmd_init,
    &cmd_start_service,
    &cmd_status,
    &cmd_async_report,
    &cmd_hostinfo,
    &cmd_start,
    &cmd_stop,
    &cmd_restart,
    &cmd_uninstall,
    &cmd_provision_device,
    &cmd_config_apply,
    &cmd_luks,
    &cmd_identity,
    NULL,
};

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

static const struct tagent_command *command_find(const char *name)
{
    for (size_t i = 0; tagent_commands[i]; i++) {
        const struct tagent_command *c = tagent_commands[i];
        if (strcmp(c->name, name) == 0)
            return c;
        for (size_t a = 0; c->aliases && c->aliases[a]; a++)
            if (strcmp(c->aliases[a], name) == 0)
                return c;
    }
    return NULL;
}

static int usage_error(void)
{
    char *argv[] = {"help", NULL};
    fflush(stdout);
    cmd_help.run(NULL, 1, argv);
    return TAGENT_EXIT_ERROR;
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

int main(int argc, char **argv)
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
    int i = 1;
    /* the command word first (it decides which characters its arguments may hold), still unchecked */
    while (i + 1 < argc && strcmp(argv[i], "--root") == 0)
        i += 2;
    const struct tagent_command *cmd = i < argc ? command_find(argv[i]) : NULL;
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
    int rc = cmd->run(&cli, argc - i, argv + i);
    config_env_forget_secrets();
    free(root);
    log_redact_clear();
    return rc;
}
