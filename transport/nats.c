/* SPDX-License-Identifier: BSD-3-Clause */
/* The outbound NATS link (cnats 3.4): options, connect, one subscription, replies, drain and close. */
#include "error.h"
#include "transport.h"

#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define NATS_RECONNECT_BUF_BYTES (4 << 20) /* a few quote replies with their event logs */
#define NATS_MAX_SERVERS         64

struct nats_link {
    natsOptions *opts;
    natsConnection *nc;
    natsSubscription *sub;
    nats_request_cb on_request;
    nats_event_cb on_event;
    void *userdata;
    atomic_bool closed;
};

void nats_request_free(struct nats_request *req)
{
    if (!req)
        return;
    free(req->subject);
    free(req->reply);
    free(req->data);
    free(req);
}

static int pem_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".pem") == 0;
}

/* Why a CA file is unusable, or NULL when it gave certificates (appended to out as PEM). Each file is parsed
 * on its own so that one truncated or foreign file costs only itself: cnats would refuse the whole
 * concatenated bundle ("bad base64 decode", no file name) and with it every connection. */
static const char *ca_file_load(const char *path, BIO *out, int *ret_n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return strerror(errno);
    int n = 0;
    X509 *x;
    ERR_clear_error();
    while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
        if (PEM_write_bio_X509(out, x) == 1)
            n++;
        X509_free(x);
    }
    fclose(f);
    /* the end of the file shows as "no start line"; anything else is a damaged certificate */
    unsigned long e = ERR_peek_last_error();
    bool clean_end = ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    *ret_n = n;
    if (!clean_end)
        return n ? "a damaged certificate after the valid ones (those are used)"
                 : "not a valid PEM certificate";
    return n ? NULL : "no certificate in it";
}

/* The certificates of every *.pem of dir, in name order, as one PEM bundle. A file that gives none is skipped
 * and named (through warn, for the log); only a directory left with no certificate at all is an error. */
static int ca_bundle(const char *dir, void (*warn)(void *, const char *), void *warn_data, char **ret_pem,
                     char **ret_error)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, pem_filter, alphasort);
    if (n < 0)
        return error_set(ret_error, -errno,
                         "CA directory %s: %s (the NATS server's CA certificate belongs there)", dir,
                         strerror(errno));
    BIO *out = BIO_new(BIO_s_mem());
    int total = 0;
    for (int i = 0; i < n; i++) {
        char path[4096], line[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        int got = 0;
        const char *why = out ? ca_file_load(path, out, &got) : NULL;
        total += got;
        if (why) {
            snprintf(line, sizeof(line), "CA file %s %s: %s", path, got ? "partly used" : "skipped", why);
            warn(warn_data, line);
        }
        free(names[i]);
    }
    free(names);
    if (!out)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = 0;
    char *data = NULL;
    long len = BIO_get_mem_data(out, &data);
    if (total == 0)
        r = error_set(
            ret_error, -ENOENT,
            "CA directory %s holds no valid *.pem certificate: NATS needs TLS, put the NATS server's CA "
            "certificate (PEM) there",
            dir);
    else if (!(*ret_pem = malloc((size_t)len + 1))) /* not strndup: the BIO's data has no final NUL */
        r = error_set(ret_error, -ENOMEM, "out of memory");
    else {
        memcpy(*ret_pem, data, (size_t)len);
        (*ret_pem)[len] = '\0';
    }
    BIO_free(out);
    return r;
}

/* Why the .creds file cannot work, checked before connecting: cnats reports an unreadable or truncated one
 * only as "No server available for connection". 0, or -errno with a message naming the file. */
