/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * transport/: HTTPS to CMS/AAS/HVS (libcurl) and, later, the outbound NATS connection (cnats). Knows nothing
 * about TPMs. Nothing here prints: every error comes back as a message that names the URL, the HTTP status
 * and the server's own words, and never contains the bearer token.
 *
 * Thread-safe: every call uses its own libcurl handle; libcurl's global state is set up once.
 */
#ifndef TAGENT_TRANSPORT_H
#define TAGENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct https_options {
    const char *ca_dir;     /* trust the *.pem in this directory (/etc/trustagent/cacerts), or NULL. Every
                             * certificate there is a trust anchor, even an intermediate (as in Go's pool) */
    bool system_ca;         /* also trust the system store (libcurl's default CA bundle) */
    bool no_verify;         /* no chain or host name verification (the CMS CA download, which pins instead) */
    const char *pin_sha384; /* 96 hex digits: the server's leaf certificate DER must hash to this, checked
                             * during the handshake, so nothing is sent to or received from a wrong server.
                             * Works with and without no_verify */
    const char *pin_name;   /* what the pin is called in errors ("CMS_TLS_CERT_SHA384"), or NULL */
    const char *bearer;     /* "Authorization: Bearer <token>"; never logged, wiped by the caller */
    long connect_timeout_ms; /* TCP connect + TLS handshake; 0: 10 s */
    long timeout_ms;         /* whole transfer; 0: 60 s */
    unsigned retries;        /* extra attempts after a connection error or a 5xx (never after a 4xx, a
                              * certificate problem or an oversized body); backoff 0.5 s, 1 s, 2 s, ... 30 s */
    size_t max_body;         /* largest response accepted; 0: 16 MiB */
};

struct https_response {
    long status;   /* HTTP status code */
    uint8_t *body; /* NUL-terminated for convenience; body_len excludes the NUL. Never NULL */
    size_t body_len;
    char *content_type;  /* or NULL */
    char *server_sha384; /* hex SHA-384 of the server's leaf certificate DER (for diagnostics), or NULL */
};

/* One request over HTTPS (http:// is refused) with HTTP/1.1, TLS 1.3 or later, proxies from the environment
 * (never for 127.0.0.1, localhost, ::1), no redirects followed. headers: NULL-terminated "Name: value"
 * strings (Accept, Content-Type), may be NULL. A body is sent for POST/PUT/PATCH, or whenever body_len > 0.
 *
 * Returns 0 when a response arrived (any status: the caller decides what it accepts; after retries on 5xx,
 * the last response), filling *ret_response (free it with https_response_free()). Otherwise a negative errno
 * with *ret_error (caller frees; NULL only when even that allocation failed, or ret_error is NULL) saying
 * what failed, "<METHOD> <url>: <what>":
 *   -EKEYREJECTED  "...: the server's certificate SHA-384 is 3f2a... but CMS_TLS_CERT_SHA384 says 0b1c..."
 *   -EPERM         the certificate chain or host name did not verify (names the server's SHA-384 too)
 *   -ECONNREFUSED  "...: connection refused after 3 attempts" (other connect failures: their own errno)
 *   -EHOSTUNREACH  the host name does not resolve
 *   -ETIMEDOUT     "...: timed out after 60 s"
 *   -EPROTO        TLS handshake failure (e.g. a server without TLS 1.3)
 *   -ECONNRESET    the connection broke mid-request
 *   -EFBIG         "...: response larger than N bytes"
 *   -EINVAL        bad arguments (method, URL scheme, pin format, a line break in a header or the token)
 *   -ENOENT/-EIO   ca_dir unreadable or holding no certificate when nothing else is trusted
 *   -ENOMEM, -EIO  anything else */
int https_request(const char *method, const char *url, const char *const *headers, const void *body,
                  size_t body_len, const struct https_options *opts, struct https_response *ret_response,
                  char **ret_error);
/* Frees (and wipes: AAS bodies carry tokens and NKEY seeds) what https_request() filled; NULL is fine. */
void https_response_free(struct https_response *response);

/* "POST https://hvs/hvs/v2/hosts: HTTP 401: <first 200 printable bytes of the body>" for an unexpected
 * status (caller frees; NULL on allocation failure). Line breaks and tabs become spaces, other bytes outside
 * printable ASCII '?'; "..." marks a cut. */
char *https_status_error(const char *method, const char *url, const struct https_response *response);

/* base URL + path with exactly one '/' between them (caller frees; NULL if either is NULL or on allocation
 * failure). Trailing '/' of base and leading '/' of path are collapsed; "https://h/a/" + "" is
 * "https://h/a/". */
char *https_url_join(const char *base, const char *path);

#endif
