/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-service.so: `tagent startService` (NATS, tss2, OpenSSL; libmicrohttpd only in HTTP mode). */
#include "cli.h"

static const struct module_command commands[] = {
    {&cmd_start_service, cmd_start_service_run},
    {NULL, NULL},
};

int tagent_module_main(int argc, char **argv)
{
    return command_main(argc, argv, commands);
}
