/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-luks.so: `tagent luks` (libcryptsetup, tss2, OpenSSL). */
#include "cli.h"

static const struct module_command commands[] = {
    {&cmd_luks, cmd_luks_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
