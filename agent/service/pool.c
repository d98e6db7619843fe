/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker pool (pool.h). Locking: pool->mu guards the queue, the workers' current jobs, each job's
 * replied flag and the counters; replies are sent outside it. A job belongs to the queue, then to the worker
 * that took it; the deadline thread may answer a running job (marking it replied) but never frees it.
 */
#include "cleanup.h"
#include "clock.h"
#include "log.h"
#include "pool.h"
#include "reply.h"
#include "service_status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREAD_EXIT_MS 2000 /* after the stop, how long threads get to leave (a TPM call may hang) */
#define REFUSE_LOG_MS  1000 /* at most one "refused" line per this period: a flood would fill the log */
/* The workers: POOL_WORKERS take any request; one more takes only requests whose handler needs no TPM, so
 * a hung TPM (every other worker stuck in a TPM call until the deadline) never delays version, host-info
 * or aik requests. */
#define POOL_THREADS (POOL_WORKERS + 1)
#define LIGHT_WORKER POOL_WORKERS /* the index of the worker that never runs TPM work */

struct job {
    struct job *next;
    struct nats_request *req;
    struct reply_to to; /* to.suffix points into req->subject */
    int64_t deadline_ms;
    bool replied;
};

struct pool {
    struct service_ctx *ctx;
    char *prefix;
    pthread_mutex_t mu;
    pthread_cond_t work, idle, stop;
    struct job *head, *tail;
    size_t queued, busy;
    struct job *current[POOL_THREADS];
    pthread_t threads[POOL_THREADS + 1]; /* the workers, then the deadline thread */
    int64_t refuse_logged_ms;            /* when the last "refused" line was written */
    unsigned refuse_unlogged;            /* refusals since then that got no line of their own */
    unsigned started, running;           /* threads created; threads not yet left */
    bool stopping, quit;
};

struct worker_arg {
    pool_t *pool;
    unsigned index;
};

static void job_free(struct job *j)
{
    if (j) {
        nats_request_free(j->req);
        free(j);
    }
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct job *, job_free)

static bool job_needs_tpm(const struct job *j)
{
    return j->to.handler->needs_tpm;
}

/* The link that points at the first job this worker may take (light: only jobs that need no TPM); the link
 * holds NULL when there is none. */
static struct job **queue_find(pool_t *p, bool light)
{
    struct job **at = &p->head;
    while (light && *at && job_needs_tpm(*at))
        at = &(*at)->next;
    return at;
}

static struct job *queue_take(pool_t *p, struct job **at)
{
    struct job *j = *at;
    if (j) {
        *at = j->next;
        if (p->tail == j) {
            p->tail = NULL;
            for (struct job *k = p->head; k; k = k->next)
                p->tail = k;
        }
        j->next = NULL;
        p->queued--;
    }
    return j;
}

static struct job *queue_pop(pool_t *p)
{
    return queue_take(p, &p->head);
}

/* One "refused" warning per REFUSE_LOG_MS with the count of those not logged since; called under p->mu.
 * true when this refusal gets a line (*ret_unlogged: how many before it got none). */
static bool refuse_log_due(pool_t *p, int64_t now, unsigned *ret_unlogged)
{
    if (p->refuse_logged_ms && now - p->refuse_logged_ms < REFUSE_LOG_MS) {
        p->refuse_unlogged++;
        return false;
    }
    *ret_unlogged = p->refuse_unlogged;
    p->refuse_unlogged = 0;
    p->refuse_logged_ms = now;
    return true;
}

static void queue_push(pool_t *p, struct job *j)
{
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
}

void pool_submit(nats_link_t *link, struct nats_request *req, void *userdata)
{
    pool_t *p = userdata;
    _cleanup_(job_freep) struct job *j = calloc(1, sizeof(*j));
    if (!j) {
        nats_request_free(req);
        return;
    }
    j->req = req;
    j->to = (struct reply_to){.link = link, .inbox = req->reply};
    j->deadline_ms = monotonic_ms() + POOL_DEADLINE_MS;
    size_t n = strlen(p->prefix);
    if (strncmp(req->subject, p->prefix, n) == 0) {
        j->to.suffix = req->subject + n;
        j->to.handler = service_handler_find(j->to.suffix);
    }
    if (!j->to.handler) {
        log_warning("NATS: unknown subject %s", req->subject);
        reply_error(&j->to, SERVICE_ERR_UNSUPPORTED,
                    "unknown subject (tagent answers trust-agent.<host-id>.<request>)");
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees j; clang-tidy 14 does not model it */
        service_status_request("(unknown subject)", false, req->subject);
        return;
    }
    pthread_mutex_lock(&p->mu);
    const char *refuse = p->stopping                   ? "tagent is shutting down"
                         : p->queued >= POOL_QUEUE_MAX ? "tagent is busy: too many requests queued"
                                                       : NULL;
    unsigned unlogged = 0;
    bool log_it = refuse && refuse_log_due(p, monotonic_ms(), &unlogged);
    if (!refuse) {
        queue_push(p, TAKE_PTR(j));
        /* every worker: a signal might wake one that may not take this job (the light worker, for TPM work)
         * while one that may sleeps on */
        pthread_cond_broadcast(&p->work);
    }
    /* the deadline thread sleeps until its next deadline, or for good when there was none: it has one now
     * (this job's, or the refusal line's) */
    pthread_cond_broadcast(&p->stop);
    pthread_mutex_unlock(&p->mu);
    if (refuse) {
        if (log_it && unlogged)
            log_warning("NATS: %s refused: %s (%u more refused since the last such line)", j->to.suffix,
                        refuse, unlogged);
        else if (log_it)
            log_warning("NATS: %s refused: %s", j->to.suffix, refuse);
        reply_error(&j->to, SERVICE_ERR_TIMEOUT, refuse);
        service_status_request(j->to.suffix, false, refuse);
    }
}

