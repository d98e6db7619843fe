/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` under load (issue 6, acceptance 3): 20 requesters, each on its own NATS connection
 * with HVS's credentials, send 100 quote requests each (2,000; TAGENT_LOAD_REQUESTS overrides the total)
 * one after another with unique random 32-byte nonces. Every reply must verify as HVS verifies it against
 * its own request's nonce; none may be missing, refused as busy (20 outstanding is well under the queue of
 * 64) or delivered twice. Each request has its own reply subject on the requester's one subscription, so
 * every message delivered, also after the last reply, is counted against the request it answers.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hvs_ta_client.h"
#include "hvs_verify.h"
#include "world.h"

#define REQUESTERS         20
#define DEFAULT_REQUESTS   2000
#define REQUEST_TIMEOUT_MS 10000 /* what HVS waits */
#define DRAIN_MS           1000  /* after its last reply, a requester still counts what arrives */

static const char *tagent_bin, *corpora;
static world_t *w;

struct req_rec {
    uint8_t nonce[32];
    int replies;    /* messages delivered for this request, at any time */
    bool answered;  /* a reply within REQUEST_TIMEOUT_MS */
    bool verified;  /* ... that passed every HVS check for this nonce */
    int error_code; /* its Tagent-Error-Code header (4: busy / deadline; 0: none) */
    int64_t ms;     /* round trip */
};

struct requester {
    pthread_t thread;
    natsConnection *nc;
    natsSubscription *sub;
    char prefix[64]; /* reply subjects are prefix<seq> */
    size_t n;
    struct req_rec *rec;
    size_t strays; /* messages for no request of this requester */
    char first_problem[256];
};

/* Books one delivered message; returns its request's index, or -1 for a stray. */
static long book(struct requester *q, natsMsg *m)
{
    long seq = world_inbox_seq(natsMsg_GetSubject(m), q->prefix);
    if (seq < 0 || (size_t)seq >= q->n) {
        q->strays++;
        return -1;
    }
    q->rec[seq].replies++;
    return seq;
}

/* What HVS concludes from one reply (tests/mock/hvs_ta_client.c), then its quote checks. */
static void judge(struct requester *q, struct req_rec *r, natsMsg *m)
{
    const char *data = natsMsg_GetData(m), *code = NULL, *why = NULL;
    size_t len = (size_t)natsMsg_GetDataLength(m);
    struct hvs_ta_result hr = {0};
    hvs_ta_judge("quote-request", data ? data : "", len, NULL, &hr);
    r->answered = true;
    r->error_code = natsMsgHeader_Get(m, "Tagent-Error-Code", &code) == NATS_OK ? atoi(code) : 0;
    cJSON *j = hr.outcome == HVS_OK ? cJSON_ParseWithLength(data, len) : NULL;
    struct hvs_quote hq;
    r->verified = j && hvs_verify_quote(j, r->nonce, 32, &hq);
    if (!r->verified && !q->first_problem[0]) {
        if (natsMsgHeader_Get(m, "Tagent-Error", &why) != NATS_OK)
            why = "(no Tagent-Error)";
        snprintf(q->first_problem, sizeof(q->first_problem), "HVS %s: %.100s; agent: %d %.100s",
                 hvs_outcome_name(hr.outcome), hr.error, r->error_code, why);
        for (size_t i = 0; j && i < hq.nchecks; i++)
            if (!hq.checks[i].ok) {
                snprintf(q->first_problem, sizeof(q->first_problem), "%s: %.200s", hq.checks[i].name,
                         hq.checks[i].msg);
                break;
            }
    }
    cJSON_Delete(j);
}

/* Waits for request seq's reply, booking whatever else arrives on the way. */
static void await_reply(struct requester *q, size_t seq, int64_t sent)
{
    for (int64_t until = sent + REQUEST_TIMEOUT_MS; world_now_ms() < until;) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, q->sub, until - world_now_ms()) != NATS_OK)
            return;
        if (book(q, m) == (long)seq) {
            judge(q, &q->rec[seq], m);
            q->rec[seq].ms = world_now_ms() - sent;
            natsMsg_Destroy(m);
            return;
        }
        natsMsg_Destroy(m);
    }
}

static void *requester_main(void *arg)
{
    struct requester *q = arg;
    char subject[160], reply[96], payload[512];
    world_subject(w, "quote-request", subject, sizeof(subject));
    for (size_t seq = 0; seq < q->n; seq++) {
        world_quote_payload(q->rec[seq].nonce, payload, sizeof(payload));
        snprintf(reply, sizeof(reply), "%s%zu", q->prefix, seq);
        int64_t sent = world_now_ms();
        if (natsConnection_PublishRequestString(q->nc, subject, reply, payload) == NATS_OK)
            await_reply(q, seq, sent);
    }
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, q->sub, DRAIN_MS) == NATS_OK) {
        book(q, m);
        natsMsg_Destroy(m);
    }
    return NULL;
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t total_requests(void)
{
    const char *s = getenv("TAGENT_LOAD_REQUESTS");
    long n = s && *s ? strtol(s, NULL, 10) : DEFAULT_REQUESTS;
    return n >= REQUESTERS ? (size_t)n : REQUESTERS;
}

static int group_setup(void **state)
{
    (void)state;
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-load"};
    return world_serve(&o, &w);
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(w);
    w = NULL;
    return harness_count_children() == 0 ? 0 : -1;
}

/* The connections and subscriptions are made before the clock starts: the figure is the agent's. */
static void requesters_open(struct requester *qs, size_t total)
{
    assert_true(total >= REQUESTERS); /* every requester has at least one request */
    for (size_t t = 0; t < REQUESTERS; t++) {
        struct requester *q = &qs[t];
        q->n = total / REQUESTERS + (t < total % REQUESTERS);
        assert_true(q->n > 0);
        q->rec = calloc(q->n, sizeof(*q->rec));
        assert_non_null(q->rec);
        for (size_t i = 0; i < q->n; i++)
            assert_int_equal(RAND_bytes(q->rec[i].nonce, 32), 1);
        assert_int_equal(world_hvs_connect(w, -1, &q->nc), 0);
        snprintf(q->prefix, sizeof(q->prefix), "_INBOX.load.%d.%zu.", (int)getpid(), t);
        char wildcard[96];
        snprintf(wildcard, sizeof(wildcard), "%s*", q->prefix);
        assert_int_equal(natsConnection_SubscribeSync(&q->sub, q->nc, wildcard), NATS_OK);
        /* a slow consumer would drop replies: let the subscription hold every one */
        assert_int_equal(natsSubscription_SetPendingLimits(q->sub, -1, -1), NATS_OK);
        assert_int_equal(natsConnection_FlushTimeout(q->nc, 5000), NATS_OK);
    }
}

static void test_load(void **state)
{
    (void)state;
    size_t total = total_requests();
    struct requester *qs = calloc(REQUESTERS, sizeof(*qs));
    assert_non_null(qs);
    requesters_open(qs, total);

    int64_t start = world_now_ms();
    for (size_t t = 0; t < REQUESTERS; t++)
        assert_int_equal(pthread_create(&qs[t].thread, NULL, requester_main, &qs[t]), 0);
    for (size_t t = 0; t < REQUESTERS; t++)
        pthread_join(qs[t].thread, NULL);
    /* every requester drains for DRAIN_MS after its last reply; the last one to finish set the pace */
    int64_t elapsed = world_now_ms() - start - DRAIN_MS;

    size_t answered = 0, verified = 0, busy = 0, duplicates = 0, strays = 0, k = 0;
    const uint8_t **nonces = calloc(total, sizeof(*nonces));
    int64_t *lat = calloc(total, sizeof(*lat));
    assert_true(nonces && lat);
    for (size_t t = 0; t < REQUESTERS; t++) {
        struct requester *q = &qs[t];
        strays += q->strays;
        for (size_t i = 0; i < q->n; i++, k++) {
            const struct req_rec *r = &q->rec[i];
            answered += r->answered;
            verified += r->verified;
            busy += r->answered && r->error_code == 4;
            duplicates += r->replies > 1 ? (size_t)(r->replies - 1) : 0;
            nonces[k] = r->nonce;
            lat[k] = r->answered ? r->ms : INT64_MAX;
        }
        if (q->first_problem[0])
            fprintf(stderr, "requester %zu: first problem: %s\n", t, q->first_problem);
    }
    /* two requests with one nonce could share a reply unnoticed: they must all differ */
    qsort(nonces, total, sizeof(*nonces), cmp_nonce);
    size_t same_nonce = 0;
    for (size_t i = 1; i < total; i++)
        same_nonce += memcmp(nonces[i - 1], nonces[i], 32) == 0;
    qsort(lat, total, sizeof(*lat), cmp_i64);
    fprintf(stderr,
            "load: %zu quote requests from %d requesters in %lld ms = %.1f requests/s; answered %zu, "
            "verified %zu, busy %zu, duplicate replies %zu, stray replies %zu, repeated nonces %zu; "
            "latency p50 %lld ms, p99 %lld ms, max %lld ms\n",
            total, REQUESTERS, (long long)elapsed,
            elapsed > 0 ? 1000.0 * (double)total / (double)elapsed : 0.0, answered, verified, busy,
            duplicates, strays, same_nonce, (long long)lat[total / 2], (long long)lat[total * 99 / 100],
            (long long)lat[total - 1]);

    assert_int_equal(answered, total);
    assert_int_equal(busy, 0);
    assert_int_equal(verified, total);
    assert_int_equal(duplicates, 0);
    assert_int_equal(strays, 0);
    assert_int_equal(same_nonce, 0);
    assert_int_equal(harness_proc_exited(w->agent), 0);

    for (size_t t = 0; t < REQUESTERS; t++) {
        natsSubscription_Destroy(qs[t].sub);
        natsConnection_Destroy(qs[t].nc);
        free(qs[t].rec);
    }
    free(qs);
    free(nonces);
    free(lat);
}

static void test_stop(void **state)
{
    (void)state;
    assert_int_equal(world_agent_stop(w), 0);
    assert_true(world_log_clean(w));
    assert_false(world_log_has(w, "too many requests queued")); /* no request was turned away as busy */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_load), cmocka_unit_test(test_stop)};
    int rc = cmocka_run_group_tests_name("service_load", tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
