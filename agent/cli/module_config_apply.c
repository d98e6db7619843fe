/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-config-apply.so: `tagent config-apply` (the TEP configuration archive: tss2, OpenSSL, libarchive).
 */
#include "cli.h"

static const struct module_command commands[] = {
    {&cmd_config_apply, cmd_config_apply_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
