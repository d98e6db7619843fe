/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What `tagent status` shows of a running service: the NATS link, the TPM's health, requests served per
 * subject, the last quote and the last error. The service records into it (thread-safe); the status socket
 * (status_socket.c) serves it as one JSON document per connection.
 *
 * The socket is <root>/run/tagent/status.sock (systemd: RuntimeDirectory=tagent). Its JSON:
 *   {"pid":n,"version":"v..","host_id":"..","started":epoch,"mode":"outbound"|"http",
 *    "http":{"listening":"[::]:1443"} (HTTP mode only),
 *    "nats":{"connected":b,"server":"url"|null,"since":epoch|null,"reconnects":n,"refused":".."|null,
 *            "error":".."|null},
 *    "tpm":{"healthy":b,"checked":epoch|null,"error":"..."|null,"da_lockout":b,"da":"..."|null},
 *    "asset_tag_error":"..."|null,
 *    "requests":{"<subject>":{"served":n,"failed":n},...},
 *    "last_quote":epoch|null,"last_error":{"time":epoch,"subject":"..","message":".."}|null}
 * Nothing in it is secret (messages pass through the log redaction), so the socket is world-readable.
 */
#ifndef TAGENT_SERVICE_STATUS_H
#define TAGENT_SERVICE_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/* Creates the (single, process-wide) status record; host_id is copied. 0 or -ENOMEM. */
int service_status_init(const char *host_id);
void service_status_free(void);

/* HTTP mode: the service listens on address ("[::]:1443"); `tagent status` shows the mode and it. */
void service_status_listening(const char *address);
void service_status_connected(const char *url, bool reconnect);
void service_status_disconnected(void);
/* What the record says of the link (the last connected/disconnected event). */
bool service_status_is_connected(void);
/* The server refused the subscription: message says what and how to fix it (NULL: accepted again). While set,
 * the service is not serving whatever "connected" says, and `tagent status` fails. */
void service_status_refused(const char *message);
/* Why the NATS link is not up, with what to fix (TLS, credentials, no server); NULL once connected. */
void service_status_nats_error(const char *message);
/* One answered request: ok = the handler's reply was sent, else message says why it failed. */
void service_status_request(const char *subject, bool ok, const char *message);
void service_status_tpm(bool healthy, const char *error);
/* The TPM's dictionary-attack state as last read (text: quote/'s tpm_da_state_text()); in_lockout makes
 * `tagent status` say so instead of "healthy". */
void service_status_da(bool in_lockout, const char *text);
/* Quotes cannot read the asset tag: error says why and what to do (NULL: readable again). */
void service_status_tag(const char *error);

/* Monotonic milliseconds of the last successful TPM health check (0: none yet). */
int64_t service_status_tpm_ok_ms(void);

/* The JSON above (caller frees); NULL on out of memory. */
char *service_status_json(void);

#endif
