/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `tagent` command table. The front binary (main.c) links libc alone: it knows every command by its entry
 * in commands.c, runs `version` itself and hands every other command to the module (a private shared object,
 * module_load.c) that links just the libraries that command uses. Each module has a table of the commands it
 * runs (module_<name>.c) and runs them through command_main(), the sequence every command starts with.
 */
#ifndef TAGENT_CLI_H
#define TAGENT_CLI_H

#include <stdio.h>

#define TAGENT_EXIT_OK    0
#define TAGENT_EXIT_ERROR 1

struct tagent_cli {
    const char *root; /* resolved root prefix, "" for "/" */
};

struct tagent_command {
    const char *name;
    const char *const *aliases; /* NULL-terminated, or NULL */
    const char *usage;          /* "setup <task...> [-f FILE] [--force]" */
    const char *summary;
    /* characters its arguments may hold beyond the Go agent's set (main.c argv_check); NULL for none */
    const char *argv_extra;
    /* the module that runs it: agent/lib/tagent/tagent-<module>.so beside bin/; NULL for the front's own */
    const char *module;
};

/* A module's table entry: the command and what runs it (argv[0] is the command name). */
typedef int (*tagent_run_fn)(struct tagent_cli *cli, int argc, char **argv);
struct module_command {
    const struct tagent_command *cmd;
    tagent_run_fn run;
};

/* The symbol every module exports: `int tagent_module_main(int argc, char **argv)`, tagent's own argv. */
#define TAGENT_MODULE_ENTRY "tagent_module_main"
typedef int (*tagent_module_main_fn)(int argc, char **argv);
int tagent_module_main(int argc, char **argv);

/* What every command starts with (log, secrets out of the environment, no core dumps, --root, the argument
 * checks, `<command> --help`), then the run function of table (NULL-terminated) for argv's command. */
int command_main(int argc, char **argv, const struct module_command *table);

/* The command argv names (after any --root DIR pairs) and its index in argv; NULL when there is none or the
 * word is not a command (*ret_index still points at the word, or is argc). */
const struct tagent_command *command_of_argv(int argc, char **argv, int *ret_index);
/* The module that runs argv's command: `eventlog --check` reads the TPM, so it is the "manage" module's. */
const char *command_module(const struct tagent_command *cmd, int argc, char **argv);
/* "Usage: tagent ..." and the list of commands, as `tagent help` starts. */
void command_print_usage(FILE *f);

extern const struct tagent_command cmd_help, cmd_version, cmd_setup, cmd_fetch_ekcert, cmd_eventlog;
extern const struct tagent_command cmd_hostinfo;
extern const struct tagent_command cmd_start_service;
extern const struct tagent_command cmd_init;
extern const struct tagent_command cmd_status;
extern const struct tagent_command cmd_async_report;
extern const struct tagent_command cmd_start, cmd_stop, cmd_restart, cmd_uninstall;
extern const struct tagent_command cmd_provision_device, cmd_config_apply, cmd_luks, cmd_identity;

/* The run functions, one per cmd_<name>.c (start, stop and restart share cmd_service_ctl_run). */
int cmd_help_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_version_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_setup_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_fetch_ekcert_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_eventlog_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_init_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_start_service_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_status_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_async_report_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_hostinfo_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_service_ctl_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_uninstall_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_provision_device_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_config_apply_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_luks_run(struct tagent_cli *cli, int argc, char **argv);
int cmd_identity_run(struct tagent_cli *cli, int argc, char **argv);

struct tpm;
struct tpm_auth;
/* TPM_OWNER_SECRET from the environment (redacted from the log from now on) decoded into *ret_owner, and the
 * TPM opened (TAGENT_TCTI, else the default device). On failure nothing is left to clear or close. */
int cli_tpm_owner_open(struct tpm **ret_tpm, struct tpm_auth *ret_owner, char **ret_error);

/* Spawns argv (argv[0] looked up in PATH, no shell, stdio shared) and waits: *ret_exit is its exit status
 * (128 + signal when killed). -ENOENT when the program is not found. */
int cli_spawn_wait(const char *const argv[], int *ret_exit);
/* The same with the child's stdout and stderr on /dev/null: for a program asked a question by exit status. */
int cli_spawn_wait_quiet(const char *const argv[], int *ret_exit);

/* NULL-terminated, in the order `tagent help` lists them. */
extern const struct tagent_command *const tagent_commands[];

#endif
