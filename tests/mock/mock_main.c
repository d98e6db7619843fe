/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-mock-cp: the ISecL control plane (CMS, AAS, HVS) for tests, on ONE loopback HTTPS port.
 *
 *   tagent-mock-cp [--dir DIR] [--port N] [--bearer TOKEN] [--ek-ca FILE]... [--ek-cert FILE]...
 *                  [--fault NAME]... [--nats-dir DIR] [--nats-account-seed FILE] [--aik-validity-years N]
 *
 * On start it prints one line to stdout and serves until SIGTERM/SIGINT (then prints "STOPPED", exit 0):
 *   READY port=<n> tls_sha384=<hex SHA-384 of the served leaf's DER> ca=<path of the root CA PEM>
 * Exit status 2: bad usage; 1: could not start.
 *
 * Paths: /cms/v1/..., /aas/v1/..., /hvs/v2/... (see mock_cms.c, mock_aas.c, mock_hvs.c), plus the control
 * endpoints, which no fault and no token affect:
 *   GET  /mock/faults                          -> {"faults":["slow",...]}
 *   POST /mock/faults?set=NAME&clear=NAME      (repeatable, comma lists, clear=all) -> same
 *   GET  /mock/state                           -> hosts, flavors, reports, tokens, credentials, certs issued
 *   POST /mock/host-uuid?name=N&hardware_uuid=U  sets a registered host's hardware UUID (HVS reads it from
 *                                              the host's host-info after registration)
 * Faults: wrong-cms-cert, unauthorized, server-error, slow, malformed-json, truncated-pem.
 * Every request is appended to DIR/requests.log as "<METHOD> <path>[?<query>] <status>".
 */
#include "mock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#define BODY_MAX (1024 * 1024)

static const struct {
    const char *name;
    unsigned bit;
} fault_table[] = {
    {"wrong-cms-cert", MOCK_FAULT_WRONG_CMS_CERT}, {"unauthorized", MOCK_FAULT_UNAUTHORIZED},
    {"server-error", MOCK_FAULT_SERVER_ERROR},     {"slow", MOCK_FAULT_SLOW},
    {"malformed-json", MOCK_FAULT_MALFORMED_JSON}, {"truncated-pem", MOCK_FAULT_TRUNCATED_PEM},
};
#define N_FAULTS (sizeof(fault_table) / sizeof(fault_table[0]))

unsigned mock_fault_bit(const char *name)
{
    for (size_t i = 0; i < N_FAULTS; i++)
        if (strcmp(fault_table[i].name, name) == 0)
            return fault_table[i].bit;
    return 0;
}

void mock_fault_names(unsigned faults, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < N_FAULTS; i++)
        if (faults & fault_table[i].bit)
            used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s%s", used ? "," : "",
                                     fault_table[i].name);
}

/* ---- request and response helpers ---- */

const char *mock_header(const struct mock_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *mock_query(const struct mock_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool mock_media_is(const char *value, const char *want)
{
    size_t len;

    if (!value)
        return false;
    while (*value == ' ')
        value++;
    len = strcspn(value, ";");
    while (len > 0 && value[len - 1] == ' ')
        len--;
    return len == strlen(want) && strncasecmp(value, want, len) == 0;
}

/* Strict on purpose: the Go clients send exactly the one media type, so a wildcard (libcurl's default
 * Accept when a client forgets to set one) is refused too. */
bool mock_accepts(const char *accept, const char *want)
{
    if (!accept)
        return false;
    while (*accept) {
        size_t len = strcspn(accept, ",");
        char item[256];

        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) - 1 ? len : sizeof(item) - 1), accept);
        if (mock_media_is(item, want))
            return true;
        accept += len + (accept[len] == ',');
    }
    return false;
}

