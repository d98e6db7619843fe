/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * https_request(): one libcurl easy handle per call, retried in place. Trust and pinning live in https_tls.c,
 * the body buffer in https_body.c, and libcurl itself is loaded on the first call (https_curl.c).
 */
#include "https_internal.h"

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

/* Everything one call needs, released in one place. */
struct request {
    const char *method, *url, *bearer;
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

static int headers_build(struct request *rq, const char *const *headers, bool has_body, char **ret_why)
{
    bool content_type = false;
    char *auth = NULL;
    int r = 0;

    for (size_t i = 0; headers && headers[i]; i++) {
        if (!strchr(headers[i], ':') || has_line_break(headers[i])) {
            if (asprintf(ret_why, "header %zu is not one \"Name: value\" line", i) < 0)
                *ret_why = NULL;
            return -EINVAL;
        }
        content_type |= header_is(headers[i], "Content-Type");
        if ((r = headers_append(rq, headers[i])) < 0)
            return r;
    }
    if (rq->bearer) {
        size_t n = strlen("Authorization: Bearer ") + strlen(rq->bearer) + 1;
        if (has_line_break(rq->bearer) || !*rq->bearer) {
            *ret_why = strdup("the bearer token is empty or holds a line break");
            return -EINVAL;
        }
        auth = malloc(n);
        if (!auth)
            return -ENOMEM;
        snprintf(auth, n, "Authorization: Bearer %s", rq->bearer);
        r = headers_append(rq, auth);
        OPENSSL_cleanse(auth, n);
        free(auth);
        if (r < 0)
            return r;
    }
    /* Go sends neither: no "Expect: 100-continue" round trip, no form-encoded Content-Type made up by
     * libcurl. */
    if ((r = headers_append(rq, "Expect:")) < 0)
        return r;
    if (has_body && !content_type && (r = headers_append(rq, "Content-Type:")) < 0)
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

static CURLcode setup(struct request *rq, const struct https_options *opts, const void *body, size_t body_len,
                      bool has_body, size_t max_body)
{
    CURL *c = rq->curl;
    CURLcode cc = CURLE_OK;

#define SET(opt, val)                                                                                        \
    do {                                                                                                     \
        if (cc == CURLE_OK)                                                                                  \
            cc = rq->api->easy_setopt(c, opt, val);                                                          \
    } while (0)
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
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);

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
        rq->api->easy_getinfo(c, CURLINFO_CAINFO, &cainfo);
        rq->api->easy_getinfo(c, CURLINFO_CAPATH, &capath);
        if (cainfo && access(cainfo, R_OK) != 0)
            SET(CURLOPT_CAINFO, (char *)NULL);
        if (capath && access(capath, R_OK | X_OK) != 0)
            SET(CURLOPT_CAPATH, (char *)NULL);
    }
#endif
    SET(CURLOPT_SSL_CTX_FUNCTION, https_tls_ctx_setup);
    SET(CURLOPT_SSL_CTX_DATA, &rq->tls);

    if (strcmp(rq->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "GET") == 0 && !has_body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        if (has_body) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
            SET(CURLOPT_POSTFIELDS, body_len ? body : "");
        }
        if (strcmp(rq->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, rq->method);
    }
#undef SET
    return cc;
}

static bool retryable(CURLcode cc, const struct request *rq)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return true;
    case CURLE_SSL_CONNECT_ERROR:
        /* A handshake that broke, not one that judged the certificate. */
        return !rq->tls.pin_mismatch && rq->tls.verify_error == 0;
    default:
        return false;
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

