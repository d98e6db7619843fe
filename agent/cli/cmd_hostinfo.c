/* SPDX-License-Identifier: BSD-3-Clause */
/* `tagent hostinfo`: the HostInfo JSON HVS gets for this host (spec section 7), indented, as the NATS
 * host-info handler would send it. Reading the SMBIOS table needs root. */
#include "cli.h"
#include "hostinfo.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_hostinfo_run(struct tagent_cli *cli, int argc, char **argv)
{
    char *json = NULL, *error = NULL;
    if (argc > 1) {
        log_error("hostinfo: unexpected argument \"%s\"; usage: %s", argv[1], cmd_hostinfo.usage);
        return TAGENT_EXIT_ERROR;
    }
    int r = hostinfo_json(cli->root, 1, &json, &error);
    if (r < 0)
        log_error("hostinfo: %s", error ? error : "failed");
    else
        puts(json);
    free(json);
    free(error);
    return r == 0 && fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}
