/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService`: the outbound NATS service (spec 4.2). Private to agent/.
 *
 * Every request gets exactly one reply: the handler's, or an error reply when the handler fails, the
 * request is malformed, the subject is unknown, the reply would exceed the server's max payload, the work
 * queue is full, the per-request deadline passes, or the service shuts down.
 *
 * Error replies (HVS only needs *a* reply so it fails fast instead of waiting 10 s):
 *   quote-request: the TpmQuoteResponse shape with ErrorCode != 0 and ErrorMessage saying what failed;
 *   every other subject: {"ErrorCode":<n>,"ErrorMessage":"<text>"}.
 * ErrorCode values are the SERVICE_ERR_* below.
 */
#ifndef TAGENT_SERVICE_H
#define TAGENT_SERVICE_H

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
    char *measure_log;       /* measure-log JSON built at start, "" when no log was found */
    struct tpm_auth tag_auth; /* the tag secret, decoded */
};

/* A handler fills *ret_reply (JSON text, caller frees) and returns 0; on failure returns a negative errno
 * and *ret_code (SERVICE_ERR_*) + *ret_message (caller frees) for the error reply. */
struct service_handler {
    const char *suffix; /* the <x> of trust-agent.<host-id>.<x> */
    int (*run)(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message);
    /* error reply of this subject (NULL: the generic one). Caller frees; NULL on out of memory */
    char *(*error_reply)(int code, const char *message);
};

extern const struct service_handler handler_version, handler_aik, handler_quote, handler_host_info,
    handler_deploy_asset_tag, handler_binding_certificate, handler_deploy_manifest,
    handler_application_measurement;

/* NULL when no handler has this suffix. */
const struct service_handler *service_handler_find(const char *suffix);

/* {"ErrorCode":code,"ErrorMessage":message} (caller frees; NULL on out of memory). */
char *service_error_json(int code, const char *message);
/* The error reply for a subject's handler (h may be NULL: generic). Never NULL unless out of memory. */
char *service_error_reply(const struct service_handler *h, int code, const char *message);

/* `tagent startService`: runs until SIGTERM/SIGINT; returns the exit status (0 after a clean stop). */
int service_run(const char *root);

/* ---- helpers (service_util.c) ---- */

/* A JSON string literal of text (caller frees). */
char *service_json_string(const char *text);
/* message with printf formatting (caller frees; NULL on out of memory). */
char *service_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the code and message out-parameters and returns r. */
int service_fail(int r, int *ret_code, char **ret_message, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
