/* SPDX-License-Identifier: BSD-3-Clause */
/* An HVS-like requester attesting a fleet (see fleet_round.h). */
#include "fleet_round.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "hvs_ta_client.h"
#include "hvs_verify.h"

#define DEFAULT_CONCURRENCY 64
#define DEFAULT_TIMEOUT_MS  10000
#define DEFAULT_RETRY_MS    200
#define HOST_UUID           "8032632b-8fa4-e811-906e-00163566263e" /* the corpus host's SMBIOS UUID */

enum request_kind { KIND_QUOTE, KIND_TAG };

/* One worker's request in flight: the reply subject names the worker and a generation, so a late reply to
 * an earlier (timed-out) request of the same worker is recognised and dropped. */
struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t gen;
    natsMsg *msg;
    uint64_t reply_ns; /* CLOCK_MONOTONIC when the reply was delivered */
    long host;         /* in flight to this host (sent, no reply yet), -1 when none */
};

struct worker_arg {
    struct fleet_requester *rq;
    unsigned index;
};

struct fleet_requester {
    fleet_t *f;
    natsConnection *nc;
    struct fleet_req_opts o;
    char inbox[64];
    natsSubscription *sub;
    struct slot *slots;
    pthread_t *threads;
    struct worker_arg *args;
    enum request_kind kind;
    atomic_size_t next, done;
    struct fleet_round *round;
    struct rusage ru0;
    int64_t t0_ms;
    bool running;
};

