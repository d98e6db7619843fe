/* The mock control plane (tests/mock/tagent-mock-cp) as a registered child: started by PID with the
 * harness's PDEATHSIG, its READY line read back from its log, and a small HTTPS client for its
 * control endpoints (/mock/faults, /mock/state).
 *
 * The token tests hand the agent (mockcp_t.bearer) is a real JWT signed by the mock's AAS, as in a
 * deployment, where the administrator gets the installation token from AAS: on its first start the mock is
 * given opts.bearer (default MOCKCP_DEFAULT_BEARER) as the secret of its AAS user "installadmin", and the
 * harness logs in with POST /aas/v1/token. Restarts pass that JWT as --bearer, so the token handed out
 * stays good although the new process has forgotten what its AAS issued. */
#include "harness.h"
#include "harness_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#ifndef TAGENT_MOCK_CP_PATH
#define TAGENT_MOCK_CP_PATH "tagent-mock-cp"
#endif

#define MOCKCP_READY_MS 60000
#define LOG_TAIL_LINES  30
#define RESPONSE_MAX    (1024 * 1024)

/* ---- argv ---- */

struct argv_builder {
    char **v;
    size_t n;
    bool oom;
};

static void argv_add(struct argv_builder *a, const char *arg)
{
    char **bigger = realloc(a->v, (a->n + 2) * sizeof(*a->v));

    if (!bigger || !(bigger[a->n] = strdup(arg))) {
        a->v = bigger ? bigger : a->v;
        a->oom = true;
        return;
    }
    a->v = bigger;
    a->v[++a->n] = NULL;
}

static void argv_add_list(struct argv_builder *a, const char *option, const char *const *list)
{
    for (; list && *list; list++) {
        argv_add(a, option);
        argv_add(a, *list);
    }
}

static void argv_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

static int build_argv(mockcp_t *m, const struct mockcp_opts *opts, char ***ret_argv)
{
    struct argv_builder a = {0};
    const char *program = opts->program ? opts->program : getenv("TAGENT_MOCK_CP");
    char num[16];

    argv_add(&a, program && *program ? program : TAGENT_MOCK_CP_PATH);
    argv_add(&a, "--dir");
    argv_add(&a, m->dir);
    argv_add(&a, "--bearer");
    argv_add(&a, m->bearer);
    /* a port below the ephemeral range (net.c says why) unless the caller chose one */
    uint16_t port = opts->port;
    if (!port && harness_port_free(&port) < 0)
        port = 0; /* let the mock bind any free port */
    snprintf(num, sizeof(num), "%u", port);
    argv_add(&a, "--port");
    argv_add(&a, num);
    argv_add_list(&a, "--ek-ca", opts->ek_ca);
    argv_add_list(&a, "--ek-cert", opts->ek_certs);
    argv_add_list(&a, "--fault", opts->faults);
    if (m->nats_dir) {
        argv_add(&a, "--nats-dir");
        argv_add(&a, m->nats_dir);
    }
    if (opts->nats_account_seed) {
        argv_add(&a, "--nats-account-seed");
        argv_add(&a, opts->nats_account_seed);
    }
    if (opts->aik_validity_years > 0) {
        snprintf(num, sizeof(num), "%d", opts->aik_validity_years);
        argv_add(&a, "--aik-validity-years");
        argv_add(&a, num);
    }
    if (a.oom) {
        argv_free(a.v);
        return -ENOMEM;
    }
    *ret_argv = a.v;
    return 0;
}

/* ---- the READY line ---- */