void mock_resp_bytes(struct mock_resp *resp, unsigned status, const char *type, const void *data, size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->type = type;
    resp->body = malloc(len + 1);
    resp->len = resp->body ? len : 0;
    if (resp->body) {
        memcpy(resp->body, data, len);
        resp->body[len] = '\0';
    } else {
        resp->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

void mock_resp_text(struct mock_resp *resp, unsigned status, const char *type, const char *text)
{
    mock_resp_bytes(resp, status, type, text, strlen(text));
}

void mock_resp_json(struct mock_resp *resp, unsigned status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;

    cJSON_Delete(json);
    if (!text) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    free(resp->body);
    resp->status = status;
    resp->type = "application/json";
    resp->body = text;
    resp->len = strlen(text);
}

void mock_resp_error(struct mock_resp *resp, unsigned status, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(text) - 1 ? (size_t)n : sizeof(text) - 2;
    snprintf(text + len, sizeof(text) - len, "\n");
    mock_resp_text(resp, status, "text/plain; charset=utf-8", text);
}

static bool token_equal(const char *got, const char *want)
{
    size_t n = strlen(want);
    return strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

/* The installation token, or a JWT this mock's AAS issued. */
static bool token_known(struct mock *m, const char *token)
{
    bool ok = token_equal(token, m->bearer);
    const cJSON *jwt;
    pthread_mutex_lock(&m->lock);
    cJSON_ArrayForEach(jwt, m->issued_jwts) ok |= token_equal(token, jwt->valuestring);
    pthread_mutex_unlock(&m->lock);
    return ok;
}

bool mock_check_bearer(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    const char *auth = mock_header(req, "Authorization");

    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !token_known(m, auth + 7)) {
        mock_resp_error(resp, MHD_HTTP_UNAUTHORIZED, "%s",
                        auth ? "bearer token rejected" : "no bearer token");
        return false;
    }
    return true;
}

bool mock_check_media(const struct mock_req *req, struct mock_resp *resp, const char *accept,
                      const char *content_type)
{
    if (accept && !mock_accepts(mock_header(req, "Accept"), accept)) {
        mock_resp_error(resp, MHD_HTTP_NOT_ACCEPTABLE, "Accept must allow %s", accept);
        return false;
    }
    if (content_type && strcmp(req->method, "POST") == 0 &&
        !mock_media_is(mock_header(req, "Content-Type"), content_type)) {
        mock_resp_error(resp, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be %s", content_type);
        return false;
    }
    return true;
}

/* ---- control endpoints ---- */

struct fault_change {
    struct mock *m;
    unsigned set, clear;
    char bad[64];
};

static enum MHD_Result collect_fault_args(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
    struct fault_change *c = cls;
    bool set = strcmp(key, "set") == 0;

    if (!set && strcmp(key, "clear") != 0)
        return MHD_YES;
    for (const char *p = value ? value : ""; *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        unsigned bit;

        snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) - 1 ? len : sizeof(name) - 1), p);
        bit = !set && strcmp(name, "all") == 0 ? ~0u : mock_fault_bit(name);
        if (!bit && !c->bad[0])
            snprintf(c->bad, sizeof(c->bad), "%s", name);
        if (set)
            c->set |= bit;
        else
            c->clear |= bit;
        p += len + (p[len] == ',');
    }
    return MHD_YES;
}

static void faults_reply(struct mock *m, struct mock_resp *resp)
{
    unsigned faults = atomic_load(&m->faults);
    cJSON *root = cJSON_CreateObject(), *list = root ? cJSON_AddArrayToObject(root, "faults") : NULL;

    for (size_t i = 0; list && i < N_FAULTS; i++)
        if (faults & fault_table[i].bit)
            cJSON_AddItemToArray(list, cJSON_CreateString(fault_table[i].name));
    mock_resp_json(resp, MHD_HTTP_OK, root);
}

