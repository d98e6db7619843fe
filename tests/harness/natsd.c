/* nats-server on loopback, driven by a config file in its temp dir so later tests can add
 * operator/JWT mode, cluster routes, ... through extra_conf. */
#include "harness.h"
#include "harness_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define NATSD_READY_MS 10000
#define START_ATTEMPTS 5
#define LOG_TAIL_LINES 30

static int natsd_make_pki(natsd_t *nats, const natsd_t *ca_from)
{
    const struct tlsgen_leaf server = {.cn = "localhost", .ip_san = "127.0.0.1", .dns_san = "localhost"};
    tlsgen_ca_t *ca = NULL;
    int r;

    if ((r = harness_path_join(nats->dir, "ca.pem", &nats->ca_file)) < 0 ||
        (r = harness_path_join(nats->dir, "ca.key", &nats->ca_key_file)) < 0 ||
        (r = harness_path_join(nats->dir, "server.pem", &nats->cert_file)) < 0 ||
        (r = harness_path_join(nats->dir, "server.key", &nats->key_file)) < 0)
        return r;
    if (ca_from)
        r = tlsgen_ca_load(ca_from->ca_file, ca_from->ca_key_file, &ca);
    else
        r = tlsgen_ca_create("tagent test NATS CA", &ca);
    if (r == 0)
        r = tlsgen_ca_save(ca, nats->ca_file, nats->ca_key_file);
    if (r == 0)
        r = tlsgen_leaf_issue(ca, &server, nats->cert_file, nats->key_file);
    tlsgen_ca_free(ca);
    return r;
}

static int natsd_write_conf(const natsd_t *nats, const struct natsd_opts *opts)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    int r;

    if (!f)
        return -ENOMEM;
    fprintf(f, "# written by the tagent test harness\n");
    fprintf(f, "server_name: \"%s\"\nlisten: \"127.0.0.1:%u\"\n", nats->name, nats->port);
    if (nats->http_port)
        fprintf(f, "http: \"127.0.0.1:%u\"\n", nats->http_port);
    if (nats->cert_file) {
        fprintf(f, "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n", nats->cert_file, nats->key_file);
        fprintf(f, "  ca_file: \"%s\"\n  timeout: 5\n", nats->ca_file);
        fprintf(f, "%s\n}\n", opts->tls_extra ? opts->tls_extra : "");
    }
    if (opts->auth_conf)
        fprintf(f, "%s\n", opts->auth_conf);
    if (opts->extra_conf)
        fprintf(f, "%s\n", opts->extra_conf);
    if (fclose(f) != 0) {
        free(text);
        return -ENOMEM;
    }
    r = harness_file_write(nats->conf_path, text, 0600);
    free(text);
    return r;
}

/* Ready means it greets us: the INFO line (plain text even with TLS on, in nats-server 2.9)
 * naming this server, so a neighbour's server on a recycled port cannot pass for ours. */
static int natsd_check_info(const natsd_t *nats)
{
    struct timeval tv = {.tv_sec = 5};
    char buf[4096] = "", want[256];
    size_t len = 0;
    int fd, r;

    r = harness_tcp_connect(nats->port, &fd);
    if (r < 0)
        return r;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    snprintf(want, sizeof(want), "\"server_name\":\"%s\"", nats->name);
    if (strncmp(buf, "INFO ", 5) != 0 || !strstr(buf, want)) {
        fprintf(stderr, "natsd: unexpected greeting on port %u: %.200s\n", nats->port, buf);
        return -EPROTO;
    }
    return 0;
}

static int natsd_launch(natsd_t *nats)
{
    char port[8];
    int r;

    snprintf(port, sizeof(port), "%u", nats->port);
    const char *argv[] = {"nats-server", "-c", nats->conf_path, "-a", "127.0.0.1", "-p", port, NULL};

    r = harness_spawn(argv, nats->log_path, &nats->pid);
    if (r < 0)
        return r;
    r = harness_wait_listening(nats->pid, nats->port, NATSD_READY_MS);
    if (r == 0)
        r = natsd_check_info(nats);
    if (r < 0) {
        harness_proc_stop(nats->pid);
        nats->pid = 0;
        return r;
    }
    snprintf(nats->url, sizeof(nats->url), "%s://127.0.0.1:%u", nats->cert_file ? "tls" : "nats", nats->port);
    return 0;
}

