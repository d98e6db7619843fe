/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error replies that HVS's own client reads as errors (service_error.c says why each form is what it is).
 */
#ifndef TAGENT_SERVICE_ERROR_H
#define TAGENT_SERVICE_ERROR_H

#include <stddef.h>

#include "handler.h"
#include "transport.h"

#define SERVICE_ERROR_MESSAGE_MAX 1000 /* bytes of the message in the Tagent-Error header */

/* A reply as it goes on the wire: the body and the headers that travel with it. */
struct service_reply {
    char *body; /* NUL-terminated; owned */
    size_t len;
    struct nats_header headers[3];
    size_t n_headers;
    char code_text[12];
    char *message; /* the Tagent-Error header's value; owned */
};

/* The error reply to a request for h (NULL: an unknown subject) that failed with code (SERVICE_ERR_*) and
 * message: headers Tagent-Error-Code and Tagent-Error always, and the body and Status header of h's
 * error_form. 0, or -ENOMEM with *ret zeroed. */
int service_error_reply(const struct service_handler *h, const char *suffix, int code, const char *message,
                        struct service_reply *ret);
/* Frees what a service_reply owns and zeroes it; NULL is fine. */
void service_reply_done(struct service_reply *reply);

#endif