static cJSON *hosts_json(const struct mock *m)
{
    cJSON *list = cJSON_CreateArray();

    for (const struct mock_host *h = m->hosts; list && h; h = h->next) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", h->id);
        cJSON_AddStringToObject(o, "host_name", h->name);
        cJSON_AddStringToObject(o, "connection_string", h->connection_string);
        if (h->hardware_uuid)
            cJSON_AddStringToObject(o, "hardware_uuid", h->hardware_uuid);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static void control_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    if (strcmp(req->url, "/mock/faults") == 0 && strcmp(req->method, "POST") == 0) {
        struct fault_change c = {.m = m};

        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_fault_args, &c);
        if (c.bad[0]) {
            mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "unknown fault \"%s\"", c.bad);
            return;
        }
        atomic_fetch_and(&m->faults, ~c.clear);
        atomic_fetch_or(&m->faults, c.set);
        faults_reply(m, resp);
    } else if (strcmp(req->url, "/mock/faults") == 0 && strcmp(req->method, "GET") == 0) {
        faults_reply(m, resp);
    } else if (strcmp(req->url, "/mock/host-uuid") == 0 && strcmp(req->method, "POST") == 0) {
        /* what a real HVS learns from the host's host-info once it is registered */
        const char *name = mock_query(req, "name"), *uuid = mock_query(req, "hardware_uuid");
        if (!name || !uuid || !mock_uuid_valid(uuid))
            mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "expected ?name=<host name>&hardware_uuid=<uuid>");
        else if (mock_hvs_host_set_uuid(m, name, uuid) < 0)
            mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "no host named %s", name);
        else
            mock_resp_text(resp, MHD_HTTP_OK, "text/plain", "ok");
    } else if (strcmp(req->url, "/mock/state") == 0 && strcmp(req->method, "GET") == 0) {
        cJSON *root = cJSON_CreateObject();

        pthread_mutex_lock(&m->lock);
        cJSON_AddItemToObject(root, "hosts", hosts_json(m));
        cJSON_AddItemToObject(root, "flavors", cJSON_Duplicate(m->flavors, 1));
        cJSON_AddItemToObject(root, "reports", cJSON_Duplicate(m->reports, 1));
        cJSON_AddItemToObject(root, "tokens", cJSON_Duplicate(m->tokens, 1));
        cJSON_AddItemToObject(root, "credentials", cJSON_Duplicate(m->credentials, 1));
        cJSON_AddItemToObject(root, "aik_certs", cJSON_Duplicate(m->aik_certs, 1));
        cJSON_AddItemToObject(root, "tls_certs", cJSON_Duplicate(m->tls_certs, 1));
        pthread_mutex_unlock(&m->lock);
        mock_resp_json(resp, MHD_HTTP_OK, root);
    } else {
        mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "no control endpoint %s %s", req->method, req->url);
    }
}

/* ---- faults that rewrite the answer ---- */

static void fault_malform_json(struct mock_resp *resp)
{
    /* Any proper prefix of a JSON object or array is invalid JSON. */
    if (resp->type && mock_media_is(resp->type, "application/json") && resp->len > 1) {
        resp->len /= 2;
        resp->body[resp->len] = '\0';
    }
}

static void fault_truncate_pem(struct mock_resp *resp)
{
    char *begin = resp->body ? strstr(resp->body, "-----BEGIN") : NULL, *data, *end;

    if (!begin || !(data = strchr(begin + 10, '\n')) || !(end = strstr(data, "-----END")))
        return;
    resp->len = (size_t)(data + 1 + (end - data - 1) / 2 - resp->body);
    resp->body[resp->len] = '\0';
}

static bool has_prefix(const char *s, const char *prefix, const char **ret_rest)
{
    size_t len = strlen(prefix);

    if (strncmp(s, prefix, len) != 0 || (s[len] != '/' && s[len] != '\0'))
        return false;
    *ret_rest = s + len;
    return true;
}

static void dispatch(struct mock *m, struct mock_req *req, struct mock_resp *resp)
{
    unsigned faults;
    const char *rest;

    if (has_prefix(req->url, "/mock", &rest)) {
        control_handle(m, req, resp);
        return;
    }
    faults = atomic_load(&m->faults);
    if (faults & MOCK_FAULT_SLOW)
        sleep(MOCK_SLOW_SECONDS);
    if (faults & MOCK_FAULT_UNAUTHORIZED) {
        mock_resp_error(resp, MHD_HTTP_UNAUTHORIZED, "unauthorized (mock fault)");
        return;
    }
    if (faults & MOCK_FAULT_SERVER_ERROR) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal server error (mock fault)");
        return;
    }
    if (has_prefix(req->url, "/cms/v1", &rest)) {
        req->path = rest;
        mock_cms_handle(m, req, resp);
    } else if (has_prefix(req->url, "/aas/v1", &rest)) {
        req->path = rest;
        mock_aas_handle(m, req, resp);
    } else if (has_prefix(req->url, "/hvs/v2", &rest)) {
        req->path = rest;
        mock_hvs_handle(m, req, resp);
    } else {
        mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "no service at %s", req->url);
    }
    if (faults & MOCK_FAULT_MALFORMED_JSON)
        fault_malform_json(resp);
    if (faults & MOCK_FAULT_TRUNCATED_PEM)
        fault_truncate_pem(resp);
}

/* ---- request log ---- */

struct query_text {
    FILE *f;
    int n;
};

static enum MHD_Result append_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct query_text *q = cls;

    fprintf(q->f, "%c%s%s%s", q->n++ ? '&' : '?', key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

static void log_request(struct mock *m, const struct mock_req *req, unsigned status)
{
    char *line = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&line, &size);
    struct query_text q = {.f = f};

    if (!f)
        return;
    fprintf(f, "%s %s", req->method, req->url);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, append_query, &q);
    fprintf(f, " %u\n", status);
    if (fclose(f) == 0 && m->log_fd >= 0 && write(m->log_fd, line, size) < 0)
        fprintf(stderr, "tagent-mock-cp: request log: %s\n", strerror(errno));
    free(line);
}