/* A monitoring port other than the client port (the kernel may hand out the same free port twice). */
static int natsd_pick_http_port(natsd_t *nats)
{
    int r;

    do
        r = harness_port_free(&nats->http_port);
    while (r == 0 && nats->http_port == nats->port);
    return r;
}

/* With a caller-chosen port there is nothing to fall back to; otherwise retry elsewhere (a collision on
 * the monitoring port looks the same: the server exits). */
static int natsd_launch_anywhere(natsd_t *nats, const struct natsd_opts *opts)
{
    int r = -EADDRINUSE;

    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        nats->port = opts->port;
        r = opts->port ? 0 : harness_port_free(&nats->port);
        if (r == 0 && opts->monitor)
            r = natsd_pick_http_port(nats);
        if (r == 0)
            r = natsd_write_conf(nats, opts);
        if (r == 0)
            r = natsd_launch(nats);
        if (opts->port || (r != -ECHILD && r != -EADDRINUSE))
            return r;
        fprintf(stderr, "natsd: attempt %d on port %u: %s\n", attempt, nats->port, strerror(-r));
    }
    return r;
}

static int natsd_prepare(natsd_t *nats, const struct natsd_opts *opts)
{
    static int counter;
    int r;

    if ((r = harness_tmpdir_create("natsd", &nats->dir)) < 0 ||
        (r = harness_path_join(nats->dir, "nats-server.conf", &nats->conf_path)) < 0 ||
        (r = harness_path_join(nats->dir, "nats-server.log", &nats->log_path)) < 0)
        return r;
    if (opts->name)
        nats->name = strdup(opts->name);
    else if (asprintf(&nats->name, "tagent-test-%d-%d", (int)getpid(), ++counter) < 0)
        nats->name = NULL;
    if (!nats->name)
        return -ENOMEM;
    return opts->tls ? natsd_make_pki(nats, opts->ca_from) : 0;
}

int natsd_start(const struct natsd_opts *opts, natsd_t **ret_nats)
{
    static const struct natsd_opts defaults;
    natsd_t *nats = calloc(1, sizeof(*nats));
    int r;

    if (!nats)
        return -ENOMEM;
    if (!opts)
        opts = &defaults;
    r = natsd_prepare(nats, opts);
    if (r == 0)
        r = natsd_launch_anywhere(nats, opts);
    if (r < 0) {
        fprintf(stderr, "natsd: start failed: %s\n", strerror(-r));
        if (harness_path_exists(nats->log_path))
            harness_log_tail(nats->log_path, LOG_TAIL_LINES);
        natsd_free(nats);
        return r;
    }
    *ret_nats = nats;
    return 0;
}

int natsd_stop(natsd_t *nats)
{
    int r = 0;

    if (nats->pid > 0)
        r = harness_proc_stop(nats->pid);
    nats->pid = 0;
    return r;
}

int natsd_kill(natsd_t *nats)
{
    int r = 0;

    if (nats->pid > 0)
        r = harness_proc_kill(nats->pid, SIGKILL);
    nats->pid = 0;
    return r;
}

int natsd_restart(natsd_t *nats)
{
    int r = natsd_stop(nats);

    if (r == 0)
        r = natsd_launch(nats);
    if (r < 0) {
        fprintf(stderr, "natsd: restart on port %u failed: %s\n", nats->port, strerror(-r));
        harness_log_tail(nats->log_path, LOG_TAIL_LINES);
    }
    return r;
}

void natsd_free(natsd_t *nats)
{
    if (!nats)
        return;
    natsd_stop(nats);
    harness_tmpdir_remove(nats->dir);
    free(nats->name);
    free(nats->dir);
    free(nats->conf_path);
    free(nats->log_path);
    free(nats->ca_file);
    free(nats->ca_key_file);
    free(nats->cert_file);
    free(nats->key_file);
    free(nats);
}

int natsd_start_operator(const char *auth_conf, natsd_t **ret_nats)
{
    const struct natsd_opts opts = {.tls = true, .auth_conf = auth_conf};

    if (!auth_conf)
        return -EINVAL;
    return natsd_start(&opts, ret_nats);
}

