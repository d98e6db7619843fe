/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NATS service loop: config, TPM, measure log, connection, a small worker pool, a watchdog that
 * answers any request whose deadline passes, and a bounded graceful stop on SIGTERM/SIGINT.
 *
 * Threads: cnats delivers messages on its own thread; on_request() only queues them (or answers at once
 * when the subject is unknown, the queue is full or the service is stopping). SERVICE_WORKERS workers run
 * the handlers, so a slow TPM never blocks delivery. Each request has a deadline; the watchdog replies
 * with a timeout error when it passes, and the worker's late reply is then dropped (exactly one reply).
 */
#include "agent_config.h"
#include "agent_paths.h"
#include "boot_log.h"
#include "config.h"
#include "go_json.h"
#include "log.h"
#include "handler.h"
#include "measure_log.h"
#include "service.h"
#include "service_error.h"
#include "service_report.h"
#include "service_tag.h"
#include "service_status.h"
#include "status_socket.h"
#include "transport.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#define SERVICE_WORKERS     2
#define SERVICE_QUEUE_MAX   64
#define SERVICE_DEADLINE_MS 8000 /* HVS waits 10 s */
#define SERVICE_STOP_MS     5000 /* in-flight work gets this long after SIGTERM */
#define SERVICE_DRAIN_MS    2000
#define HEALTH_PROBE_MS     5000 /* a TPM not heard from for this long is pinged */


struct job {
    struct job *next;
    struct nats_request *req;
    nats_link_t *link;
    const struct service_handler *handler; /* NULL: unknown subject */
    const char *suffix;                    /* into req->subject */
    int64_t deadline_ms;
    bool replied;
};

struct service {
    struct service_ctx ctx;
    char *prefix; /* "trust-agent.<host-id>." */
    nats_link_t *link;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    struct job *head, *tail;
    size_t queued, busy;
    struct job *current[SERVICE_WORKERS];
    bool stopping, quit;
    unsigned workers_running; /* threads that may be inside a TPM call: the workers and the health probe */
    pthread_t workers[SERVICE_WORKERS], watchdog, health;
    pthread_cond_t health_wake;
    int64_t probe_ms;       /* health probe period */
    uint64_t watchdog_usec; /* systemd's WatchdogSec (0: no watchdog) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *job_subject(const struct job *j)
{
    return j->suffix ? j->suffix : "?";
}

static int send_reply(struct job *j, const struct service_reply *reply, char **ret_error)
{
    return nats_link_publish(j->link, j->req->reply, reply->body, reply->len, reply->headers, reply->n_headers,
                             ret_error);
}

/* Sends reply (consumed) to the job's reply subject; one over the server's max payload is replaced by the
 * too-large error. */
static void publish(struct job *j, struct service_reply *reply)
{
    char *error = NULL;
    int r = 0;
    if (!j->req->reply) {
        log_warning("NATS: %s request without a reply subject: nothing sent", job_subject(j));
        goto out;
    }
    r = send_reply(j, reply, &error);
    if (r == -EMSGSIZE) {
        log_error("NATS: %s: %s", job_subject(j), error);
        service_reply_done(reply);
        r = service_error_reply(j->handler, j->suffix, SERVICE_ERR_TOO_LARGE, error, reply);
        free(error);
        error = NULL;
        if (r == 0)
            r = send_reply(j, reply, &error);
    }
    if (r < 0)
        log_error("NATS: %s: reply not sent: %s", job_subject(j), error ? error : strerror(-r));
out:
    free(error);
    service_reply_done(reply);
}

/* The error reply (service_error.c) for a job nobody else has answered yet. */
static void publish_error(struct job *j, int code, const char *message)
{
    struct service_reply reply;
    if (service_error_reply(j->handler, j->suffix, code, message, &reply) < 0) {
        log_error("NATS: %s: out of memory for the error reply (%s)", job_subject(j), message);
        return;
    }
    publish(j, &reply);
}

/* A handler's JSON reply (consumed), with the escapes Go's json.Marshal writes. */
static void publish_json(struct job *j, char *json)
{
    if (!json) {
        publish_error(j, SERVICE_ERR_FAILED, "out of memory");
        return;
    }
    char *go = go_json_html_escape(json);
    if (go) {
        free(json);
        json = go;
    } /* else out of memory: the text as it is, still valid JSON */
    struct service_reply reply = {.body = json, .len = strlen(json)};
    publish(j, &reply);
}

static void job_free(struct job *j)
{
    if (j) {
        nats_request_free(j->req);
        free(j);
    }
}

static void on_request(nats_link_t *link, struct nats_request *req, void *userdata)
{
    struct service *s = userdata;
    struct job *j = calloc(1, sizeof(*j));
    if (!j) {
        nats_request_free(req);
        return;
    }
    j->req = req;
    j->link = link;
    j->deadline_ms = now_ms() + SERVICE_DEADLINE_MS;
    size_t n = strlen(s->prefix);
    if (strncmp(req->subject, s->prefix, n) == 0) {
        j->suffix = req->subject + n;
        j->handler = service_handler_find(j->suffix);
    }
    if (!j->handler) {
        log_warning("NATS: unknown subject %s", req->subject);
        publish_error(j, SERVICE_ERR_UNSUPPORTED,
                      "unknown subject (tagent answers trust-agent.<host-id>.<request>)");
        service_status_request("(unknown subject)", false, req->subject);
        job_free(j);
        return;
    }
    pthread_mutex_lock(&s->mu);
    const char *refuse = s->stopping                      ? "tagent is shutting down"
                         : s->queued >= SERVICE_QUEUE_MAX ? "tagent is busy: too many requests queued"
                                                          : NULL;
    if (!refuse) {
        if (s->tail)
            s->tail->next = j;
        else
            s->head = j;
        s->tail = j;
        s->queued++;
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    if (refuse) {
        log_warning("NATS: %s refused: %s", j->suffix, refuse);
        publish_error(j, SERVICE_ERR_TIMEOUT, refuse);
        service_status_request(j->suffix, false, refuse);
        job_free(j);
    }
}

static struct job *queue_pop(struct service *s)
{
    struct job *j = s->head;
    if (j) {
        s->head = j->next;
        if (!s->head)
            s->tail = NULL;
        j->next = NULL;
        s->queued--;
    }
    return j;
}

struct worker_arg {
    struct service *s;
    unsigned index;
};

static void *worker_main(void *arg)
{
    struct service *s = ((struct worker_arg *)arg)->s;
    unsigned me = ((struct worker_arg *)arg)->index;
    free(arg);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->quit)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->quit)
            break;
        struct job *j = queue_pop(s);
        s->current[me] = j;
        s->busy++;
        pthread_mutex_unlock(&s->mu);

