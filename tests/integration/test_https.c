/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * transport/ against real TLS servers on 127.0.0.1: libmicrohttpd (GnuTLS, so the server side shares no code
 * with the client's OpenSSL) with a throwaway PKI made here. Every server counts the requests its handler
 * saw, which is how "nothing reached the server" is checked for certificate failures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "transport.h"

#define TOKEN      "eyJhbGciOiJSUzM4NCJ9.integration-secret-token.c2lnbmF0dXJl"
#define TLS12_ONLY "NORMAL:-VERS-ALL:+VERS-TLS1.2"

/* ---- a throwaway PKI ---- */

struct cert {
    EVP_PKEY *key;
    X509 *x509;
    char *cert_pem, *key_pem;
    char sha384[97]; /* lower-case hex of the DER */
};

static char *pem_of(int (*write)(BIO *, const void *), const void *obj)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    assert_non_null(bio);
    assert_int_equal(write(bio, obj), 1);
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    /* The BIO's bytes are not NUL-terminated: copy with the length, never strndup. */
    out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(bio);
    return out;
}

static int write_cert(BIO *bio, const void *x)
{
    return PEM_write_bio_X509(bio, (X509 *)x);
}

static int write_key(BIO *bio, const void *k)
{
    return PEM_write_bio_PrivateKey(bio, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

static void ext_add(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* issuer NULL: self-signed root. san NULL: a CA. */
static struct cert *cert_issue(const char *cn, const struct cert *issuer, const char *san)
{
    static long serial = 1000;
    struct cert *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->key = EVP_EC_gen("P-256");
    c->x509 = X509_new();
    assert_non_null(c->key);
    assert_non_null(c->x509);
    X509 *x = c->x509, *signer = issuer ? issuer->x509 : x;

    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_set_version(x, X509_VERSION_3);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                               -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(signer));
    X509_set_pubkey(x, c->key);
    ext_add(x, signer, NID_subject_key_identifier, "hash");
    if (issuer)
        ext_add(x, signer, NID_authority_key_identifier, "keyid:always");
    if (san) {
        ext_add(x, signer, NID_basic_constraints, "critical,CA:FALSE");
        ext_add(x, signer, NID_key_usage, "critical,digitalSignature");
        ext_add(x, signer, NID_ext_key_usage, "serverAuth");
        ext_add(x, signer, NID_subject_alt_name, san);
    } else {
        ext_add(x, signer, NID_basic_constraints, "critical,CA:TRUE");
        ext_add(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    assert_true(X509_sign(x, issuer ? issuer->key : c->key, EVP_sha256()) > 0);

    c->cert_pem = pem_of(write_cert, x);
    c->key_pem = pem_of(write_key, c->key);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_int_equal(X509_digest(x, EVP_sha384(), md, &n), 1);
    assert_int_equal(n, 48);
    for (unsigned i = 0; i < n; i++)
        snprintf(c->sha384 + 2 * i, 3, "%02x", md[i]);
    return c;
}

static void cert_free(struct cert *c)
{
    if (!c)
        return;
    EVP_PKEY_free(c->key);
    X509_free(c->x509);
    free(c->cert_pem);
    free(c->key_pem);
    free(c);
}

static void file_write(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void file_remove(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static struct {
    struct cert *ca, *leaf;             /* trusted CA (in ca_dir) and its server certificate */
    struct cert *rogue_ca, *rogue_leaf; /* nobody trusts this CA */
    struct cert *other_host;            /* from the trusted CA, but for another name */
    struct cert *inter, *inter_leaf;    /* intermediate under ca, and a server certificate from it */
    char ca_dir[64], inter_dir[64];     /* ca.pem (+ stray files); inter.pem alone */
} pki;

static int pki_setup(void **state)
{
    pki.ca = cert_issue("tagent test CA", NULL, NULL);
    pki.leaf = cert_issue("127.0.0.1", pki.ca, "IP:127.0.0.1,DNS:localhost");
    pki.rogue_ca = cert_issue("rogue CA", NULL, NULL);
    pki.rogue_leaf = cert_issue("127.0.0.1", pki.rogue_ca, "IP:127.0.0.1,DNS:localhost");
    pki.other_host = cert_issue("hvs.example", pki.ca, "DNS:hvs.example");
    pki.inter = cert_issue("tagent test intermediate", pki.ca, NULL);
    pki.inter_leaf = cert_issue("127.0.0.1", pki.inter, "IP:127.0.0.1");

    strcpy(pki.ca_dir, "/tmp/tagent-https-ca-XXXXXX");
    strcpy(pki.inter_dir, "/tmp/tagent-https-inter-XXXXXX");
    assert_non_null(mkdtemp(pki.ca_dir));
    assert_non_null(mkdtemp(pki.inter_dir));
    file_write(pki.ca_dir, "ca.pem", pki.ca->cert_pem);
    /* Skipped, not fatal: a *.pem without a certificate, and a certificate not named *.pem. */
    file_write(pki.ca_dir, "notes.pem", "not a certificate\n");
    file_write(pki.ca_dir, "rogue.crt", pki.rogue_ca->cert_pem);
    file_write(pki.inter_dir, "inter.pem", pki.inter->cert_pem);
    return 0;
}

static int pki_teardown(void **state)
{
    file_remove(pki.ca_dir, "ca.pem");
    file_remove(pki.ca_dir, "notes.pem");
    file_remove(pki.ca_dir, "rogue.crt");
    file_remove(pki.inter_dir, "inter.pem");
    rmdir(pki.ca_dir);
    rmdir(pki.inter_dir);
    cert_free(pki.ca);
    cert_free(pki.leaf);
    cert_free(pki.rogue_ca);
    cert_free(pki.rogue_leaf);
    cert_free(pki.other_host);
    cert_free(pki.inter);
    cert_free(pki.inter_leaf);
    return 0;
}

/* ---- an HTTPS server that counts and records ---- */

enum mode {
    MODE_HELLO,       /* 200 "hello" */
    MODE_STATUS,      /* status with body "server says no" */
    MODE_FAIL_FIRST,  /* 503 for the first fail_first requests, then 200 */
    MODE_SLOW,        /* 200 after slow_ms */
    MODE_BIG,         /* big bytes with a Content-Length */
    MODE_BIG_CHUNKED, /* big bytes, chunked */
    MODE_ECHO,        /* 200 with the request body */
};

struct server {
    struct MHD_Daemon *daemon;
    uint16_t port;
    char url[80];
    enum mode mode;
    unsigned status, fail_first, slow_ms;
    size_t big;
    atomic_uint connections; /* TCP connections accepted: one per attempt, even when the handshake fails */
    atomic_uint requests;    /* requests that reached the handler */

    pthread_mutex_t lock; /* what the last request brought */
    char *method, *auth, *content_type;
    uint8_t *posted;
    size_t posted_len;
};

struct upload {
    unsigned index; /* 1 for the first request the server saw */
    uint8_t *data;
    size_t len;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    const struct server *s = cls;
    if (pos >= s->big)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->big - (size_t)pos < max ? s->big - (size_t)pos : max;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    struct server *s = cls;
    struct upload *up = *con_cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;

    if (!up) { /* headers are in: the handler has been reached */
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        up->index = atomic_fetch_add(&s->requests, 1) + 1;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        uint8_t *d = realloc(up->data, up->len + *upload_data_size);
        if (!d)
            return MHD_NO;
        memcpy(d + up->len, upload_data, *upload_data_size);
        up->data = d;
        up->len += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&s->lock);
    free(s->method);
    free(s->auth);
    free(s->content_type);
    free(s->posted);
    s->method = strdup(method);
    s->auth = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
    s->content_type = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
    s->posted = up->data;
    s->posted_len = up->len;
    up->data = NULL;
    pthread_mutex_unlock(&s->lock);

    switch (s->mode) {
    case MODE_HELLO:
        resp = MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
        break;
    case MODE_STATUS:
        status = s->status;
        resp = MHD_create_response_from_buffer(15, (void *)"server says no\n", MHD_RESPMEM_PERSISTENT);
        break;
    case MODE_FAIL_FIRST:
        status = up->index <= s->fail_first ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
        resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
        break;
    case MODE_SLOW:
        usleep(s->slow_ms * 1000u);
        resp = MHD_create_response_from_buffer(4, (void *)"late", MHD_RESPMEM_PERSISTENT);
        break;
    case MODE_BIG: {
        char *big = malloc(s->big);
        if (!big)
            return MHD_NO;
        memset(big, 'x', s->big);
        resp = MHD_create_response_from_buffer(s->big, big, MHD_RESPMEM_MUST_FREE);
        break;
    }
    case MODE_BIG_CHUNKED:
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, chunk_reader, s, NULL);
        break;
    case MODE_ECHO:
    default:
        pthread_mutex_lock(&s->lock);
        resp = MHD_create_response_from_buffer(s->posted_len, s->posted, MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&s->lock);
        break;
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void connection_event(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

/* chain: the server certificate, or NULL for pki.leaf. priorities: GnuTLS's, NULL for its defaults. */
static struct server *server_start(enum mode mode, const struct cert *cert, const struct cert *chain_extra,
                                   const char *priorities)
{
    struct server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char *chain;

    assert_non_null(s);
    cert = cert ? cert : pki.leaf;
    s->mode = mode;
    pthread_mutex_init(&s->lock, NULL);
    assert_true(asprintf(&chain, "%s%s", cert->cert_pem, chain_extra ? chain_extra->cert_pem : "") > 0);
    /* A thread per connection, so a slow handler holds up nobody else. */
    s->daemon = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle,
        s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_KEY, cert->key_pem,
        MHD_OPTION_HTTPS_MEM_CERT, chain, MHD_OPTION_HTTPS_PRIORITIES, priorities ? priorities : "NORMAL",
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_NOTIFY_CONNECTION, connection_event, s,
        MHD_OPTION_END);
    free(chain);
    assert_non_null(s->daemon);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    s->port = info->port;
    snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", (unsigned)s->port);
    return s;
}

static void server_stop(struct server *s)
{
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->lock);
    free(s->method);
    free(s->auth);
    free(s->content_type);
    free(s->posted);
    free(s);
}

/* ---- helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
    int r;
    struct https_response resp;
    char *err;
    double seconds;
};

static struct result request(const char *method, const char *base, const char *path,
                             const char *const *headers, const char *body, size_t body_len,
                             const struct https_options *opts)
{
    struct result res = {0};
    char *url = https_url_join(base, path);
    assert_non_null(url);
    double t0 = now_s();
    res.r = https_request(method, url, headers, body, body_len, opts, &res.resp, &res.err);
    res.seconds = now_s() - t0;
    free(url);
    if (res.r == 0) {
        assert_null(res.err);
        assert_non_null(res.resp.body);
        assert_int_equal(res.resp.body[res.resp.body_len], '\0');
    } else {
        /* Every failure explains itself, and never with the token. */
        assert_non_null(res.err);
        if (getenv("TAGENT_TEST_VERBOSE"))
            fprintf(stderr, "    -> %d %s\n", res.r, res.err);
        if (strstr(res.err, TOKEN))
            fail_msg("the bearer token leaked into \"%s\"", res.err);
    }
    return res;
}

static struct result get(const struct server *s, const char *path, const struct https_options *opts)
{
    return request("GET", s->url, path, NULL, NULL, 0, opts);
}

static void result_free(struct result *res)
{
    https_response_free(&res->resp);
    free(res->err);
}

static void assert_mentions(const char *text, const char *fragment)
{
    if (!text || !strstr(text, fragment))
        fail_msg("\"%s\" does not mention \"%s\"", text ? text : "(null)", fragment);
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
}

/* A loopback port nobody listens on (free a moment ago). */
static uint16_t closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- tests ---- */

static void trusted_ca_gives_body(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN};
    struct result res = get(s, "/hello", &opts);

    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    assert_int_equal(res.resp.body_len, 5);
    assert_string_equal((char *)res.resp.body, "hello");
    assert_string_equal(res.resp.content_type, "text/plain; charset=utf-8");
    assert_string_equal(res.resp.server_sha384, pki.leaf->sha384);
    assert_int_equal(atomic_load(&s->requests), 1);
    result_free(&res);
    server_stop(s);
}

static void untrusted_ca_is_refused(void **state)
{
    struct server *s = server_start(MODE_HELLO, pki.rogue_leaf, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .retries = 2};
    struct result res = get(s, "/hello", &opts);

    assert_int_equal(res.r, -EPERM);
    assert_mentions(res.err, "GET https://127.0.0.1:");
    assert_mentions(res.err, "not trusted");
    assert_mentions(res.err, pki.rogue_leaf->sha384);
    /* notes.pem held nothing, rogue.crt is not *.pem: exactly one anchor. */
    assert_mentions(res.err, "1 CA certificate from");
    assert_int_equal(atomic_load(&s->requests), 0);
    assert_int_equal(atomic_load(&s->connections), 1); /* not retried */
    result_free(&res);

    /* The system store does not hold a test CA either. */
    const struct https_options sys = {.system_ca = true};
    res = get(s, "/hello", &sys);
    assert_int_equal(res.r, -EPERM);
    assert_mentions(res.err, "the system store");
    result_free(&res);
    server_stop(s);
}

static void system_store_plus_ca_dir(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .system_ca = true};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    result_free(&res);
    server_stop(s);
}

static void wrong_host_name_is_refused(void **state)
{
    struct server *s = server_start(MODE_HELLO, pki.other_host, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .retries = 1};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, -EPERM);
    assert_mentions(res.err, pki.other_host->sha384);
    assert_int_equal(atomic_load(&s->requests), 0);
    assert_int_equal(atomic_load(&s->connections), 1); /* not retried */
    result_free(&res);
    server_stop(s);
}

/* Like Go's cert pool, any certificate in ca_dir is an anchor: an intermediate alone is enough. */
static void intermediate_in_ca_dir_is_an_anchor(void **state)
{
    struct server *s = server_start(MODE_HELLO, pki.inter_leaf, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.inter_dir};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    result_free(&res);

    /* The root alone works when the server sends its intermediate. */
    server_stop(s);
    s = server_start(MODE_HELLO, pki.inter_leaf, pki.inter, NULL);
    const struct https_options root = {.ca_dir = pki.ca_dir};
    res = get(s, "/", &root);
    assert_int_equal(res.r, 0);
    assert_string_equal(res.resp.server_sha384, pki.inter_leaf->sha384);
    result_free(&res);
    server_stop(s);
}

static void pin_match_without_verification(void **state)
{
    struct server *s = server_start(MODE_HELLO, pki.rogue_leaf, NULL, NULL);
    char pin[97];
    snprintf(pin, sizeof(pin), "%s", pki.rogue_leaf->sha384);
    upper(pin); /* either case is accepted */
    const struct https_options opts = {.no_verify = true, .pin_sha384 = pin};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    assert_string_equal(res.resp.server_sha384, pki.rogue_leaf->sha384);
    result_free(&res);

    /* no_verify alone accepts anything, and still says what it saw. */
    const struct https_options any = {.no_verify = true};
    res = get(s, "/", &any);
    assert_int_equal(res.r, 0);
    assert_string_equal(res.resp.server_sha384, pki.rogue_leaf->sha384);
    result_free(&res);
    server_stop(s);
}

static void pin_match_with_verification(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .pin_sha384 = pki.leaf->sha384};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    result_free(&res);
    server_stop(s);
}

