/* SPDX-License-Identifier: BSD-3-Clause */
/* Sending the one reply a request gets (reply.c): the handler's JSON, or an error reply (service_error.h). */
#ifndef TAGENT_REPLY_H
#define TAGENT_REPLY_H

#include "handler.h"
#include "transport.h"

/* Where a request's reply goes and what it answers. */
struct reply_to {
    nats_link_t *link;
    const char *inbox;                     /* the request's reply subject; NULL: the sender wants none */
    const struct service_handler *handler; /* NULL: an unknown subject */
    const char *suffix;                    /* the subject's <x>, for messages (may be NULL) */
};

/* A handler's JSON reply (consumed), with the escapes Go's json.Marshal writes; NULL json: out of memory,
 * answered as a failure. A reply over the server's max payload becomes the too-large error. */
void reply_json(const struct reply_to *to, char *json);
/* The error reply for code (SERVICE_ERR_*) and message, in the form HVS's client reads as an error. */
void reply_error(const struct reply_to *to, int code, const char *message);

#endif
