/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What `tagent` knows of each command without loading it: name, aliases, usage, summary, the extra argument
 * characters it takes, and the module (agent/lib/tagent/tagent-<module>.so) that runs it. Plain data, libc
 * only: the front binary (main.c) and every module compile it, so `tagent help` and the usage errors are the
 * same wherever they are printed.
 */
#include "cli.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const help_aliases[] = {"-h", "--help", NULL};
static const char *const version_aliases[] = {"--version", "-v", NULL};

const struct tagent_command cmd_help = {
    .name = "help",
    .aliases = help_aliases,
    .usage = "help",
    .summary = "print this help",
    .module = "manage",
};

const struct tagent_command cmd_version = {
    .name = "version",
    .aliases = version_aliases,
    .usage = "version",
    .summary = "print the service name, version and build date",
    .module = NULL,
};

const struct tagent_command cmd_setup = {
    .name = "setup",
    .aliases = NULL,
    .usage = "setup <task...|all> [-f FILE] [--force]",
    .summary = "provision this host (FILE: trustagent.env)",
    .module = "manage",
};

const struct tagent_command cmd_fetch_ekcert = {
    .name = "fetch-ekcert-with-issuer",
    .aliases = NULL,
    .usage = "fetch-ekcert-with-issuer",
    .summary = "print the TPM's EK certificates and their issuers (TPM_OWNER_SECRET from the environment)",
    .module = "manage",
};

const struct tagent_command cmd_eventlog = {
    .name = "eventlog",
    .aliases = NULL,
    .usage = "eventlog [--replay | --check [--json] [--verbose]] [--file F] [--ima F]... [--app-events F]",
    .summary =
        "the measure-log JSON HVS gets; --replay: the PCRs the log replays to; --check: which TPM PCRs "
        "differ from the log and why (exit 1: a mismatch, 2: could not check)",
    .module = "eventlog",
};

const struct tagent_command cmd_init = {
    .name = "init",
    .aliases = NULL,
    .usage = "init",
    .summary =
        "as root, before the service starts: write platform-info and measure-log.json, hand files to tagent",
    .module = "manage",
};

const struct tagent_command cmd_start_service = {
    .name = "startService",
    .aliases = NULL,
    .usage = "startService",
    .summary = "serve HVS requests over HTTPS or the outbound NATS connection (run by tagent.service)",
    .module = "service",
};

const struct tagent_command cmd_status = {
    .name = "status",
    .usage = "status [--json]",
    .summary =
        "show whether this host is provisioned and the service connected and serving (exit 3: stopped)",
    .module = "ctl",
};

const struct tagent_command cmd_async_report = {
    .name = "async-report",
    .usage = "async-report",
    .summary = "ask HVS to attest this host now (the service runs it once connected; exit 75: retry later)",
    .module = "manage",
};

const struct tagent_command cmd_hostinfo = {
    .name = "hostinfo",
    .aliases = NULL,
    .usage = "hostinfo",
    .summary = "print the host info (platform-info) JSON HVS gets: OS, BIOS, CPU, UUID, TPM/TXT/UEFI",
    .module = "ctl",
};

const struct tagent_command cmd_start = {
    .name = "start",
    .aliases = NULL,
    .usage = "start",
    .summary = "start tagent.service (runs `systemctl start tagent`)",
    .module = "ctl",
};

const struct tagent_command cmd_stop = {
    .name = "stop",
    .aliases = NULL,
    .usage = "stop",
    .summary = "stop tagent.service (runs `systemctl stop tagent`)",
    .module = "ctl",
};

const struct tagent_command cmd_restart = {
    .name = "restart",
    .aliases = NULL,
    .usage = "restart",
    .summary = "restart tagent.service (runs `systemctl restart tagent`)",
    .module = "ctl",
};

const struct tagent_command cmd_uninstall = {
    .name = "uninstall",
    .aliases = NULL,
    .usage = "uninstall",
    .summary = "as root: stop and disable the service, remove /opt, /etc and /var/log/trustagent (a "
               "packaged install: names the apt-get command)",
    .module = "ctl",
};

const struct tagent_command cmd_provision_device = {
    .name = "provision-device",
    .aliases = NULL,
    .usage = "provision-device --pol-pub-key PUB.pem --enc-key KEY.bin [--profile ptt|dtpm] [--force]",
    .summary =
        "put the TEP device keys into the TPM: the owner's signing key (NV 0x018A0000, write-locked) and "
        "AES key (0x8100A000) (TPM_OWNER_SECRET from the environment)",
    .module = "manage",
};

const struct tagent_command cmd_config_apply = {
    .name = "config-apply",
    .aliases = NULL,
    .usage = "config-apply",
    .summary =
        "apply /home/update/upload/mnt/tep_user_config_data.bin if there is one (TPM_OWNER_SECRET from "
        "the environment); exit 0 applied or nothing to do, 1 rejected, 2 failed (retried next boot)",
    .module = "config-apply",
};

const struct tagent_command cmd_luks = {
    .name = "luks",
    .aliases = NULL,
    .usage = "luks [--config FILE] [--check] | luks revoke --to N",
    .summary = "format (first boot) or unlock the TPM-sealed LUKS volume of "
               "/home/update/upload/mnt/luks_config_file.yaml; --check only verifies the passphrase; revoke "
               "raises the policy version (TPM_OWNER_SECRET); exit 2 refused by the TPM, 3 no device-mapper",
    .module = "luks",
};

const struct tagent_command cmd_identity = {
    .name = "identity",
    .aliases = NULL,
    .usage = "identity csr|install|self-provision|show [options]",
    .summary = "the device identity: a non-exportable TPM key (0x8100A010), its CSR, the CA's certificate "
               "checked and installed in /etc/tep/identity; `tagent identity <subcommand> --help` for each",
    .argv_extra = "=:,@",
    .module = "manage",
};

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

const struct tagent_command *command_of_argv(int argc, char **argv, int *ret_index)
{
    int i = 1;
    while (i + 1 < argc && strcmp(argv[i], "--root") == 0)
        i += 2;
    *ret_index = i;
    return i < argc ? command_find(argv[i]) : NULL;
}

const char *command_module(const struct tagent_command *cmd, int argc, char **argv)
{
    if (cmd == &cmd_eventlog)
        for (int i = 1; i < argc; i++)
            if (strcmp(argv[i], "--check") == 0)
                return "manage";
    return cmd->module;
}

void command_print_usage(FILE *f)
{
    fprintf(f, "Usage: tagent [--root DIR] <command> [arguments]\n\nCommands:\n");
    for (size_t i = 0; tagent_commands[i]; i++)
        fprintf(f, "  %-44s %s\n", tagent_commands[i]->usage, tagent_commands[i]->summary);
}