const char *fleet_fail_name(enum fleet_fail f)
{
    static const char *const names[FLEET_N_OUTCOMES] = {
        [FLEET_OK] = "ok",
        [FLEET_TIMEOUT] = "timeout",
        [FLEET_NO_RESPONDERS] = "no-responders",
        [FLEET_HVS_ERROR] = "hvs-error",
        [FLEET_VERIFY] = "verify",
        [FLEET_WRONG_HOST] = "wrong-host",
        [FLEET_SEND] = "send",
    };
    return f < FLEET_N_OUTCOMES ? names[f] : "?";
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The wildcard inbox's delivery: "<inbox>.<worker>.<gen>". */
static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    fleet_requester_t *rq = closure;
    const char *subject = natsMsg_GetSubject(msg), *p = subject + strlen(rq->inbox);
    char *end = NULL;
    unsigned long worker = 0;
    unsigned long long gen = 0;
    if (strncmp(subject, rq->inbox, strlen(rq->inbox)) == 0 && *p == '.') {
        worker = strtoul(p + 1, &end, 10);
        if (end && *end == '.')
            gen = strtoull(end + 1, NULL, 10);
    }
    if (gen && worker < rq->o.concurrency) {
        struct slot *s = &rq->slots[worker];
        pthread_mutex_lock(&s->mu);
        if (s->gen == gen && !s->msg) {
            s->msg = msg;
            s->reply_ns = mono_ns();
            s->host = -1;
            msg = NULL;
            pthread_cond_signal(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
    }
    natsMsg_Destroy(msg);
}

int fleet_requester_new(fleet_t *f, natsConnection *nc, const struct fleet_req_opts *o,
                        fleet_requester_t **ret)
{
    fleet_requester_t *rq = calloc(1, sizeof(*rq));
    if (!rq)
        return -ENOMEM;
    rq->f = f;
    rq->nc = nc;
    rq->o = *o;
    rq->o.concurrency = o->concurrency ? o->concurrency : DEFAULT_CONCURRENCY;
    rq->o.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    rq->o.retry_ms = o->retry_ms ? o->retry_ms : DEFAULT_RETRY_MS;
    rq->slots = calloc(rq->o.concurrency, sizeof(*rq->slots));
    rq->threads = calloc(rq->o.concurrency, sizeof(*rq->threads));
    rq->args = calloc(rq->o.concurrency, sizeof(*rq->args));
    natsInbox *inbox = NULL;
    char wildcard[80];
    natsStatus s = rq->slots && rq->threads && rq->args ? natsInbox_Create(&inbox) : NATS_NO_MEMORY;
    if (s == NATS_OK) {
        snprintf(rq->inbox, sizeof(rq->inbox), "%s", (const char *)inbox);
        snprintf(wildcard, sizeof(wildcard), "%s.>", rq->inbox);
        s = natsConnection_Subscribe(&rq->sub, nc, wildcard, on_reply, rq);
    }
    if (s == NATS_OK) /* a thousand replies of ~100 kB may queue while the workers verify */
        s = natsSubscription_SetPendingLimits(rq->sub, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    natsInbox_Destroy(inbox);
    if (s != NATS_OK) {
        fprintf(stderr, "fleet: requester subscription: %s\n", natsStatus_GetText(s));
        fleet_requester_free(rq);
        return -EIO;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (unsigned i = 0; i < rq->o.concurrency; i++) {
        pthread_mutex_init(&rq->slots[i].mu, NULL);
        pthread_cond_init(&rq->slots[i].cv, &attr);
        rq->slots[i].host = -1;
    }
    pthread_condattr_destroy(&attr);
    *ret = rq;
    return 0;
}

void fleet_requester_free(fleet_requester_t *rq)
{
    if (!rq)
        return;
    if (rq->sub) {
        natsSubscription_Unsubscribe(rq->sub);
        natsSubscription_Destroy(rq->sub);
    }
    for (unsigned i = 0; rq->slots && rq->sub && i < rq->o.concurrency; i++) {
        natsMsg_Destroy(rq->slots[i].msg);
        pthread_mutex_destroy(&rq->slots[i].mu);
        pthread_cond_destroy(&rq->slots[i].cv);
    }
    free(rq->slots);
    free(rq->threads);
    free(rq->args);
    free(rq);
}

fleet_t *fleet_requester_fleet(fleet_requester_t *rq)
{
    return rq->f;
}

/* ---- one host ---- */

/* The payload of a request to host h into buf; a quote's nonce into nonce. */
static void make_payload(fleet_requester_t *rq, const struct fleet_host *h, uint8_t nonce[32], char *buf,
                         size_t size)
{
    if (rq->kind == KIND_QUOTE) {
        RAND_bytes(nonce, 32);
        world_quote_payload(nonce, buf, size);
        return;
    }
    char *b64 = hvs_b64_encode(h->tag, FLEET_TAG_SIZE);
    snprintf(buf, size, "{\"tag\":\"%s\",\"hardware_uuid\":\"" HOST_UUID "\"}", b64 ? b64 : "");
    free(b64);
}

/* A quote reply HVS's client accepted: the quote verifies, with this fleet's AIK and this host's tag. */
static enum fleet_fail verify_quote(fleet_requester_t *rq, const struct fleet_host *h, const char *body,
                                    const uint8_t nonce[32], char *why, size_t size)
{
    struct hvs_quote q;
    cJSON *j = cJSON_Parse(body);
    const char *aik = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Aik"));
    enum fleet_fail out = FLEET_OK;
    if (!aik || strcmp(aik, rq->f->aik_b64) != 0) {
        snprintf(why, size, "the reply's Aik is not the fleet's AIK certificate");
        out = FLEET_VERIFY;
    } else if (!hvs_verify_quote(j, nonce, 32, &q)) {
        for (size_t i = 0; i < q.nchecks; i++)
            if (!q.checks[i].ok) {
                snprintf(why, size, "%s: %.120s", q.checks[i].name, q.checks[i].msg);
                break;
            }
        out = FLEET_VERIFY;
    } else if (!q.tag_provisioned || memcmp(q.tag, h->tag, FLEET_TAG_SIZE) != 0) {
        snprintf(why, size, "the quote carries %s asset tag", q.tag_provisioned ? "another host's" : "no");
        out = FLEET_WRONG_HOST;
    }
    cJSON_Delete(j);
    return out;
}

/* What HVS concludes from a reply (msg NULL: none came). */
static enum fleet_fail judge(fleet_requester_t *rq, const struct fleet_host *h, natsMsg *msg,
                             const uint8_t nonce[32], char *why, size_t size)
{
    const char *suffix = rq->kind == KIND_QUOTE ? "quote-request" : "deploy-asset-tag";
    const char *status = NULL, *body = msg ? natsMsg_GetData(msg) : NULL;
    size_t len = msg ? (size_t)natsMsg_GetDataLength(msg) : 0;
    struct hvs_ta_result res = {0};
    if (msg && natsMsgHeader_Get(msg, "Status", &status) != NATS_OK)
        status = NULL;
    char *text = msg ? strndup(body ? body : "", len) : NULL;
    hvs_ta_judge(suffix, text, len, status, &res);
    enum fleet_fail out = FLEET_OK;
    if (!text || res.outcome != HVS_OK) {
        snprintf(why, size, "%.150s", res.error);
        out = !text                                ? FLEET_TIMEOUT
              : strstr(res.error, "no responders") ? FLEET_NO_RESPONDERS
                                                   : FLEET_HVS_ERROR;
    } else if (rq->kind == KIND_QUOTE)
        out = verify_quote(rq, h, text, nonce, why, size);
    else if (strcmp(text, "\"\"") != 0) {
        snprintf(why, size, "deploy-asset-tag answered %.60s", text);
        out = FLEET_HVS_ERROR;
    }
    free(text);
    return out;
}

/* Sends one request for host i from worker slot s and waits for its reply until deadline_ms. */
static natsMsg *send_and_wait(fleet_requester_t *rq, unsigned worker, size_t i, const char *payload,
                              int64_t deadline_ms, uint64_t *ret_send_ns, uint64_t *ret_reply_ns,
                              bool *ret_sent)
{
    struct slot *s = &rq->slots[worker];
    char subject[160], reply[128];
    snprintf(subject, sizeof(subject), "trust-agent.%s.%s", rq->f->hosts[i].id,
             rq->kind == KIND_QUOTE ? "quote-request" : "deploy-asset-tag");
    pthread_mutex_lock(&s->mu);
    uint64_t gen = ++s->gen;
    natsMsg_Destroy(s->msg);
    s->msg = NULL;
    s->host = (long)i;
    pthread_mutex_unlock(&s->mu);
    snprintf(reply, sizeof(reply), "%s.%u.%llu", rq->inbox, worker, (unsigned long long)gen);
    *ret_send_ns = mono_ns();
    *ret_sent = natsConnection_PublishRequestString(rq->nc, subject, reply, payload) == NATS_OK;
    struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
    pthread_mutex_lock(&s->mu);
    while (*ret_sent && !s->msg && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
        ;
    natsMsg *msg = s->msg;
    s->msg = NULL;
    s->host = -1;
    *ret_reply_ns = s->reply_ns;
    pthread_mutex_unlock(&s->mu);
    return msg;
}

static void attest(fleet_requester_t *rq, unsigned worker, size_t i, struct fleet_attempt *a)
{
    const struct fleet_host *h = &rq->f->hosts[i];
    char payload[512];
    uint8_t nonce[32];
    a->first_send_ms = world_now_ms();
    int64_t deadline = a->first_send_ms + rq->o.timeout_ms;
    for (;;) {
        uint64_t send_ns = 0, reply_ns = 0;
        bool sent = false;
        make_payload(rq, h, nonce, payload, sizeof(payload));
        natsMsg *msg = send_and_wait(rq, worker, i, payload, deadline, &send_ns, &reply_ns, &sent);
        a->sends++;
        if (!sent) {
            a->outcome = FLEET_SEND;
            snprintf(a->why, sizeof(a->why), "the request could not be published");
            break;
        }
        a->latency_ms = msg ? (double)(reply_ns - send_ns) / 1e6 : 0;
        a->outcome = judge(rq, h, msg, nonce, a->why, sizeof(a->why));
        natsMsg_Destroy(msg);
        if (a->outcome != FLEET_NO_RESPONDERS || world_now_ms() + rq->o.retry_ms >= deadline)
            break;
        usleep((useconds_t)rq->o.retry_ms * 1000);
    }
    a->done_ms = world_now_ms();
}

static void *worker_main(void *closure)
{
    struct worker_arg *arg = closure;
    fleet_requester_t *rq = arg->rq;
    for (;;) {
        size_t i = atomic_fetch_add(&rq->next, 1);
        if (i >= rq->f->n)
            break;
        attest(rq, arg->index, i, &rq->round->hosts[i]);
        atomic_fetch_add(&rq->done, 1);
    }
    return NULL;
}

/* ---- rounds ---- */

static int round_begin(fleet_requester_t *rq, enum request_kind kind, struct fleet_round *r)
{
    if (rq->running)
        return -EBUSY;
    *r = (struct fleet_round){.n = rq->f->n, .hosts = calloc(rq->f->n + 1, sizeof(*r->hosts))};
    if (!r->hosts)
        return -ENOMEM;
    rq->kind = kind;
    rq->round = r;
    atomic_store(&rq->next, 0);
    atomic_store(&rq->done, 0);
    getrusage(RUSAGE_SELF, &rq->ru0);
    rq->t0_ms = world_now_ms();
    for (unsigned i = 0; i < rq->o.concurrency; i++) {
        rq->args[i] = (struct worker_arg){rq, i};
        if (pthread_create(&rq->threads[i], NULL, worker_main, &rq->args[i]) != 0) {
            fprintf(stderr, "fleet: cannot start requester thread %u\n", i);
            atomic_store(&rq->next, rq->f->n); /* the started ones stop at once */
            for (unsigned k = 0; k < i; k++)
                pthread_join(rq->threads[k], NULL);
            return -EAGAIN;
        }
    }
    rq->running = true;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of n sorted values, interpolated between the nearest ranks. */
static double quantile(const double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    return lo + 1 < n ? v[lo] + (v[lo + 1] - v[lo]) * (pos - (double)lo) : v[lo];
}

static double tv_ms(struct timeval a, struct timeval b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_usec - a.tv_usec) / 1e3;
}

int fleet_round_end(fleet_requester_t *rq, struct fleet_round *ret)
{
    if (!rq->running)
        return -EINVAL;
    for (unsigned i = 0; i < rq->o.concurrency; i++)
        pthread_join(rq->threads[i], NULL);
    rq->running = false;
    struct fleet_round *r = rq->round;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->cpu_ms = tv_ms(rq->ru0.ru_utime, ru.ru_utime) + tv_ms(rq->ru0.ru_stime, ru.ru_stime);
    double *lat = calloc(r->n + 1, sizeof(*lat));
    size_t n_ok = 0;
    int64_t last = rq->t0_ms;
    for (size_t i = 0; i < r->n; i++) {
        const struct fleet_attempt *a = &r->hosts[i];
        r->count[a->outcome]++;
        r->resends += a->sends - 1;
        if (a->done_ms > last)
            last = a->done_ms;
        if (a->outcome == FLEET_OK && lat)
            lat[n_ok++] = a->latency_ms;
    }
    r->seconds = (double)(last - rq->t0_ms) / 1e3;
    if (lat) {
        qsort(lat, n_ok, sizeof(*lat), cmp_double);
        r->p50_ms = quantile(lat, n_ok, 0.5);
        r->p99_ms = quantile(lat, n_ok, 0.99);
    }
    free(lat);
    *ret = *r;
    free(r); /* the shell round_begin's caller allocated; its hosts array now belongs to *ret */
    rq->round = NULL;
    return 0;
}

int fleet_round_begin(fleet_requester_t *rq)
{
    struct fleet_round *r = calloc(1, sizeof(*r));
    int ret = r ? round_begin(rq, KIND_QUOTE, r) : -ENOMEM;
    if (ret < 0) {
        if (r)
            free(r->hosts);
        free(r);
        rq->round = NULL;
    }
    return ret;
}

size_t fleet_round_done(fleet_requester_t *rq)
{
    return atomic_load(&rq->done);
}

size_t fleet_round_in_flight(fleet_requester_t *rq, size_t *hosts, size_t cap)
{
    size_t n = 0;
    for (unsigned i = 0; i < rq->o.concurrency; i++) {
        pthread_mutex_lock(&rq->slots[i].mu);
        if (rq->slots[i].host >= 0 && n < cap)
            hosts[n++] = (size_t)rq->slots[i].host;
        pthread_mutex_unlock(&rq->slots[i].mu);
    }
    return n;
}

int fleet_round_run(fleet_requester_t *rq, struct fleet_round *ret)
{
    int r = fleet_round_begin(rq);
    return r < 0 ? r : fleet_round_end(rq, ret);
}

int fleet_deploy_tags(fleet_requester_t *rq, struct fleet_round *ret)
{
    for (size_t i = 0; i < rq->f->n; i++)
        RAND_bytes(rq->f->hosts[i].tag, FLEET_TAG_SIZE);
    struct fleet_round *r = calloc(1, sizeof(*r));
    int e = r ? round_begin(rq, KIND_TAG, r) : -ENOMEM;
    if (e == 0)
        return fleet_round_end(rq, ret);
    if (r)
        free(r->hosts);
    free(r);
    return e;
}

void fleet_round_free(struct fleet_round *r)
{
    if (!r)
        return;
    free(r->hosts);
    *r = (struct fleet_round){0};
}