        char *reply = NULL, *message = NULL;
        int code = SERVICE_ERR_FAILED;
        int64_t start = now_ms();
        int r = j->handler->run(&s->ctx, j->req->data, j->req->len, &reply, &code, &message);
        if (r < 0) {
            const char *fields[] = {"SUBJECT=", NULL, NULL};
            char field[160];
            snprintf(field, sizeof(field), "SUBJECT=%s", j->suffix);
            fields[0] = field;
            log_emit(LOG_WARNING, fields, "NATS: %s failed: %s", j->suffix, message ? message : strerror(-r));
            free(reply);
            reply = NULL;
        } else
            log_debug("NATS: %s answered in %lld ms", j->suffix, (long long)(now_ms() - start));
        service_status_request(j->suffix, r >= 0, message ? message : strerror(-r));
        if (r >= 0 && j->handler->proves_tpm)
            service_status_tpm(true, NULL); /* a quote is the best proof the TPM works */

        pthread_mutex_lock(&s->mu);
        bool late = j->replied;
        j->replied = true;
        s->current[me] = NULL;
        pthread_mutex_unlock(&s->mu);
        if (late) {
            log_warning("NATS: %s finished after its deadline; the timeout reply was sent instead",
                        j->suffix);
            free(reply);
        } else if (r < 0)
            publish_error(j, code, message ? message : strerror(-r));
        else
            publish_json(j, reply);
        free(message);
        job_free(j);

        pthread_mutex_lock(&s->mu);
        s->busy--;
        if (!s->head && s->busy == 0)
            pthread_cond_broadcast(&s->idle);
    }
    s->workers_running--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Answers every queued or running request whose deadline passed (all of them when force). Queued ones are
 * removed; running ones are marked replied so their worker drops its late reply. */
