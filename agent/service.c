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
#include "config.h"
#include "eventlog.h"
#include "log.h"
#include "provision.h"
#include "service.h"
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#define SERVICE_WORKERS       2
#define SERVICE_QUEUE_MAX     64
#define SERVICE_DEADLINE_MS   8000 /* HVS waits 10 s */
#define SERVICE_STOP_MS       5000 /* in-flight work gets this long after SIGTERM */
#define SERVICE_DRAIN_MS      2000

#define SECURITYFS_LOG  "/sys/kernel/security/tpm0/binary_bios_measurements"
#define ACPI_TPM2_TABLE "/sys/firmware/acpi/tables/TPM2"
#define DEV_MEM         "/dev/mem"
#define APP_EVENTS_FILE "/opt/trustagent/var/ramfs/pcr_event_log"
#define CA_DIR          "/etc/trustagent/cacerts"
#define CREDS_FILE      "/etc/trustagent/credentials/trust-agent.creds"

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
    unsigned workers_running;
    pthread_t workers[SERVICE_WORKERS], watchdog;
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

/* Publishes reply to the job's reply subject; a reply over the max payload becomes a typed error. */
static void publish(struct job *j, const char *reply)
{
    char *error = NULL, *fallback = NULL;
    if (!j->req->reply) {
        log_warning("NATS: %s request without a reply subject: nothing sent", job_subject(j));
        return;
    }
    if (!reply)
        reply = fallback = service_error_json(SERVICE_ERR_FAILED, "out of memory");
    if (!reply)
        return;
    int r = nats_link_publish(j->link, j->req->reply, reply, strlen(reply), &error);
    if (r == -EMSGSIZE) {
        log_error("NATS: %s: %s", job_subject(j), error);
        free(fallback);
        fallback = service_error_reply(j->handler, SERVICE_ERR_TOO_LARGE, error);
        free(error);
        error = NULL;
        r = fallback ? nats_link_publish(j->link, j->req->reply, fallback, strlen(fallback), &error) : -ENOMEM;
    }
    if (r < 0)
        log_error("NATS: %s: reply not sent: %s", job_subject(j), error ? error : strerror(-r));
    free(error);
    free(fallback);
}

/* An error reply for a job nobody else has answered yet. */
static void publish_error(struct job *j, int code, const char *message)
{
    char *reply = service_error_reply(j->handler, code, message);
    publish(j, reply);
    free(reply);
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
        publish_error(j, SERVICE_ERR_UNSUPPORTED, "unknown subject (tagent answers trust-agent.<host-id>.<request>)");
        job_free(j);
        return;
    }
    pthread_mutex_lock(&s->mu);
    const char *refuse = s->stopping               ? "tagent is shutting down"
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
            reply = service_error_reply(j->handler, code, message ? message : strerror(-r));
        } else
            log_debug("NATS: %s answered in %lld ms", j->suffix, (long long)(now_ms() - start));
        free(message);

        pthread_mutex_lock(&s->mu);
        bool late = j->replied;
        j->replied = true;
        s->current[me] = NULL;
        pthread_mutex_unlock(&s->mu);
        if (late)
            log_warning("NATS: %s finished after its deadline; the timeout reply was sent instead", j->suffix);
        else
            publish(j, reply);
        free(reply);
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
            running[n_running].req = (struct nats_request){.reply = j->req->reply ? strdup(j->req->reply) : NULL};
            running[n_running].copy.req = &running[n_running].req;
            running[n_running].copy.suffix = NULL; /* points into the worker's request */
            n_running++;
        }
    }
    if (!s->head && s->busy == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);

    for (size_t i = 0; i < n_running; i++) {
        log_warning("NATS: %s request still running after its deadline: %s", running[i].copy.handler->suffix, why);
        if (running[i].req.reply)
            publish_error(&running[i].copy, SERVICE_ERR_TIMEOUT, why);
        free(running[i].req.reply);
    }
    while (expired) {
        struct job *j = expired;
        expired = j->next;
        log_warning("NATS: %s request expired in the queue: %s", j->suffix, why);
        publish_error(j, SERVICE_ERR_TIMEOUT, why);
        job_free(j);
    }
}