static void pin_mismatch_stops_the_handshake(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, NULL);
    const struct https_options opts = {.no_verify = true,
                                       .pin_sha384 = pki.rogue_leaf->sha384,
                                       .pin_name = "CMS_TLS_CERT_SHA384",
                                       .bearer = TOKEN,
                                       .retries = 2};
    struct result res = get(s, "/cms/v1/ca-certificates", &opts);

    assert_int_equal(res.r, -EKEYREJECTED);
    assert_mentions(res.err, "GET https://127.0.0.1:");
    assert_mentions(res.err, "/cms/v1/ca-certificates: the server's certificate SHA-384 is ");
    assert_mentions(res.err, pki.leaf->sha384);
    assert_mentions(res.err, "but CMS_TLS_CERT_SHA384 says ");
    assert_mentions(res.err, pki.rogue_leaf->sha384);
    assert_int_equal(atomic_load(&s->requests), 0);
    assert_int_equal(atomic_load(&s->connections), 1); /* not retried */
    result_free(&res);

    /* A trusted chain does not excuse a wrong pin. */
    const struct https_options verified = {.ca_dir = pki.ca_dir, .pin_sha384 = pki.rogue_leaf->sha384};
    res = get(s, "/", &verified);
    assert_int_equal(res.r, -EKEYREJECTED);
    assert_mentions(res.err, pki.leaf->sha384);
    assert_int_equal(atomic_load(&s->requests), 0);
    result_free(&res);
    server_stop(s);
}

