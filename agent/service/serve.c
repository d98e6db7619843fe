/* SPDX-License-Identifier: BSD-3-Clause */
/* The NATS link's life: connect, reconnect for good, wait for the stop (serve.h). */
#include "sd_wire.h"
#include "clock.h"
#include "log.h"
#include "measure_log.h"
#include "serve.h"
#include "service_report.h"
#include "service_status.h"
#include "service_tag.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cnats 3.4 gives a connection up for good after some refused handshakes (it refuses ~1/256 good .creds
 * connects): a new one is opened each time, the Go agent's MaxReconnects(-1) promise. Past this many the
 * process exits and the service manager starts it afresh. */
#define LINKS_MAX 32

struct links {
    pthread_mutex_t mu; /* guards current: the health thread reads it */
    nats_link_t *current;
    nats_link_t *closed[LINKS_MAX];
    size_t n_closed;
};

int links_new(struct links **ret_links)
{
    struct links *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    *ret_links = l;
    return 0;
}

bool links_connected(void *links)
{
    struct links *l = links;
    pthread_mutex_lock(&l->mu);
    bool up = l->current && nats_link_connected(l->current);
    pthread_mutex_unlock(&l->mu);
    return up;
}

static void links_set_current(struct links *l, nats_link_t *link)
{
    pthread_mutex_lock(&l->mu);
    l->current = link;
    pthread_mutex_unlock(&l->mu);
}

void links_stop(struct links *l, long timeout_ms)
{
    if (l && l->current)
        nats_link_stop(l->current, timeout_ms);
}

void links_close(struct links *l, long flush_ms)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    nats_link_t *current = l->current;
    l->current = NULL;
    pthread_mutex_unlock(&l->mu);
    nats_link_close(current, flush_ms); /* the replies sent last (the stop's errors) go out here */
    for (size_t i = 0; i < l->n_closed; i++)
        nats_link_close(l->closed[i], 0);
    l->n_closed = 0;
}

