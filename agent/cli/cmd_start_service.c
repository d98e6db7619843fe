/* SPDX-License-Identifier: BSD-3-Clause */
/* `tagent startService`: the service in config.yml's mode, HTTPS (http) or the outbound NATS connection
 * (systemd tagent.service, Type=notify). */
#include "cli.h"
#include "log.h"
#include "service.h"

int cmd_start_service_run(struct tagent_cli *cli, int argc, char **argv)
{
    if (argc > 1) {
        log_error("startService takes no arguments");
        return TAGENT_EXIT_ERROR;
    }
    return service_run(cli->root) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
