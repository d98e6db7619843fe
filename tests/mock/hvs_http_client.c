/* SPDX-License-Identifier: BSD-3-Clause */
/* HVS's trust-agent client over HTTPS and what its connector concludes (see hvs_http_client.h). */
#include "hvs_http_client.h"

#include "go_unmarshal.h"
#include "go_xml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

struct hvs_http {
    CURL *curl;
    char *base; /* https://host:port/v2 */
    char *token_file;
    char *token;
    int timeout_ms;
    long connections;           /* connections curl opened, over all requests */
    bool closing;               /* the last answer said "Connection: close" */
    char www_authenticate[600]; /* the last answer's WWW-Authenticate value, "" when it had none */
};

struct buf {
    char *data;
    size_t len;
};

int hvs_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void token_drop(struct hvs_http *h)
{
    if (h->token)
        OPENSSL_cleanse(h->token, strlen(h->token));
    free(h->token);
    h->token = NULL;
}

/* The token file's first line; HVS's "fetch a token from AAS". */
static int token_load(struct hvs_http *h, char *why, size_t why_len)
{
    token_drop(h);
    if (!h->token_file)
        return 0;
    FILE *f = fopen(h->token_file, "re");
    char line[8192];
    if (!f) {
        snprintf(why, why_len, "cannot open the token file %s: %s", h->token_file, strerror(errno));
        return -errno;
    }
    bool got = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[got ? strcspn(line, "\r\n") : 0] = '\0';
    if (!line[0]) {
        snprintf(why, why_len, "the token file %s is empty", h->token_file);
        return -EINVAL;
    }
    h->token = strdup(line);
    OPENSSL_cleanse(line, sizeof(line));
    return h->token ? 0 : -ENOMEM;
}

int hvs_http_new(const char *url, const char *ca_file, const char *token_file, int timeout_ms,
                 struct hvs_http **ret, char *why, size_t why_len)
{
    struct hvs_http *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    if (strncasecmp(url, "intel:", 6) == 0)
        url += 6;
    /* intel_host_connector_factory.go: "/v2" is appended unless the URL already holds it */
    if (asprintf(&h->base, "%s%s", url, strstr(url, "/v2") ? "" : "/v2") < 0)
        h->base = NULL;
    h->token_file = token_file ? strdup(token_file) : NULL;
    h->timeout_ms = timeout_ms;
    h->curl = curl_easy_init();
    int r = !h->base || !h->curl || (token_file && !h->token_file) ? -ENOMEM : token_load(h, why, why_len);
    if (r == 0 && strncasecmp(url, "https://", 8) != 0) {
        snprintf(why, why_len,
                 "%s is not an https:// URL (HTTP mode's connection string is intel:https://...)", url);
        r = -EINVAL;
    }
    if (r == 0) {
        CURL *c = h->curl;
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
        curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
        curl_easy_setopt(c, CURLOPT_USERAGENT, "Go-http-client/1.1");
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    }
    if (r < 0) {
        hvs_http_free(h);
        return r;
    }
    *ret = h;
    return 0;
}

void hvs_http_free(struct hvs_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    token_drop(h);
    free(h->token_file);
    free(h->base);
    free(h);
}

long hvs_http_connections(const struct hvs_http *h)
{
    return h->connections;
}

