/* SPDX-License-Identifier: BSD-3-Clause */
/* The `tagent` command table: one file per command fills one entry (cmd_<name>.c). */
#ifndef TAGENT_CLI_H
#define TAGENT_CLI_H

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
    int (*run)(struct tagent_cli *cli, int argc, char **argv); /* argv[0] is the command name */
};

extern const struct tagent_command cmd_help, cmd_version, cmd_setup, cmd_fetch_ekcert, cmd_eventlog;
extern const struct tagent_command cmd_hostinfo;
extern const struct tagent_command cmd_start_service;
extern const struct tagent_command cmd_init;
extern const struct tagent_command cmd_status;
extern const struct tagent_command cmd_async_report;
extern const struct tagent_command cmd_start, cmd_stop, cmd_restart, cmd_uninstall;
extern const struct tagent_command cmd_provision_device, cmd_config_apply, cmd_luks, cmd_identity;

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
