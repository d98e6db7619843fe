/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` as a sequence: prepare the process and what the handlers need (config, status
 * socket, TPM, measure log), then one of the two transports until a stop signal: outbound mode starts the
 * worker pool (pool.c) and serves the NATS link (serve.c); HTTP mode (the Go agent's default) serves HTTPS
 * (http/). Both run the health thread (health.c) and the same handlers. Tear down in the reverse order with
 * a bounded stop.
 */
#include "agent_config.h"
#include "cleanup.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "http_bounded.h"
#include "http_serve.h"
#include "log.h"
#include "measure_log.h"
#include "pool.h"
#include "provision.h"
#include "serve.h"
#include "service.h"
#include "service_status.h"
#include "status_socket.h"
#include "token_auth.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SERVICE_STOP_MS  5000 /* in-flight work gets this long after SIGTERM */
#define SERVICE_DRAIN_MS 2000
/* SIGTERM to exit, every step included. Each step also has its own bound, but their sum under heavy load
 * (each one timing out in turn) came near 20 s; one budget keeps the whole stop well inside systemd's
 * TimeoutStopSec and a supervisor's patience. */
#define SERVICE_STOP_BUDGET_MS 10000

/* What is left of the stop budget, at most step_ms (never negative: a step then only tries once). */
static long budget_left(int64_t stop_by, long step_ms)
{
    int64_t left = stop_by - monotonic_ms();
    return left < 0 ? 0 : left < step_ms ? (long)left : step_ms;
}

struct service {
    struct tagent_config cfg;
    struct service_ctx ctx;
    sigset_t sigs; /* taken by sigtimedwait() only */
    status_socket_t *status;
    struct token_auth *auth; /* HTTP mode */
    char *prefix, *subject, *ca_dir, *creds;
    struct nats_link_options link;
};

/* Process-wide set-up, before any thread (cnats' too) exists. */
static void process_setup(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* one malloc arena: a few threads doing little allocation need no per-thread arenas, each of which
     * would keep its own dirty pages (bench/README.md: bench_service) */
    mallopt(M_ARENA_MAX, 1);
    /* cnats' TLS setup loads OpenSSL's default verify paths: the whole system bundle file (~150 certificates,
     * 0.8 MiB of heap and ~30 ms at start) and the hashed directory (read lazily, per issuer). Pointing the
     * bundle file nowhere keeps the same system trust through the directory without the eager copy. An
     * operator's own SSL_CERT_FILE is kept. */
    setenv("SSL_CERT_FILE", "/nonexistent/tagent-uses-the-hashed-cert-dir", 0);
}

static int load_config(const char *root, struct tagent_config *cfg)
{
    int r = agent_config_load(root, "startService", cfg);
    if (r < 0)
        return r;
    log_apply_config(cfg, LOG_WARNING);
    if (cfg->mode == CONFIG_MODE_HTTP && (cfg->server.port < 1 || cfg->server.port > 65535)) {
        log_error("config.yml server port %d is not a TCP port (set TRUSTAGENT_PORT, then `tagent setup "
                  "update-service-config`)",
                  cfg->server.port);
        return -EINVAL;
    }
    if (cfg->mode == CONFIG_MODE_OUTBOUND &&
        (cfg->n_nats_servers == 0 || !cfg->nats_host_id || !*cfg->nats_host_id)) {
        log_error("config.yml has no NATS servers or host id (NATS_SERVERS, TA_HOST_ID)");
        return -EINVAL;
    }
    if (!cfg->tcti) {
        const char *t = getenv("TAGENT_TCTI");
        if (t && *t && !(cfg->tcti = strdup(t)))
            return -ENOMEM;
    }
    return 0;
}

/* Before the TPM: a second instance must stop here, not compete for the TPM and the subjects. Any other
 * socket problem (no /run/tagent writable without systemd's RuntimeDirectory=) costs `tagent status` only,
 * not the attestation service. */
static int status_start(struct service *s)
{
    _cleanup_free_ char *error = NULL;
    int r = status_socket_start(s->ctx.root, &s->status, &error);
    if (r == -EADDRINUSE || r == -ENOMEM) {
        log_error("%s", error ? error : "status socket: out of memory");
        return r;
    }
    if (r < 0)
        log_warning("%s; `tagent status` will not see this service", error ? error : "status socket failed");
    return 0;
}

