/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serving on the NATS link until told to stop (serve.c): opens the link (retrying while no server takes it),
 * opens a new one whenever cnats gives one up for good, re-reads the event log on SIGHUP, runs the start-up
 * report, and returns on SIGTERM/SIGINT. The links it opened stay allocated until links_free(): jobs queued
 * on a closed link still hold it, and replying on a closed connection only fails.
 */
#ifndef TAGENT_SERVE_H
#define TAGENT_SERVE_H

#include <signal.h>
#include <stdbool.h>

#include "handler.h"
#include "pool.h"
#include "transport.h"

struct links;

/* The links of one service. 0 or -ENOMEM. */
int links_new(struct links **ret_links);
/* Whether the current link is connected (thread-safe; health.h's link_up). */
bool links_connected(void *links);
/* Drains the current link's subscription (no new requests) within timeout_ms. */
void links_stop(struct links *links, long timeout_ms);
/* Flushes (up to flush_ms) and closes every link; from then on none is current. NULL is fine. */
void links_close(struct links *links, long flush_ms);
/* After links_close(), once no thread asks links_connected() any more. NULL is fine. */
void links_free(struct links *links);

/* Serves requests into pool on the links of opts until SIGTERM/SIGINT (taken from the blocked set sigs) or
 * until links were given up too often. READY=1 goes to systemd on the first connect. 0 after a signal, a
 * negative errno when the service cannot go on (the service manager restarts it). */
int serve(struct service_ctx *ctx, pool_t *pool, const struct nats_link_options *opts, const sigset_t *sigs,
          struct links *links);

#endif
