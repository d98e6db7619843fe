/* SPDX-License-Identifier: BSD-3-Clause */
/* HTTP mode's life: listen, tell systemd, wait for the stop (http_serve.h). */
#include "sd_wire.h"
#include "http_serve.h"
#include "log.h"
#include "measure_log.h"
#include "service_report.h"
#include "service_status.h"
#include "service_tag.h"

#include <stdlib.h>
#include <time.h>

int http_serve(struct service_ctx *ctx, struct token_auth *auth, const sigset_t *sigs,
               http_server_t **ret_server)
{
    char *error = NULL;
    int r = http_server_start(ctx, auth, ret_server, &error);
    if (r < 0) {
        log_error("%s", error ? error : "HTTPS listener: out of memory");
        free(error);
        return r;
    }
    const char *address = http_server_address(*ret_server);
    service_status_listening(address);
    /* only now can HVS reach us: the service is "started" for systemd */
    log_info("serving HTTPS on %s, %d threads", address, HTTP_THREADS);
    notify_sendf("READY=1\nSTATUS=serving HTTPS on %s", address);
    struct service_report report = {0};
    for (;;) {
        service_report_poll(&report, ctx->root);
        struct timespec second = {1, 0};
        int sig = sigtimedwait(sigs, NULL, &second);
        if (sig == SIGHUP) { /* the event log may have grown, the asset tag been changed behind our back */
            measure_log_reload(ctx);
            service_asset_tag_forget(ctx);
        } else if (sig > 0) {
            log_info("%s: finishing requests in flight and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    notify_send("STOPPING=1");
    service_report_stop(&report);
    return 0;
}