static size_t on_data(char *p, size_t size, size_t n, void *closure)
{
    struct buf *b = closure;
    char *d = realloc(b->data, b->len + size * n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    d[b->len] = '\0';
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *closure)
{
    struct hvs_http *h = closure;
    static const char close_header[] = "connection: close";
    static const char auth_header[] = "www-authenticate:";
    if (size * n >= sizeof(close_header) - 1 && strncasecmp(p, close_header, sizeof(close_header) - 1) == 0)
        h->closing = true;
    if (size * n >= sizeof(auth_header) - 1 && strncasecmp(p, auth_header, sizeof(auth_header) - 1) == 0) {
        size_t len = size * n - (sizeof(auth_header) - 1);
        const char *v = p + sizeof(auth_header) - 1;
        while (len && (*v == ' ' || v[len - 1] == '\n' || v[len - 1] == '\r')) {
            if (*v == ' ')
                v++, len--;
            else
                len--;
        }
        snprintf(h->www_authenticate, sizeof(h->www_authenticate), "%.*s", (int)len, v);
    }
    return size * n;
}

int hvs_http_raw(struct hvs_http *h, const char *method, const char *path, const char *const *headers,
                 const char *body, long *ret_status, char **ret_body, size_t *ret_len, char *why,
                 size_t why_len)
{
    CURL *c = h->curl;
    struct curl_slist *list = NULL;
    struct buf out = {0};
    char *url = NULL, *auth = NULL;
    bool own_auth = false, own_accept = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        own_auth |= strncasecmp(headers[i], "Authorization:", 14) == 0;
        own_accept |= strncasecmp(headers[i], "Accept:", 7) == 0;
        list = curl_slist_append(list, headers[i]);
    }
    if (!own_accept) /* Go's client sends no Accept unless told to; curl would send "* / *" */
        list = curl_slist_append(list, "Accept:");
    list = curl_slist_append(list, "Expect:");
    if (!own_auth && h->token && asprintf(&auth, "Authorization: Bearer %s", h->token) >= 0)
        list = curl_slist_append(list, auth);
    if (asprintf(&url, "%s%s", h->base, path) < 0)
        url = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    h->closing = false;
    h->www_authenticate[0] = '\0';
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    }
    CURLcode rc = url ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    if (auth)
        OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s \"%s\": %s", method, url ? url : path, curl_easy_strerror(rc));
        free(url);
        free(out.data);
        return -EIO;
    }
    free(url);
    long opened = 0;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
    h->connections += opened;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
    *ret_body = out.data ? out.data : strdup("");
    *ret_len = out.len;
    return *ret_body ? 0 : -ENOMEM;
}