static void status_4xx_is_not_retried(void **state)
{
    struct server *s = server_start(MODE_STATUS, NULL, NULL, NULL);
    s->status = 401;
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .retries = 3};
    struct result res = get(s, "/hvs/v2/hosts", &opts);

    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 401);
    assert_int_equal(atomic_load(&s->requests), 1);
    assert_int_equal(atomic_load(&s->connections), 1); /* not retried */
    char *why = https_status_error("GET", "https://hvs/hvs/v2/hosts", &res.resp);
    assert_string_equal(why, "GET https://hvs/hvs/v2/hosts: HTTP 401: server says no");
    free(why);
    result_free(&res);
    server_stop(s);
}

static void status_5xx_is_retried(void **state)
{
    struct server *s = server_start(MODE_STATUS, NULL, NULL, NULL);
    s->status = 500;
    const struct https_options opts = {.ca_dir = pki.ca_dir, .retries = 2};
    struct result res = get(s, "/", &opts);

    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 500);
    assert_string_equal((char *)res.resp.body, "server says no\n");
    assert_int_equal(atomic_load(&s->requests), 3);
    assert_true(res.seconds >= 1.45); /* 0.5 s + 1 s of backoff */
    result_free(&res);
    server_stop(s);

    s = server_start(MODE_FAIL_FIRST, NULL, NULL, NULL);
    s->fail_first = 1;
    const struct https_options three = {.ca_dir = pki.ca_dir, .retries = 3};
    res = get(s, "/", &three);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    assert_string_equal((char *)res.resp.body, "ok");
    assert_int_equal(atomic_load(&s->requests), 2);
    result_free(&res);
    server_stop(s);
}

