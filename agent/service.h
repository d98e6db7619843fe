/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService`: the outbound NATS service (spec 4.2). Private to agent/.
 *
 * Every request gets exactly one reply: the handler's, or an error reply when the handler fails, the
 * request is malformed, the subject is unknown, the reply would exceed the server's max payload, the work
 * queue is full, the per-request deadline passes, or the service shuts down.
 *
 * How a failure is answered so that HVS's own client (nats.go EncodedConn, JSON) returns an error, per
 * subject: see service_error.c and the README's reply table. ErrorCode values are the SERVICE_ERR_* below;
 * they travel in the Tagent-Error-Code header.
 */
#ifndef TAGENT_SERVICE_H
#define TAGENT_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quote.h"
#include "transport.h"

struct tagent_config;

enum service_error {
    SERVICE_ERR_REQUEST = 1,     /* malformed or invalid request (JSON, nonce, banks, PCRs, tag) */
    SERVICE_ERR_FAILED = 2,      /* the TPM or a file the reply needs failed */
    SERVICE_ERR_UNSUPPORTED = 3, /* subject known to HVS but not implemented by tagent (or unknown) */
    SERVICE_ERR_TIMEOUT = 4,     /* deadline passed, queue full, or shutting down */
    SERVICE_ERR_TOO_LARGE = 5,   /* the reply would exceed the server's max payload */
};

struct service_ctx {
    const char *root;
    const struct tagent_config *cfg;
    tpm_t *tpm;
    pthread_mutex_t log_mu;   /* guards measure_log: SIGHUP replaces it while workers read it */
    char *measure_log;        /* measure-log JSON built at start, "" when no log was found */
    struct tpm_auth tag_auth; /* the tag secret, decoded */
    pthread_mutex_t tag_mu;   /* guards the asset tag cache below (service_tag.c) */
    bool tag_known, tag_present;
    unsigned tag_gen; /* bumped by every set/forget, so a read that raced one is not cached */
    uint8_t tag[TPM_ASSET_TAG_SIZE];
};

/* How HVS must be told that a request failed; it depends on what HVS decodes the subject's reply into. */
enum service_error_form {
    /* empty body + header "Status: 503": nats.go's Request returns ErrNoResponders whatever the target. For
     * targets that never fail to decode: []byte (aik, binding key) and *nats.Msg (deploy-*). */
    SERVICE_ERROR_NO_RESPONDERS = 0,
    /* the message as a JSON string: encoding/json fails to put a string into the struct HVS decodes
     * (TpmQuoteResponse, HostInfo, Measurement), and a person reading the body sees what failed. */
    SERVICE_ERROR_JSON_STRING,
};

/* A handler fills *ret_reply (JSON text, caller frees) and returns 0; on failure returns a negative errno
 * and *ret_code (SERVICE_ERR_*) + *ret_message (caller frees) for the error reply. */
struct service_handler {
    const char *suffix; /* the <x> of trust-agent.<host-id>.<x> */
    int (*run)(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message);
    enum service_error_form error_form;
};

extern const struct service_handler handler_version, handler_aik, handler_quote, handler_host_info,
    handler_deploy_asset_tag, handler_binding_certificate, handler_deploy_manifest,
    handler_application_measurement;

/* NULL when no handler has this suffix. */
const struct service_handler *service_handler_find(const char *suffix);

/* ---- error replies (service_error.c) ---- */

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

/* A copy of the current measure-log JSON (caller frees; NULL on out of memory). */
char *service_measure_log(struct service_ctx *ctx);

/* `tagent startService`: runs until SIGTERM/SIGINT (SIGHUP re-reads the event log); returns the exit status
 * (0 after a clean stop). */
int service_run(const char *root);

/* ---- the asset tag (service_tag.c) ---- */

/* The tag quotes carry: from the cache, else read from the TPM and cached. */
int service_asset_tag(struct service_ctx *ctx, uint8_t ret_tag[TPM_ASSET_TAG_SIZE], bool *ret_present,
                      struct tpm_error *err);
/* After deploy-asset-tag wrote it. */
void service_asset_tag_set(struct service_ctx *ctx, const uint8_t tag[TPM_ASSET_TAG_SIZE]);
/* The next quote reads it from the TPM again (SIGHUP, a failed write). */
void service_asset_tag_forget(struct service_ctx *ctx);

/* ---- the start-up report request (service_report.c) ---- */

struct service_report {
    pid_t pid;       /* the running `tagent async-report`, or 0 */
    int64_t next_ms; /* monotonic time of the next attempt */
    bool done;
};
/* Starts the child when due, reaps it, schedules the retry; call about once a second once connected. */
void service_report_poll(struct service_report *rep, const char *root);
/* Ends a running child (SIGTERM) and reaps it. */
void service_report_stop(struct service_report *rep);

/* ---- helpers (service_util.c) ---- */

/* A JSON string literal of text (caller frees). */
char *service_json_string(const char *text);
/* message with printf formatting (caller frees; NULL on out of memory). */
char *service_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the code and message out-parameters and returns r. */
int service_fail(int r, int *ret_code, char **ret_message, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
