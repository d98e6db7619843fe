/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM health probe and systemd's watchdog pings (health.h). */
#include "sd_wire.h"
#include "cleanup.h"
#include "clock.h"
#include "health.h"
#include "log.h"
#include "service_status.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define THREAD_EXIT_MS 2000

struct health {
    tpm_t *tpm;
    bool (*link_up)(void *);
    void *link_data;
    int64_t probe_ms;       /* probe period */
    uint64_t watchdog_usec; /* systemd's WatchdogSec (0: no watchdog) */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    bool quit, running;
    /* the thread's own */
    int64_t last_try, next_ping;
    bool was_ok;
};

/* Asks the TPM when nothing proved it alive for a probe period (and a failing one again after a period). A
 * hung TPM blocks the thread in the call, which is the point: the health record then goes stale and the
 * pings stop. */
static void probe(health_t *h)
{
    int64_t last_ok = service_status_tpm_ok_ms(), last = last_ok > h->last_try ? last_ok : h->last_try;
    if (last != 0 && monotonic_ms() - last < h->probe_ms)
        return;
    _cleanup_free_ char *error = NULL;
    int r = tpm_ping(h->tpm, &error);
    h->last_try = monotonic_ms();
    const char *why = r < 0 ? (error ? error : "out of memory") : NULL;
    if (r < 0 && h->was_ok) /* transitions only: one line per outage, not one per probe */
        log_warning("TPM health check failed: %s", why);
    else if (r >= 0 && !h->was_ok)
        log_info("TPM answers again");
    h->was_ok = r >= 0;
    service_status_tpm(r >= 0, why);
}

/* WATCHDOG=1 at half of WatchdogSec whenever this thread comes round: the watchdog proves the process is
 * alive and not wedged, nothing more. A NATS outage or a TPM answering with errors is shown in STATUS= and
 * `tagent status` and must not get the agent killed: a restart fixes neither, and each restart loses the
 * requests in flight (it used to restart the agent every ~40 s for as long as NATS was down). A TPM call that
 * never returns does block this thread in probe(), and then the pings stop: a wedged thread is what the
 * watchdog is for. */
static void watchdog_ping(health_t *h)
{
    int64_t now = monotonic_ms();
    if (h->watchdog_usec == 0 || now < h->next_ping)
        return;
    h->next_ping = now + (int64_t)(h->watchdog_usec / 2000);
    notify_send("WATCHDOG=1");
    if (!h->link_up(h->link_data))
        log_debug("watchdog: pinging while NATS is down (the link keeps reconnecting)");
}

/* When a probe or a ping is next due: the thread sleeps until then, not in fixed ticks (an idle agent would
 * otherwise wake ten times a second for nothing; bench/README.md, bench_fleet). A request that proves the
 * TPM alive moves the probe later; the thread then wakes, finds nothing due and sleeps again. */
static int64_t next_due_ms(const health_t *h)
{
    int64_t last_ok = service_status_tpm_ok_ms(), last = last_ok > h->last_try ? last_ok : h->last_try;
    int64_t next = last + h->probe_ms;
    if (h->watchdog_usec && h->next_ping < next)
        next = h->next_ping;
    return next;
}

static void *health_main(void *arg)
{
    health_t *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->quit) {
        pthread_mutex_unlock(&h->mu);
        probe(h);
        watchdog_ping(h);
        int64_t wait_ms = next_due_ms(h) - monotonic_ms();
        pthread_mutex_lock(&h->mu);
        struct timespec until = realtime_deadline_in(wait_ms > 0 ? wait_ms + 1 : 1);
        if (!h->quit)
            pthread_cond_timedwait(&h->wake, &h->mu, &until);
    }
    h->running = false;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int health_start(tpm_t *tpm, bool (*link_up)(void *link_data), void *link_data, health_t **ret_health)
{
    health_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (struct health){.tpm = tpm,
                         .link_up = link_up,
                         .link_data = link_data,
                         .probe_ms = HEALTH_PROBE_MS,
                         .was_ok = true,
                         .running = true};
    /* systemd's WatchdogSec: ping at half of it; probe the TPM at least every third of it, so that a TPM call
     * that never returns (which blocks this thread, and so the pings) is caught within WatchdogSec */
    if (notify_watchdog_usec(&h->watchdog_usec) <= 0)
        h->watchdog_usec = 0;
    int64_t third = (int64_t)(h->watchdog_usec / 3000);
    if (h->watchdog_usec && third < h->probe_ms)
        h->probe_ms = third > 100 ? third : 100;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->wake, NULL);
    if (pthread_create(&h->thread, NULL, health_main, h) != 0) {
        h->running = false;
        health_free(h);
        return -EAGAIN;
    }
    *ret_health = h;
    return 0;
}

bool health_stop(health_t *h)
{
    if (!h)
        return true;
    pthread_mutex_lock(&h->mu);
    h->quit = true;
    pthread_cond_broadcast(&h->wake);
    struct timespec until = realtime_deadline_in(THREAD_EXIT_MS);
    while (h->running && pthread_cond_timedwait(&h->wake, &h->mu, &until) == 0)
        ;
    bool stuck = h->running;
    pthread_mutex_unlock(&h->mu);
    if (stuck)
        return false;
    pthread_join(h->thread, NULL);
    return true;
}

void health_free(health_t *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