static void *watchdog_main(void *arg)
{
    struct service *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool quit = s->quit;
        pthread_mutex_unlock(&s->mu);
        if (quit)
            return NULL;
        expire(s, false, "the request did not complete within its deadline (is the TPM responding?)");
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- start ---- */

static void load_measure_log(const char *root, char **ret_json)
{
    char *fs = config_path(root, SECURITYFS_LOG), *table = config_path(root, ACPI_TPM2_TABLE);
    char *mem = config_path(root, DEV_MEM), *apps_path = config_path(root, APP_EVENTS_FILE);
    char *fs_error = NULL, *acpi_error = NULL, *error = NULL, *apps = NULL, *json = NULL;
    size_t apps_len = 0;
    struct eventlog *log = NULL;
    int r = fs && table && mem && apps_path ? eventlog_load(fs, NULL, &log, &fs_error) : -ENOMEM;
    if (r < 0 && r != -ENOMEM && eventlog_load_acpi(table, mem, NULL, &log, &acpi_error) < 0) {
        log_warning("no TCG event log: %s; and from ACPI: %s; quotes carry an empty EventLog",
                    fs_error ? fs_error : "?", acpi_error ? acpi_error : "?");
        log = NULL;
    }
    if (apps_path && config_read_file(apps_path, 1u << 20, &apps, &apps_len) < 0) {
        apps = NULL;
        apps_len = 0;
    }
    if (log || apps) {
        if (eventlog_measure_log_json(log, apps, apps_len, false, &json, &error) < 0) {
            log_warning("measure log: %s; quotes carry an empty EventLog", error ? error : "failed");
            json = NULL;
        } else
            log_info("measure log: %zu bytes of JSON from %s", strlen(json),
                     log ? (fs_error ? "the ACPI log area" : "securityfs") : "application events only");
    }
    *ret_json = json ? json : strdup("");
    eventlog_free(log);
    free(fs);
    free(table);
    free(mem);
    free(apps_path);
    free(apps);
    free(fs_error);
    free(acpi_error);
    free(error);
}

static void on_event(enum nats_link_event ev, const char *url, const char *text, void *userdata)
{
    switch (ev) {
    case NATS_LINK_CONNECTED:
        log_info("NATS: connected to %s", url ? url : "a server");
        sd_notifyf(0, "STATUS=connected to %s", url ? url : "a NATS server");
        break;
    case NATS_LINK_RECONNECTED:
        log_info("NATS: reconnected to %s", url ? url : "a server");
        sd_notifyf(0, "STATUS=connected to %s", url ? url : "a NATS server");
        break;
    case NATS_LINK_DISCONNECTED:
        log_warning("NATS: disconnected; reconnecting");
        sd_notify(0, "STATUS=disconnected from NATS; reconnecting");
        break;
    case NATS_LINK_CLOSED:
        log_warning("NATS: connection closed%s%s", text && *text ? ": " : "", text && *text ? text : "");
        break;
    case NATS_LINK_ERROR:
        log_warning("NATS: %s", text ? text : "error");
        break;
    }
}

static int load_config(const char *root, struct tagent_config *cfg)
{
    struct config_diags diags = {0};
    bool exists = false;
    int r = provision_config_load(root, cfg, &exists, &diags);
    for (size_t i = 0; i < diags.n; i++) {
        char *text = config_diag_format(&diags.items[i]);
        if (diags.items[i].severity == CONFIG_ERROR)
            log_error("%s", text ? text : "config.yml: error");
        else
            log_warning("%s", text ? text : "config.yml: warning");
        free(text);
    }
    config_diags_free(&diags);
    if (r < 0)
        return r;
    if (!exists) {
        log_error("%s does not exist: run `tagent setup all` first", TAGENT_CONFIG_FILE);
        return -ENOENT;
    }
    log_apply_config(cfg, LOG_WARNING);
    if (cfg->tag_secret_key)
        log_redact_add(cfg->tag_secret_key);
    if (cfg->api_token)
        log_redact_add(cfg->api_token);
    if (cfg->mode != CONFIG_MODE_OUTBOUND) {
        log_error("tagent serves only the outbound (NATS) mode; config.yml says mode %s "
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

/* Waits for SIGTERM/SIGINT (or the link closing for good); returns the signal, or 0 when the link closed. */
static int wait_for_stop(struct service *s, const sigset_t *set)
{
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
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
    pthread_mutex_unlock(&s->mu);
}

int service_run(const char *root)
{
    struct tagent_config cfg = {0};
    struct service s = {.ctx = {.root = root, .cfg = &cfg}};
    nats_link_t *closed_links[32]; /* links cnats gave up on (see the connect loop) */
    size_t n_closed = 0;
    struct tpm_error terr = {0};
    char *error = NULL, *ca_dir = NULL, *creds = NULL, *subject = NULL;
    bool threads = false;
    unsigned started = 0;
    int r;

    /* signals are taken by sigtimedwait() only: block them before any thread (cnats' too) exists */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.work, NULL);
    pthread_cond_init(&s.idle, NULL);

    if ((r = load_config(root, &cfg)) < 0)
        goto out;
    if (cfg.tag_secret_key && tpm_auth_from_secret(cfg.tag_secret_key, &s.ctx.tag_auth, &terr) < 0) {
        log_error("config.yml tag-secret-key: %s", terr.message);
        r = -EINVAL;
        goto out;
    }
    if ((r = tpm_open(cfg.tcti, &s.ctx.tpm, &terr)) < 0) {
        log_error("TPM: %s", terr.message);
        goto out;
    }
    load_measure_log(root, &s.ctx.measure_log);
    if (!s.ctx.measure_log) {
        r = -ENOMEM;
        goto out;
    }

    s.prefix = service_strdupf("trust-agent.%s.", cfg.nats_host_id);
    subject = service_strdupf("trust-agent.%s.>", cfg.nats_host_id);
    ca_dir = config_path(root, CA_DIR);
    creds = config_path(root, CREDS_FILE);
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
    pthread_mutex_unlock(&s.mu);
    if (!threads) {
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
            r = nats_link_open(&o, on_request, on_event, &s, &s.link, &error);
            if (r == 0)
                break;
            log_error("%s (attempt %u; retrying)", error ? error : "NATS connect failed", attempt);
            struct timespec ts = {attempt < 5 ? 1 : 5, 0};
            if (sigtimedwait(&set, NULL, &ts) > 0) {
                log_info("stopping before NATS was connected");
                r = 0;
                goto stop;
            }
        }
        log_info("serving %s on %zu NATS server(s), %d workers", subject, cfg.n_nats_servers, SERVICE_WORKERS);
        if (!ready)
            sd_notify(0, "READY=1");
        ready = true;

        int sig = wait_for_stop(&s, &set);
        if (sig > 0) {
            log_info("%s: finishing requests in flight and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            r = 0;
            break;
        }
        if (n_closed == sizeof(closed_links) / sizeof(closed_links[0])) {
            log_error("NATS connection closed for good %zu times; exiting so the service manager restarts tagent",
                      n_closed + 1);
            r = -ECONNABORTED;
            break;
        }
        log_warning("NATS connection closed for good; opening a new one");
        closed_links[n_closed++] = s.link;
        s.link = NULL;
    }
stop:
    sd_notify(0, "STOPPING=1");
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
            /* a worker is stuck in a TPM call: its replies were sent by expire(); leave without freeing
             * what it still uses */
            log_warning("a request is still stuck in the TPM; exiting without waiting for it");
            nats_link_close(s.link, SERVICE_DRAIN_MS);
            return r < 0 ? 1 : 0;
        }
        for (unsigned i = 0; i < started; i++)
            pthread_join(s.workers[i], NULL);
        if (threads)
            pthread_join(s.watchdog, NULL);
    }
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
    pthread_cond_destroy(&s.work);
    pthread_mutex_destroy(&s.mu);
    nats_library_close();
    return r < 0 ? 1 : 0;
}