static int creds_check(const char *path, char **ret_error)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return error_set(ret_error, -errno,
                         "NATS credentials %s: %s (re-run `tagent setup download-credential --force`)", path,
                         strerror(errno));
    char buf[8192];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *why = NULL;
    if (len == 0)
        why = "the file is empty";
    else if (!strstr(buf, "-----BEGIN NATS USER JWT-----"))
        why = "no user JWT in it";
    else if (!strstr(buf, "-----BEGIN USER NKEY SEED-----") || !strstr(buf, "------END USER NKEY SEED------"))
        why = "no complete nkey seed in it (truncated?)";
    explicit_bzero(buf, sizeof(buf));
    if (why)
        return error_set(
            ret_error, -EINVAL,
            "NATS credentials %s are unusable: %s (re-run `tagent setup download-credential --force`)", path,
            why);
    return 0;
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct nats_link *link = closure;
    struct nats_request *req = calloc(1, sizeof(*req));
    const char *reply = natsMsg_GetReply(msg);
    int len = natsMsg_GetDataLength(msg);
    if (req) {
        req->subject = strdup(natsMsg_GetSubject(msg));
        req->reply = reply ? strdup(reply) : NULL;
        req->len = len > 0 ? (size_t)len : 0;
        req->data = malloc(req->len + 1);
        if (req->data) {
            if (req->len)
                memcpy(req->data, natsMsg_GetData(msg), req->len);
            req->data[req->len] = '\0';
        }
    }
    natsMsg_Destroy(msg);
    if (!req || !req->subject || !req->data || (reply && !req->reply)) {
        nats_request_free(req); /* out of memory: the requester times out */
        return;
    }
    link->on_request(link, req, link->userdata);
}

static void event(struct nats_link *link, enum nats_link_event ev, natsConnection *nc, const char *text)
{
    char url[256] = "";
    if (nc && natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK)
        url[0] = '\0';
    if (link->on_event)
        link->on_event(ev, url[0] ? url : NULL, text, link->userdata);
}

static void on_connected(natsConnection *nc, void *closure)
{
    event(closure, NATS_LINK_CONNECTED, nc, NULL);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    event(closure, NATS_LINK_DISCONNECTED, NULL, NULL);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    event(closure, NATS_LINK_RECONNECTED, nc, NULL);
}

static void on_closed(natsConnection *nc, void *closure)
{
    struct nats_link *link = closure;
    const char *text = NULL;
    natsConnection_GetLastError(nc, &text);
    event(link, NATS_LINK_CLOSED, NULL, text);
    /* last: nats_link_close() frees link as soon as it sees this */
    atomic_store(&link->closed, true);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    const char *text = NULL;
    natsConnection_GetLastError(nc, &text);
    if (!text || !*text)
        text = natsStatus_GetText(err);
    /* the server's "-ERR 'Permissions Violation for Subscription to ...'" arrives here as NATS_NOT_PERMITTED;
     * the connection itself stays up, so nothing else would ever tell that no request can come */
    bool refused = err == NATS_NOT_PERMITTED && strstr(text, "Subscription");
    event(closure, refused ? NATS_LINK_REFUSED : NATS_LINK_ERROR, NULL, text);
}

static int status_errno(natsStatus s)
{
    switch (s) {
    case NATS_OK: return 0;
    case NATS_NO_MEMORY: return -ENOMEM;
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED: return -EACCES;
    case NATS_TIMEOUT: return -ETIMEDOUT;
    case NATS_INVALID_ARG: return -EINVAL;
    case NATS_MAX_PAYLOAD: return -EMSGSIZE;
    case NATS_SSL_ERROR: return -EPROTO;
    case NATS_NO_SERVER: return -ECONNREFUSED;
    default: return -EIO;
    }
}

static void link_free(struct nats_link *link)
{
    if (!link)
        return;
    natsSubscription_Destroy(link->sub);
    if (link->nc)
        natsConnection_Destroy(link->nc);
    natsOptions_Destroy(link->opts);
    free(link);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nats_link *, link_free)