void links_free(struct links *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* What on_event needs besides its userdata (the pool, shared with pool_submit): one service per process, so
 * file-scope state, set by serve() before the first link opens. */
static const struct nats_link_options *serving;
static atomic_bool ready_sent, stopping;

/* The first connect: only now can HVS reach us, so only now is the service "started" for systemd (READY=1
 * before it let TimeoutStartSec never fire while NATS was unreachable). */
static void first_connect(void)
{
    if (atomic_exchange(&ready_sent, true))
        return;
    log_info("serving %s on %zu NATS server(s), %d workers", serving->subject, serving->n_servers,
             POOL_WORKERS);
    notify_send("READY=1");
}

/* The subscription was refused: the link may stay "connected", but no request can ever arrive. The service
 * keeps running, not serving: exiting would only have systemd restart it every RestartSec into the same
 * refusal, while a running service shows the cause and its fix in `tagent status` (which then fails) and in
 * systemctl's STATUS=, and the watchdog keeps meaning "alive". */
static void refused(const char *text)
{
    const char *creds = serving->creds_file ? serving->creds_file : "(no credentials file)";
    log_error("NATS: the server refused the subscription to %s (%s): the credentials in %s do not allow this "
              "host id; re-run `tagent setup download-credential --force` for this host id, then restart "
              "tagent. Not serving until then",
              serving->subject, text ? text : "permissions violation", creds);
    char message[400];
    snprintf(message, sizeof(message),
             "subscription to %s refused: %s does not allow it; re-run `tagent setup download-credential "
             "--force` for this host id and restart tagent",
             serving->subject, creds);
    service_status_refused(message);
    notify_sendf("STATUS=NOT SERVING: %s", message);
}

static void on_event(enum nats_link_event ev, const char *url, const char *text, void *userdata)
{
    (void)userdata;
    switch (ev) {
    case NATS_LINK_CONNECTED:
    case NATS_LINK_RECONNECTED:
        service_status_connected(url, ev == NATS_LINK_RECONNECTED);
        service_status_nats_error(NULL);
        log_info("NATS: %sconnected to %s", ev == NATS_LINK_RECONNECTED ? "re" : "", url ? url : "a server");
        notify_sendf("STATUS=connected to %s", url ? url : "a NATS server");
        first_connect();
        break;
    case NATS_LINK_DISCONNECTED:
        service_status_disconnected();
        if (atomic_load(&stopping)) { /* our own close, not an outage */
            log_info("NATS: disconnected (stopping)");
            break;
        }
        log_warning("NATS: disconnected; reconnecting");
        notify_send("STATUS=disconnected from NATS; reconnecting");
        break;
    case NATS_LINK_CLOSED:
        service_status_disconnected();
        if (atomic_load(&stopping))
            log_info("NATS: connection closed");
        else
            log_warning("NATS: connection closed%s%s", text && *text ? ": " : "", text && *text ? text : "");
        break;
    case NATS_LINK_ERROR:
        log_warning("NATS: %s", text ? text : "error");
        service_status_nats_error(text); /* shown by `tagent status` while the link is not up */
        break;
    case NATS_LINK_REFUSED: refused(text); break;
    }
}

/* SIGHUP: the event log may have grown, and the asset tag may have been changed behind our back. */
static void reload(struct service_ctx *ctx)
{
    measure_log_reload(ctx);
    service_asset_tag_forget(ctx);
}

/* Opens a link, retrying (1 s, then 5 s apart) until one opens or a stop signal comes. 0 with the link
 * current; 1 when a stop signal came first. */
static int link_open(struct service_ctx *ctx, pool_t *pool, const struct nats_link_options *opts,
                     const sigset_t *sigs, struct links *l)
{
    for (unsigned attempt = 1;; attempt++) {
        char *error = NULL;
        nats_link_t *link = NULL;
        int r = nats_link_open(opts, pool_submit, on_event, pool, &link, &error);
        if (r == 0) {
            links_set_current(l, link);
            return 0;
        }
        log_error("%s (attempt %u; retrying)", error ? error : "NATS connect failed", attempt);
        service_status_nats_error(error ? error : "NATS connect failed");
        free(error);
        struct timespec wait = {attempt < 5 ? 1 : 5, 0};
        int sig = sigtimedwait(sigs, NULL, &wait);
        if (sig == SIGHUP)
            reload(ctx);
        else if (sig > 0) {
            atomic_store(&stopping, true);
            log_info("stopping before NATS was connected");
            return 1;
        }
    }
}

#define RECONCILE_AFTER_MS 2000

/* The link is up but the record still says disconnected: cnats' reconnected callback did not come (seen once
 * in a few hundred reconnections under a reconnect storm; the agent answered requests all along). Once a
 * second the record and systemd's STATUS= catch up with the link, and the log says it was caught here. */
static void reconcile_connected(struct links *l)
{
    static int64_t mismatch_since; /* only the main thread calls this */
    char url[256];
    if (service_status_is_connected() || !nats_link_connected_url(l->current, url, sizeof(url))) {
        mismatch_since = 0;
        return;
    }
    /* the callback trails the link's state by a moment: act only on a mismatch that lasts */
    if (!mismatch_since)
        mismatch_since = monotonic_ms();
    if (monotonic_ms() - mismatch_since < RECONCILE_AFTER_MS)
        return;
    mismatch_since = 0;
    log_warning("NATS: connected to %s, which the client library did not report; status updated", url);
    service_status_connected(url, true);
    service_status_nats_error(NULL);
    notify_sendf("STATUS=connected to %s", url);
    first_connect();
}

/* Waits for SIGTERM/SIGINT or the link closing for good; the signal, or 0 when the link closed. */
static int wait_for_stop(struct service_ctx *ctx, const sigset_t *sigs, struct links *l,
                         struct service_report *report)
{
    for (;;) {
        service_report_poll(report, ctx->root);
        struct timespec second = {1, 0};
        int sig = sigtimedwait(sigs, NULL, &second);
        if (sig == SIGHUP)
            reload(ctx);
        else if (sig > 0)
            return sig;
        if (nats_link_closed(l->current))
            return 0;
        reconcile_connected(l);
    }
}

int serve(struct service_ctx *ctx, pool_t *pool, const struct nats_link_options *opts, const sigset_t *sigs,
          struct links *l)
{
    struct service_report report = {0};
    int r = 0;
    serving = opts;
    for (;;) {
        /* READY=1 and "serving" come from the first connect (on_event), which may be later than this */
        if (link_open(ctx, pool, opts, sigs, l) > 0)
            break;
        int sig = wait_for_stop(ctx, sigs, l, &report);
        if (sig > 0) {
            atomic_store(&stopping, true);
            log_info("%s: finishing requests in flight and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (l->n_closed == LINKS_MAX) {
            log_error(
                "NATS connection closed for good %zu times; exiting so the service manager restarts tagent",
                l->n_closed + 1);
            r = -ECONNABORTED;
            break;
        }
        log_warning("NATS connection closed for good; opening a new one");
        l->closed[l->n_closed++] = l->current;
        links_set_current(l, NULL);
    }
    atomic_store(&stopping, true);
    notify_send("STOPPING=1");
    service_report_stop(&report);
    return r;
}
