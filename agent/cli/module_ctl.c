/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-ctl.so: the day-two commands that read state and drive systemctl: no TPM, no TLS. */
#include "cli.h"

static const struct module_command commands[] = {
    {&cmd_status, cmd_status_run},
    {&cmd_hostinfo, cmd_hostinfo_run},
    {&cmd_start, cmd_service_ctl_run},
    {&cmd_stop, cmd_service_ctl_run},
    {&cmd_restart, cmd_service_ctl_run},
    {&cmd_uninstall, cmd_uninstall_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