static void expire(struct service *s, bool force, const char *why)
{
    struct job *expired = NULL, **tail = &expired;
    struct {
        struct job copy;
        struct nats_request req;
    } running[SERVICE_WORKERS];
    size_t n_running = 0;
    int64_t now = now_ms();

    pthread_mutex_lock(&s->mu);
    for (struct job **p = &s->head; *p;) {
        struct job *j = *p;
        if (force || j->deadline_ms <= now) {
            *p = j->next;
            j->next = NULL;
            *tail = j;
            tail = &j->next;
            s->queued--;
        } else
            p = &j->next;
    }
    s->tail = NULL;
    for (struct job *j = s->head; j; j = j->next)
        s->tail = j;
    for (unsigned i = 0; i < SERVICE_WORKERS; i++) {
        struct job *j = s->current[i];
        if (j && !j->replied && (force || j->deadline_ms <= now)) {
            j->replied = true;
            running[n_running].copy = *j;
            running[n_running].req =
                (struct nats_request){.reply = j->req->reply ? strdup(j->req->reply) : NULL};
            running[n_running].copy.req = &running[n_running].req;
            running[n_running].copy.suffix = NULL; /* points into the worker's request */
            n_running++;
        }
    }
    if (!s->head && s->busy == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);

    for (size_t i = 0; i < n_running; i++) {
        log_warning("NATS: %s request still running after its deadline: %s", running[i].copy.handler->suffix,
                    why);
        service_status_request(running[i].copy.handler->suffix, false, why);
        if (running[i].req.reply)
            publish_error(&running[i].copy, SERVICE_ERR_TIMEOUT, why);
        free(running[i].req.reply);
    }
    while (expired) {
        struct job *j = expired;
        expired = j->next;
        log_warning("NATS: %s request expired in the queue: %s", j->suffix, why);
        service_status_request(j->suffix, false, why);
        publish_error(j, SERVICE_ERR_TIMEOUT, why);
        job_free(j);
    }
}

/* WATCHDOG=1 only while the NATS link is up and the TPM answered lately: a wedged TPM or a lost link ends
 * the pings and systemd restarts the service after WatchdogSec. */
static void watchdog_ping(struct service *s, int64_t *next_ms)
{
    int64_t now = now_ms();
    if (s->watchdog_usec == 0 || now < *next_ms)
        return;
    *next_ms = now + (int64_t)(s->watchdog_usec / 2000);
    pthread_mutex_lock(&s->mu);
    bool connected = s->link && nats_link_connected(s->link);
    pthread_mutex_unlock(&s->mu);
    int64_t tpm_ok = service_status_tpm_ok_ms();
    bool tpm_fresh = tpm_ok > 0 && now - tpm_ok <= 2 * s->probe_ms + 1000;
    if (connected && tpm_fresh)
        sd_notify(0, "WATCHDOG=1");
    else
        log_debug("watchdog: not pinging (NATS %s, TPM %s)", connected ? "up" : "down",
                  tpm_fresh ? "healthy" : "not answering");
}

