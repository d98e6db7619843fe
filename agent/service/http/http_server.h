/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's listener (http_server.c): libmicrohttpd over GnuTLS, TLS 1.3 only (HVS's client requires it:
 * its tls.Config MinVersion), the certificate and key of `tagent setup download-cert`, a fixed pool of
 * threads that run the handlers (handler.h) directly, the config's idle timeout and header limit.
 */
#ifndef TAGENT_HTTP_SERVER_H
#define TAGENT_HTTP_SERVER_H

#include <stdbool.h>

#include "handler.h"

#define HTTP_THREADS     4  /* requests answered at once; the TPM serialises quotes anyway */
#define HTTP_CONNECTIONS 64 /* open connections; more are refused at accept */

struct token_auth;
typedef struct http_server http_server_t;

/* Listens on cfg->server.port (all addresses) and serves until http_server_stop(). ctx and auth must
 * outlive the server. 0, or a negative errno with *ret_error (caller frees) saying what failed and what to
 * do. */
int http_server_start(struct service_ctx *ctx, struct token_auth *auth, http_server_t **ret_server,
                      char **ret_error);
/* "0.0.0.0:1443"-style text of where it listens (static storage of the server). */
const char *http_server_address(const http_server_t *server);
/* Stops accepting connections, refuses new requests on open ones (503), and waits up to timeout_ms for
 * those in flight. true when none is left. */
bool http_server_drain(http_server_t *server, long timeout_ms);
/* Closes every connection and frees the server (after a drain that returned true: a thread stuck in a
 * handler would block this). NULL is fine. */
void http_server_stop(http_server_t *server);

#endif
