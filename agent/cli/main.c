/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent, the front: finds the command, runs `version` (and every usage error) itself, and hands every other
 * command to its module. This binary links libc alone, so `tagent version` costs what /bin/true costs, and
 * each command maps only the libraries its module links (bench/start.c measures both).
 */
#include "cli.h"
#include "module_load.h"

static const struct module_command front_commands[] = {
    {&cmd_version, cmd_version_run},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    int i;
    const struct tagent_command *cmd = command_of_argv(argc, argv, &i);
    const char *module = cmd ? command_module(cmd, argc, argv) : NULL;
    if (!module) /* `version`, or no command / an unknown one: command_main() says so and prints the usage */
        return command_main(argc, argv, front_commands);
    return module_run(module, argc, argv);
}
