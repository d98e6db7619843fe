/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A handler run within a deadline (http_bounded.c). HTTP mode answers on libmicrohttpd's own threads; a
 * request that needs the TPM runs on a thread of its own instead, and the server's thread waits for it at
 * most POOL_DEADLINE_MS (the NATS mode's deadline: HVS gives up after 10 s). A TPM that hangs then holds that
 * thread, not the server's: every request still gets its one answer in bounded time, as in NATS mode.
 */
#ifndef TAGENT_HTTP_BOUNDED_H
#define TAGENT_HTTP_BOUNDED_H

#include <stdbool.h>
#include <stddef.h>

#include "handler.h"

/* Runs past their deadline at most this many at once: more mean the TPM is stuck, and new TPM requests are
 * refused at once (SERVICE_ERR_TIMEOUT) instead of piling up threads. */
#define HTTP_BOUNDED_STUCK_MAX 4

/* What a handler produced: its HTTP body (run_http), or its JSON (run) for the caller to render. */
struct http_result {
    int r; /* the handler's return: 0, or a negative errno with code and message */
    int code;
    char *message;
    struct service_http_body out;
    char *json;
};

/* Runs h (run_http when it has one, else run) on data now, on the calling thread. */
void http_handler_run(struct service_ctx *ctx, const struct service_handler *h, const char *data, size_t len,
                      struct http_result *ret);
/* The same on a thread of its own, waiting at most deadline_ms. A run that misses it is answered with
 * SERVICE_ERR_TIMEOUT (its late result is freed by its thread); so is one refused because
 * HTTP_BOUNDED_STUCK_MAX runs are already late. */
void http_handler_run_bounded(struct service_ctx *ctx, const struct service_handler *h, const char *data,
                              size_t len, long deadline_ms, struct http_result *ret);
void http_result_clear(struct http_result *res);
/* Waits up to wait_ms for every thread of http_handler_run_bounded() to end (at shutdown: what they use must
 * not be freed before). true when none is left. */
bool http_bounded_idle(long wait_ms);

#endif