static void connection_refused_after_retries(void **state)
{
    char base[64];
    snprintf(base, sizeof(base), "https://127.0.0.1:%u", (unsigned)closed_port());
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .retries = 2};
    /* A URL that carries the token (it should not, but) comes out redacted. */
    struct result res = request("GET", base, "/x/" TOKEN, NULL, NULL, 0, &opts);

    assert_int_equal(res.r, -ECONNREFUSED);
    assert_mentions(res.err, "/x/****: connection refused after 3 attempts");
    assert_true(res.seconds >= 1.45);
    result_free(&res);
}

static void connect_timeout(void **state)
{
    /* Listens but never accepts: TCP connects through the backlog, the TLS handshake never answers. */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char base[64];
    snprintf(base, sizeof(base), "https://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));

    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .connect_timeout_ms = 300};
    struct result res = request("GET", base, "/", NULL, NULL, 0, &opts);
    assert_int_equal(res.r, -ETIMEDOUT);
    assert_mentions(res.err, "timed out after 300 ms while connecting");
    assert_true(res.seconds >= 0.29 && res.seconds < 2.0);
    result_free(&res);
    close(fd);
}

static void slow_server_times_out(void **state)
{
    struct server *s = server_start(MODE_SLOW, NULL, NULL, NULL);
    s->slow_ms = 1500;
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .timeout_ms = 300};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, -ETIMEDOUT);
    assert_mentions(res.err, ": timed out after 300 ms");
    assert_null(strstr(res.err, "connecting"));
    assert_true(res.seconds < 1.4); /* did not wait for the server's 1.5 s */
    assert_int_equal(atomic_load(&s->requests), 1);
    result_free(&res);
    server_stop(s);
}

