/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmocka assertions on what HVS concludes from the agent's reply (tests/mock/hvs_ta_client.h): the service
 * tests ask through these, so every reply is judged as HVS's own client would judge it.
 */
#ifndef TAGENT_TEST_HVS_EXPECT_H
#define TAGENT_TEST_HVS_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "hvs_ta_client.h"

/* The agent's error codes (agent/service/handler.h SERVICE_ERR_*), as the Tagent-Error-Code header carries
 * them. */
enum { ERR_REQUEST = 1, ERR_FAILED = 2, ERR_UNSUPPORTED = 3, ERR_TIMEOUT = 4, ERR_TOO_LARGE = 5 };

/* HVS's call for suffix with this payload returns an error within max_ms, and the reply says why: header
 * Tagent-Error-Code == code (0: any) and a Tagent-Error naming the subject. Returns the round trip. */
int64_t hvs_expect_error(natsConnection *nc, const char *host_id, const char *suffix, const void *data,
                         size_t len, int code, int max_ms);
/* The same with the message also holding needle (case-sensitive). */
int64_t hvs_expect_error_saying(natsConnection *nc, const char *host_id, const char *suffix,
                                const char *payload, int code, int max_ms, const char *needle);
/* HVS's call succeeds (within 10 s); *ret holds the reply (caller frees with hvs_ta_result_free). */
void hvs_expect_ok(natsConnection *nc, const char *host_id, const char *suffix, const char *payload,
                   struct hvs_ta_result *ret);

#endif
