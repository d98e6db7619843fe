/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The libmicrohttpd daemon and its request cycle (http_server.h). A request is checked as the Go agent's
 * router and middleware check it, in the same order: route (404/405), token (401/403), Content-Type (400),
 * body (413 past HTTP_BODY_MAX), then its handler, whose result or failure is answered at once. Every
 * response carries Strict-Transport-Security; failures are plain text saying why, as http.Error writes them.
 * Tokens are never logged: only the verifier's reason is.
 */
#include "cleanup.h"
#include "clock.h"
#include "config.h"
#include "go_json.h"
#include "http_bounded.h"
#include "http_mhd.h"
#include "http_routes.h"
#include "http_server.h"
#include "log.h"
#include "pool.h"
#include "service_status.h"
#include "token_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HSTS "max-age=63072000; includeSubDomains"
/* TLS 1.3 only: HVS's HTTP client (pkg/clients) sets MinVersion TLS 1.3, so nothing older is ever needed */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"
/* MHD's per-connection memory holds the request line and headers (and the reply's headers) */
#define HEADER_SLACK (16u * 1024u)

/* libmicrohttpd's functions, loaded by http_server_start(): one server per process. */
static const struct http_mhd *mhd;

struct http_server {
    struct MHD_Daemon *daemon;
    struct service_ctx *ctx;
    struct token_auth *auth;
    char *cert, *key; /* PEM text; MHD reads them at start, the key is wiped at the stop */
    size_t key_len;
    char address[64];
    atomic_int in_flight;
    atomic_bool draining;
};

/* One request's state between MHD's calls (its con_cls). */
struct http_call {
    const struct http_route *route;
    int64_t start_ms;
    FILE *f; /* the body while it arrives */
    char *body;
    size_t len, size;
    int status; /* set when the request is refused before its handler runs */
    char *reason;
    /* a token refusal waits for the whole body (read and dropped): see on_request() */
    bool refuse_after_body;
};

static void http_call_free(struct http_call *c)
{
    if (!c)
        return;
    if (c->f)
        fclose(c->f);
    free(c->body);
    free(c->reason);
    free(c);
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                                 const char *content_type)
{
    struct MHD_Response *resp = mhd->create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    mhd->add_response_header(resp, "Strict-Transport-Security", HSTS);
    if (content_type)
        mhd->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result r = mhd->queue_response(conn, status, resp);
    mhd->destroy_response(resp);
    return r;
}

/* A failure as Go's http.Error writes it: the reason and a newline, plain text, not to be sniffed. */
/* reason as an RFC 6750 error_description: printable ASCII without '"' and '\\' (a header value may hold
 * neither a line break nor an unescaped quote). */
static void auth_description(const char *reason, char *out, size_t size)
{
    size_t n = 0;
    for (; *reason && n + 1 < size; reason++)
        out[n++] = (*reason >= 0x20 && *reason < 0x7f && *reason != '"' && *reason != '\\') ? *reason : '\'';
    out[n] = '\0';
}

/* A token refusal: 401 with an EMPTY body, the reason in WWW-Authenticate (RFC 6750) and the log. The Go
 * agent answers a bad token with an empty 401 on a connection it keeps open, and HVS's client depends on it:
 * after a 401 it fetches a new token and sends the same request again, and for a POST (the quote) Go's
 * transport can only do that on the kept-alive connection of an empty 401 (the request body was already
 * drained by the first send). A body here, or a closed connection, turns an expired cached token into a
 * failed attestation where the Go agent would have answered. */
