/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a NATS .creds file allows (nats_creds.c), so that setup can tell credentials minted for another host
 * id from ours before the service finds out from a refused subscription. Only the user JWT's claims are
 * read (its nats.sub.allow list); the signature is the server's business.
 */
#ifndef TAGENT_NATS_CREDS_H
#define TAGENT_NATS_CREDS_H

#include <stdbool.h>

/* 1 when the user JWT in creds (the .creds text) may subscribe to subject (e.g. "trust-agent.<id>.>"), 0
 * when its nats.sub.allow does not cover it, -EBADMSG when there is no readable JWT. */
int nats_creds_allows_sub(const char *creds, const char *subject);

#endif
