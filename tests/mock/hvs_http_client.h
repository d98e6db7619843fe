/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HVS's trust-agent client over HTTPS, as HVS v5.1 runs it (pkg/clients/ta/client.go, its SendRequest in
 * pkg/clients/util/send_http_request.go, and the IntelConnector that calls it; isecl-hvs-protocol.md 4.1):
 * what HVS concludes from an agent's answer, in the same struct hvs_ta_result the NATS client fills.
 *
 * The base URL is the connection string's URL with "/v2" appended (intel_host_connector_factory.go). Every
 * request carries "Authorization: Bearer <token>"; TLS 1.3 at least, the peer verified against the CA file;
 * HTTP/1.1 with keep-alive (one connection per client, as Go's http.Transport reuses it); Go's default
 * headers (User-Agent Go-http-client/1.1, Accept-Encoding gzip) and no Accept unless HVS sets one:
 *   host  GET  /v2/host       Accept: application/json; the body through encoding/json into ta.HostInfo
 *   aik   GET  /v2/aik        the raw body; empty is "Empty AIK received"
 *   quote POST /v2/tpm/quote  Content-Type: application/json, TpmQuoteRequest as json.Encoder writes it (a
 *                             trailing newline); the body through encoding/xml (go_xml.c), then the
 * connector's steps on the result (hvs_ta_client.c: nonce, AIK base64 -> PEM) A status other than 200, 201 or
 * 204 is an error ("HTTP Status :401"), after one retry with a fresh token when it is 401 (SendRequest
 * fetches a token from AAS again; here the token file is read again).
 */
#ifndef TAGENT_HVS_HTTP_CLIENT_H
#define TAGENT_HVS_HTTP_CLIENT_H

#include <stddef.h>

#include "hvs_ta_client.h"

struct hvs_http;

/* Call curl_global_init() (hvs_http_global_init) once before any thread makes a client. */
int hvs_http_global_init(void);

/* url: the connection string's URL ("https://127.0.0.1:1443", with or without "intel:"); ca_file: PEM CA(s)
 * the agent's TLS certificate chains to; token_file: the bearer token (read now and after each 401; may be
 * NULL for no Authorization header). On failure *why says what. */
int hvs_http_new(const char *url, const char *ca_file, const char *token_file, int timeout_ms,
                 struct hvs_http **ret, char *why, size_t why_len);
void hvs_http_free(struct hvs_http *h);

/* One of HVS's calls: "host", "aik" or "quote" (payload: the TpmQuoteRequest JSON), judged as HVS judges it.
 * Never fails: a transport error is HVS_ERROR with HVS's wording. */
void hvs_http_call(struct hvs_http *h, const char *call, const char *payload, struct hvs_ta_result *ret);

/* A raw request on the same connection (tests): method, path under the base URL ("/tpm/quote"), extra
 * headers (NULL-terminated, "Name: value"; "Name:" removes a default), body (may be NULL). The bearer token
 * is added unless a header starting "Authorization:" is given. 0 with *ret_status and *ret_body (caller
 * frees, NUL-terminated), or -EIO with the transport error in why. */
int hvs_http_raw(struct hvs_http *h, const char *method, const char *path, const char *const *headers,
                 const char *body, long *ret_status, char **ret_body, size_t *ret_len, char *why,
                 size_t why_len);

/* The WWW-Authenticate header of the last answer ("" when it had none). */
const char *hvs_http_www_authenticate(const struct hvs_http *h);

/* TLS connections this client opened so far (1 when keep-alive held for every request). */
long hvs_http_connections(const struct hvs_http *h);

#endif