/* ---- libmicrohttpd glue ---- */

struct upload {
    char *data;
    size_t len, cap;
    bool too_big;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct mock *m = cls;
    struct upload *up = *con_cls;
    struct mock_resp resp = {0};
    struct MHD_Response *response;
    enum MHD_Result ret;

    if (!up) {
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        if (up->too_big || up->len + n > BODY_MAX) {
            up->too_big = true;
        } else {
            if (up->len + n + 1 > up->cap) {
                size_t cap = (up->len + n + 1) * 2;
                char *bigger = realloc(up->data, cap);

                if (!bigger)
                    return MHD_NO;
                up->data = bigger;
                up->cap = cap;
            }
            memcpy(up->data + up->len, upload_data, n);
            up->len += n;
            up->data[up->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct mock_req req = {.conn = conn,
                           .method = method,
                           .url = url,
                           .path = "",
                           .body = up->data ? up->data : "",
                           .body_len = up->len};

    if (up->too_big)
        mock_resp_error(&resp, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %d bytes", BODY_MAX);
    else if (up->len != strlen(req.body))
        mock_resp_error(&resp, MHD_HTTP_BAD_REQUEST, "request body contains NUL bytes");
    else
        dispatch(m, &req, &resp);
    if (!resp.status)
        mock_resp_error(&resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "no answer");
    log_request(m, &req, resp.status);

    response = resp.body ? MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE)
                         : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!response) {
        free(resp.body);
        return MHD_NO;
    }
    if (resp.type)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, resp.type);
    ret = MHD_queue_response(conn, resp.status, response);
    MHD_destroy_response(response);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;

    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    fprintf(stderr, "tagent-mock-cp: libmicrohttpd: ");
    vfprintf(stderr, fmt, ap);
}

/* ---- TLS identity, chosen per handshake (wrong-cms-cert switches at run time) ---- */

struct tls_identity {
    gnutls_pcert_st pcerts[4];
    unsigned n;
    gnutls_privkey_t key;
};

static struct tls_identity tls_ids[2]; /* [0] served, [1] decoy */
static struct mock *the_mock;          /* GnuTLS's retrieve callback has no closure argument */

static int tls_identity_load(struct tls_identity *id, const struct mock_pki *pki, bool decoy)
{
    char *chain = NULL, *key = NULL;
    int r = mock_pki_tls_pem(pki, decoy, &chain, &key), g;

    if (r < 0)
        return r;
    gnutls_datum_t chain_d = {(unsigned char *)chain, (unsigned)strlen(chain)};
    gnutls_datum_t key_d = {(unsigned char *)key, (unsigned)strlen(key)};

    id->n = sizeof(id->pcerts) / sizeof(id->pcerts[0]);
    g = gnutls_pcert_list_import_x509_raw(id->pcerts, &id->n, &chain_d, GNUTLS_X509_FMT_PEM, 0);
    if (g >= 0)
        g = gnutls_privkey_init(&id->key);
    if (g >= 0)
        g = gnutls_privkey_import_x509_raw(id->key, &key_d, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        fprintf(stderr, "tagent-mock-cp: GnuTLS: %s\n", gnutls_strerror(g));
        r = -EIO;
    }
    OPENSSL_cleanse(key, strlen(key));
    free(key);
    free(chain);
    return r;
}

static void tls_identity_free(struct tls_identity *id)
{
    if (id->key)
        gnutls_privkey_deinit(id->key);
    for (unsigned i = 0; i < id->n && i < sizeof(id->pcerts) / sizeof(id->pcerts[0]); i++)
        gnutls_pcert_deinit(&id->pcerts[i]);
    memset(id, 0, sizeof(*id));
}

static int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                        unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    struct tls_identity *id = &tls_ids[(atomic_load(&the_mock->faults) & MOCK_FAULT_WRONG_CMS_CERT) ? 1 : 0];

    *pcert = id->pcerts;
    *pcert_length = id->n;
    *pkey = id->key;
    return 0;
}

