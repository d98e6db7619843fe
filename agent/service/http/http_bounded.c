/* SPDX-License-Identifier: BSD-3-Clause */
/* A handler run within a deadline: http_bounded.h. */
#include "http_bounded.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Shared by the waiting server thread and the running one; the last of the two to let go frees it. */
struct bounded_run {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    bool done, abandoned; /* abandoned: the waiter gave up; the runner frees everything */
    struct service_ctx *ctx;
    const struct service_handler *h;
    char *data; /* a copy: the waiter's body may be gone when the runner reads it */
    size_t len;
    struct http_result res;
};

static atomic_int late_runs; /* runs past their deadline that have not ended yet */
static atomic_int running;   /* runner threads that have not ended yet */

void http_result_clear(struct http_result *res)
{
    free(res->message);
    free(res->out.data);
    free(res->json);
    memset(res, 0, sizeof(*res));
}

void http_handler_run(struct service_ctx *ctx, const struct service_handler *h, const char *data, size_t len,
                      struct http_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->code = SERVICE_ERR_FAILED;
    if (h->run_http)
        ret->r = h->run_http(ctx, data, len, &ret->out, &ret->code, &ret->message);
    else
        ret->r = h->run(ctx, data, len, &ret->json, &ret->code, &ret->message);
}

static void bounded_run_free(struct bounded_run *b)
{
    http_result_clear(&b->res);
    pthread_cond_destroy(&b->done_cv);
    pthread_mutex_destroy(&b->mu);
    free(b->data);
    free(b);
}

static void *runner(void *arg)
{
    struct bounded_run *b = arg;
    http_handler_run(b->ctx, b->h, b->data, b->len, &b->res);
    pthread_mutex_lock(&b->mu);
    b->done = true;
    bool abandoned = b->abandoned;
    pthread_cond_signal(&b->done_cv);
    pthread_mutex_unlock(&b->mu);
    if (abandoned) {
        atomic_fetch_sub(&late_runs, 1);
        bounded_run_free(b);
    }
    atomic_fetch_sub(&running, 1);
    return NULL;
}

static void timed_out(const struct service_handler *h, const char *why, struct http_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->r = -ETIMEDOUT;
    ret->code = SERVICE_ERR_TIMEOUT;
    if (asprintf(&ret->message, "%s: %s", h->suffix, why) < 0)
        ret->message = NULL;
}

void http_handler_run_bounded(struct service_ctx *ctx, const struct service_handler *h, const char *data,
                              size_t len, long deadline_ms, struct http_result *ret)
{
    if (atomic_load(&late_runs) >= HTTP_BOUNDED_STUCK_MAX) {
        timed_out(h,
                  "the TPM has not answered earlier requests past their deadline; not trying another (check "
                  "the TPM: `tagent status`)",
                  ret);
        return;
    }
    struct bounded_run *b = calloc(1, sizeof(*b));
    if (!b || !(b->data = malloc(len + 1))) {
        free(b);
        memset(ret, 0, sizeof(*ret));
        ret->r = -ENOMEM;
        ret->code = SERVICE_ERR_FAILED;
        return;
    }
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    b->len = len;
    b->ctx = ctx;
    b->h = h;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->done_cv, &attr);
    pthread_condattr_destroy(&attr);

    pthread_t t;
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&running, 1);
    int r = pthread_create(&t, &ta, runner, b);
    pthread_attr_destroy(&ta);
    if (r != 0) {
        atomic_fetch_sub(&running, 1); /* no thread to spare: run it here, unbounded, rather than refuse it */
        http_handler_run(ctx, h, data, len, ret);
        bounded_run_free(b);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += deadline_ms / 1000;
    until.tv_nsec += (deadline_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->done && pthread_cond_timedwait(&b->done_cv, &b->mu, &until) != ETIMEDOUT)
        ;
    bool done = b->done;
    if (!done) {
        b->abandoned = true;
        atomic_fetch_add(&late_runs, 1);
    }
    pthread_mutex_unlock(&b->mu);
    if (!done) {
        char why[160];
        snprintf(why, sizeof(why), "no answer from the TPM within %ld ms; HVS may ask again", deadline_ms);
        timed_out(h, why, ret);
        return;
    }
    *ret = b->res; /* the result moves to the caller */
    memset(&b->res, 0, sizeof(b->res));
    bounded_run_free(b);
}

bool http_bounded_idle(long wait_ms)
{
    const struct timespec tick = {0, 10 * 1000000L};
    for (long waited = 0; atomic_load(&running) > 0; waited += 10) {
        if (waited >= wait_ms)
            return false;
        nanosleep(&tick, NULL);
    }
    return true;
}
