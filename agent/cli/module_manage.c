/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-manage.so: provisioning, identity and day-two commands (tss2, OpenSSL, libcurl when HTTPS is used).
 */
#include "cli.h"

static const struct module_command commands[] = {
    {&cmd_help, cmd_help_run},
    {&cmd_setup, cmd_setup_run},
    {&cmd_fetch_ekcert, cmd_fetch_ekcert_run},
    {&cmd_eventlog, cmd_eventlog_run}, /* with --check: it reads the TPM */
    {&cmd_init, cmd_init_run},
    {&cmd_async_report, cmd_async_report_run},
    {&cmd_provision_device, cmd_provision_device_run},
    {&cmd_identity, cmd_identity_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