static int tpm_setup(struct service *s)
{
    _cleanup_free_ char *error = NULL;
    if (s->cfg.tag_secret_key && tpm_auth_from_secret(s->cfg.tag_secret_key, &s->ctx.tag_auth, &error) < 0) {
        log_error("config.yml tag-secret-key: %s", error ? error : "out of memory");
        return -EINVAL;
    }
    int r = tpm_open(s->cfg.tcti, &s->ctx.tpm, &error);
    if (r == 0)
        r = tep_srk_pin(s->ctx.root, s->ctx.tpm, &error);
    if (r < 0)
        log_error("TPM: %s", error ? error : "out of memory");
    return r;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)

/* aik.pem's RSA modulus (256 bytes, big-endian); -EBADMSG with *ret_why when it holds no certificate,
 * -EKEYREJECTED when the certificate's key cannot be an AIK's (not RSA-2048). */
static int aik_pem_modulus(const char *pem, size_t len, uint8_t ret_modulus[256], const char **ret_why)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return -ENOMEM;
    _cleanup_(X509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!cert) {
        *ret_why = len == 0 ? "it is empty" : "it holds no readable PEM X.509 certificate";
        return -EBADMSG;
    }
    const EVP_PKEY *key = X509_get0_pubkey(cert);
    _cleanup_(BN_freep) BIGNUM *n = NULL;
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) || BN_num_bytes(n) != 256)
        return -EKEYREJECTED;
    return BN_bn2binpad(n, ret_modulus, 256) == 256 ? 0 : -ENOMEM;
}

/* A corrupt, empty or foreign aik.pem would make every quote reply carry an Aik that HVS cannot use (or
 * that does not verify the quote): refuse to start instead, naming the file and the task that rewrites it.
 * A TPM that does not answer now only skips the comparison: the service is made to ride out TPM outages. */
static int aik_check(struct service *s)
{
    static const char fix[] = "run `tagent setup provision-aik -f trustagent.env --force`, then start again";
    _cleanup_free_ char *path = config_path(s->ctx.root, TAGENT_AIK_PEM), *pem = NULL, *error = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, 1u << 20, &pem, &len) : -ENOMEM;
    if (r < 0) {
        log_error("%s: cannot read the AIK certificate: %s; %s", path, strerror(-r), fix);
        return r;
    }
    uint8_t modulus[256];
    const char *why = NULL;
    r = aik_pem_modulus(pem, len, modulus, &why);
    if (r < 0 && r != -EKEYREJECTED) {
        log_error("%s is not the AIK certificate: %s; %s", path, why ? why : strerror(-r), fix);
        return r;
    }
    struct tpm_aik_info info = {0};
    bool foreign = r == -EKEYREJECTED;
    if (!foreign)
        r = tpm_aik_info(s->ctx.tpm, &info, &error);
    if (r == -ENOENT) {
        log_error("%s: the TPM has no AIK (%s); %s", path, error ? error : "not persisted", fix);
        return r;
    }
    if (r < 0 && !foreign) {
        log_warning("%s: cannot compare with the TPM's AIK now (%s); quotes will fail until the TPM answers",
                    path, error ? error : strerror(-r));
        return 0;
    }
    free(info.pem);
    if (foreign || memcmp(info.modulus, modulus, sizeof(modulus)) != 0) {
        log_error("%s is not the certificate of this TPM's AIK (its public key differs: a certificate from "
                  "another host or an older AIK); %s",
                  path, fix);
        return -EKEYREJECTED;
    }
    return 0;
}

static int link_setup(struct service *s)
{
    const char *id = s->cfg.nats_host_id;
    if (asprintf(&s->prefix, "trust-agent.%s.", id) < 0 ||
        asprintf(&s->subject, "trust-agent.%s.>", id) < 0) {
        s->prefix = s->subject = NULL;
        return -ENOMEM;
    }
    s->ca_dir = config_path(s->ctx.root, TAGENT_CACERTS_DIR);
    s->creds = config_path(s->ctx.root, TAGENT_CREDS_FILE);
    if (!s->ca_dir || !s->creds)
        return -ENOMEM;
    s->link = (struct nats_link_options){.servers = (const char *const *)s->cfg.nats_servers,
                                         .n_servers = s->cfg.n_nats_servers,
                                         .ca_dir = s->ca_dir,
                                         .creds_file = s->creds,
                                         .name = id,
                                         .subject = s->subject};
    return 0;
}

/* HTTP mode: the verifier of the Bearer tokens HVS sends (AAS-signed JWTs). */
static int auth_setup(struct service *s)
{
    _cleanup_free_ char *error = NULL;
    int r = token_auth_new(s->ctx.root, &s->cfg, &s->auth, &error);
    if (r < 0)
        log_error("HTTP mode's token verifier: %s", error ? error : strerror(-r));
    return r;
}

