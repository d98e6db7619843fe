/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin: dispatch to "GROUP COMMAND" of the table, help at every level, errors to stderr. */
#include "admin.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static const struct admin_command *const commands[] = {
    &admin_keys_gen,    &admin_config_seal, &admin_config_inspect, &admin_config_open, &admin_luks_policy,
    &admin_luks_config, &admin_pki_init,    &admin_pki_sign_csr,   &admin_pki_show,    NULL,
};

int admin_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("tagent-admin: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ADMIN_EXIT_ERROR;
}

int admin_usage_error(const struct admin_command *cmd, const char *what)
{
    fflush(stdout);
    if (what)
        fprintf(stderr, "tagent-admin %s %s: %s\n", cmd->group, cmd->name, what);
    fprintf(stderr, "usage: tagent-admin %s %s %s\n(tagent-admin %s %s --help for details)\n", cmd->group,
            cmd->name, cmd->usage, cmd->group, cmd->name);
    return ADMIN_EXIT_USAGE;
}

void admin_command_help(const struct admin_command *cmd)
{
    printf("usage: tagent-admin %s %s %s\n\n%s.\n\n%s", cmd->group, cmd->name, cmd->usage, cmd->summary,
           cmd->help);
}

/* Every command of group (all when group is NULL), one line each. */
static void overview(FILE *f, const char *group)
{
    fprintf(f, "usage: tagent-admin GROUP COMMAND [OPTIONS]   (the owner's side of docs/tep-formats.md)\n\n");
    for (size_t i = 0; commands[i]; i++)
        if (!group || strcmp(commands[i]->group, group) == 0)
            fprintf(f, "  %-6s %-8s %s\n", commands[i]->group, commands[i]->name, commands[i]->summary);
    fprintf(f, "\n  help [GROUP [COMMAND]]   this text, or a command's options (also: COMMAND --help)\n"
               "\nKey material is read from files only, never from the command line, and never printed.\n");
}

static bool group_known(const char *group)
{
    for (size_t i = 0; commands[i]; i++)
        if (strcmp(commands[i]->group, group) == 0)
            return true;
    return false;
}

static const struct admin_command *command_find(const char *group, const char *name)
{
    for (size_t i = 0; commands[i]; i++)
        if (strcmp(commands[i]->group, group) == 0 && name && strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int help(int argc, char **argv)
{
    if (argc < 2) {
        overview(stdout, NULL);
        return ADMIN_EXIT_OK;
    }
    const struct admin_command *cmd = command_find(argv[1], argc > 2 ? argv[2] : NULL);
    if (cmd) {
        admin_command_help(cmd);
        return ADMIN_EXIT_OK;
    }
    if (group_known(argv[1]) && argc == 2) {
        overview(stdout, argv[1]);
        return ADMIN_EXIT_OK;
    }
    fprintf(stderr, "tagent-admin: no help for \"%s%s%s\"\n", argv[1], argc > 2 ? " " : "",
            argc > 2 ? argv[2] : "");
    overview(stderr, NULL);
    return ADMIN_EXIT_USAGE;
}

/* The process holds private keys: no core file, no ptrace or /proc access by other users (as tagent does). */
static void process_harden(void)
{
    if (setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) < 0)
        fprintf(stderr,
                "tagent-admin: warning: cannot set the core size limit to 0; a core dump could hold keys\n");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fprintf(stderr,
                "tagent-admin: warning: cannot make the process undumpable; a core dump could hold keys\n");
}

int main(int argc, char **argv)
{
    process_harden();
    if (argc < 2) {
        overview(stderr, NULL);
        return ADMIN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return help(argc - 1, argv + 1);
    if (!group_known(argv[1])) {
        fprintf(stderr, "tagent-admin: unknown command group \"%s\"\n", argv[1]);
        overview(stderr, NULL);
        return ADMIN_EXIT_USAGE;
    }
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0 ||
        strcmp(argv[2], "help") == 0) {
        overview(argc < 3 ? stderr : stdout, argv[1]);
        return argc < 3 ? ADMIN_EXIT_USAGE : ADMIN_EXIT_OK;
    }
    const struct admin_command *cmd = command_find(argv[1], argv[2]);
    if (!cmd) {
        fprintf(stderr, "tagent-admin: unknown command \"%s %s\"\n", argv[1], argv[2]);
        overview(stderr, argv[1]);
        return ADMIN_EXIT_USAGE;
    }
    return cmd->run(argc - 2, argv + 2);
}