static enum MHD_Result send_unauthorized(struct MHD_Connection *conn, const struct http_call *c,
                                         const char *reason)
{
    char description[512], header[600];
    auth_description(reason, description, sizeof(description));
    snprintf(header, sizeof(header), "Bearer error=\"invalid_token\", error_description=\"%s\"", description);
    struct MHD_Response *resp = mhd->create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    mhd->add_response_header(resp, "Strict-Transport-Security", HSTS);
    mhd->add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, header);
    enum MHD_Result r = mhd->queue_response(conn, MHD_HTTP_UNAUTHORIZED, resp);
    mhd->destroy_response(resp);
    log_info("HTTP: %s %s: 401 %s", c && c->route ? c->route->method : "-",
             c && c->route ? c->route->path : "-", reason);
    return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const struct http_call *c, unsigned status,
                                  const char *reason, const char *allow)
{
    char *body = NULL;
    if (asprintf(&body, "%s\n", reason) < 0)
        return MHD_NO;
    struct MHD_Response *resp = mhd->create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    mhd->add_response_header(resp, "Strict-Transport-Security", HSTS);
    mhd->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    mhd->add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (allow)
        mhd->add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result r = mhd->queue_response(conn, status, resp);
    mhd->destroy_response(resp);
    log_info("HTTP: %s %s: %u %s", c && c->route ? c->route->method : "-",
             c && c->route ? c->route->path : "-", status, reason);
    return r;
}

static enum MHD_Result header_add(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* "key: value\r\n" */
    return MHD_YES;
}

/* Go's MaxHeaderBytes: the request line and the headers together. MHD's own bound is its per-connection
 * memory (which it may also spend otherwise), so the configured limit is checked here exactly. */
static bool headers_too_large(const http_server_t *s, struct MHD_Connection *conn, const char *url,
                              const char *method)
{
    size_t max =
        s->ctx->cfg->server.max_header_bytes > 0 ? (size_t)s->ctx->cfg->server.max_header_bytes : 1u << 20;
    size_t n = strlen(method) + strlen(url) + 12;
    mhd->get_connection_values(conn, MHD_HEADER_KIND, header_add, &n);
    return n > max;
}

/* The checks before the body: route, token, Content-Type. 0, or the status with c->reason set. */
static int admit(http_server_t *s, struct MHD_Connection *conn, const char *url, const char *method,
                 struct http_call *c)
{
    if (headers_too_large(s, conn, url, method))
        return (c->reason =
                    strdup("431 Request Header Fields Too Large: above config.yml's max-header-bytes"))
                   ? 431
                   : 500;
    int status = http_route_find(method, url, &c->route);
    if (status == 404)
        return (c->reason = strdup("404 page not found")) ? 404 : 500;
    if (status == 405) {
        c->reason = NULL;
        if (asprintf(&c->reason, "%s takes %s only", c->route->path, c->route->method) < 0)
            c->reason = NULL;
        return 405;
    }
    if (atomic_load(&s->draining))
        return (c->reason = strdup("tagent is shutting down")) ? 503 : 500;
    if (c->route->permission) {
        const char *authorization = mhd->lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        status = token_auth_check(s->auth, authorization, c->route->permission, &c->reason);
        if (status == 401)
            c->refuse_after_body = true;
        if (status != 0)
            return status;
    }
    const char *why = NULL;
    const char *content_type = mhd->lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if ((status = http_content_type_check(c->route, content_type, &why)) != 0)
        return (c->reason = strdup(why)) ? status : 500;
    return 0;
}

/* The body so far into a memory stream (NUL-terminated once closed), at most HTTP_BODY_MAX bytes. */
static int body_append(struct http_call *c, const char *data, size_t n)
{
    if (n > HTTP_BODY_MAX - c->len)
        return -EFBIG;
    if (!c->f && !(c->f = open_memstream(&c->body, &c->size)))
        return -ENOMEM;
    if (fwrite(data, 1, n, c->f) != n)
        return -ENOMEM;
    c->len += n;
    return 0;
}

/* The whole body: the stream closed. */
static int body_finish(struct http_call *c)
{
    if (!c->f)
        return 0;
    FILE *f = c->f;
    c->f = NULL;
    return fclose(f) == 0 && c->size == c->len ? 0 : -ENOMEM;
}