/* Where to connect. natsOptions_SetServers takes a non-const array, hence the copy. */
static natsStatus options_servers(natsOptions *opts, const struct nats_link_options *o)
{
    const char *servers[NATS_MAX_SERVERS];
    for (size_t i = 0; i < o->n_servers; i++)
        servers[i] = o->servers[i];
    natsStatus s = natsOptions_SetServers(opts, servers, (int)o->n_servers);
    if (s == NATS_OK && o->name)
        s = natsOptions_SetName(opts, o->name);
    return s;
}

/* TLS always, trusting the CA bundle (parsed into cnats' store here; no pointer to it is kept); the user JWT
 * and nkey seed from the .creds file when there is one. */
static natsStatus options_security(natsOptions *opts, const char *ca_pem, const char *creds_file)
{
    natsStatus s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetCATrustedCertificates(opts, ca_pem);
    if (s == NATS_OK && creds_file)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds_file, NULL);
    return s;
}

/* How the link stays up: connect timeout, reconnecting forever with jitter, pings, a reconnect buffer. */
static natsStatus options_liveness(natsOptions *opts, const struct nats_link_options *o)
{
    natsStatus s = natsOptions_SetTimeout(opts, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, o->reconnect_wait_ms > 0 ? o->reconnect_wait_ms : 1000);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(opts, 1000, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(opts, o->ping_interval_ms > 0 ? o->ping_interval_ms : 3000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(opts, o->max_pings_out > 0 ? o->max_pings_out : 2);
    /* replies published while the link is down wait here (bounded: cnats' default is 8 MiB); whatever is
     * still useful reaches HVS after the reconnect, within its 10 s timeout */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(opts, NATS_RECONNECT_BUF_BYTES);
    /* The agent's connection carries replies, each awaited by its requester: written at once by the worker
     * that publishes it, instead of waiting for cnats' flusher thread, which yields a millisecond before it
     * writes (nats.h documents this option for exactly such a reply-only connection). */
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(opts, true);
    return s;
}

/* The connection's events reach the caller's on_event through link. */
static natsStatus options_callbacks(natsOptions *opts, struct nats_link *link)
{
    natsStatus s = natsOptions_SetDisconnectedCB(opts, on_disconnected, link);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, link);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(opts, on_closed, link);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(opts, on_error, link);
    return s;
}

static void ca_warn(void *link, const char *text)
{
    event(link, NATS_LINK_ERROR, NULL, text);
}

/* link->opts from o. The CA bundle is needed only while cnats parses it into its SSL_CTX. */
static int link_options(struct nats_link *link, const struct nats_link_options *o, char **ret_error)
{
    int r = o->creds_file ? creds_check(o->creds_file, ret_error) : 0;
    if (r < 0)
        return r;
    _cleanup_wipe_free_ char *ca = NULL;
    r = ca_bundle(o->ca_dir, ca_warn, link, &ca, ret_error);
    if (r < 0)
        return r;
    /* NOLINTBEGIN(clang-analyzer-unix.Malloc): _cleanup_wipe_free_ frees ca; clang 14 does not model cleanup
     */
    natsStatus s = natsOptions_Create(&link->opts);
    if (s == NATS_OK)
        s = options_servers(link->opts, o);
    if (s == NATS_OK)
        s = options_security(link->opts, ca, o->creds_file);
    if (s == NATS_OK)
        s = options_liveness(link->opts, o);
    if (s == NATS_OK)
        s = options_callbacks(link->opts, link);
    if (s != NATS_OK)
        return error_set(ret_error, status_errno(s), "NATS options: %s (%s)", natsStatus_GetText(s),
                         nats_GetLastError(NULL));
    return 0;
    /* NOLINTEND(clang-analyzer-unix.Malloc) */
}

/* The first attempt failed (s, text: its status and cnats' message): tell the caller once what went wrong, in
 * terms of what to fix. Once cnats retries in the background it only ever says "No server available for
 * connection", whatever the cause. */
static void diagnose(struct nats_link *link, const struct nats_link_options *o, natsStatus s,
                     const char *text)
{
    if (!text || !*text)
        text = natsStatus_GetText(s);
    char line[1024];
    /* the fix first, cnats' details last: `tagent status` cuts long messages */
    if (s == NATS_SSL_ERROR || strstr(text, "SSL") || strstr(text, "certificate"))
        snprintf(
            line, sizeof(line),
            "TLS verification of the NATS server failed: the CA certificate that signed the NATS server's "
            "certificate belongs in %s (%s)",
            o->ca_dir, text);
    else if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED || strstr(text, "uthorization"))
        snprintf(line, sizeof(line),
                 "the NATS server rejected the credentials in %s: re-run `tagent setup download-credential "
                 "--force` (%s)",
                 o->creds_file ? o->creds_file : "(none given)", text);
    else
        snprintf(line, sizeof(line), "no NATS server reachable yet; retrying (%s)", text);
    event(link, NATS_LINK_ERROR, NULL, line);
}

