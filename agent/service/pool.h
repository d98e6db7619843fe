/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker pool (pool.c): requests are queued from cnats' delivery thread and run by a few workers, so a
 * slow TPM never blocks delivery; a deadline thread answers any request whose deadline passes (the worker's
 * late reply is then dropped: exactly one reply). The pool owns its threads. POOL_WORKERS workers take any
 * request; one more takes only requests whose handler does not need the TPM (handler.h needs_tpm), so a hung
 * TPM, which can hold every other worker until the deadline, never delays those.
 */
#ifndef TAGENT_POOL_H
#define TAGENT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handler.h"
#include "transport.h"

#define POOL_WORKERS     2 /* plus the one for requests that need no TPM (pool.c) */
#define POOL_QUEUE_MAX   64
#define POOL_DEADLINE_MS 8000 /* HVS waits 10 s */

typedef struct pool pool_t;

/* Starts the workers and the deadline thread for requests on subjects prefix<x> ("trust-agent.<id>.").
 * ctx must outlive the pool. 0, or -ENOMEM / -EAGAIN (no threads) with nothing left running. */
int pool_start(struct service_ctx *ctx, const char *prefix, pool_t **ret_pool);

/* A request from the NATS link (nats_request_cb; userdata is the pool). Queues it, or answers at once when
 * the subject is unknown, the queue is full or the pool is stopping. Never blocks. */
void pool_submit(nats_link_t *link, struct nats_request *req, void *userdata);

/* Takes no new requests, gives those queued or running grace_ms, answers what is left with why, and ends the
 * threads. true when every thread ended; false when one is stuck in a TPM call (then the pool and what it
 * uses must not be freed: the process is about to exit). */
bool pool_stop(pool_t *pool, int64_t grace_ms, const char *why);
/* After pool_stop() returned true. NULL is fine. */
void pool_free(pool_t *pool);

#endif
