/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The contract between the service and its request handlers (handlers/, one file per subject): what a
 * handler gets, what it returns, how it says it failed, and the helpers they share (handlers/handler_util.c).
 */
#ifndef TAGENT_HANDLER_H
#define TAGENT_HANDLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quote.h"

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
    /* the TPM refused the tag secret: never try it again until SIGHUP or a deploy (service_tag.c); why */
    bool tag_refused;
    unsigned tag_refusals_seen; /* quote/'s tpm_tag_refusals() when service_tag.c last looked */
    char tag_refused_why[1024];
    int64_t da_checked_ms; /* when service_tag.c last read the dictionary-attack state (monotonic) */
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

/* A success in HTTP mode (spec 4.1): the body as the Go agent's controller writes it and its Content-Type
 * (static; NULL: the Go agent sets none). */
struct service_http_body {
    char *data; /* caller frees; NULL with len 0 for an empty body */
    size_t len;
    const char *content_type;
};

/* A handler fills *ret_reply (JSON text, caller frees) and returns 0; on failure returns a negative errno
 * and *ret_code (SERVICE_ERR_*) + *ret_message (caller frees) for the error reply. run_http is the same
 * request answered in HTTP mode's form (the two share everything but the rendering); data is the request
 * body. NULL: the HTTP body is run's JSON as application/json. */
struct service_handler {
    const char *suffix; /* the <x> of trust-agent.<host-id>.<x> */
    int (*run)(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message);
    enum service_error_form error_form;
    bool proves_tpm; /* a success shows the TPM works (the health probe need not ask it then) */
    /* it talks to the TPM: only these may occupy every general worker (pool.c keeps one worker for the
     * rest, so a hung TPM does not stall them) */
    bool needs_tpm;
    int (*run_http)(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message);
};

extern const struct service_handler handler_version, handler_aik, handler_quote, handler_host_info,
    handler_deploy_asset_tag, handler_binding_certificate, handler_deploy_manifest,
    handler_application_measurement;

/* NULL when no handler has this suffix (handlers/handlers.c). */
const struct service_handler *service_handler_find(const char *suffix);

/* ---- helpers (handlers/handler_util.c) ---- */

/* A JSON string literal of text (caller frees). */
char *service_json_string(const char *text);
/* message with printf formatting (caller frees; NULL on out of memory). */
char *service_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the code and message out-parameters and returns r. */
int service_fail(int r, int *ret_code, char **ret_message, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
