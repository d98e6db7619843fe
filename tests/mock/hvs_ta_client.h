/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HVS's trust-agent client over NATS, as HVS v5.1 runs it (pkg/clients/ta/nats_client.go and the
 * IntelConnector that calls it; isecl-hvs-protocol.md section 13): what HVS concludes from an agent's reply.
 *
 * A request is sent as nats.go's Request sends it (a fresh inbox, one reply, the timeout), and the reply is
 * judged as nats.go and encoding/json would judge it:
 *   - no reply within the timeout: "nats: timeout";
 *   - an empty body with the header "Status" exactly "503": "nats: no responders available for request";
 *   - otherwise the body is decoded into the subject's target: a struct through encoding/json
 * (go_unmarshal.c: a JSON type that does not fit is an error, unknown fields are ignored), []byte raw (never
 * an error), *nats.Msg ignored (never an error). Then the connector's own steps on what was decoded: an empty
 * AIK is an error; for a quote, GetVerificationNonce (an AssetTag that is missing or not base64 while
 * IsTagProvisioned), base64 of Aik, and pem.Decode whose nil result HVS dereferences: a panic.
 */
#ifndef TAGENT_HVS_TA_CLIENT_H
#define TAGENT_HVS_TA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

enum hvs_outcome {
    HVS_OK,    /* the call returned no error */
    HVS_ERROR, /* it returned an error */
    HVS_PANIC, /* HVS's code would panic on the reply (its host fetcher recovers and logs it) */
};

struct hvs_ta_result {
    enum hvs_outcome outcome;
    char error[512]; /* HVS's error or panic ("" when HVS_OK) */
    int64_t ms;      /* request to reply (or to the timeout) */
    bool replied;    /* a reply came (it may still be an error) */
    char *body;      /* the reply's bytes, NUL-terminated (NULL when none came) */
    size_t body_len;
    int tagent_code;    /* the Tagent-Error-Code header (0 when absent) */
    char *tagent_error; /* the Tagent-Error header (NULL when absent) */
    /* HTTP mode only (hvs_http_client.h) */
    long http_status; /* the last answer's status (0: none came) */
    int attempts;     /* requests sent: 2 when a 401 made HVS fetch a token again and retry */
    char *json;       /* the quote's XML as HVS decoded it, in the NATS JSON form (NULL when it did not) */
};

/* Sends payload (len bytes) to trust-agent.<host_id>.<suffix> and judges the reply with the target HVS uses
 * for suffix (unknown suffixes: *nats.Msg, the most lenient). Returns 0 with *ret filled, or a negative
 * errno when the request could not be sent (the connection is unusable). */
int hvs_ta_request(natsConnection *nc, const char *host_id, const char *suffix, const void *payload,
                   size_t len, int timeout_ms, struct hvs_ta_result *ret);
void hvs_ta_result_free(struct hvs_ta_result *r);

/* The same in two steps, for many requests in flight at once: send, then wait for the reply until timeout_ms
 * after the send (hvs_ta_wait releases the pending request). */
struct hvs_ta_box;
struct hvs_ta_pending {
    natsSubscription *sub;
    struct hvs_ta_box *box; /* where the reply lands (shared with cnats' delivery thread) */
    int64_t start_ms;
    char suffix[96];
};
int hvs_ta_send(natsConnection *nc, const char *host_id, const char *suffix, const void *payload, size_t len,
                struct hvs_ta_pending *ret);
void hvs_ta_wait(struct hvs_ta_pending *p, int timeout_ms, struct hvs_ta_result *ret);

/* "ok", "error" or "panic". */
const char *hvs_outcome_name(enum hvs_outcome o);

/* The same judgement of a reply already received (tests of the judge itself): body may be NULL for "no
 * reply" (a timeout); status is the value of the "Status" header or NULL. */
void hvs_ta_judge(const char *suffix, const char *body, size_t len, const char *status,
                  struct hvs_ta_result *ret);

#endif
