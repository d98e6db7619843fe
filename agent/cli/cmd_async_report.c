/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent async-report`: asks HVS to attest this host now (spec 3.7). The service runs it as a child process
 * once it is connected, so the HTTPS stack (libcurl and its libraries) never enters the long-running process.
 * Exit status: 0 requested or nothing to do, 75 (EX_TEMPFAIL) worth retrying later, 77 (EX_NOPERM) the API
 * token is missing or refused, 1 anything else.
 */
#include "agent_config.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "provision.h"

#include <errno.h>
#include <stdlib.h>

#define EXIT_RETRY   75
#define EXIT_REFUSED 77

int cmd_async_report_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct tagent_config cfg = {0};
    char *message = NULL;
    if (argc > 1) {
        log_error("async-report: unexpected argument \"%s\"; usage: %s", argv[1], cmd_async_report.usage);
        return TAGENT_EXIT_ERROR;
    }
    int r = agent_config_load(cli->root, "async-report", &cfg);
    if (r == 0)
        r = provision_async_report(cli->root, &cfg, &message);
    if (r == 0)
        log_info("async-report: %s", message ? message : "done");
    else if (message)
        log_warning("async-report: %s%s", message, r == -EAGAIN ? " (tagent retries in 5 minutes)" : "");
    free(message);
    config_free(&cfg);
    return r == 0         ? TAGENT_EXIT_OK
           : r == -EAGAIN ? EXIT_RETRY
           : r == -EACCES ? EXIT_REFUSED
                          : TAGENT_EXIT_ERROR;
}