/* Everything the handlers need, in the order in which a failure is cheapest. */
static int prepare(struct service *s, const char *root)
{
    s->ctx = (struct service_ctx){.root = root, .cfg = &s->cfg};
    pthread_mutex_init(&s->ctx.log_mu, NULL);
    pthread_mutex_init(&s->ctx.tag_mu, NULL);
    int r = load_config(root, &s->cfg);
    if (r == 0)
        r = service_status_init(s->cfg.nats_host_id ? s->cfg.nats_host_id : "");
    if (r == 0)
        r = status_start(s);
    if (r == 0)
        r = tpm_setup(s);
    if (r == 0)
        r = aik_check(s);
    if (r == 0) {
        measure_log_load(root, &s->ctx.measure_log);
        r = s->ctx.measure_log ? 0 : -ENOMEM;
    }
    if (r == 0 && s->cfg.mode == CONFIG_MODE_OUTBOUND)
        r = link_setup(s);
    if (r == 0 && s->cfg.mode == CONFIG_MODE_HTTP)
        r = auth_setup(s);
    return r;
}

static void teardown(struct service *s)
{
    status_socket_stop(s->status);
    token_auth_free(s->auth);
    service_status_free();
    tpm_close(s->ctx.tpm);
    tpm_auth_clear(&s->ctx.tag_auth);
    free(s->ctx.measure_log);
    free(s->prefix);
    free(s->subject);
    free(s->ca_dir);
    free(s->creds);
    config_free(&s->cfg);
    pthread_mutex_destroy(&s->ctx.log_mu);
    pthread_mutex_destroy(&s->ctx.tag_mu);
}

/* The HTTP listener always "up" for the health thread's log (it asks about the NATS link). */
static bool listening(void *unused)
{
    (void)unused;
    return true;
}

/* HTTP mode from prepare() to exit: serve, then drain the requests in flight (bounded) and stop. */
static int service_run_http(struct service *s)
{
    health_t *health = NULL;
    http_server_t *server = NULL;
    int r = health_start(s->ctx.tpm, listening, NULL, &health);
    if (r < 0)
        log_error("cannot start the service's threads: %s", strerror(-r));
    if (r == 0)
        r = http_serve(&s->ctx, s->auth, &s->sigs, &server);
    int64_t stop_by = monotonic_ms() + SERVICE_STOP_BUDGET_MS;
    bool drained = http_server_drain(server, budget_left(stop_by, SERVICE_STOP_MS)) &&
                   http_bounded_idle(budget_left(stop_by, SERVICE_STOP_MS));
    bool health_done = health_stop(health);
    if (!drained || !health_done) {
        /* a thread is stuck in a TPM call: leave without freeing what it uses */
        log_warning("stopping with a request still in a TPM call");
        status_socket_stop(s->status);
        return r < 0 ? 1 : 0;
    }
    http_server_stop(server);
    health_free(health);
    teardown(s);
    return r < 0 ? 1 : 0;
}

int service_run(const char *root)
{
    struct service s = {0};
    pool_t *pool = NULL;
    health_t *health = NULL;
    struct links *links = NULL;

    process_setup(&s.sigs);
    int r = prepare(&s, root);
    if (r == 0 && s.cfg.mode == CONFIG_MODE_HTTP)
        return service_run_http(&s);
    if (r == 0 && (r = pool_start(&s.ctx, s.prefix, &pool)) == 0 && (r = links_new(&links)) == 0 &&
        (r = health_start(s.ctx.tpm, links_connected, links, &health)) < 0)
        log_error("cannot start the service's threads: %s", strerror(-r));
    if (r == 0)
        r = serve(&s.ctx, pool, &s.link, &s.sigs, links);

    /* stop: no new requests, the ones in flight get SERVICE_STOP_MS, then every thread leaves */
    int64_t stop_by = monotonic_ms() + SERVICE_STOP_BUDGET_MS;
    links_stop(links, budget_left(stop_by, SERVICE_DRAIN_MS));
    bool pool_done =
        !pool || pool_stop(pool, budget_left(stop_by, SERVICE_STOP_MS), "tagent is shutting down");
    bool health_done = health_stop(health);
    if (!pool_done || !health_done) {
        /* a thread is stuck in a TPM call (its request was answered): leave without freeing what it uses */
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the rest stays allocated: the process exits */
        status_socket_stop(s.status);
        links_close(links, budget_left(stop_by, SERVICE_DRAIN_MS));
        return r < 0 ? 1 : 0;
    }
    links_close(links, budget_left(stop_by, SERVICE_DRAIN_MS));
    pool_free(pool);
    health_free(health);
    links_free(links);
    teardown(&s);
    nats_library_close(budget_left(stop_by, SERVICE_DRAIN_MS));
    return r < 0 ? 1 : 0;
}