static void *watchdog_main(void *arg)
{
    struct service *s = arg;
    int64_t next_ping = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool quit = s->quit;
        pthread_mutex_unlock(&s->mu);
        if (quit)
            return NULL;
        watchdog_ping(s, &next_ping);
        expire(s, false, "the request did not complete within its deadline (is the TPM responding?)");
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Pings the TPM whenever nothing proved it alive for probe_ms (a successful quote does). A hung TPM
 * blocks this thread in the call, which is the point: the health record then goes stale. */
static void *health_main(void *arg)
{
    struct service *s = arg;
    int64_t last_try = 0;
    bool was_ok = true;
    pthread_mutex_lock(&s->mu);
    while (!s->quit) {
        /* the last proof of life, or the last failed probe: a failing TPM is asked again after probe_ms too */
        int64_t last_ok = service_status_tpm_ok_ms(), last = last_ok > last_try ? last_ok : last_try;
        if (last_ok == 0 && last_try == 0)
            last = -s->probe_ms;
        if (now_ms() - last >= s->probe_ms) {
            pthread_mutex_unlock(&s->mu);
            struct tpm_error err = {0};
            int r = tpm_ping(s->ctx.tpm, &err);
            last_try = now_ms();
            if (r < 0 && was_ok) /* transitions only: one line per outage, not one per probe */
                log_warning("TPM health check failed: %s", err.message);
            else if (r >= 0 && !was_ok)
                log_info("TPM answers again");
            was_ok = r >= 0;
            service_status_tpm(r >= 0, r < 0 ? err.message : NULL);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t wait = s->probe_ms - (now_ms() - last);
        until.tv_sec += wait / 1000;
        until.tv_nsec += (wait % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->health_wake, &s->mu, &until);
    }
    s->workers_running--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- start ---- */

static void on_event(enum nats_link_event ev, const char *url, const char *text, void *userdata)
{
    switch (ev) {
    case NATS_LINK_CONNECTED:
        service_status_connected(url, false);
        log_info("NATS: connected to %s", url ? url : "a server");
        sd_notifyf(0, "STATUS=connected to %s", url ? url : "a NATS server");
        break;
    case NATS_LINK_RECONNECTED:
        service_status_connected(url, true);
        log_info("NATS: reconnected to %s", url ? url : "a server");
        sd_notifyf(0, "STATUS=connected to %s", url ? url : "a NATS server");
        break;
    case NATS_LINK_DISCONNECTED:
        service_status_disconnected();
        log_warning("NATS: disconnected; reconnecting");
        sd_notify(0, "STATUS=disconnected from NATS; reconnecting");
        break;
    case NATS_LINK_CLOSED:
        service_status_disconnected();
        log_warning("NATS: connection closed%s%s", text && *text ? ": " : "", text && *text ? text : "");
        break;
    case NATS_LINK_ERROR:
        log_warning("NATS: %s", text ? text : "error");
        break;
    }
}

static int load_config(const char *root, struct tagent_config *cfg)
{
    int r = agent_config_load(root, "startService", cfg);
    if (r < 0)
        return r;
    log_apply_config(cfg, LOG_WARNING);
    if (cfg->mode != CONFIG_MODE_OUTBOUND) {
        log_error(
            "tagent serves only the outbound (NATS) mode; config.yml says mode %s "
            "(set TA_SERVICE_MODE=outbound and NATS_SERVERS, then `tagent setup update-service-config`)",
            config_mode_name(cfg->mode));
        return -EOPNOTSUPP;
    }
    if (cfg->n_nats_servers == 0 || !cfg->nats_host_id || !*cfg->nats_host_id) {
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

/* Waits for SIGTERM/SIGINT (or the link closing for good); returns the signal, or 0 when the link closed.
 * SIGHUP re-reads the event log and keeps waiting. */
static int wait_for_stop(struct service *s, const sigset_t *set, struct service_report *report)
{
    for (;;) {
        service_report_poll(report, s->ctx.root);
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGHUP) {
            measure_log_reload(&s->ctx);
            service_asset_tag_forget(&s->ctx);
        } else if (sig > 0)
            return sig;
        if (nats_link_closed(s->link))
            return 0;
    }
}

static void pool_stop(struct service *s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SERVICE_STOP_MS / 1000;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    while ((s->head || s->busy) && pthread_cond_timedwait(&s->idle, &s->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&s->mu);
    expire(s, true, "tagent is shutting down");
    pthread_mutex_lock(&s->mu);
    s->quit = true;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->health_wake);
    pthread_mutex_unlock(&s->mu);
}

int service_run(const char *root)
{
    struct tagent_config cfg = {0};
    struct service s = {.ctx = {.root = root, .cfg = &cfg}, .probe_ms = HEALTH_PROBE_MS};
    status_socket_t *status = NULL;
    struct service_report report = {0};
    nats_link_t *closed_links[32]; /* links cnats gave up on (see the connect loop) */
    size_t n_closed = 0;
    struct tpm_error terr = {0};
    char *error = NULL, *ca_dir = NULL, *creds = NULL, *subject = NULL;
    bool threads = false, health = false;
    unsigned started = 0;
    int r;

    /* signals are taken by sigtimedwait() only: block them before any thread (cnats' too) exists */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.work, NULL);
    pthread_cond_init(&s.idle, NULL);
    pthread_cond_init(&s.health_wake, NULL);
    pthread_mutex_init(&s.ctx.log_mu, NULL);
    pthread_mutex_init(&s.ctx.tag_mu, NULL);
    /* one malloc arena: a few threads doing little allocation need no per-thread arenas, each of which
     * would keep its own dirty pages (bench/README.md: bench_service) */
    mallopt(M_ARENA_MAX, 1);
    /* cnats' TLS setup loads OpenSSL's default verify paths: the whole system bundle file (~150 certificates,
     * 0.8 MiB of heap and ~30 ms at start) and the hashed directory (read lazily, per issuer). Pointing the
     * bundle file nowhere keeps the same system trust through the directory without the eager copy. Set
     * before any thread exists; an operator's own SSL_CERT_FILE is kept. */
    setenv("SSL_CERT_FILE", "/nonexistent/tagent-uses-the-hashed-cert-dir", 0);

    if ((r = load_config(root, &cfg)) < 0)
        goto out;
    if ((r = service_status_init(cfg.nats_host_id)) < 0)
        goto out;
    /* before the TPM: a second instance must stop here, not compete for the TPM and the subjects. Any other
     * socket problem (no /run/tagent writable without systemd's RuntimeDirectory=) costs `tagent status`
     * only, not the attestation service. */
    if ((r = status_socket_start(root, &status, &error)) == -EADDRINUSE || r == -ENOMEM) {
        log_error("%s", error ? error : "status socket: out of memory");
        goto out;
    } else if (r < 0) {
        log_warning("%s; `tagent status` will not see this service", error ? error : "status socket failed");
    }
    free(error);
    error = NULL;
    /* systemd's WatchdogSec: ping at half of it; probe the TPM often enough that a ping is never missed */
    if (sd_watchdog_enabled(0, &s.watchdog_usec) <= 0)
        s.watchdog_usec = 0;
    if (s.watchdog_usec && (int64_t)(s.watchdog_usec / 3000) < s.probe_ms)
        s.probe_ms = (int64_t)(s.watchdog_usec / 3000) > 100 ? (int64_t)(s.watchdog_usec / 3000) : 100;
    if (cfg.tag_secret_key && tpm_auth_from_secret(cfg.tag_secret_key, &s.ctx.tag_auth, &terr) < 0) {
        log_error("config.yml tag-secret-key: %s", terr.message);
        r = -EINVAL;
        goto out;
    }
    if ((r = tpm_open(cfg.tcti, &s.ctx.tpm, &terr)) < 0) {
        log_error("TPM: %s", terr.message);
        goto out;
    }
    measure_log_load(root, &s.ctx.measure_log);
    if (!s.ctx.measure_log) {
        r = -ENOMEM;
        goto out;
    }

    s.prefix = service_strdupf("trust-agent.%s.", cfg.nats_host_id);
    subject = service_strdupf("trust-agent.%s.>", cfg.nats_host_id);
    ca_dir = config_path(root, TAGENT_CACERTS_DIR);
    creds = config_path(root, TAGENT_CREDS_FILE);
    if (!s.prefix || !subject || !ca_dir || !creds) {
        r = -ENOMEM;
        goto out;
    }

    pthread_mutex_lock(&s.mu);
    s.workers_running = SERVICE_WORKERS;
    pthread_mutex_unlock(&s.mu);
    for (; started < SERVICE_WORKERS; started++) {
        struct worker_arg *a = malloc(sizeof(*a));
        if (a)
            *a = (struct worker_arg){.s = &s, .index = started};
        if (!a || pthread_create(&s.workers[started], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
    }
    if (started == SERVICE_WORKERS && pthread_create(&s.watchdog, NULL, watchdog_main, &s) == 0)
        threads = true;
    pthread_mutex_lock(&s.mu);
    s.workers_running -= SERVICE_WORKERS - started;
    s.workers_running++;
    pthread_mutex_unlock(&s.mu);
    if (threads && pthread_create(&s.health, NULL, health_main, &s) == 0)
        health = true;
    else {
        pthread_mutex_lock(&s.mu);
        s.workers_running--;
        pthread_mutex_unlock(&s.mu);
    }
    if (!threads || !health) {
        log_error("cannot start worker threads");
        r = -ENOMEM;
        goto out;
    }

    struct nats_link_options o = {.servers = (const char *const *)cfg.nats_servers,
                                  .n_servers = cfg.n_nats_servers,
                                  .ca_dir = ca_dir,
                                  .creds_file = creds,
                                  .name = cfg.nats_host_id,
                                  .subject = subject};
    /* cnats keeps retrying unreachable servers itself, but it gives up on a connection for good after some
     * refused handshakes (cnats 3.4 refuses ~1/256 good .creds connects): then open a new connection, as
     * often as it takes (the Go agent's MaxReconnects(-1) promise). A closed link stays allocated until exit:
     * jobs queued on it still hold it, and replying on a closed connection only fails. */
    for (bool ready = false;;) {
        for (unsigned attempt = 1;; attempt++) {
            free(error);
            error = NULL;
            nats_link_t *link = NULL;
            r = nats_link_open(&o, on_request, on_event, &s, &link, &error);
            if (r == 0) {
                pthread_mutex_lock(&s.mu); /* the watchdog thread reads it */
                s.link = link;
                pthread_mutex_unlock(&s.mu);
                break;
            }
            log_error("%s (attempt %u; retrying)", error ? error : "NATS connect failed", attempt);
            struct timespec ts = {attempt < 5 ? 1 : 5, 0};
            int sig = sigtimedwait(&set, NULL, &ts);
            if (sig == SIGHUP)
                measure_log_reload(&s.ctx);
            else if (sig > 0) {
                log_info("stopping before NATS was connected");
                r = 0;
                goto stop;
            }
        }
        log_info("serving %s on %zu NATS server(s), %d workers", subject, cfg.n_nats_servers,
                 SERVICE_WORKERS);
        if (!ready)
            sd_notify(0, "READY=1");
        ready = true;

        int sig = wait_for_stop(&s, &set, &report);
        if (sig > 0) {
            log_info("%s: finishing requests in flight and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            r = 0;
            break;
        }
        if (n_closed == sizeof(closed_links) / sizeof(closed_links[0])) {
            log_error(
                "NATS connection closed for good %zu times; exiting so the service manager restarts tagent",
                n_closed + 1);
            r = -ECONNABORTED;
            break;
        }
        log_warning("NATS connection closed for good; opening a new one");
        pthread_mutex_lock(&s.mu);
        closed_links[n_closed++] = s.link;
        s.link = NULL;
        pthread_mutex_unlock(&s.mu);
    }
stop:
    sd_notify(0, "STOPPING=1");
    service_report_stop(&report);
    nats_link_stop(s.link, SERVICE_DRAIN_MS);

out:
    if (threads || started) {
        pool_stop(&s);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&s.mu);
        while (s.workers_running > 0 && pthread_cond_timedwait(&s.idle, &s.mu, &until) == 0)
            ;
        bool stuck = s.workers_running > 0;
        pthread_mutex_unlock(&s.mu);
        if (stuck) {
            /* a worker (or the health probe) is stuck in a TPM call: replies were sent by expire(); leave
             * without freeing what it still uses */
            log_warning("a TPM call is still stuck; exiting without waiting for it");
            status_socket_stop(status);
            nats_link_close(s.link, SERVICE_DRAIN_MS);
            return r < 0 ? 1 : 0;
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(s.workers[i], NULL);
        if (threads)
            pthread_join(s.watchdog, NULL);
        if (health)
            pthread_join(s.health, NULL);
    }
    status_socket_stop(status);
    service_status_free();
    nats_link_close(s.link, SERVICE_DRAIN_MS);
    for (size_t i = 0; i < n_closed; i++)
        nats_link_close(closed_links[i], 0);
    tpm_close(s.ctx.tpm);
    tpm_auth_clear(&s.ctx.tag_auth);
    free(s.ctx.measure_log);
    free(s.prefix);
    free(subject);
    free(ca_dir);
    free(creds);
    free(error);
    config_free(&cfg);
    pthread_cond_destroy(&s.idle);
    pthread_cond_destroy(&s.health_wake);
    pthread_mutex_destroy(&s.ctx.log_mu);
    pthread_mutex_destroy(&s.ctx.tag_mu);
    pthread_cond_destroy(&s.work);
    pthread_mutex_destroy(&s.mu);
    nats_library_close();
    return r < 0 ? 1 : 0;
}
