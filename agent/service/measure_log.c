/* SPDX-License-Identifier: BSD-3-Clause */
/* The measure log quotes carry (spec 6): built at start, swapped on SIGHUP, copied for each quote. */
#include "agent_paths.h"
#include "boot_log.h"
#include "config.h"
#include "log.h"
#include "measure_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The measure log quotes carry: built from the live logs when this process can read them, else the copy
 * `tagent init` wrote as root before the service started (the service runs as tagent, which may not read
 * /dev/mem). "" when there is neither: quotes then carry an empty EventLog. */
void measure_log_load(const char *root, char **ret_json)
{
    char *json = NULL, *error = NULL, *path = config_path(root, MEASURE_LOG_FILE);
    const char *what = NULL;
    size_t len = 0;
    int r = boot_measure_log_build(root, &json, &what, &error);
    if (r == 0)
        log_info("measure log: %zu bytes of JSON from %s", strlen(json), what);
    else if (r != -ENOMEM && path && config_read_file(path, MEASURE_LOG_MAX, &json, &len) == 0 &&
             strlen(json) == len)
        log_info("measure log: %zu bytes of JSON from %s (written by tagent init; the live logs: %s)", len,
                 MEASURE_LOG_FILE, error ? error : strerror(-r));
    else {
        free(json);
        json = NULL;
        log_warning("no event log: %s; and no %s from tagent init; quotes carry an empty EventLog",
                    error ? error : strerror(-r), MEASURE_LOG_FILE);
    }
    *ret_json = json ? json : strdup("");
    free(error);
    free(path);
}

char *service_measure_log(struct service_ctx *ctx)
{
    pthread_mutex_lock(&ctx->log_mu);
    char *copy = strdup(ctx->measure_log ? ctx->measure_log : "");
    pthread_mutex_unlock(&ctx->log_mu);
    return copy;
}

/* SIGHUP: the event log may have grown (tbootxm's application events, a firmware update's log after a
 * kexec): build the measure log again and swap it in for the quotes that follow. */
void measure_log_reload(struct service_ctx *ctx)
{
    char *json = NULL;
    measure_log_load(ctx->root, &json);
    if (!json) {
        log_error("SIGHUP: out of memory re-reading the event log; keeping the one from start");
        return;
    }
    pthread_mutex_lock(&ctx->log_mu);
    char *old = ctx->measure_log;
    ctx->measure_log = json;
    pthread_mutex_unlock(&ctx->log_mu);
    free(old);
    log_info("SIGHUP: measure log re-read (%zu bytes of JSON)", strlen(json));
}