static int read_file(const char *path, char **ret_text, size_t *ret_len)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;
    size_t len = 0, cap = 0;

    if (!f)
        return -errno;
    for (;;) {
        if (cap - len < 4096) {
            char *bigger = realloc(text, cap + 65536 + 1);

            if (!bigger) {
                free(text);
                fclose(f);
                return -ENOMEM;
            }
            text = bigger;
            cap += 65536;
        }
        size_t n = fread(text + len, 1, cap - len, f);

        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    text[len] = '\0';
    *ret_text = text;
    if (ret_len)
        *ret_len = len;
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Finds "READY port=... tls_sha384=... ca=..." after offset in the log. 1: found, 0: not yet. */
static int parse_ready(mockcp_t *m, long offset)
{
    char *text = NULL, *line, *ca, *nl;
    unsigned port = 0;
    char sha[97] = "";
    size_t len = 0;
    int r = read_file(m->log_path, &text, &len);

    if (r < 0)
        return r == -ENOENT ? 0 : r;
    r = 0;
    if ((size_t)offset > len)
        offset = 0;
    for (line = text + offset; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (!nl)
            break; /* a line still being written */
        *nl = '\0';
        if (strncmp(line, "READY ", 6) != 0)
            continue;
        if (sscanf(line, "READY port=%u tls_sha384=%96s", &port, sha) != 2 || port == 0 || port > 65535 ||
            strlen(sha) != 96 || !(ca = strstr(line, " ca="))) {
            fprintf(stderr, "mockcp: malformed READY line: %s\n", line);
            r = -EPROTO;
            break;
        }
        free(m->ca_file);
        m->ca_file = strdup(ca + 4);
        if (!m->ca_file) {
            r = -ENOMEM;
            break;
        }
        m->port = (uint16_t)port;
        snprintf(m->tls_sha384, sizeof(m->tls_sha384), "%s", sha);
        snprintf(m->base_url, sizeof(m->base_url), "https://127.0.0.1:%u", port);
        snprintf(m->cms_url, sizeof(m->cms_url), "%s/cms/v1", m->base_url);
        snprintf(m->aas_url, sizeof(m->aas_url), "%s/aas/v1", m->base_url);
        snprintf(m->hvs_url, sizeof(m->hvs_url), "%s/hvs/v2", m->base_url);
        r = 1;
        break;
    }
    free(text);
    return r;
}

static int mockcp_launch(mockcp_t *m)
{
    long offset = file_size(m->log_path);
    int64_t deadline;
    int r;

    r = harness_spawn((const char *const *)m->argv, m->log_path, &m->pid);
    if (r < 0)
        return r;
    deadline = harness_now_ms() + MOCKCP_READY_MS;
    for (;;) {
        r = parse_ready(m, offset);
        if (r != 0)
            break;
        if (harness_proc_exited(m->pid) == 1) {
            m->pid = 0;
            fprintf(stderr, "mockcp: %s exited before it was ready\n", m->argv[0]);
            r = -ECHILD;
            break;
        }
        if (harness_now_ms() >= deadline) {
            fprintf(stderr, "mockcp: no READY line within %d ms\n", MOCKCP_READY_MS);
            r = -ETIMEDOUT;
            break;
        }
        harness_sleep_ms(20);
    }
    if (r < 0) {
        harness_log_tail(m->log_path, LOG_TAIL_LINES);
        if (m->pid > 0)
            harness_proc_stop(m->pid);
        m->pid = 0;
        return r;
    }
    return 0;
}

static int read_nats_conf(mockcp_t *m)
{
    char *path = NULL;
    int r;

    if (!m->nats_dir)
        return 0;
    r = harness_path_join(m->nats_dir, "nats-server-auth.conf", &path);
    if (r == 0 && harness_path_exists(path)) {
        free(m->nats_auth_conf);
        m->nats_auth_conf = NULL;
        r = read_file(path, &m->nats_auth_conf, NULL);
    }
    free(path);
    return r;
}

static int https_request(const mockcp_t *m, const char *method, const char *target, const char *headers,
                         const char *json_body, int *ret_status, char **ret_body);

/* Logs in as the installation user (its password: the secret in m->bearer) and makes the JWT it gets
 * m->bearer, also for restarts. Faults active from the start would refuse the login, so they are lifted. */
static int install_token(mockcp_t *m, const char *const *faults)
{
    char *body = NULL, *login = NULL, fault_list[512] = "";
    int status = 0, r = 0;
    size_t len = 0;

    for (const char *const *f = faults; f && *f && r == 0; f++) {
        r = snprintf(fault_list + len, sizeof(fault_list) - len, "%s%s", len ? "," : "", *f) <
                    (int)(sizeof(fault_list) - len)
                ? 0
                : -ENAMETOOLONG;
        len = strlen(fault_list);
    }
    if (r == 0 && len)
        r = mockcp_fault(m, NULL, "all");
    if (r < 0)
        return r;
    /* The secret is the harness's own (no quotes or backslashes in it), so it goes into the JSON as it is. */
    if (strpbrk(m->bearer, "\"\\")) {
        r = -EINVAL;
        goto out;
    }
    if (asprintf(&login, "{\"username\":\"installadmin\",\"password\":\"%s\"}", m->bearer) < 0) {
        login = NULL;
        r = -ENOMEM;
        goto out;
    }
    r = https_request(m, "POST", "/aas/v1/token", NULL, login, &status, &body);
    if (r == 0 && (status != 200 || !body || strchr(body, '\n') || strlen(body) < 20)) {
        fprintf(stderr, "mockcp: POST /aas/v1/token -> %d %s\n", status, body ? body : "");
        r = -EPROTO;
    }
    if (r < 0)
        goto out;
    for (char **p = m->argv; p && *p; p++) {
        if (strcmp(*p, "--bearer") == 0 && p[1]) {
            free(p[1]);
            if (!(p[1] = strdup(body))) {
                r = -ENOMEM;
                goto out;
            }
            break;
        }
    }
    free(m->bearer);
    m->bearer = body;
    body = NULL;
    if (len)
        r = mockcp_fault(m, fault_list, NULL);
out:
    free(login);
    free(body);
    return r;
}

int mockcp_start(const struct mockcp_opts *opts, mockcp_t **ret_mock)
{
    static const struct mockcp_opts defaults;
    mockcp_t *m = calloc(1, sizeof(*m));
    int r;

    if (!m)
        return -ENOMEM;
    if (!opts)
        opts = &defaults;
    if (opts->dir) {
        m->dir = strdup(opts->dir);
        r = m->dir ? 0 : -ENOMEM;
        if (r == 0 && mkdir(m->dir, 0700) < 0 && errno != EEXIST)
            r = -errno;
    } else {
        r = harness_tmpdir_create("mockcp", &m->dir);
        m->own_dir = true;
    }
    if (r < 0)
        goto out;
    r = -ENOMEM;
    if (!(m->bearer = strdup(opts->bearer ? opts->bearer : MOCKCP_DEFAULT_BEARER)) ||
        harness_path_join(m->dir, "mockcp.log", &m->log_path) < 0 ||
        harness_path_join(m->dir, "requests.log", &m->request_log) < 0 ||
        (opts->nats && harness_path_join(m->dir, "nats", &m->nats_dir) < 0))
        goto out;
    if ((r = build_argv(m, opts, &m->argv)) < 0 || (r = mockcp_launch(m)) < 0 ||
        (r = install_token(m, opts->faults)) < 0 || (r = read_nats_conf(m)) < 0)
        goto out;
out:
    if (r < 0) {
        fprintf(stderr, "mockcp: start failed: %s\n", strerror(-r));
        mockcp_free(m);
        return r;
    }
    *ret_mock = m;
    return 0;
}

int mockcp_stop(mockcp_t *m)
{
    long offset;
    char *text = NULL;
    size_t len = 0;
    int r;

    if (!m || m->pid <= 0)
        return 0;
    offset = file_size(m->log_path);
    r = harness_proc_stop(m->pid);
    m->pid = 0;
    if (r < 0)
        return r;
    r = read_file(m->log_path, &text, &len);
    if (r < 0)
        return r;
    if ((size_t)offset > len || !strstr(text + offset, "STOPPED\n") || strstr(text + offset, "Sanitizer") ||
        strstr(text + offset, "runtime error:")) {
        fprintf(stderr, "mockcp: did not exit cleanly on SIGTERM\n");
        harness_log_tail(m->log_path, LOG_TAIL_LINES);
        r = -EIO;
    }
    free(text);
    return r;
}

int mockcp_restart(mockcp_t *m)
{
    int r = mockcp_stop(m);
    char port[8];

    if (r < 0)
        return r;
    /* Pin the port it had, so URLs handed out stay valid. */
    for (char **p = m->argv; p && *p; p++) {
        if (strcmp(*p, "--port") == 0 && p[1]) {
            snprintf(port, sizeof(port), "%u", m->port);
            free(p[1]);
            if (!(p[1] = strdup(port)))
                return -ENOMEM;
            break;
        }
    }
    r = mockcp_launch(m);
    if (r < 0)
        fprintf(stderr, "mockcp: restart on port %u failed: %s\n", m->port, strerror(-r));
    return r;
}

void mockcp_free(mockcp_t *m)
{
    if (!m)
        return;
    if (m->pid > 0)
        harness_proc_stop(m->pid);
    if (m->own_dir && m->dir)
        harness_tmpdir_remove(m->dir);
    argv_free(m->argv);
    free(m->bearer);
    free(m->ca_file);
    free(m->dir);
    free(m->log_path);
    free(m->request_log);
    free(m->nats_dir);
    free(m->nats_auth_conf);
    free(m);
}

/* ---- control endpoints: one HTTP/1.1 request over TLS, trusting the mock's CA ---- */

static int https_request(const mockcp_t *m, const char *method, const char *target, const char *headers,
                         const char *json_body, int *ret_status, char **ret_body)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *bio = NULL;
    SSL *ssl = NULL;
    char host[32], *resp = NULL, *body;
    size_t len = 0;
    int status = 0, r = -EIO;

    if (!ctx || SSL_CTX_load_verify_locations(ctx, m->ca_file, NULL) != 1)
        goto out;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    snprintf(host, sizeof(host), "127.0.0.1:%u", m->port);
    bio = BIO_new_ssl_connect(ctx);
    if (!bio || BIO_get_ssl(bio, &ssl) != 1 || !ssl || BIO_set_conn_hostname(bio, host) != 1 ||
        SSL_set1_host(ssl, "127.0.0.1") != 1 || BIO_do_connect(bio) != 1 || BIO_do_handshake(bio) != 1)
        goto out;
    if (BIO_printf(bio,
                   "%s %s HTTP/1.1\r\nHost: %s\r\n%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   method, target, host, headers ? headers : "",
                   json_body ? "Content-Type: application/json\r\n" : "", json_body ? strlen(json_body) : 0,
                   json_body ? json_body : "") <= 0 ||
        BIO_flush(bio) != 1)
        goto out;
    resp = malloc(RESPONSE_MAX + 1);
    if (!resp) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        int n = BIO_read(bio, resp + len, (int)(RESPONSE_MAX - len));

        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == RESPONSE_MAX)
            break;
    }
    resp[len] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !(body = strstr(resp, "\r\n\r\n")))
        goto out;
    *ret_status = status;
    if (ret_body && !(*ret_body = strdup(body + 4))) {
        r = -ENOMEM;
        goto out;
    }
    r = 0;