/* ---- setup ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: tagent-mock-cp [--dir DIR] [--port N] [--bearer TOKEN] [--ek-ca FILE]... "
               "[--ek-cert FILE]...\n"
               "                      [--fault NAME]... [--nats-dir DIR] [--nats-account-seed FILE]\n"
               "                      [--aik-validity-years N]\n"
               "faults: wrong-cms-cert unauthorized server-error slow malformed-json truncated-pem\n");
}

static int load_certs_file(const char *path, STACK_OF(X509) * *ret)
{
    char *data = NULL;
    size_t len = 0;
    int r = mock_file_read(path, &data, &len);

    if (r == 0)
        r = mock_certs_parse((const uint8_t *)data, len, ret);
    if (r < 0)
        fprintf(stderr, "tagent-mock-cp: %s: no certificate (%s)\n", path, strerror(-r));
    free(data);
    return r;
}

static int add_ek_ca(struct mock *m, const char *path)
{
    STACK_OF(X509) *certs = NULL;
    int r = load_certs_file(path, &certs);

    for (int i = 0; r == 0 && i < sk_X509_num(certs); i++)
        if (X509_STORE_add_cert(m->ek_store, sk_X509_value(certs, i)) != 1)
            r = mock_ssl_fail("X509_STORE_add_cert");
    sk_X509_pop_free(certs, X509_free);
    return r;
}

static int add_ek_cert(struct mock *m, const char *path)
{
    STACK_OF(X509) *certs = NULL;
    int r = load_certs_file(path, &certs);

    while (r == 0 && sk_X509_num(certs) > 0) {
        X509 *x = sk_X509_shift(certs);

        if (!sk_X509_push(m->ek_registered, x)) {
            X509_free(x);
            r = -ENOMEM;
        }
    }
    sk_X509_pop_free(certs, X509_free);
    return r;
}

static void mock_free(struct mock *m)
{
    while (m->hosts) {
        struct mock_host *h = m->hosts;

        m->hosts = h->next;
        free(h->name);
        free(h->connection_string);
        free(h->hardware_uuid);
        free(h);
    }
    while (m->challenges) {
        struct mock_challenge *c = m->challenges;

        m->challenges = c->next;
        EVP_PKEY_free(c->ek);
        free(c);
    }
    cJSON_Delete(m->flavors);
    cJSON_Delete(m->reports);
    cJSON_Delete(m->tokens);
    cJSON_Delete(m->issued_jwts);
    cJSON_Delete(m->credentials);
    cJSON_Delete(m->aik_certs);
    cJSON_Delete(m->tls_certs);
    mock_nats_free(m->nats);
    X509_STORE_free(m->ek_store);
    sk_X509_pop_free(m->ek_registered, X509_free);
    mock_pki_free(&m->pki);
    if (m->log_fd >= 0)
        close(m->log_fd);
    if (m->bearer)
        OPENSSL_cleanse(m->bearer, strlen(m->bearer));
    free(m->bearer);
    free(m->dir);
    pthread_mutex_destroy(&m->lock);
}

enum {
    OPT_DIR = 256,
    OPT_PORT,
    OPT_BEARER,
    OPT_EK_CA,
    OPT_EK_CERT,
    OPT_FAULT,
    OPT_NATS_DIR,
    OPT_NATS_SEED,
    OPT_AIK_YEARS
};

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"port", required_argument, NULL, OPT_PORT},
        {"bearer", required_argument, NULL, OPT_BEARER},
        {"ek-ca", required_argument, NULL, OPT_EK_CA},
        {"ek-cert", required_argument, NULL, OPT_EK_CERT},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"nats-dir", required_argument, NULL, OPT_NATS_DIR},
        {"nats-account-seed", required_argument, NULL, OPT_NATS_SEED},
        {"aik-validity-years", required_argument, NULL, OPT_AIK_YEARS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mock m = {.log_fd = -1, .aik_validity_years = 1};
    const char *nats_dir = NULL, *nats_seed = NULL;
    struct MHD_Daemon *daemon = NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const union MHD_DaemonInfo *info;
    unsigned long port = 0;
    char *end, *log_path = NULL, why[256] = "";
    sigset_t stop_signals;
    int opt, sig = 0, status = 1;

    pthread_mutex_init(&m.lock, NULL);
    m.ek_store = X509_STORE_new();
    m.ek_registered = sk_X509_new_null();
    m.flavors = cJSON_CreateArray();
    m.reports = cJSON_CreateArray();
    m.tokens = cJSON_CreateArray();
    m.issued_jwts = cJSON_CreateArray();
    m.credentials = cJSON_CreateArray();
    m.aik_certs = cJSON_CreateArray();
    m.tls_certs = cJSON_CreateArray();
    if (!m.ek_store || !m.ek_registered || !m.flavors || !m.reports || !m.tokens || !m.issued_jwts ||
        !m.credentials || !m.aik_certs || !m.tls_certs) {
        fprintf(stderr, "tagent-mock-cp: out of memory\n");
        goto out;
    }
    status = 2;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_DIR:
            free(m.dir);
            m.dir = strdup(optarg);
            break;
        case OPT_PORT:
            errno = 0;
            port = strtoul(optarg, &end, 10);
            if (errno || *end || port > 65535) {
                fprintf(stderr, "tagent-mock-cp: bad --port %s\n", optarg);
                goto out;
            }
            break;
        case OPT_BEARER:
            free(m.bearer);
            m.bearer = strdup(optarg);
            break;
        case OPT_EK_CA:
            if (add_ek_ca(&m, optarg) < 0)
                goto out;
            break;
        case OPT_EK_CERT:
            if (add_ek_cert(&m, optarg) < 0)
                goto out;
            break;
        case OPT_FAULT:
            if (!mock_fault_bit(optarg)) {
                fprintf(stderr, "tagent-mock-cp: unknown fault %s\n", optarg);
                usage(stderr);
                goto out;
            }
            atomic_fetch_or(&m.faults, mock_fault_bit(optarg));
            break;
        case OPT_NATS_DIR: nats_dir = optarg; break;
        case OPT_NATS_SEED: nats_seed = optarg; break;
        case OPT_AIK_YEARS:
            m.aik_validity_years = atoi(optarg);
            if (m.aik_validity_years < 1 || m.aik_validity_years > 100) {
                fprintf(stderr, "tagent-mock-cp: bad --aik-validity-years %s\n", optarg);
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default: usage(stderr); goto out;
        }
    }
    if (optind < argc) {
        usage(stderr);
        goto out;
    }
    status = 1;
    if (!m.bearer && !(m.bearer = strdup("mock-bearer-token")))
        goto out;
    if (!m.dir) {
        char tmpl[] = "/tmp/tagent-mock-cp-XXXXXX";

        if (!mkdtemp(tmpl) || !(m.dir = strdup(tmpl))) {
            fprintf(stderr, "tagent-mock-cp: mkdtemp: %s\n", strerror(errno));
            goto out;
        }
    } else if (mkdir(m.dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "tagent-mock-cp: mkdir %s: %s\n", m.dir, strerror(errno));
        goto out;
    }
    if (!m.dir || mock_path(m.dir, "requests.log", &log_path) < 0)
        goto out;
    m.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m.log_fd < 0) {
        fprintf(stderr, "tagent-mock-cp: %s: %s\n", log_path, strerror(errno));
        goto out;
    }
    if (mock_pki_load_or_create(&m.pki, m.dir) < 0) {
        fprintf(stderr, "tagent-mock-cp: cannot set up the PKI in %s\n", m.dir);
        goto out;
    }
    /* the analyzer loses m's other fields once &m.pki went to a function in another file; mock_free() at out:
     * frees m.dir */
    // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
    if (mock_nats_setup(nats_dir, nats_seed, &m.nats, why, sizeof(why)) < 0) {
        fprintf(stderr, "tagent-mock-cp: NATS accounts: %s\n", why);
        goto out;
    }
    the_mock = &m;
    if (tls_identity_load(&tls_ids[0], &m.pki, false) < 0 || tls_identity_load(&tls_ids[1], &m.pki, true) < 0)
        goto out;

    /* Worker threads inherit this mask, so only sigwait() below sees SIGTERM/SIGINT. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    addr.sin_port = htons((uint16_t)port);
    daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, &m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_HTTPS_CERT_CALLBACK, tls_retrieve,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "tagent-mock-cp: cannot listen on 127.0.0.1:%lu\n", port);
        goto out;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        fprintf(stderr, "tagent-mock-cp: no bound port\n");
        goto out;
    }
    printf("READY port=%u tls_sha384=%s ca=%s\n", (unsigned)info->port, m.pki.leaf_sha384, m.pki.ca_path);
    fflush(stdout);

    while (sigwait(&stop_signals, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    status = 0;
out:
    if (daemon)
        MHD_stop_daemon(daemon);
    tls_identity_free(&tls_ids[0]);
    tls_identity_free(&tls_ids[1]);
    mock_free(&m);
    free(log_path);
    if (status == 0 && sig) {
        printf("STOPPED\n");
        fflush(stdout);
    }
    return status;
}