/* Runs one job's handler and sends its reply unless the deadline thread answered it meanwhile. */
static void job_run(pool_t *p, unsigned me, struct job *j)
{
    _cleanup_free_ char *reply = NULL, *message = NULL;
    int code = SERVICE_ERR_FAILED;
    int64_t start = monotonic_ms();
    const struct service_handler *h = j->to.handler;
    int r = h->run(p->ctx, j->req->data, j->req->len, &reply, &code, &message);
    const char *why = message ? message : strerror(-r);
    /* some messages (the request decoders') already start with the subject; the log, the reply header and
     * `tagent status` put it in front again */
    size_t n = strlen(j->to.suffix);
    if (strncmp(why, j->to.suffix, n) == 0 && strncmp(why + n, ": ", 2) == 0)
        why += n + 2;
    if (r < 0) {
        char field[160];
        snprintf(field, sizeof(field), "SUBJECT=%s", j->to.suffix);
        const char *fields[] = {field, NULL};
        log_emit(LOG_WARNING, fields, "NATS: %s failed: %s", j->to.suffix, why);
    } else
        log_debug("NATS: %s answered in %lld ms", j->to.suffix, (long long)(monotonic_ms() - start));
    service_status_request(j->to.suffix, r >= 0, why);
    if (r >= 0 && h->proves_tpm)
        service_status_tpm(true, NULL);

    pthread_mutex_lock(&p->mu);
    bool late = j->replied;
    j->replied = true;
    p->current[me] = NULL;
    pthread_mutex_unlock(&p->mu);
    if (late)
        log_warning("NATS: %s finished after its deadline; the timeout reply was sent instead", j->to.suffix);
    else if (r < 0)
        reply_error(&j->to, code, why);
    else
        reply_json(&j->to, TAKE_PTR(reply));
}

static void thread_leaves(pool_t *p)
{
    p->running--;
    pthread_cond_broadcast(&p->idle);
}

static void *worker_main(void *arg)
{
    pool_t *p = ((struct worker_arg *)arg)->pool;
    unsigned me = ((struct worker_arg *)arg)->index;
    bool light = me == LIGHT_WORKER;
    free(arg);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!*queue_find(p, light) && !p->quit)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        struct job *j = queue_take(p, queue_find(p, light));
        p->current[me] = j;
        p->busy++;
        pthread_mutex_unlock(&p->mu);

        job_run(p, me, j);
        job_free(j);

        pthread_mutex_lock(&p->mu);
        p->busy--;
        if (!p->head && p->busy == 0)
            pthread_cond_broadcast(&p->idle);
    }
    thread_leaves(p);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* A running job answered by the deadline thread: what its reply needs, copied, since the worker frees the
 * job as soon as its handler returns. */
struct answered {
    struct reply_to to;
    char *inbox;
};

/* Answers every queued or running job whose deadline passed (all of them when force). Queued ones leave the
 * queue; running ones are marked replied, so their worker drops its late reply. */
static void expire(pool_t *p, bool force, const char *why)
{
    struct job *expired = NULL, **tail = &expired;
    struct answered running[POOL_THREADS];
    size_t n_running = 0;
    int64_t now = monotonic_ms();

    pthread_mutex_lock(&p->mu);
    for (struct job **at = &p->head; *at;) {
        struct job *j = *at;
        if (force || j->deadline_ms <= now) {
            *at = j->next;
            j->next = NULL;
            *tail = j;
            tail = &j->next;
            p->queued--;
        } else
            at = &j->next;
    }
    p->tail = NULL;
    for (struct job *j = p->head; j; j = j->next)
        p->tail = j;
    for (unsigned i = 0; i < POOL_THREADS; i++) {
        struct job *j = p->current[i];
        if (j && !j->replied && (force || j->deadline_ms <= now)) {
            j->replied = true;
            struct answered *a = &running[n_running++];
            a->inbox = j->to.inbox ? strdup(j->to.inbox) : NULL;
            a->to = (struct reply_to){.link = j->to.link, .inbox = a->inbox, .handler = j->to.handler};
        }
    }
    if (!p->head && p->busy == 0)
        pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);

    for (size_t i = 0; i < n_running; i++) {
        const char *suffix = running[i].to.handler->suffix;
        log_warning("NATS: %s request still running after its deadline: %s", suffix, why);
        service_status_request(suffix, false, why);
        if (running[i].inbox)
            reply_error(&running[i].to, SERVICE_ERR_TIMEOUT, why);
        free(running[i].inbox);
    }
    while (expired) {
        struct job *j = expired;
        expired = j->next;
        log_warning("NATS: %s request expired in the queue: %s", j->to.suffix, why);
        service_status_request(j->to.suffix, false, why);
        reply_error(&j->to, SERVICE_ERR_TIMEOUT, why);
        job_free(j);
    }
}

