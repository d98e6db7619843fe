/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An HVS-like requester for a fleet (fleet.h): attests every host once per round over one NATS connection,
 * with at most `concurrency` requests in flight (HVS's host-fetcher worker pool), each a quote request with a
 * fresh random 32-byte nonce. Replies come back on one wildcard inbox subscription, as nats.go's Request
 * multiplexes them (one subscription, not one per request: the cluster sees what HVS makes it see).
 *
 * Every reply is judged as HVS's client would (hvs_ta_client.h: nats.go's timeout / no responders, Go's
 * encoding/json into TpmQuoteResponse, the AIK's base64 and PEM) and then verified (hvs_verify.h: the
 * TPMS_ATTEST, its RSA signature under the AIK certificate, extraData = SHA-256(SHA-256(nonce) || tag), the
 * PCR digest), against the fleet's AIK and this host's own asset tag: a reply from another host fails.
 *
 * A "no responders" answer (no agent subscribed right now: one is reconnecting) is sent again after
 * retry_ms until timeout_ms after the first send; a timeout is final (the request may have reached an
 * agent whose reply was lost with its server).
 */
#ifndef TAGENT_TEST_FLEET_ROUND_H
#define TAGENT_TEST_FLEET_ROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "fleet.h"

enum fleet_fail {
    FLEET_OK,
    FLEET_TIMEOUT,       /* nats: timeout */
    FLEET_NO_RESPONDERS, /* still no responders at timeout_ms */
    FLEET_HVS_ERROR,     /* HVS's client refuses the reply (decode, AIK, agent's error reply) */
    FLEET_VERIFY,        /* the quote does not verify (signature, nonce, PCR digest) or the AIK differs */
    FLEET_WRONG_HOST,    /* a valid quote carrying another host's asset tag */
    FLEET_SEND,          /* the request could not be published */
    FLEET_N_OUTCOMES
};

const char *fleet_fail_name(enum fleet_fail f);

struct fleet_req_opts {
    unsigned concurrency; /* requests in flight; 0: 64 */
    int timeout_ms;       /* per request (HVS: 10 s); 0: 10000 */
    int retry_ms;         /* pause before resending after no responders; 0: 200 */
};

struct fleet_attempt {
    enum fleet_fail outcome;
    int64_t first_send_ms, done_ms; /* world_now_ms() */
    double latency_ms;              /* last send to its reply (ms, microsecond resolution) */
    unsigned sends;                 /* 1 + resends after no responders */
    char why[160];                  /* what failed */
};

struct fleet_round {
    size_t n;
    struct fleet_attempt *hosts; /* per host index */
    size_t count[FLEET_N_OUTCOMES];
    double seconds;        /* first send to last completion */
    double p50_ms, p99_ms; /* over the attested hosts */
    unsigned resends;      /* no-responders resends */
    double cpu_ms;         /* this process's CPU time during the round (verification included) */
};

/* One requester state for rounds on one connection. */
typedef struct fleet_requester fleet_requester_t;

int fleet_requester_new(fleet_t *f, natsConnection *nc, const struct fleet_req_opts *opts,
                        fleet_requester_t **ret);
void fleet_requester_free(fleet_requester_t *rq);
fleet_t *fleet_requester_fleet(fleet_requester_t *rq);

/* Gives every host its own random asset tag (deploy-asset-tag, as HVS deploys one): the quotes bind it. */
int fleet_deploy_tags(fleet_requester_t *rq, struct fleet_round *ret);

/* A quote round in the background: begin, then (optionally) watch it, then end. */
int fleet_round_begin(fleet_requester_t *rq);
/* Hosts whose attestation completed so far in the running round. */
size_t fleet_round_done(fleet_requester_t *rq);
/* Host indexes with a request in flight right now (sent, no reply yet) into hosts (cap entries). */
size_t fleet_round_in_flight(fleet_requester_t *rq, size_t *hosts, size_t cap);
/* Waits for the round's end and fills *ret (fleet_round_free() it). */
int fleet_round_end(fleet_requester_t *rq, struct fleet_round *ret);
/* begin + end. */
int fleet_round_run(fleet_requester_t *rq, struct fleet_round *ret);
void fleet_round_free(struct fleet_round *r);

/* A quote round during which NATS server `server` (not the requester's) is SIGKILLed once a quarter of the
 * hosts are attested. The reconnect storm is timed from the kill two ways: until every agent that was on that
 * server said "connected" to another one (its NOTIFY_SOCKET), and until the surviving servers' /varz count
 * every client connection again. A host is lost when its attestation in this round failed; each lost one must
 * have been in flight to an agent on the killed server at the kill, and must have failed with a timeout or no
 * responders, never with a wrong answer. */
struct fleet_fault {
    size_t server;              /* the killed one */
    size_t on_server;           /* agents connected to it at the kill */
    size_t in_flight;           /* requests outstanding at the kill */
    size_t in_flight_on_server; /* ... of them to agents on the killed server */
    size_t lost;                /* hosts not attested in this round */
    size_t lost_unexplained;    /* ... that were not in flight to the killed server at the kill (want 0) */
    size_t wrong;               /* failures other than timeout / no responders (want 0) */
    int64_t storm_ms;           /* kill to the last of its agents' "connected" */
    size_t not_reconnected;     /* its agents without a "connected" at the storm timeout (want 0) */
    int64_t varz_ms;            /* kill to the survivors' /varz connections back at the count before; -1 */
    long connections_before;    /* /varz connections summed over the servers before the kill */
    double storm_cpu_ms;        /* the survivors' CPU time from the kill to the storm's end (the round's
                                 * requests included) */
};
int fleet_fault_round(fleet_requester_t *rq, size_t server, int storm_timeout_ms,
                      struct fleet_fault *ret_fault, struct fleet_round *ret_round);

#endif
