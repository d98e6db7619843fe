/* SPDX-License-Identifier: BSD-3-Clause */
/* A quote round with one NATS server killed in its middle (see fleet_round.h, fleet_fault_round). */
#include "fleet_round.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_MS 20

/* Polls the survivors' /varz until their connections are back at `want` (or timeout_ms after kill_ms):
 * the servers' own count, independent of what the agents say. -1 when it never got there. */
static int64_t varz_back(fleet_t *f, long want, int64_t kill_ms, int timeout_ms)
{
    for (;; usleep(WATCH_MS * 1000)) {
        long now = fleet_server_connections(f);
        int64_t t = world_now_ms();
        if (now >= want)
            return t - kill_ms;
        if (t - kill_ms > timeout_ms)
            return -1;
    }
}

/* Whether a request is in flight to one of the hosts in on (n_on of them); flying is scratch of cap. */
static bool in_flight_to(fleet_requester_t *rq, const size_t *on, size_t n_on, size_t *flying, size_t cap)
{
    size_t n = fleet_round_in_flight(rq, flying, cap);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n_on; j++)
            if (on[j] == flying[k])
                return true;
    return false;
}

/* Which of the round's failures the kill explains. */
static void count_losses(const struct fleet_round *round, const bool *was_in_flight, struct fleet_fault *ff)
{
    for (size_t i = 0; i < round->n; i++) {
        enum fleet_fail o = round->hosts[i].outcome;
        if (o == FLEET_OK)
            continue;
        ff->lost++;
        if (o != FLEET_TIMEOUT && o != FLEET_NO_RESPONDERS)
            ff->wrong++;
        if (!was_in_flight[i])
            ff->lost_unexplained++;
    }
}

int fleet_fault_round(fleet_requester_t *rq, size_t server, int storm_timeout_ms, struct fleet_fault *ff,
                      struct fleet_round *round)
{
    fleet_t *f = fleet_requester_fleet(rq);
    size_t *on = calloc(f->n, sizeof(*on)), *flying = calloc(f->n, sizeof(*flying)), n_on = 0;
    bool *was_in_flight = calloc(f->n, sizeof(*was_in_flight));
    int64_t kill_ms = 0;
    *ff = (struct fleet_fault){.server = server, .varz_ms = -1};
    *round = (struct fleet_round){0};
    int r = on && flying && was_in_flight ? 0 : -ENOMEM;
    if (r == 0)
        ff->connections_before = fleet_server_connections(f);
    if (r == 0) {
        pthread_mutex_lock(&f->mu);
        for (size_t i = 0; i < f->n; i++)
            if (f->hosts[i].server == (int)server)
                on[n_on++] = i;
        pthread_mutex_unlock(&f->mu);
        ff->on_server = n_on;
        r = fleet_round_begin(rq);
    }
    /* mid-round, and at a moment when the kill has something to lose */
    while (r == 0 && fleet_round_done(rq) < f->n &&
           (fleet_round_done(rq) < f->n / 4 || !in_flight_to(rq, on, n_on, flying, f->n)))
        usleep(100);
    if (r == 0) {
        r = fleet_kill_server(f, server, &kill_ms);
        /* what was sent before the server was gone and has no reply yet */
        ff->in_flight = fleet_round_in_flight(rq, flying, f->n);
        for (size_t k = 0; k < ff->in_flight; k++)
            for (size_t j = 0; j < n_on; j++)
                if (on[j] == flying[k]) {
                    was_in_flight[flying[k]] = true;
                    ff->in_flight_on_server++;
                }
    }
    if (r == 0) {
        double cpu0 = fleet_servers_cpu_ms(f); /* the killed one no longer counts */
        ff->varz_ms = varz_back(f, ff->connections_before, kill_ms, storm_timeout_ms);
        int w = fleet_wait_reconnected(f, server, on, n_on, kill_ms, storm_timeout_ms, &ff->storm_ms,
                                       &ff->not_reconnected);
        if (w < 0)
            fprintf(stderr, "fleet: %zu of %zu agents did not reconnect within %d ms of the kill\n",
                    ff->not_reconnected, n_on, storm_timeout_ms);
        ff->storm_cpu_ms = fleet_servers_cpu_ms(f) - cpu0;
    }
    /* -EINVAL when no round ran (begin failed): nothing to join */
    if (fleet_round_end(rq, round) == 0 && r == 0)
        count_losses(round, was_in_flight, ff);
    free(on);
    free(flying);
    free(was_in_flight);
    return r;
}