int natsd_start_cluster(const char *auth_conf, size_t n, natsd_t *ret_nats[])
{
    uint16_t route_port[8];
    char *extra = NULL;
    int r = 0;

    if (!auth_conf || n == 0 || n > sizeof(route_port) / sizeof(route_port[0]))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        ret_nats[i] = NULL;
        bool dup;
        do { /* the kernel may hand out the same free port twice */
            if ((r = harness_port_free(&route_port[i])) < 0)
                return r;
            dup = false;
            for (size_t k = 0; k < i; k++)
                dup |= route_port[k] == route_port[i];
        } while (dup);
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        size_t size = 0;
        FILE *f = open_memstream(&extra, &size);
        if (!f)
            return -ENOMEM;
        fprintf(f, "cluster {\n  name: \"tagent-test\"\n  listen: \"127.0.0.1:%u\"\n  routes: [",
                route_port[i]);
        for (size_t k = 0, listed = 0; k < n; k++) /* comma separated: the parser wants it */
            if (k != i)
                fprintf(f, "%s \"nats-route://127.0.0.1:%u\"", listed++ ? "," : "", route_port[k]);
        fprintf(f, " ]\n}\n");
        if (fclose(f) != 0) {
            r = -ENOMEM;
            break;
        }
        const struct natsd_opts opts = {.tls = true,
                                        .auth_conf = auth_conf,
                                        .extra_conf = extra,
                                        .ca_from = i ? ret_nats[0] : NULL,
                                        .monitor = true};
        r = natsd_start(&opts, &ret_nats[i]);
        free(extra);
        extra = NULL;
    }
    if (r < 0)
        for (size_t i = 0; i < n; i++) {
            natsd_free(ret_nats[i]);
            ret_nats[i] = NULL;
        }
    return r;
}

/* Reads the whole response (HTTP/1.0: the server closes when done) and returns the body after the
 * header, only for a 200. */
static int natsd_http_read(int fd, char **ret_body)
{
    char *buf = NULL, *body;
    size_t len = 0, cap = 0;
    int r = 0;

    for (;;) {
        if (cap - len < 4096) {
            char *p = realloc(buf, cap + 65536);
            if (!p) {
                r = -ENOMEM;
                break;
            }
            buf = p;
            cap += 65536;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0)
            r = -errno;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (r == 0) {
        buf[len] = '\0';
        body = strstr(buf, "\r\n\r\n");
        r = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0 && body ? 0 : -EPROTO;
    }
    if (r == 0) {
        body += 4;
        memmove(buf, body, strlen(body) + 1);
        *ret_body = buf;
        return 0;
    }
    free(buf);
    return r;
}

int natsd_monitor_get(const natsd_t *nats, const char *path, char **ret_body)
{
    struct timeval tv = {.tv_sec = 5};
    char req[512];
    int fd, r;

    if (!nats->http_port || nats->pid <= 0)
        return -ENOTCONN;
    r = harness_tcp_connect(nats->http_port, &fd);
    if (r < 0)
        return r;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    r = write(fd, req, (size_t)n) == n ? natsd_http_read(fd, ret_body) : -EIO;
    close(fd);
    return r;
}

int natsd_client_options(const natsd_t *nats, const char *creds_path, natsOptions **ret_opts)
{
    natsOptions *opts = NULL;
    natsStatus s;

    s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, nats->url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 5000);
    if (s == NATS_OK && nats->ca_file)
        s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK && nats->ca_file)
        s = natsOptions_LoadCATrustedCertificates(opts, nats->ca_file);
    if (s == NATS_OK && creds_path)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds_path, NULL);
    if (s != NATS_OK) {
        fprintf(stderr, "natsd: client options for %s: %s (%s)\n", nats->url, natsStatus_GetText(s),
                nats_GetLastError(NULL));
        natsOptions_Destroy(opts);
        return -EIO;
    }
    *ret_opts = opts;
    return 0;
}

natsStatus natsd_connect(natsOptions *opts, natsConnection **ret_nc)
{
    natsStatus s = NATS_CONNECTION_AUTH_FAILED;

    for (int attempt = 1; attempt <= 3 && s == NATS_CONNECTION_AUTH_FAILED; attempt++) {
        s = natsConnection_Connect(ret_nc, opts);
        if (s == NATS_CONNECTION_AUTH_FAILED && attempt < 3)
            fprintf(stderr, "natsd: connect attempt %d refused (%s); retrying with a new nonce\n", attempt,
                    nats_GetLastError(NULL));
    }
    return s;
}

void harness_nats_close(void)
{
    nats_CloseAndWait(5000);
    OPENSSL_cleanup();
}