/* Runs the route's handler on the body and sends its result or its failure. */
static enum MHD_Result answer(http_server_t *s, struct MHD_Connection *conn, struct http_call *c)
{
    const struct service_handler *h = c->route->handler;
    const char *data = c->body ? c->body : "";
    struct http_result res;
    /* a TPM that hangs must hold a thread of its own, not this one (http_bounded.h) */
    if (h->needs_tpm)
        http_handler_run_bounded(s->ctx, h, data, c->len, POOL_DEADLINE_MS, &res);
    else
        http_handler_run(s->ctx, h, data, c->len, &res);
    struct service_http_body out = res.out;
    _cleanup_free_ char *json = res.json, *message = res.message;
    int code = res.code, r = res.r;
    if (r >= 0 && !h->run_http) {
        /* the Go agent's json.Marshal escapes <, >, & (and U+2028/9) in strings */
        if (!(out.data = go_json_html_escape(json)))
            r = service_fail(-ENOMEM, &code, &message, SERVICE_ERR_FAILED, "out of memory");
        out.len = out.data ? strlen(out.data) : 0;
        out.content_type = "application/json";
    }
    const char *why = message ? message : strerror(r < 0 ? -r : ENOMEM);
    /* the status record and the log put the handler's name in front: not twice (pool.c does the same) */
    size_t n = strlen(h->suffix);
    const char *status_why =
        strncmp(why, h->suffix, n) == 0 && strncmp(why + n, ": ", 2) == 0 ? why + n + 2 : why;
    service_status_request(h->suffix, r >= 0, status_why);
    if (r < 0) {
        free(out.data);
        char field[160];
        snprintf(field, sizeof(field), "SUBJECT=%s", h->suffix);
        const char *fields[] = {field, NULL};
        log_emit(LOG_WARNING, fields, "HTTP: %s %s failed: %s", c->route->method, c->route->path, status_why);
        return send_error(conn, c, (unsigned)http_status_of(code), why, NULL);
    }
    if (h->proves_tpm)
        service_status_tpm(true, NULL);
    log_debug("HTTP: %s %s answered in %lld ms", c->route->method, c->route->path,
              (long long)(monotonic_ms() - c->start_ms));
    return send_body(conn, MHD_HTTP_OK, out.data, out.len, out.content_type);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    http_server_t *s = cls;
    struct http_call *c = *con_cls;
    if (!c) { /* headers are in: decide now whether the body is worth reading */
        if (!(c = calloc(1, sizeof(*c))))
            return MHD_NO;
        *con_cls = c;
        atomic_fetch_add(&s->in_flight, 1);
        c->start_ms = monotonic_ms();
        c->status = admit(s, conn, url, method, c);
        if (c->status != 0 && !c->refuse_after_body) /* answered before the body: MHD then closes the
                                                      * connection if one follows */
            return send_error(conn, c, (unsigned)c->status, c->reason ? c->reason : "out of memory",
                              c->status == 405 ? c->route->method : NULL);
        return MHD_YES;
    }
    if (c->refuse_after_body) { /* a token refusal: the body is read and dropped, then the empty 401 goes out
                                 * on a connection that stays open (send_unauthorized()) */
        if (*upload_data_size > 0 && *upload_data_size <= HTTP_BODY_MAX - c->len) {
            c->len += *upload_data_size;
            *upload_data_size = 0;
            return MHD_YES;
        }
        /* the whole body is in, or it is too large to be worth reading (then MHD closes the connection) */
        c->refuse_after_body = false; /* answered: what else arrives is dropped below */
        *upload_data_size = 0;
        return send_unauthorized(conn, c, c->reason ? c->reason : "out of memory");
    }
    if (c->status != 0) { /* already answered: what else of the body arrives is dropped unread */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        int r = body_append(c, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (r == -EFBIG) {
            char reason[96];
            snprintf(reason, sizeof(reason), "request body too large: at most %u bytes", HTTP_BODY_MAX);
            c->status = 413;
            return send_error(conn, c, 413, reason, NULL);
        }
        return r < 0 ? MHD_NO : MHD_YES;
    }
    if (body_finish(c) < 0)
        return MHD_NO;
    return answer(s, conn, c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    http_server_t *s = cls;
    if (!*con_cls)
        return;
    http_call_free(*con_cls);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* MHD's own complaints (TLS handshakes that failed, connection limits): not errors of the service. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_info("HTTP: %s", line);
}

static int tls_files_read(http_server_t *s, char **ret_error)
{
    _cleanup_free_ char *cert_path = config_path(s->ctx->root, TAGENT_TLS_CERT),
                        *key_path = config_path(s->ctx->root, TAGENT_TLS_KEY);
    size_t cert_len = 0;
    if (!cert_path || !key_path)
        return -ENOMEM;
    int r = config_read_file(cert_path, 1u << 20, &s->cert, &cert_len);
    const char *which = TAGENT_TLS_CERT;
    if (r == 0) {
        r = config_read_file(key_path, 1u << 20, &s->key, &s->key_len);
        which = TAGENT_TLS_KEY;
    }
    if (r < 0 && asprintf(ret_error,
                          "%s: %s; HTTP mode serves HTTPS with the certificate and key of `tagent setup "
                          "download-cert`: run it (as root), then start tagent again",
                          which, strerror(-r)) < 0)
        *ret_error = NULL;
    return r;
}

static struct MHD_Daemon *daemon_start(http_server_t *s, unsigned extra_flags)
{
    const struct tagent_config *cfg = s->ctx->cfg;
    /* Go's idle timeout is the longest a connection sits unused; MHD has one inactivity timeout, in s */
    int64_t idle_ns = cfg->server.idle_timeout_ns > 0 ? cfg->server.idle_timeout_ns : 10000000000LL;
    unsigned timeout_s = (unsigned)((idle_ns + 999999999) / 1000000000);
    size_t header_max = cfg->server.max_header_bytes > 0 ? (size_t)cfg->server.max_header_bytes : 1u << 20;
    return mhd->start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_USE_ITC | extra_flags,
        (uint16_t)cfg->server.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_HTTPS_PRIORITIES,
        TLS_PRIORITIES, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, header_max + HEADER_SLACK, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_END);
}

int http_server_start(struct service_ctx *ctx, struct token_auth *auth, http_server_t **ret_server,
                      char **ret_error)
{
    http_server_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ctx = ctx;
    s->auth = auth;
    int r = http_mhd_load(&mhd, ret_error);
    if (r == 0)
        r = tls_files_read(s, ret_error);
    if (r == 0) {
        /* both address families, as Go's ":port"; IPv4 alone where the host has no IPv6 */
        const char *any = "[::]";
        s->daemon = daemon_start(s, MHD_USE_DUAL_STACK);
        if (!s->daemon) {
            any = "0.0.0.0";
            s->daemon = daemon_start(s, 0);
        }
        snprintf(s->address, sizeof(s->address), "%s:%d", any, ctx->cfg->server.port);
        if (!s->daemon) {
            r = -EADDRNOTAVAIL;
            if (asprintf(ret_error,
                         "cannot serve HTTPS on port %d: the port is in use, or %s / %s are not a "
                         "certificate and its key; free the port (or set TRUSTAGENT_PORT and run `tagent "
                         "setup update-service-config`), or re-run `tagent setup download-cert --force`",
                         ctx->cfg->server.port, TAGENT_TLS_CERT, TAGENT_TLS_KEY) < 0)
                *ret_error = NULL;
        }
    }
    if (r < 0) {
        http_server_stop(s);
        return r;
    }
    *ret_server = s;
    return 0;
}

const char *http_server_address(const http_server_t *s)
{
    return s->address;
}

bool http_server_drain(http_server_t *s, long timeout_ms)
{
    if (!s || !s->daemon)
        return true;
    atomic_store(&s->draining, true);
    MHD_socket listen_fd = mhd->quiesce_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    int64_t until = monotonic_ms() + timeout_ms;
    while (atomic_load(&s->in_flight) > 0 && monotonic_ms() < until)
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000}, NULL);
    return atomic_load(&s->in_flight) == 0;
}

void http_server_stop(http_server_t *s)
{
    if (!s)
        return;
    if (s->daemon)
        mhd->stop_daemon(s->daemon);
    if (s->key)
        explicit_bzero(s->key, s->key_len);
    free(s->key);
    free(s->cert);
    free(s);
}
