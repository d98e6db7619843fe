/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent: argument checks, global options, and dispatch to one command of the table. */
#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct tagent_command *const tagent_commands[] = {
    &cmd_help,          &cmd_version, &cmd_setup,        &cmd_fetch_ekcert, &cmd_eventlog, &cmd_init,
    &cmd_start_service, &cmd_status,  &cmd_async_report, &cmd_hostinfo,     NULL,
};

/* The Go agent accepts only ^[a-zA-Z0-9_ /.-]*$ in every argument; so do we (secrets never come on argv). */
static int argv_check(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        for (const char *c = argv[i]; *c; c++) {
            bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("_ /.-", *c);
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

int main(int argc, char **argv)
{
    log_setup();
    if (argv_check(argc, argv) < 0)
        return usage_error();

    const char *root_arg = NULL;
    int i = 1;
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

    const struct tagent_command *cmd = command_find(argv[i]);
    if (!cmd) {
        log_error("unknown command \"%s\"", argv[i]);
        return usage_error();
    }

    char *root = NULL;
    _cleanup_free_ char *error = NULL;
    if (config_root_resolve(root_arg, &root, &error) < 0) {
        log_error("root prefix \"%s\": %s", root_arg ? root_arg : getenv("TAGENT_ROOT"),
                  error ? error : "out of memory");
        return TAGENT_EXIT_ERROR;
    }
    struct tagent_cli cli = {.root = root};
    int rc = cmd->run(&cli, argc - i, argv + i);
    free(root);
    log_redact_clear();
    return rc;
}