out:
    if (r == -EIO) {
        fprintf(stderr, "mockcp: %s %s failed\n", method, target);
        ERR_print_errors_fp(stderr);
    }
    free(resp);
    BIO_free_all(bio);
    SSL_CTX_free(ctx);
    return r;
}

static int control_request(const mockcp_t *m, const char *method, const char *target, int *ret_status,
                           char **ret_body)
{
    return https_request(m, method, target, NULL, NULL, ret_status, ret_body);
}

int mockcp_host_set_uuid(mockcp_t *m, const char *name, const char *uuid)
{
    char target[512], *body = NULL;
    int status = 0;
    snprintf(target, sizeof(target), "/mock/host-uuid?name=%s&hardware_uuid=%s", name, uuid);
    int r = control_request(m, "POST", target, &status, &body);
    if (r == 0 && status != 200) {
        fprintf(stderr, "mockcp: %s -> %d %s\n", target, status, body);
        r = -EINVAL;
    }
    free(body);
    return r;
}

int mockcp_fault(mockcp_t *m, const char *set, const char *clear)
{
    char target[512], *body = NULL;
    int status = 0, r;

    snprintf(target, sizeof(target), "/mock/faults?%s%s%s%s%s", set ? "set=" : "", set ? set : "",
             set && clear ? "&" : "", clear ? "clear=" : "", clear ? clear : "");
    r = control_request(m, "POST", target, &status, &body);
    if (r == 0 && status != 200) {
        fprintf(stderr, "mockcp: %s -> %d %s\n", target, status, body);
        r = -EINVAL;
    }
    free(body);
    return r;
}