/* Connects and subscribes. The first attempt is made without RetryOnFailedConnect, so that its failure
 * comes back with its cause (TLS, credentials, nothing listening) for diagnose(); then cnats is left to
 * keep trying (NATS_NOT_YET_CONNECTED, and on_connected when a server takes it). */
static int link_connect(struct nats_link *link, const struct nats_link_options *o, char **ret_error)
{
    natsStatus s = natsConnection_Connect(&link->nc, link->opts);
    if (s != NATS_OK) {
        link->nc = NULL;
        diagnose(link, o, s, nats_GetLastError(NULL));
        s = natsOptions_SetRetryOnFailedConnect(link->opts, true, on_connected, link);
        if (s == NATS_OK)
            s = natsConnection_Connect(&link->nc, link->opts);
    } else
        event(link, NATS_LINK_CONNECTED, link->nc, NULL);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        link->nc = NULL;
        return error_set(ret_error, status_errno(s), "NATS connect to %s%s: %s (%s)", o->servers[0],
                         o->n_servers > 1 ? " and the other servers" : "", natsStatus_GetText(s),
                         nats_GetLastError(NULL));
    }
    s = natsConnection_Subscribe(&link->sub, link->nc, o->subject, on_msg, link);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(link->sub, 65536, 256 * 1024 * 1024);
    if (s != NATS_OK)
        return error_set(ret_error, status_errno(s), "NATS subscribe %s: %s (%s)", o->subject,
                         natsStatus_GetText(s), nats_GetLastError(NULL));
    return 0;
}

int nats_link_open(const struct nats_link_options *o, nats_request_cb on_request, nats_event_cb on_event,
                   void *userdata, nats_link_t **ret_link, char **ret_error)
{
    if (!o || !o->servers || o->n_servers == 0 || !o->subject || !o->ca_dir || !on_request || !ret_link)
        return error_set(ret_error, -EINVAL, "NATS: no servers, subject or CA directory given");
    if (o->n_servers > NATS_MAX_SERVERS)
        return error_set(ret_error, -EINVAL, "NATS: too many servers (%zu)", o->n_servers);

    _cleanup_(link_freep) struct nats_link *link = calloc(1, sizeof(*link));
    if (!link)
        return error_set(ret_error, -ENOMEM, "out of memory");
    link->on_request = on_request;
    link->on_event = on_event;
    link->userdata = userdata;
    int r = link_options(link, o, ret_error);
    if (r == 0)
        r = link_connect(link, o, ret_error);
    if (r == 0)
        *ret_link = TAKE_PTR(link);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): link_freep frees it; clang 14 does not model cleanup */
    return r;
}

/* The bytes the headers take on the wire: "NATS/1.0\r\n", "key: value\r\n" each, "\r\n". */
static size_t headers_size(const struct nats_header *headers, size_t n)
{
    size_t size = n ? 12 : 0;
    for (size_t i = 0; i < n; i++)
        size += strlen(headers[i].key) + 2 + strlen(headers[i].value) + 2;
    return size;
}