static void body_limit(void **state)
{
    const enum mode modes[] = {MODE_BIG, MODE_BIG_CHUNKED};
    for (size_t i = 0; i < 2; i++) {
        struct server *s = server_start(modes[i], NULL, NULL, NULL);
        s->big = 64 * 1024;
        const struct https_options small = {.ca_dir = pki.ca_dir, .max_body = 1000, .retries = 2};
        struct result res = get(s, "/", &small);
        assert_int_equal(res.r, -EFBIG);
        assert_mentions(res.err, ": response larger than 1000 bytes");
        assert_int_equal(atomic_load(&s->requests), 1); /* not retried */
        result_free(&res);

        /* The default (16 MiB) takes it, and the limit itself is allowed. */
        const struct https_options dflt = {.ca_dir = pki.ca_dir};
        res = get(s, "/", &dflt);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.resp.body_len, 64 * 1024);
        result_free(&res);
        const struct https_options exact = {.ca_dir = pki.ca_dir, .max_body = 64 * 1024};
        res = get(s, "/", &exact);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.resp.body_len, 64 * 1024);
        result_free(&res);
        server_stop(s);
    }
}

/* The server really speaks TLS 1.2 (an OpenSSL client capped at 1.2 gets through), so the refusal is ours. */
static bool tls12_handshake_works(uint16_t port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    bool ok = false;

    if (fd >= 0 && ctx && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) && (ssl = SSL_new(ctx)) && SSL_set_fd(ssl, fd))
        ok = SSL_connect(ssl) == 1 && SSL_version(ssl) == TLS1_2_VERSION;
    if (ok)
        SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    return ok;
}