static void conclude(struct hvs_ta_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conclude(struct hvs_ta_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->outcome = HVS_ERROR;
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

static const struct call {
    const char *name, *method, *path, *header;
    const char *send_error;   /* client.go's wrap of SendRequest's error */
    const char *decode_error; /* ... and of the decode's */
} calls[] = {
    {"host", "GET", "/host", "Accept: application/json",
     "client/trust_agent_client:GetHostInfo() Error while getting response from Get host info from TA API",
     "client/trust_agent_client:GetHostInfo() Error while unmarshalling response from Get host info from TA "
     "API"},
    {"aik", "GET", "/aik", NULL,
     "client/trust_agent_client:GetAIK() Error while getting response from Get AIK API", NULL},
    {"quote", "POST", "/tpm/quote", "Content-Type: application/json",
     "client/trust_agent_client:GetTPMQuote() Error while getting response from Get host manifest from TA "
     "API",
     "client/trust_agent_client:GetTPMQuote() Error while unmarshalling response from Get host manifest from "
     "TA "
     "API"},
};

/* GetHTTPResponse's retry after a 401 sends the same *http.Request again, whose body buffer the first send
 * drained. Go's transport writes nothing and fails with "ContentLength=N with Body length 0"; it rewinds the
 * body (GetBody) and sends again only when that failed on a reused connection, which is the one the 401
 * came on only if it was kept alive and had no body (an unread body keeps the connection busy, and
 * SendRequest never reads or closes the 401 response). So the retry of a POST reaches the agent only after
 * an empty keep-alive 401. */
static bool post_retry_fails(const struct hvs_http *h, const struct call *c, const char *payload,
                             struct hvs_ta_result *r)
{
    if (!payload || (r->body_len == 0 && !h->closing))
        return false;
    conclude(r,
             "%s: clients/send_http_request.go:SendRequest() Error getting response: "
             "clients/send_http_request.go:GetHTTPResponse() Error from response: %s \"%s%s\": http: "
             "ContentLength=%zu with Body length 0",
             c->send_error, c->method, h->base, c->path, strlen(payload));
    return true;
}

/* SendRequest: the answer's body when the status is 200, 201 or 204, after one retry on 401. */
static bool send_request(struct hvs_http *h, const struct call *c, const char *payload,
                         struct hvs_ta_result *r)
{
    const char *headers[] = {c->header, NULL};
    char why[400] = "";
    for (r->attempts = 1;; r->attempts++) {
        free(r->body);
        r->body = NULL;
        if (hvs_http_raw(h, c->method, c->path, headers, payload, &r->http_status, &r->body, &r->body_len,
                         why, sizeof(why)) < 0) {
            r->http_status = 0;
            conclude(r,
                     "%s: clients/send_http_request.go:SendRequest() Error getting response: "
                     "clients/send_http_request.go:GetHTTPResponse() Error from response: %s",
                     c->send_error, why);
            return false;
        }
        r->replied = true;
        if (r->http_status != 401 || r->attempts == 2)
            break;
        if (token_load(h, why, sizeof(why)) < 0) {
            r->attempts++;
            conclude(r,
                     "%s: clients/send_http_request.go:SendRequest() Error getting response: "
                     "clients/send_http_request.go:GetHTTPResponse() Failed to add JWT token: %s",
                     c->send_error, why);
            return false;
        }
        if (post_retry_fails(h, c, payload, r)) {
            r->attempts++; /* HVS tried, nothing reached the agent */
            return false;
        }
    }
    if (r->http_status != 200 && r->http_status != 201 && r->http_status != 204) {
        conclude(r,
                 "%s: clients/send_http_request.go:SendRequest() Error getting response: "
                 "clients/send_http_request.go:SendRequest() Error from response: HTTP Status :%ld",
                 c->send_error, r->http_status);
        return false;
    }
    return true;
}

/* GetTPMQuote's xml.Unmarshal, then the connector's steps on what it decoded (the same as over NATS). */
static void judge_quote(const struct call *c, struct hvs_ta_result *r)
{
    char why[512];
    cJSON *decoded = NULL;
    int e = go_xml_quote_response(r->body, r->body_len, &decoded, why, sizeof(why));
    if (e < 0) {
        conclude(r, "%s: %s", c->decode_error, e == -ENOMEM ? "out of memory" : why);
        return;
    }
    r->json = cJSON_PrintUnformatted(decoded);
    cJSON_Delete(decoded);
    if (!r->json) {
        conclude(r, "out of memory");
        return;
    }
    struct hvs_ta_result steps = {0};
    hvs_ta_judge("quote-request", r->json, strlen(r->json), NULL, &steps);
    r->outcome = steps.outcome;
    memcpy(r->error, steps.error, sizeof(r->error));
}

void hvs_http_call(struct hvs_http *h, const char *name, const char *payload, struct hvs_ta_result *r)
{
    const struct call *c = NULL;
    char why[400];
    *r = (struct hvs_ta_result){.outcome = HVS_OK};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]) && !c; i++)
        if (strcmp(calls[i].name, name) == 0)
            c = &calls[i];
    if (!c) {
        conclude(r, "HVS's trust-agent client has no call \"%s\" (host, aik, quote)", name);
        return;
    }
    int64_t start = now_ms();
    /* json.NewEncoder(buffer).Encode(quoteRequest) ends the body with a newline */
    char *body = NULL;
    if (payload && asprintf(&body, "%s\n", payload) < 0)
        body = NULL;
    bool ok = send_request(h, c, body, r);
    free(body);
    r->ms = now_ms() - start;
    if (!ok)
        return;
    if (strcmp(name, "host") == 0 &&
        go_unmarshal(r->body, r->body_len, &go_type_host_info, why, sizeof(why)) < 0)
        conclude(r, "%s: %s", c->decode_error, why);
    else if (strcmp(name, "aik") == 0 && r->body_len == 0)
        conclude(r, "intel_host_connector:GetHostManifestAcceptNonce() Empty AIK received");
    else if (strcmp(name, "quote") == 0)
        judge_quote(c, r);
}

const char *hvs_http_www_authenticate(const struct hvs_http *h)
{
    return h->www_authenticate;
}
