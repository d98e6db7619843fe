/* SPDX-License-Identifier: BSD-3-Clause */
/* Serving HTTP mode until told to stop (http_serve.c): the listener up, READY=1, SIGHUP reloads, the
 * start-up report, and the return on SIGTERM/SIGINT with the listener still open for the drain. */
#ifndef TAGENT_HTTP_SERVE_H
#define TAGENT_HTTP_SERVE_H

#include <signal.h>

#include "handler.h"
#include "http_server.h"

struct token_auth;

/* Starts the listener and serves until SIGTERM/SIGINT (taken from the blocked set sigs). 0 after a signal
 * with *ret_server still serving (drain and stop it), or a negative errno when it could not listen. */
int http_serve(struct service_ctx *ctx, struct token_auth *auth, const sigset_t *sigs,
               http_server_t **ret_server);

#endif