static void tls12_only_server_is_refused(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, TLS12_ONLY);
    assert_true(tls12_handshake_works(s->port));
    atomic_store(&s->connections, 0);
    /* A broken handshake counts as a connection error: retried. */
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN, .retries = 1};
    struct result res = get(s, "/", &opts);
    assert_int_equal(res.r, -EPROTO);
    assert_mentions(res.err, "TLS handshake failed after 2 attempts");
    assert_mentions(res.err, "TLS 1.3");
    assert_int_equal(atomic_load(&s->requests), 0);
    assert_int_equal(atomic_load(&s->connections), 2);
    result_free(&res);

    /* no_verify does not lower the version either. */
    const struct https_options nv = {.no_verify = true};
    res = get(s, "/", &nv);
    assert_int_equal(res.r, -EPROTO);
    result_free(&res);
    server_stop(s);
}

static void bearer_headers_and_body_arrive_exactly(void **state)
{
    struct server *s = server_start(MODE_ECHO, NULL, NULL, NULL);
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN};
    static const char body[] = "{\"host_name\":\"h\"}\0binary\xff";
    const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};

    struct result res = request("POST", s->url, "hvs/v2/hosts", headers, body, sizeof(body) - 1, &opts);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.resp.status, 200);
    assert_int_equal(res.resp.body_len, sizeof(body) - 1);
    assert_memory_equal(res.resp.body, body, sizeof(body) - 1);
    pthread_mutex_lock(&s->lock);
    assert_string_equal(s->method, "POST");
    assert_string_equal(s->auth, "Bearer " TOKEN);
    assert_string_equal(s->content_type, "application/json");
    assert_int_equal(s->posted_len, sizeof(body) - 1);
    assert_memory_equal(s->posted, body, sizeof(body) - 1);
    pthread_mutex_unlock(&s->lock);
    result_free(&res);

    /* No Content-Type of libcurl's invention, an empty POST body, other methods as given, no bearer. */
    const struct https_options anon = {.ca_dir = pki.ca_dir};
    res = request("POST", s->url, "/", NULL, NULL, 0, &anon);
    assert_int_equal(res.r, 0);
    pthread_mutex_lock(&s->lock);
    assert_null(s->content_type);
    assert_null(s->auth);
    assert_int_equal(s->posted_len, 0);
    pthread_mutex_unlock(&s->lock);
    result_free(&res);

    res = request("PUT", s->url, "/", NULL, "x", 1, &anon);
    assert_int_equal(res.r, 0);
    assert_string_equal((char *)res.resp.body, "x");
    pthread_mutex_lock(&s->lock);
    assert_string_equal(s->method, "PUT");
    pthread_mutex_unlock(&s->lock);
    result_free(&res);

    res = request("DELETE", s->url, "/", NULL, NULL, 0, &opts);
    assert_int_equal(res.r, 0);
    pthread_mutex_lock(&s->lock);
    assert_string_equal(s->method, "DELETE");
    assert_string_equal(s->auth, "Bearer " TOKEN);
    pthread_mutex_unlock(&s->lock);
    result_free(&res);
    assert_int_equal(atomic_load(&s->requests), 4);
    server_stop(s);
}

