/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * https_request(): one libcurl easy handle per call, retried in place. Trust and pinning live in https_tls.c,
 * the body buffer in https_body.c, and libcurl itself is loaded on the first call (https_curl.c).
 */
#include "https_internal.h"

#include "cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS         60000L
#define DEFAULT_MAX_BODY           ((size_t)16 << 20)
#define BACKOFF_FIRST_MS           500L
#define BACKOFF_MAX_MS             30000L
/* Loopback never goes through a proxy: tests and local services would otherwise leak to one. */
#define LOOPBACK_NOPROXY "127.0.0.1,localhost,::1"

/* Everything one call needs, released in one place (request_done). */
struct request {
    const char *method, *url, *bearer;
    const struct https_options *opts;
    const void *send; /* the request body, send_len bytes */
    size_t send_len;
    bool has_body; /* a body goes out: POST, PUT, PATCH, or any method given bytes */
    long connect_timeout_ms, timeout_ms;
    const struct https_curl *api; /* NULL until libcurl is loaded */
    CURL *curl;
    struct curl_slist *headers;
    char *noproxy;
    char errbuf[CURL_ERROR_SIZE];
    struct https_tls tls;
    struct https_body body;
};

static int fail(struct request *rq, char **ret_error, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "<METHOD> <url>: <what>", with the token taken out should anything have echoed it. */
static int fail(struct request *rq, char **ret_error, int r, const char *fmt, ...)
{
    char *what = NULL, *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    if (what && asprintf(&msg, "%s %s: %s", rq->method ? rq->method : "?", rq->url ? rq->url : "?", what) < 0)
        msg = NULL;
    free(what);
    https_redact(&msg, rq->bearer);
    if (ret_error)
        *ret_error = msg;
    else
        free(msg);
    return r;
}

static bool method_ok(const char *m)
{
    if (!m || !*m)
        return false;
    for (; *m; m++)
        if (!isupper((unsigned char)*m))
            return false;
    return true;
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static bool header_is(const char *header, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(header, name, n) == 0 && header[n] == ':';
}

static int headers_append(struct request *rq, const char *line)
{
    struct curl_slist *l = rq->api->slist_append(rq->headers, line);
    if (!l)
        return -ENOMEM;
    rq->headers = l;
    return 0;
}

/* libcurl copies header strings into list nodes; wipe them all before freeing, as one holds the token. */
static void headers_free(struct request *rq)
{
    if (!rq->headers)
        return;
    for (struct curl_slist *l = rq->headers; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    rq->api->slist_free_all(rq->headers);
    rq->headers = NULL;
}

/* "Authorization: Bearer <token>"; the line is wiped once libcurl has its copy. */
static int headers_add_bearer(struct request *rq, char **ret_error)
{
    _cleanup_wipe_free_ char *auth = NULL;

    if (has_line_break(rq->bearer) || !*rq->bearer) {
        *ret_error = strdup("the bearer token is empty or holds a line break");
        return -EINVAL;
    }
    if (asprintf(&auth, "Authorization: Bearer %s", rq->bearer) < 0) {
        auth = NULL;
        return -ENOMEM;
    }
    return headers_append(rq, auth);
}

static int headers_build(struct request *rq, const char *const *headers, char **ret_error)
{
    bool content_type = false;
    int r = 0;

    for (size_t i = 0; headers && headers[i]; i++) {
        if (!strchr(headers[i], ':') || has_line_break(headers[i])) {
            if (asprintf(ret_error, "header %zu is not one \"Name: value\" line", i) < 0)
                *ret_error = NULL;
            return -EINVAL;
        }
        content_type |= header_is(headers[i], "Content-Type");
        if ((r = headers_append(rq, headers[i])) < 0)
            return r;
    }
    if (rq->bearer && (r = headers_add_bearer(rq, ret_error)) < 0)
        return r;
    /* Go sends neither: no "Expect: 100-continue" round trip, no form-encoded Content-Type made up by
     * libcurl. */
    if ((r = headers_append(rq, "Expect:")) < 0)
        return r;
    if (rq->has_body && !content_type && (r = headers_append(rq, "Content-Type:")) < 0)
        return r;
    return 0;
}

/* libcurl's default is to read no_proxy itself, but CURLOPT_NOPROXY replaces it; keep it and add loopback. */
static int noproxy_build(struct request *rq)
{
    const char *env = getenv("no_proxy");
    int r;

    if (!env || !*env)
        env = getenv("NO_PROXY");
    if (env && strcmp(env, "*") == 0)
        r = asprintf(&rq->noproxy, "*"); /* libcurl honours "*" only as the whole list */
    else if (env && *env)
        r = asprintf(&rq->noproxy, "%s,%s", env, LOOPBACK_NOPROXY);
    else
        r = asprintf(&rq->noproxy, "%s", LOOPBACK_NOPROXY);
    if (r < 0) {
        rq->noproxy = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Sets one libcurl option unless an earlier one failed: cc and rq are the calling function's. */
#define SET(opt, val)                                                                                        \
    do {                                                                                                     \
        if (cc == CURLE_OK)                                                                                  \
            cc = rq->api->easy_setopt(rq->curl, opt, val);                                                   \
    } while (0)

/* URL, protocol, timeouts, proxies, headers and where the response goes. */
static CURLcode setup_transfer(struct request *rq)
{
    CURLcode cc = CURLE_OK;

    SET(CURLOPT_URL, rq->url);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM around name resolution */
    SET(CURLOPT_VERBOSE, 0L);  /* verbose output would show the Authorization header */
    SET(CURLOPT_ERRORBUFFER, rq->errbuf);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOPROXY, rq->noproxy);
    SET(CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    SET(CURLOPT_HTTPHEADER, rq->headers);
    SET(CURLOPT_WRITEFUNCTION, https_body_write);
    SET(CURLOPT_WRITEDATA, &rq->body);
    /* Refuses a declared Content-Length over the limit before reading any of it; https_body_write() catches
     * chunked bodies. */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->body.max);
    return cc;
}

/* TLS 1.3, what is trusted, and the hook (https_tls.c) that pins and verifies. */
static CURLcode setup_tls(struct request *rq)
{
    const struct https_options *opts = rq->opts;
    CURLcode cc = CURLE_OK;

    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    SET(CURLOPT_SSL_VERIFYPEER, opts->no_verify ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, opts->no_verify ? 0L : 2L);
    /* A resumed session skips the certificate, so neither the pin nor server_sha384 could be checked. */
    SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700
    /* libcurl may cache and share the CA store; https_tls_ctx_setup() adds to it, so keep it private. */
    SET(CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
    if (!opts->system_ca) {
        /* NULL switches off libcurl's built-in bundle and directory: only ca_dir is trusted. */
        SET(CURLOPT_CAINFO, (char *)NULL);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
#if LIBCURL_VERSION_NUM >= 0x075400 /* CURLINFO_CAINFO */
    else {
        /* Like Go's SystemCertPool, a system store that is not there (a minimal image without
         * ca-certificates) is empty, not an error: libcurl would refuse every connection over it. */
        char *cainfo = NULL, *capath = NULL;
        rq->api->easy_getinfo(rq->curl, CURLINFO_CAINFO, &cainfo);
        rq->api->easy_getinfo(rq->curl, CURLINFO_CAPATH, &capath);
        if (cainfo && access(cainfo, R_OK) != 0)
            SET(CURLOPT_CAINFO, (char *)NULL);
        if (capath && access(capath, R_OK | X_OK) != 0)
            SET(CURLOPT_CAPATH, (char *)NULL);
    }
#endif
    SET(CURLOPT_SSL_CTX_FUNCTION, https_tls_ctx_setup);
    SET(CURLOPT_SSL_CTX_DATA, &rq->tls);
    return cc;
}

/* The method, and the body when one goes out. */
static CURLcode setup_method(struct request *rq)
{
    CURLcode cc = CURLE_OK;

    if (strcmp(rq->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "GET") == 0 && !rq->has_body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        if (rq->has_body) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->send_len);
            SET(CURLOPT_POSTFIELDS, rq->send_len ? rq->send : "");
        }
        if (strcmp(rq->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, rq->method);
    }
    return cc;
}
#undef SET

static bool retryable(CURLcode cc, const struct request *rq)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return true;
    case CURLE_SSL_CONNECT_ERROR:
        /* A handshake that broke, not one that judged the certificate. */
        return !rq->tls.pin_mismatch && rq->tls.verify_error == 0;
    default: return false;
    }
}

static void backoff_sleep(unsigned attempt)
{
    long ms = BACKOFF_FIRST_MS;
    struct timespec ts;

    for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *duration(long ms, char buf[static 32])
{
    if (ms % 1000 == 0)
        snprintf(buf, 32, "%ld s", ms / 1000);
    else
        snprintf(buf, 32, "%ld ms", ms);
    return buf;
}

/* A transfer that timed out: while connecting (no TLS handshake completed) or later. */
static int fail_timeout(struct request *rq, const char *each, char **ret_error)
{
    curl_off_t tls_done = 0;
    char buf[32];

    rq->api->easy_getinfo(rq->curl, CURLINFO_APPCONNECT_TIME_T, &tls_done);
    if (tls_done == 0) {
        long limit = rq->connect_timeout_ms < rq->timeout_ms ? rq->connect_timeout_ms : rq->timeout_ms;
        return fail(rq, ret_error, -ETIMEDOUT, "timed out after %s while connecting%s", duration(limit, buf),
                    each);
    }
    return fail(rq, ret_error, -ETIMEDOUT, "timed out after %s%s", duration(rq->timeout_ms, buf), each);
}

/* libcurl's code for the last attempt, with libcurl's words. */
static int fail_curl(struct request *rq, CURLcode cc, unsigned attempts, const char *leaf, char **ret_error)
{
    const char *detail;
    char tries[48] = "", each[48] = "";
    long os_errno = 0;

    /* libcurl's words sometimes end in a space or a newline. */
    for (size_t n = strlen(rq->errbuf); n > 0 && isspace((unsigned char)rq->errbuf[n - 1]); n--)
        rq->errbuf[n - 1] = '\0';
    detail = rq->errbuf[0] ? rq->errbuf : rq->api->easy_strerror(cc);
    if (attempts > 1) {
        snprintf(tries, sizeof(tries), " after %u attempts", attempts);
        snprintf(each, sizeof(each), " in each of %u attempts", attempts);
    }

    switch (cc) {
    case CURLE_SSL_CACERT_BADFILE:
        return fail(rq, ret_error, -EIO, "cannot load the CA certificates: %s", detail);
    case CURLE_PEER_FAILED_VERIFICATION: /* the chain was fine (or not checked); the host name was not */
        return fail(rq, ret_error, -EPERM,
                    "the server's certificate is not for this host: %s (its SHA-384 is %s)", detail, leaf);
    case CURLE_COULDNT_RESOLVE_HOST:
        return fail(rq, ret_error, -EHOSTUNREACH, "cannot resolve the host name%s: %s", tries, detail);
    case CURLE_COULDNT_CONNECT:
        rq->api->easy_getinfo(rq->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED || os_errno == 0)
            return fail(rq, ret_error, -ECONNREFUSED, "connection refused%s", tries);
        return fail(rq, ret_error, -(int)os_errno, "cannot connect%s: %s", tries, strerror((int)os_errno));
    case CURLE_OPERATION_TIMEDOUT: return fail_timeout(rq, each, ret_error);
    case CURLE_SSL_CONNECT_ERROR:
        /* OpenSSL's words rarely say it, but the usual cause is a server without TLS 1.3. */
        return fail(rq, ret_error, -EPROTO, "TLS handshake failed%s: %s (tagent needs TLS 1.3 or later)",
                    tries, detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return fail(rq, ret_error, -ECONNRESET, "connection lost%s: %s", tries, detail);
    case CURLE_UNSUPPORTED_PROTOCOL: return fail(rq, ret_error, -EINVAL, "only https:// URLs are accepted");
    case CURLE_URL_MALFORMAT: return fail(rq, ret_error, -EINVAL, "not a valid URL: %s", detail);
    case CURLE_OUT_OF_MEMORY: return fail(rq, ret_error, -ENOMEM, "out of memory");
    default: return fail(rq, ret_error, -EIO, "%s%s", detail, tries);
    }
}

/* The error of the last attempt, in words a person can act on: our own verdicts on the certificate and the
 * body size first, then libcurl's. */
static int fail_transfer(struct request *rq, CURLcode cc, unsigned attempts, char **ret_error)
{
    const char *leaf = rq->tls.leaf_sha384[0] ? rq->tls.leaf_sha384 : "unknown";
    const char *pin_name = rq->opts->pin_name;

    if (rq->tls.pin_mismatch) {
        if (pin_name)
            return fail(rq, ret_error, -EKEYREJECTED, "the server's certificate SHA-384 is %s but %s says %s",
                        leaf, pin_name, rq->tls.pin);
        return fail(rq, ret_error, -EKEYREJECTED,
                    "the server's certificate SHA-384 is %s but the pinned one is %s", leaf, rq->tls.pin);
    }
    /* Our own verdict before libcurl's code: libcurl versions differ in the code for a failed check. */
    if (rq->tls.verify_error) {
        _cleanup_free_ char *trust = https_tls_describe_trust(&rq->tls);
        return fail(rq, ret_error, -EPERM,
                    "the server's certificate is not trusted: %s (its SHA-384 is %s; trusting %s)",
                    X509_verify_cert_error_string(rq->tls.verify_error), leaf, trust ? trust : "?");
    }
    if (rq->body.too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return fail(rq, ret_error, -EFBIG, "response larger than %zu bytes", rq->body.max);
    return fail_curl(rq, cc, attempts, leaf, ret_error);
}

static int response_fill(struct request *rq, struct https_response *ret_response)
{
    struct https_response resp = {0};
    char *ct = NULL;

    rq->api->easy_getinfo(rq->curl, CURLINFO_RESPONSE_CODE, &resp.status);
    if (rq->api->easy_getinfo(rq->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct &&
        !(resp.content_type = strdup(ct)))
        goto oom;
    if (rq->tls.leaf_sha384[0] && !(resp.server_sha384 = strdup(rq->tls.leaf_sha384)))
        goto oom;
    if (https_body_take(&rq->body, &resp.body, &resp.body_len) < 0)
        goto oom;
    *ret_response = resp;
    return 0;
oom:
    https_response_free(&resp);
    return -ENOMEM;
}

/* Everything the one exit of https_request() releases; an empty request is fine. */
static void request_done(struct request *rq)
{
    if (rq->curl)
        rq->api->easy_cleanup(rq->curl);
    rq->curl = NULL;
    headers_free(rq);
    https_body_reset(&rq->body);
    https_tls_done(&rq->tls);
    free(rq->noproxy);
    rq->noproxy = NULL;
}

/* What is wrong with the arguments, or NULL. */
static const char *request_args_problem(const struct request *rq, bool has_response)
{
    const struct https_options *opts = rq->opts;

    if (!method_ok(rq->method))
        return "not an HTTP method";
    if (!rq->url || strncasecmp(rq->url, "https://", 8) != 0)
        return "only https:// URLs are accepted";
    if (!has_response || (!rq->send && rq->send_len) || opts->connect_timeout_ms < 0 || opts->timeout_ms < 0)
        return "invalid arguments";
    return NULL;
}

/* The arguments checked, and the limits the options leave to their defaults. */
static int request_init(struct request *rq, bool has_response, char **ret_error)
{
    const struct https_options *opts = rq->opts;
    const char *problem;

    rq->bearer = opts->bearer;
    if ((problem = request_args_problem(rq, has_response))) {
        /* -EINVAL spelled out, not fail()'s result: clang-analyzer 14 does not follow a variadic call's
         * return value, and would go on to use a NULL ret_response */
        fail(rq, ret_error, -EINVAL, "%s", problem);
        return -EINVAL;
    }
    rq->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    rq->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    rq->body.max = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    if (rq->body.max > SIZE_MAX / 2)
        rq->body.max = SIZE_MAX / 2; /* room for the NUL and doubling in https_body.c */
    rq->has_body = rq->send_len > 0 || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0 ||
                   strcmp(rq->method, "PATCH") == 0;
    return 0;
}

/* What comes before the first attempt: libcurl loaded, trust and headers built, the handle set up. */
static int request_prepare(struct request *rq, const char *const *headers, char **ret_error)
{
    _cleanup_free_ char *why = NULL;
    CURLcode cc;
    int r;

    if ((r = https_curl_load(&rq->api, &why)) < 0 || (r = https_tls_init(&rq->tls, rq->opts, &why)) < 0 ||
        (r = headers_build(rq, headers, &why)) < 0)
        return fail(rq, ret_error, r, "%s", why ? why : "out of memory");
    if (noproxy_build(rq) < 0 || !(rq->curl = rq->api->easy_init()))
        return fail(rq, ret_error, -ENOMEM, "out of memory");
    if ((cc = setup_transfer(rq)) == CURLE_OK && (cc = setup_tls(rq)) == CURLE_OK)
        cc = setup_method(rq);
    /* CURLE_NOT_BUILT_IN: the SSL_CTX hook needs libcurl's OpenSSL flavour (libcurl4-openssl). */
    if (cc != CURLE_OK)
        return fail(rq, ret_error, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -ENOTSUP,
                    "libcurl cannot do this: %s", rq->api->easy_strerror(cc));
    return 0;
}

/* One attempt, from a clean slate: nothing of an earlier attempt's body or verdicts remains. */
static CURLcode request_attempt(struct request *rq)
{
    https_body_reset(&rq->body);
    rq->errbuf[0] = '\0';
    rq->tls.pin_mismatch = false;
    rq->tls.verify_error = 0;
    return rq->api->easy_perform(rq->curl);
}

/* Attempts until a response that is not a 5xx with retries left, or an error not worth retrying. */
static int request_perform(struct request *rq, struct https_response *ret_response, char **ret_error)
{
    unsigned attempt = 0;
    CURLcode cc;
    int r;

    for (;;) {
        long status = 0;

        cc = request_attempt(rq);
        attempt++;
        if (cc == CURLE_OK) {
            rq->api->easy_getinfo(rq->curl, CURLINFO_RESPONSE_CODE, &status);
            if (status < 500 || status > 599 || attempt > rq->opts->retries)
                break;
        } else if (rq->body.too_large || !retryable(cc, rq) || attempt > rq->opts->retries) {
            return fail_transfer(rq, cc, attempt, ret_error);
        }
        backoff_sleep(attempt - 1);
    }
    if ((r = response_fill(rq, ret_response)) < 0)
        return fail(rq, ret_error, r, "out of memory");
    return 0;
}

int https_request(const char *method, const char *url, const char *const *headers, const void *body,
                  size_t body_len, const struct https_options *opts, struct https_response *ret_response,
                  char **ret_error)
{
    static const struct https_options defaults = {0};
    _cleanup_(request_done) struct request rq = {
        .method = method, .url = url, .opts = opts ? opts : &defaults, .send = body, .send_len = body_len};
    int r;

    if (ret_error)
        *ret_error = NULL;
    r = request_init(&rq, ret_response != NULL, ret_error);
    if (r == 0)
        r = request_prepare(&rq, headers, ret_error);
    if (r == 0)
        r = request_perform(&rq, ret_response, ret_error);
    return r;
}