/* The error of the last attempt, in words a person can act on. */
static int fail_transfer(struct request *rq, CURLcode cc, unsigned attempts, size_t max_body,
                         const char *pin_name, char **ret_error)
{
    const char *detail;
    const char *leaf = rq->tls.leaf_sha384[0] ? rq->tls.leaf_sha384 : "unknown";
    char tries[48] = "", each[48] = "", buf[32];
    long os_errno = 0;
    int r;

    /* libcurl's words sometimes end in a space or a newline. */
    for (size_t n = strlen(rq->errbuf); n > 0 && isspace((unsigned char)rq->errbuf[n - 1]); n--)
        rq->errbuf[n - 1] = '\0';
    detail = rq->errbuf[0] ? rq->errbuf : rq->api->easy_strerror(cc);
    if (attempts > 1) {
        snprintf(tries, sizeof(tries), " after %u attempts", attempts);
        snprintf(each, sizeof(each), " in each of %u attempts", attempts);
    }

    if (rq->tls.pin_mismatch) {
        if (pin_name)
            return fail(rq, ret_error, -EKEYREJECTED, "the server's certificate SHA-384 is %s but %s says %s",
                        leaf, pin_name, rq->tls.pin);
        return fail(rq, ret_error, -EKEYREJECTED,
                    "the server's certificate SHA-384 is %s but the pinned one is %s", leaf, rq->tls.pin);
    }
    /* Our own verdict first: libcurl versions differ in the code they give a failed certificate check. */
    if (rq->tls.verify_error) {
        char *trust = https_tls_describe_trust(&rq->tls);
        r = fail(rq, ret_error, -EPERM,
                 "the server's certificate is not trusted: %s (its SHA-384 is %s; trusting %s)",
                 X509_verify_cert_error_string(rq->tls.verify_error), leaf, trust ? trust : "?");
        free(trust);
        return r;
    }
    if (rq->body.too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return fail(rq, ret_error, -EFBIG, "response larger than %zu bytes", max_body);

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
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t tls_done = 0;
        rq->api->easy_getinfo(rq->curl, CURLINFO_APPCONNECT_TIME_T, &tls_done);
        if (tls_done == 0) {
            long limit = rq->connect_timeout_ms < rq->timeout_ms ? rq->connect_timeout_ms : rq->timeout_ms;
            return fail(rq, ret_error, -ETIMEDOUT, "timed out after %s while connecting%s",
                        duration(limit, buf), each);
        }
        return fail(rq, ret_error, -ETIMEDOUT, "timed out after %s%s", duration(rq->timeout_ms, buf), each);
    }
    case CURLE_SSL_CONNECT_ERROR:
        /* OpenSSL's words rarely say it, but the usual cause is a server without TLS 1.3. */
        return fail(rq, ret_error, -EPROTO, "TLS handshake failed%s: %s (tagent needs TLS 1.3 or later)",
                    tries, detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return fail(rq, ret_error, -ECONNRESET, "connection lost%s: %s", tries, detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return fail(rq, ret_error, -EINVAL, "only https:// URLs are accepted");
    case CURLE_URL_MALFORMAT:
        return fail(rq, ret_error, -EINVAL, "not a valid URL: %s", detail);
    case CURLE_OUT_OF_MEMORY:
        return fail(rq, ret_error, -ENOMEM, "out of memory");
    default:
        return fail(rq, ret_error, -EIO, "%s%s", detail, tries);
    }
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

int https_request(const char *method, const char *url, const char *const *headers, const void *body,
                  size_t body_len, const struct https_options *opts, struct https_response *ret_response,
                  char **ret_error)
{
    static const struct https_options defaults = {0};
    struct request rq = {.method = method, .url = url};
    size_t max_body;
    bool has_body;
    char *why = NULL;
    const char *loaded_why = NULL;
    unsigned attempt = 0;
    CURLcode cc;
    int r;

    if (ret_error)
        *ret_error = NULL;
    if (!opts)
        opts = &defaults;
    rq.bearer = opts->bearer;
    if (!method_ok(method))
        return fail(&rq, ret_error, -EINVAL, "not an HTTP method");
    if (!url || strncasecmp(url, "https://", 8) != 0)
        return fail(&rq, ret_error, -EINVAL, "only https:// URLs are accepted");
    if (!ret_response || (!body && body_len) || opts->connect_timeout_ms < 0 || opts->timeout_ms < 0)
        return fail(&rq, ret_error, -EINVAL, "invalid arguments");
    rq.connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    rq.timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    if (max_body > SIZE_MAX / 2)
        max_body = SIZE_MAX / 2; /* room for the NUL and doubling in https_body.c */
    rq.body.max = max_body;
    has_body = body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0;

    if ((r = https_curl_load(&rq.api, &loaded_why)) < 0)
        return fail(&rq, ret_error, r, "%s", loaded_why);

    if ((r = https_tls_init(&rq.tls, opts, &why)) < 0) {
        fail(&rq, ret_error, r, "%s", why ? why : "out of memory");
        goto out;
    }
    if ((r = headers_build(&rq, headers, has_body, &why)) < 0) {
        fail(&rq, ret_error, r, "%s", why ? why : "out of memory");
        goto out;
    }
    if (noproxy_build(&rq) < 0 || !(rq.curl = rq.api->easy_init())) {
        r = fail(&rq, ret_error, -ENOMEM, "out of memory");
        goto out;
    }
    cc = setup(&rq, opts, body, body_len, has_body, max_body);
    if (cc != CURLE_OK) {
        /* CURLE_NOT_BUILT_IN: the SSL_CTX hook needs libcurl's OpenSSL flavour (libcurl4-openssl). */
        r = fail(&rq, ret_error, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -ENOTSUP, "libcurl cannot do this: %s",
                 rq.api->easy_strerror(cc));
        goto out;
    }

    for (;;) {
        long status = 0;

        https_body_reset(&rq.body);
        rq.errbuf[0] = '\0';
        rq.tls.pin_mismatch = false;
        rq.tls.verify_error = 0;
        cc = rq.api->easy_perform(rq.curl);
        attempt++;
        if (cc == CURLE_OK) {
            rq.api->easy_getinfo(rq.curl, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 500 && status <= 599 && attempt <= opts->retries) {
                backoff_sleep(attempt - 1);
                continue;
            }
            if ((r = response_fill(&rq, ret_response)) < 0)
                fail(&rq, ret_error, r, "out of memory");
            goto out;
        }
        if (rq.body.too_large || !retryable(cc, &rq) || attempt > opts->retries)
            break;
        backoff_sleep(attempt - 1);
    }
    r = fail_transfer(&rq, cc, attempt, max_body, opts->pin_name, ret_error);

out:
    if (rq.curl)
        rq.api->easy_cleanup(rq.curl);
    headers_free(&rq);
    https_body_reset(&rq.body);
    https_tls_done(&rq.tls);
    free(rq.noproxy);
    free(why);
    return r;
}