int nats_link_publish(nats_link_t *link, const char *subject, const void *data, size_t len,
                      const struct nats_header *headers, size_t n_headers, char **ret_error)
{
    for (size_t i = 0; i < n_headers; i++)
        if (strpbrk(headers[i].key, "\r\n: ") || strpbrk(headers[i].value, "\r\n"))
            return error_set(ret_error, -EINVAL, "header %s: a key or value with a line break",
                             headers[i].key);
    size_t total = len + headers_size(headers, n_headers);
    int64_t max = natsConnection_GetMaxPayload(link->nc);
    if (max > 0 && (int64_t)total > max)
        return error_set(ret_error, -EMSGSIZE, "reply of %zu bytes exceeds the server's max payload %lld",
                         total, (long long)max);
    if (total > INT32_MAX)
        return error_set(ret_error, -EMSGSIZE, "reply of %zu bytes is too large", total);
    natsStatus s;
    if (n_headers == 0)
        s = natsConnection_Publish(link->nc, subject, data, (int)len);
    else {
        natsMsg *msg = NULL;
        s = natsMsg_Create(&msg, subject, NULL, data, (int)len);
        for (size_t i = 0; s == NATS_OK && i < n_headers; i++)
            s = natsMsgHeader_Set(msg, headers[i].key, headers[i].value);
        if (s == NATS_OK)
            s = natsConnection_PublishMsg(link->nc, msg);
        natsMsg_Destroy(msg);
    }
    if (s != NATS_OK)
        return error_set(ret_error, status_errno(s), "publish to %s: %s", subject, natsStatus_GetText(s));
    return 0;
}

int64_t nats_link_max_payload(nats_link_t *link)
{
    return link && link->nc ? natsConnection_GetMaxPayload(link->nc) : 0;
}

bool nats_link_connected(nats_link_t *link)
{
    return link && link->nc && natsConnection_Status(link->nc) == NATS_CONN_STATUS_CONNECTED;
}

bool nats_link_connected_url(nats_link_t *link, char *url, size_t size)
{
    return nats_link_connected(link) && natsConnection_GetConnectedUrl(link->nc, url, size) == NATS_OK;
}

bool nats_link_closed(nats_link_t *link)
{
    return !link || atomic_load(&link->closed);
}

int nats_link_stop(nats_link_t *link, long timeout_ms)
{
    if (!link || !link->sub)
        return 0;
    /* one timeout for both calls: the drain's wait is what is left of it */
    int64_t until = nats_Now() + timeout_ms;
    natsStatus s = natsSubscription_DrainTimeout(link->sub, timeout_ms);
    if (s == NATS_OK)
        s = natsSubscription_WaitForDrainCompletion(link->sub, until > nats_Now() ? until - nats_Now() : 1);
    if (s != NATS_OK)
        natsSubscription_Unsubscribe(link->sub);
    return status_errno(s);
}

void nats_link_close(nats_link_t *link, long timeout_ms)
{
    if (!link)
        return;
    if (link->nc && !atomic_load(&link->closed)) {
        int64_t until = nats_Now() + timeout_ms;
        natsConnection_FlushTimeout(link->nc, timeout_ms);
        natsConnection_Close(link->nc);
        /* the closed callback still gets link: wait for it (it comes from cnats' callback thread), within
         * what is left of timeout_ms but at least 100 ms, since link is freed below */
        for (int i = 0; !atomic_load(&link->closed) && (i < 10 || nats_Now() < until); i++)
            nats_Sleep(10);
    }
    link_free(link);
}

void nats_library_close(long timeout_ms)
{
    nats_CloseAndWait(timeout_ms > 0 ? timeout_ms : 1); /* 0 would mean "wait for ever" */
    OPENSSL_cleanup();
}