#define THREADS             4
#define REQUESTS_PER_THREAD 8

static void *hammer(void *arg)
{
    const struct server *s = arg;
    const struct https_options opts = {.ca_dir = pki.ca_dir, .bearer = TOKEN};
    long ok = 0;
    for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
        struct https_response resp = {0};
        char *err = NULL;
        if (https_request("GET", s->url, NULL, NULL, 0, &opts, &resp, &err) == 0 && resp.status == 200)
            ok++;
        https_response_free(&resp);
        free(err);
    }
    return (void *)ok;
}

static void concurrent_requests(void **state)
{
    struct server *s = server_start(MODE_HELLO, NULL, NULL, NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, s), 0);
    long ok = 0;
    for (int i = 0; i < THREADS; i++) {
        void *v;
        pthread_join(t[i], &v);
        ok += (long)v;
    }
    assert_int_equal(ok, THREADS * REQUESTS_PER_THREAD);
    assert_int_equal(atomic_load(&s->requests), THREADS * REQUESTS_PER_THREAD);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trusted_ca_gives_body),
        cmocka_unit_test(untrusted_ca_is_refused),
        cmocka_unit_test(system_store_plus_ca_dir),
        cmocka_unit_test(wrong_host_name_is_refused),
        cmocka_unit_test(intermediate_in_ca_dir_is_an_anchor),
        cmocka_unit_test(pin_match_without_verification),
        cmocka_unit_test(pin_match_with_verification),
        cmocka_unit_test(pin_mismatch_stops_the_handshake),
        cmocka_unit_test(status_4xx_is_not_retried),
        cmocka_unit_test(status_5xx_is_retried),
        cmocka_unit_test(connection_refused_after_retries),
        cmocka_unit_test(connect_timeout),
        cmocka_unit_test(slow_server_times_out),
        cmocka_unit_test(body_limit),
        cmocka_unit_test(tls12_only_server_is_refused),
        cmocka_unit_test(bearer_headers_and_body_arrive_exactly),
        cmocka_unit_test(concurrent_requests),
    };
    /* Loopback only, whatever proxy the environment names (transport/ exempts loopback; this checks it). */
    setenv("https_proxy", "http://127.0.0.1:9", 1);
    setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
