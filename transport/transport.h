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

/* s percent-encoded for a URL query value or path segment (libcurl's curl_easy_escape: everything but
 * A-Z a-z 0-9 - . _ ~). 0 and *ret_escaped (caller frees); or a negative errno and *ret_error (caller
 * frees; ret_error may be NULL; NULL on allocation failure), e.g. when libcurl cannot be loaded. */
int https_url_escape(const char *s, char **ret_escaped, char **ret_error);

/* ---- NATS (cnats), transport/nats.c ----
 * The outbound connection of `tagent startService`: TLS always, user JWT + nkey from a .creds file, every
 * server of the list, reconnecting forever. One subscription (no queue group); each message is handed to the
 * caller's callback on cnats' delivery thread, which must not block (queue it and return). */

struct nats_link_options {
    const char *const *servers; /* nats:// or tls:// URLs */
    size_t n_servers;
    const char *ca_dir; /* every valid certificate of its *.pem files is trusted; required: TLS needs a CA */
    const char *creds_file; /* user JWT + nkey seed (.creds), or NULL */
    const char *name;       /* connection name (the host id) */
    const char *subject;    /* "trust-agent.<host-id>.>" */
    long reconnect_wait_ms; /* 0: 1000, with up to 1 s of jitter */
    long ping_interval_ms;  /* 0: 3000; with max_pings_out 0: 2 a dead link is noticed within ~9 s */
    int max_pings_out;
    long connect_timeout_ms; /* 0: 10 s */
};

/* One request; owned by whoever the callback hands it to (free with nats_request_free()). */
struct nats_request {
    char *subject;
    char *reply; /* reply subject, NULL when the sender expects none */
    char *data;  /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
};
void nats_request_free(struct nats_request *req);

enum nats_link_event {
    NATS_LINK_CONNECTED,
    NATS_LINK_DISCONNECTED,
    NATS_LINK_RECONNECTED,
    NATS_LINK_CLOSED,
    NATS_LINK_ERROR,
    /* the server refused the subscription (the credentials do not allow the subject): no request can
     * ever arrive on this link, whatever the connection state says */
    NATS_LINK_REFUSED
};

typedef struct nats_link nats_link_t;
/* link: the link the request came on (reply through it); called on cnats' thread, before
 * nats_link_open() may even have returned. */
typedef void (*nats_request_cb)(nats_link_t *link, struct nats_request *req, void *userdata);
/* url: the server concerned (or NULL); text: cnats' last error for NATS_LINK_ERROR/CLOSED/REFUSED (or
 * NULL). */
typedef void (*nats_event_cb)(enum nats_link_event ev, const char *url, const char *text, void *userdata);

/* Connects (one attempt at the TCP/TLS/auth level; when it fails, its cause goes to on_event as a
 * NATS_LINK_ERROR naming what to fix (TLS verification and the CA directory, or the rejected creds file),
 * cnats keeps trying in the background and NATS_LINK_CONNECTED follows) and subscribes. CA files that give no
 * certificate are skipped, each named in a NATS_LINK_ERROR. Returns 0, or a negative errno with *ret_error
 * (caller frees): -ENOENT no CA directory or no valid certificate in it, -errno/-EINVAL creds file unreadable
 * or unusable, -ECONNREFUSED/-EACCES (authorization refused: cnats 3.4 refuses about 1 in 256 good .creds
 * connects, so call again), -EINVAL bad options. */
int nats_link_open(const struct nats_link_options *opts, nats_request_cb on_request, nats_event_cb on_event,
                   void *userdata, nats_link_t **ret_link, char **ret_error);
/* One NATS message header. Keys are case-sensitive on the wire (nats.go's Header.Get is an exact lookup);
 * values must be one line (no CR or LF). */
struct nats_header {
    const char *key, *value;
};
/* Publishes a reply (thread-safe) with n_headers headers (0: a plain message). -EMSGSIZE when the body and
 * headers exceed the server's max payload; -EINVAL for a header value with a line break. */
int nats_link_publish(nats_link_t *link, const char *subject, const void *data, size_t len,
                      const struct nats_header *headers, size_t n_headers, char **ret_error);
/* The server's max payload (0 while never connected). */
int64_t nats_link_max_payload(nats_link_t *link);
bool nats_link_connected(nats_link_t *link);
/* The URL of the server the link is connected to into url; false when it is not connected. */
bool nats_link_connected_url(nats_link_t *link, char *url, size_t size);
/* True once cnats gave up on the connection (then close it and open a new one). */
bool nats_link_closed(nats_link_t *link);
/* Stops taking requests: drains the subscription (messages already received still reach the callback),
 * waiting up to timeout_ms in all. */
int nats_link_stop(nats_link_t *link, long timeout_ms);
/* Flushes pending replies (up to timeout_ms) and closes. NULL is fine. */
void nats_link_close(nats_link_t *link, long timeout_ms);
/* Last call of a process that used NATS: releases cnats (waiting up to timeout_ms for its threads), then
 * OpenSSL (cnats 3.4 issue #904). */
void nats_library_close(long timeout_ms);

#endif