int mockcp_state(mockcp_t *m, char **ret_json)
{
    char *body = NULL;
    int status = 0, r = control_request(m, "GET", "/mock/state", &status, &body);

    if (r == 0 && status != 200)
        r = -EIO;
    if (r < 0) {
        free(body);
        return r;
    }
    *ret_json = body;
    return 0;
}

int mockcp_request_count(const mockcp_t *m, const char *prefix)
{
    char *text = NULL, *line, *nl;
    size_t plen = strlen(prefix);
    int count = 0, r = read_file(m->request_log, &text, NULL);

    if (r < 0)
        return r == -ENOENT ? 0 : r;
    /* read_file() returns 0 only with text set (the analyzer supposes fopen() may fail with errno 0) */
    for (line = text; *line; line = nl + 1) { /* NOLINT(clang-analyzer-core.NullDereference) */
        nl = strchr(line, '\n');
        if (!nl)
            break;
        if (strncmp(line, prefix, plen) == 0)
            count++;
    }
    free(text);
    return count;
}

int mockcp_mint_token(mockcp_t *m, const char *claims_json, int validity_seconds, char **ret_jwt)
{
    char *headers = NULL, *body = NULL, *answer = NULL;
    int status = 0, r = -ENOMEM;
    if (asprintf(&headers, "Authorization: Bearer %s\r\nAccept: text/plain\r\n", m->bearer) < 0)
        headers = NULL;
    /* the subject is what AAS puts in "sub": any UUID (the agent's api-token carries its hardware UUID) */
    else if (asprintf(&body,
                      "{\"subject\":\"00000000-0000-4000-8000-000000000018\",\"validity_seconds\":%d,"
                      "\"claims\":%s}",
                      validity_seconds, claims_json) < 0)
        body = NULL;
    else
        r = https_request(m, "POST", "/aas/v1/custom-claims-token", headers, body, &status, &answer);
    if (r == 0 && status != 200) {
        fprintf(stderr, "mockcp: custom-claims-token -> %d %s\n", status, answer ? answer : "");
        r = -EINVAL;
    }
    if (r == 0)
        *ret_jwt = answer;
    else
        free(answer);
    free(headers);
    free(body);
    return r;
}