/* When the deadline thread next has work: the earliest deadline of a job not yet answered, or the end of the
 * period when refusals wait for their summary line; INT64_MAX when nothing is pending, so an idle agent does
 * not wake (a fleet of idle agents is otherwise all timer ticks: bench/README.md, bench_fleet). */
static int64_t next_wake_locked(const pool_t *p)
{
    int64_t next = INT64_MAX;
    if (p->head) /* the queue is in submit order, and every job gets the same deadline from its submit */
        next = p->head->deadline_ms;
    for (unsigned i = 0; i < POOL_THREADS; i++)
        if (p->current[i] && !p->current[i]->replied && p->current[i]->deadline_ms < next)
            next = p->current[i]->deadline_ms;
    if (p->refuse_unlogged && p->refuse_logged_ms + REFUSE_LOG_MS < next)
        next = p->refuse_logged_ms + REFUSE_LOG_MS;
    return next;
}

static void *deadline_main(void *arg)
{
    pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        pthread_mutex_unlock(&p->mu);
        expire(p, false, "the request did not complete within its deadline (is the TPM responding?)");
        pthread_mutex_lock(&p->mu);
        /* the count of refusals that got no line, once the flood is over */
        unsigned unlogged = p->refuse_unlogged;
        if (unlogged && monotonic_ms() - p->refuse_logged_ms >= REFUSE_LOG_MS) {
            p->refuse_unlogged = 0;
            p->refuse_logged_ms = monotonic_ms();
            pthread_mutex_unlock(&p->mu);
            log_warning("NATS: %u more requests refused (busy or shutting down) since the last such line",
                        unlogged);
            pthread_mutex_lock(&p->mu);
        }
        int64_t next = next_wake_locked(p);
        if (p->quit)
            break;
        if (next == INT64_MAX) { /* pool_submit() and a refusal signal p->stop */
            pthread_cond_wait(&p->stop, &p->mu);
            continue;
        }
        int64_t wait_ms = next - monotonic_ms();
        struct timespec until = realtime_deadline_in(wait_ms > 0 ? wait_ms + 1 : 1);
        pthread_cond_timedwait(&p->stop, &p->mu, &until);
    }
    thread_leaves(p);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int thread_start(pool_t *p, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->running++;
    pthread_mutex_unlock(&p->mu);
    if (pthread_create(&p->threads[p->started], NULL, fn, arg) != 0) {
        pthread_mutex_lock(&p->mu);
        p->running--;
        pthread_mutex_unlock(&p->mu);
        return -EAGAIN;
    }
    p->started++;
    return 0;
}

int pool_start(struct service_ctx *ctx, const char *prefix, pool_t **ret_pool)
{
    pool_t *p = calloc(1, sizeof(*p));
    if (!p || !(p->prefix = strdup(prefix))) {
        free(p);
        return -ENOMEM;
    }
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    pthread_cond_init(&p->stop, NULL);
    int r = 0;
    for (unsigned i = 0; r == 0 && i < POOL_THREADS; i++) {
        struct worker_arg *a = malloc(sizeof(*a));
        if (!a)
            r = -ENOMEM;
        else if (*a = (struct worker_arg){p, i}, (r = thread_start(p, worker_main, a)) < 0)
            free(a);
    }
    if (r == 0)
        r = thread_start(p, deadline_main, p);
    if (r < 0) {
        pool_stop(p, 0, "tagent could not start");
        pool_free(p);
        return r;
    }
    *ret_pool = p;
    return 0;
}

bool pool_stop(pool_t *p, int64_t grace_ms, const char *why)
{
    struct timespec until = realtime_deadline_in(grace_ms);
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    while ((p->head || p->busy) && pthread_cond_timedwait(&p->idle, &p->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&p->mu);
    expire(p, true, why);

    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->stop);
    until = realtime_deadline_in(THREAD_EXIT_MS);
    while (p->running > 0 && pthread_cond_timedwait(&p->idle, &p->mu, &until) == 0)
        ;
    bool stuck = p->running > 0;
    pthread_mutex_unlock(&p->mu);
    if (stuck) {
        log_warning("a TPM call is still stuck; its request was answered, the process exits without waiting");
        return false;
    }
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    p->started = 0;
    return true;
}

void pool_free(pool_t *p)
{
    if (!p)
        return;
    while (p->head)
        job_free(queue_pop(p));
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->stop);
    pthread_mutex_destroy(&p->mu);
    free(p->prefix);
    free(p);
}
