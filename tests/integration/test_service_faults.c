/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` under faults (issue 6, acceptance 2), on the world fixture (tests/harness/world.h):
 *   - one nats-server: hostile request payloads each get an error reply within 1 s and the service keeps
 *     serving; publishes without a reply subject are dropped; a crashed swtpm gives error replies and is
 *     used again when it returns; a restarted nats-server (quickly, or after a 6 s outage) is rejoined
 *     and the agent serves again within 5 s of the server being back;
 *   - a routed 3-node cluster: the server holding the agent is SIGKILLed while a requester on another
 *     server keeps quote requests going; the agent serves through a surviving server within 5 s and every
 *     request sent after that is answered exactly once with a quote that verifies as HVS verifies it.
 * Figures (reconnect and failover times) are printed to stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hvs_expect.h"
#include "hvs_verify.h"
#include "world.h"

#define ERROR_REPLY_MS   1000 /* acceptance: an error reply within 1 s */
#define SERVE_AGAIN_MS   5000 /* acceptance: serving again within 5 s */
#define OUTAGE_MS        6000 /* longer than two missed pings (3 s interval) and several reconnect attempts */
#define HUGE_NONCE_BYTES (700 * 1024) /* base64 ~933 KiB: the largest that fits a 1 MiB max_payload */

static const char *tagent_bin, *corpora;
static world_t *w; /* the world of the running group */

/* ---- requests ---- */

/* One request with a payload of any bytes; -ETIMEDOUT / -EIO (no responders, ...) with nothing returned. */
static int request_raw(natsConnection *nc, const char *suffix, const void *data, size_t len, int timeout_ms,
                       char **ret_text, int64_t *ret_ms)
{
    char subject[160];
    natsMsg *reply = NULL;
    world_subject(w, suffix, subject, sizeof(subject));
    int64_t start = world_now_ms();
    natsStatus s = natsConnection_Request(&reply, nc, subject, data, (int)len, timeout_ms);
    if (ret_ms)
        *ret_ms = world_now_ms() - start;
    if (s != NATS_OK)
        return s == NATS_TIMEOUT ? -ETIMEDOUT : -EIO;
    *ret_text = strndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return *ret_text ? 0 : -ENOMEM;
}

static cJSON *request_json(const char *suffix, const void *data, size_t len, int64_t *ret_ms)
{
    char *text = NULL;
    int r = request_raw(w->hvs, suffix, data, len, 5000, &text, ret_ms);
    if (r < 0) {
        harness_log_tail(w->log, 40);
        fail_msg("%s (%zu bytes): no reply: %s", suffix, len, strerror(-r));
    }
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s: reply is not JSON: %.200s", suffix, text);
    free(text);
    return j;
}

/* The quote a HVS asks for, with a fresh random nonce (returned in nonce). */
static char *quote_payload(uint8_t nonce[32])
{
    char *buf = malloc(512);
    assert_non_null(buf);
    RAND_bytes(nonce, 32);
    world_quote_payload(nonce, buf, 512);
    return buf;
}

/* A quote reply passes every check HVS makes for this nonce; "" when it does, else why not (static). */
static const char *quote_problem(const cJSON *j, const uint8_t nonce[32])
{
    static _Thread_local char why[320];
    struct hvs_quote q;
    if (hvs_verify_quote(j, nonce, 32, &q))
        return "";
    for (size_t i = 0; i < q.nchecks; i++)
        if (!q.checks[i].ok) {
            snprintf(why, sizeof(why), "%s: %s", q.checks[i].name, q.checks[i].msg);
            return why;
        }
    return "not verified";
}

/* The agent serves: a fresh quote request gets a reply that verifies. */
static void assert_good_quote(void)
{
    uint8_t nonce[32];
    char *payload = quote_payload(nonce);
    cJSON *j = request_json("quote-request", payload, strlen(payload), NULL);
    const char *why = quote_problem(j, nonce);
    if (why[0])
        fail_msg("quote does not verify: %s", why);
    cJSON_Delete(j);
    free(payload);
    assert_int_equal(harness_proc_exited(w->agent), 0);
}

/* A quote request HVS's client reads as an error within 1 s, the reply saying why with code `code`;
 * returns the round trip. */
static int64_t assert_quote_error(const char *what, const void *data, size_t len, int code)
{
    fprintf(stderr, "quote-request, %s: expecting HVS's error %d\n", what, code);
    return hvs_expect_error(w->hvs, w->host_id, "quote-request", data, len, code, ERROR_REPLY_MS);
}

static void assert_quote_error_text(const char *payload)
{
    assert_quote_error(payload, payload, strlen(payload), ERR_REQUEST);
}

/* The agent answers version-request; returns the time from `since` to that answer (polling every
 * ~100 ms), or -1 when it did not within timeout_ms. */
static int64_t wait_serving(natsConnection *nc, int64_t since, int timeout_ms)
{
    for (int64_t until = world_now_ms() + timeout_ms; world_now_ms() < until;) {
        char *text = NULL;
        int64_t ms;
        if (request_raw(nc, "version-request", "null", 4, 100, &text, &ms) == 0) {
            free(text);
            return world_now_ms() - since;
        }
        if (ms < 50) /* no responders comes back at once */
            usleep(50 * 1000);
    }
    return -1;
}

/* ---- one server ---- */

static int group_setup_single(void **state)
{
    (void)state;
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-faults"};
    return world_serve(&o, &w);
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(w);
    w = NULL;
    return harness_count_children() == 0 ? 0 : -1;
}

/* Payloads that are not JSON, or JSON that is not a TpmQuoteRequest (test_service.c's test_bad_requests
 * has the first few of each kind; these are the rest). */
static void test_malformed_json(void **state)
{
    (void)state;
    assert_quote_error("empty payload", "", 0, ERR_REQUEST);
    static const char binary[] = "\xff\xfe\x00{\"nonce\":\x01\x80";
    assert_quote_error("binary payload", binary, sizeof(binary) - 1, ERR_REQUEST);
    assert_quote_error_text("[1,2,3]");
    assert_quote_error_text("\"nonce\"");
    assert_quote_error_text("42");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],}");
    assert_quote_error_text("{\"nonce\":\"\xc3\x28\",\"pcrs\":[0]}"); /* invalid UTF-8 */
    /* 200 000 nested arrays: the parser must refuse them, not recurse off the stack */
    size_t depth = 200000;
    char *deep = malloc(depth + 1);
    assert_non_null(deep);
    memset(deep, '[', depth);
    deep[depth] = '\0';
    assert_quote_error("200000 nested arrays", deep, depth, ERR_REQUEST);
    free(deep);
    assert_good_quote();
}

/* Known fields with the wrong type or value are request errors (as json.Unmarshal into TpmQuoteRequest
 * fails); unknown fields are ignored, whatever they hold. */
static void test_field_errors(void **state)
{
    (void)state;
    assert_quote_error_text("{\"pcrs\":[0,1]}"); /* no nonce */
    assert_quote_error_text("{\"nonce\":null,\"pcrs\":[0]}");
    assert_quote_error_text("{\"nonce\":12345,\"pcrs\":[0]}");
    assert_quote_error_text("{\"nonce\":[\"AAAA\"],\"pcrs\":[0]}");
    assert_quote_error_text("{\"nonce\":\"====\",\"pcrs\":[0]}"); /* base64 of nothing */
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":\"0-23\"}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0.5]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[-1]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[\"0\"]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[1e300]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"ima_measure_enabled\":\"yes\"}");

    /* unknown fields of every JSON type around a good request: a quote that verifies */
    uint8_t nonce[32];
    char *good = quote_payload(nonce), payload[2048];
    snprintf(payload, sizeof(payload),
             "{\"x-str\":\"s\",\"x-num\":-1.5e10,\"x-obj\":{\"a\":[{\"b\":null}]},\"x-arr\":[true,false],"
             "\"x-null\":null,%s",
             good + 1);
    cJSON *j = request_json("quote-request", payload, strlen(payload), NULL);
    const char *why = quote_problem(j, nonce);
    if (why[0])
        fail_msg("quote with unknown fields: %s", why);
    cJSON_Delete(j);
    free(good);
}

static void test_bad_banks(void **state)
{
    (void)state;
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SHA512\"]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SHA256\",\"SM3_256\"]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"\"]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SHA-256\"]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[11]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[null]}");
    assert_quote_error_text("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":\"SHA256\"}");
    char *name = malloc(8192);
    assert_non_null(name);
    memset(name, 'A', 8191);
    name[8191] = '\0';
    char *payload = NULL;
    assert_true(asprintf(&payload, "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"%s\"]}", name) > 0);
    assert_quote_error("8 KiB bank name", payload, strlen(payload), ERR_REQUEST);
    free(payload);
    free(name);
    assert_good_quote();
}

/* A nonce as big as a NATS message allows (700 KiB, ~933 KiB of base64 under the 1 MiB max_payload) is a
 * request error, answered at once: it must not reach the TPM or be hashed into a quote. */
static void test_huge_nonce(void **state)
{
    (void)state;
    uint8_t *nonce = malloc(HUGE_NONCE_BYTES);
    assert_non_null(nonce);
    RAND_bytes(nonce, HUGE_NONCE_BYTES);
    char *b64 = hvs_b64_encode(nonce, HUGE_NONCE_BYTES), *payload = NULL;
    int len = asprintf(&payload, "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7],\"pcrbanks\":[]}", b64);
    assert_true(len > 0 && len < (1 << 20));
    int64_t ms = assert_quote_error("700 KiB nonce", payload, (size_t)len, ERR_REQUEST);
    fprintf(stderr, "huge nonce: %d bytes of payload, error reply in %lld ms\n", len, (long long)ms);
    free(payload);
    free(b64);
    free(nonce);
    assert_good_quote();
}

/* HVS always asks with a reply subject; a plain publish has nobody to answer. It is dropped with a log
 * line, and neither kills nor wedges the workers. */
static void test_no_reply_subject(void **state)
{
    (void)state;
    char subject[160];
    uint8_t nonce[32];
    char *payload = quote_payload(nonce);
    static const char *const suffixes[] = {"quote-request", "version-request", "aik-request",
                                           "host-info-request", "no-such-request"};
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
            world_subject(w, suffixes[i], subject, sizeof(subject));
            assert_int_equal(natsConnection_PublishString(w->hvs, subject, i == 0 ? payload : "{\"nonce\":"),
                             NATS_OK);
        }
    assert_int_equal(natsConnection_FlushTimeout(w->hvs, 2000), NATS_OK);
    free(payload);
    assert_good_quote(); /* queued behind the publishes, so they have been handled */
    assert_true(world_log_has(w, "without a reply subject"));
}

/* swtpm crashes (SIGKILL, not the graceful stop of test_service.c): error replies within 1 s, then
 * quotes that verify once it is back (same state: the AIK is persistent). */
static void test_swtpm_killed(void **state)
{
    (void)state;
    assert_int_equal(swtpm_kill(w->tpm), 0);
    for (int i = 0; i < 3; i++) {
        uint8_t nonce[32];
        char *payload = quote_payload(nonce);
        int64_t ms = assert_quote_error("swtpm killed", payload, strlen(payload), ERR_FAILED);
        fprintf(stderr, "swtpm killed: HVS's error %d in %lld ms\n", i + 1, (long long)ms);
        free(payload);
    }
    assert_int_equal(swtpm_restart(w->tpm), 0);
    assert_good_quote();
}

/* Stops the server, waits down_ms, starts it again on the same port and config; returns how long after the
 * server was back the agent answered. */
static int64_t nats_bounce(int down_ms, const char *what)
{
    int64_t start = world_now_ms();
    assert_int_equal(natsd_stop(w->nats[0]), 0);
    if (down_ms)
        usleep((useconds_t)down_ms * 1000);
    assert_int_equal(natsd_restart(w->nats[0]), 0);
    int64_t back = world_now_ms();
    int64_t ms = wait_serving(w->hvs, back, 15000);
    fprintf(stderr, "nats-server %s: server back after %lld ms; agent serving %lld ms after that\n", what,
            (long long)(back - start), (long long)ms);
    if (ms < 0) {
        harness_log_tail(w->log, 30);
        fail_msg("the agent does not answer 15 s after the nats-server %s", what);
    }
    if (ms > SERVE_AGAIN_MS) {
        harness_log_tail(w->log, 30);
        fail_msg("the agent answered %lld ms after the nats-server %s (limit %d)", (long long)ms, what,
                 SERVE_AGAIN_MS);
    }
    assert_good_quote();
    return ms;
}

static void test_nats_restart(void **state)
{
    (void)state;
    nats_bounce(0, "restart");
    assert_true(world_log_has(w, "NATS: reconnected to"));
}

static void test_nats_outage(void **state)
{
    (void)state;
    nats_bounce(OUTAGE_MS, "outage of 6 s");
}

/* A reply over the server's max_payload (here 16 KiB: a quote with its measure log is ~52 KB) is answered
 * with the typed too-large error instead of being dropped; with the limit back, quotes verify again. */
static void test_reply_too_large(void **state)
{
    (void)state;
    char *conf = harness_file_slurp(w->nats[0]->conf_path), *small = NULL;
    assert_true(asprintf(&small, "%s\nmax_payload: 16384\n", conf) > 0);
    assert_int_equal(harness_file_write(w->nats[0]->conf_path, small, 0600), 0);
    assert_int_equal(natsd_restart(w->nats[0]), 0);
    assert_true(wait_serving(w->hvs, world_now_ms(), 15000) >= 0);
    uint8_t nonce[32];
    char *payload = quote_payload(nonce);
    assert_quote_error("a quote reply over max_payload", payload, strlen(payload), ERR_TOO_LARGE);
    assert_true(world_log_has(w, "exceeds the server's max payload"));
    free(payload);

    assert_int_equal(harness_file_write(w->nats[0]->conf_path, conf, 0600), 0);
    assert_int_equal(natsd_restart(w->nats[0]), 0);
    assert_true(wait_serving(w->hvs, world_now_ms(), 15000) >= 0);
    assert_good_quote();
    free(small);
    free(conf);
}

/* Last of a group: SIGTERM ends the agent cleanly and nothing in its log says a sanitizer fired. */
static void test_stop(void **state)
{
    (void)state;
    assert_int_equal(world_agent_stop(w), 0);
    assert_true(world_log_clean(w));
}

/* ---- three servers ---- */

/* The index of the server holding the agent's connection (named after the host id, with subscriptions),
 * from each live server's /connz; -1 when none does. */
static int agent_server(void)
{
    int found = -1;
    for (size_t i = 0; i < w->n_nats; i++) {
        char *body = NULL;
        if (natsd_monitor_get(w->nats[i], "/connz?subs=1", &body) < 0)
            continue;
        cJSON *connz = cJSON_Parse(body), *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(connz, "connections"))
        {
            cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, w->host_id) == 0 &&
                cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "subscriptions_list")) > 0) {
                if (found >= 0 && found != (int)i)
                    fail_msg("the agent holds connections to servers %d and %zu", found, i);
                found = (int)i;
            }
        }
        cJSON_Delete(connz);
        free(body);
    }
    return found;
}

static int agent_server_wait(int timeout_ms)
{
    int k = -1;
    for (int64_t until = world_now_ms() + timeout_ms; k < 0 && world_now_ms() < until;) {
        k = agent_server();
        if (k < 0)
            usleep(100 * 1000);
    }
    return k;
}

enum outcome { OUT_OK, OUT_BAD, OUT_NO_RESPONDERS, OUT_TIMEOUT };

#define STREAM_MAX        4096
#define STREAM_TIMEOUT_MS 1000 /* a quote takes well under 200 ms; a lost request must not hide the rest */
#define STREAM_OK_BEFORE  5    /* verified replies before the fault: the stream works */
#define STREAM_OK_AFTER   10   /* verified replies to requests sent after the failover */
#define STREAM_WAIT_MS    15000

struct stream_rec {
    int64_t sent, done;
    enum outcome outcome;
    int replies; /* every message delivered for this request, also after it was given up */
    char why[160];
};

/* A requester on a surviving server sending quote requests one after the other, each with its own reply
 * subject (prefix.<seq>) on one subscription, so every message delivered is counted against its request. */
struct stream {
    natsConnection *nc;
    natsSubscription *sub;
    char prefix[64];
    atomic_bool stop;
    atomic_size_t n;
    pthread_mutex_t mu; /* guards ok and ended, which the test waits on */
    pthread_cond_t progress;
    size_t ok;     /* requests answered with a quote that verifies, so far */
    bool ended;    /* the stream sent its last request */
    size_t strays; /* messages for no request this stream sent */
    struct stream_rec rec[STREAM_MAX];
    uint8_t nonce[STREAM_MAX][32];
};

/* Books one delivered message; returns its request's sequence number, or -1 for a stray. */
static long stream_book(struct stream *st, natsMsg *m, size_t n_sent)
{
    long seq = world_inbox_seq(natsMsg_GetSubject(m), st->prefix);
    if (seq < 0 || (size_t)seq >= n_sent) {
        st->strays++;
        return -1;
    }
    st->rec[seq].replies++;
    return seq;
}

static enum outcome stream_judge(struct stream *st, size_t seq, natsMsg *m)
{
    struct stream_rec *r = &st->rec[seq];
    if (natsMsg_GetDataLength(m) == 0) /* the server's 503 status: nobody subscribed */
        return OUT_NO_RESPONDERS;
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    const char *why = j ? quote_problem(j, st->nonce[seq]) : "reply is not JSON";
    snprintf(r->why, sizeof(r->why), "%s", why);
    cJSON_Delete(j);
    return why[0] ? OUT_BAD : OUT_OK;
}

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    char subject[160], reply[96], payload[512];
    world_subject(w, "quote-request", subject, sizeof(subject));
    for (size_t seq = 0; seq < STREAM_MAX && !atomic_load(&st->stop); seq++) {
        struct stream_rec *r = &st->rec[seq];
        RAND_bytes(st->nonce[seq], 32);
        world_quote_payload(st->nonce[seq], payload, sizeof(payload));
        snprintf(reply, sizeof(reply), "%s%zu", st->prefix, seq);
        r->outcome = OUT_TIMEOUT;
        r->sent = world_now_ms();
        atomic_store(&st->n, seq + 1);
        if (natsConnection_PublishRequestString(st->nc, subject, reply, payload) != NATS_OK)
            continue; /* stays a timeout */
        for (int64_t until = r->sent + STREAM_TIMEOUT_MS; world_now_ms() < until;) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, st->sub, until - world_now_ms()) != NATS_OK)
                break;
            long got = stream_book(st, m, seq + 1);
            if (got == (long)seq) {
                r->outcome = stream_judge(st, seq, m);
                natsMsg_Destroy(m);
                break;
            }
            natsMsg_Destroy(m);
        }
        r->done = world_now_ms();
        if (r->outcome == OUT_OK) {
            pthread_mutex_lock(&st->mu);
            st->ok++;
            pthread_cond_broadcast(&st->progress);
            pthread_mutex_unlock(&st->mu);
        }
        if (r->outcome == OUT_NO_RESPONDERS)
            usleep(50 * 1000);
    }
    pthread_mutex_lock(&st->mu);
    st->ended = true;
    pthread_cond_broadcast(&st->progress);
    pthread_mutex_unlock(&st->mu);
    /* late and duplicate replies still on their way */
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, st->sub, 1000) == NATS_OK) {
        stream_book(st, m, atomic_load(&st->n));
        natsMsg_Destroy(m);
    }
    return NULL;
}

static void stream_init(struct stream *st)
{
    pthread_condattr_t ca;
    assert_int_equal(pthread_condattr_init(&ca), 0);
    assert_int_equal(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    assert_int_equal(pthread_cond_init(&st->progress, &ca), 0);
    pthread_condattr_destroy(&ca);
    assert_int_equal(pthread_mutex_init(&st->mu, NULL), 0);
}

/* Waits until the stream has had `want` verified replies in all (or ended, or timeout_ms passed); returns
 * how many it had. It wakes at each reply, so the test moves on as soon as the stream got there. */
static size_t stream_wait_ok(struct stream *st, size_t want, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&st->mu);
    int r = 0;
    while (st->ok < want && !st->ended && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&st->progress, &st->mu, &until);
    size_t ok = st->ok;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

static int group_setup_cluster(void **state)
{
    (void)state;
    const struct world_opts o = {
        .tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-failover", .n_nats = 3};
    return world_serve(&o, &w);
}

static void stream_report(const struct stream *st, size_t n, int64_t t_kill, int64_t t_back)
{
    size_t count[4] = {0}, before = 0, window = 0, after = 0;
    for (size_t i = 0; i < n; i++) {
        const struct stream_rec *r = &st->rec[i];
        count[r->outcome]++;
        if (r->done < t_kill)
            before++;
        else if (r->sent < t_back)
            window++;
        else
            after++;
    }
    fprintf(
        stderr,
        "failover stream: %zu requests (%zu done before the kill, %zu in the failover window, %zu after): "
        "%zu ok, %zu bad, %zu no responders, %zu timed out, %zu stray messages\n",
        n, before, window, after, count[OUT_OK], count[OUT_BAD], count[OUT_NO_RESPONDERS], count[OUT_TIMEOUT],
        st->strays);
}

/* What is asserted, with t_kill the moment the SIGKILL was sent and t_back the moment a version-request
 * sent through a surviving server was first answered after it:
 *   - t_back - t_kill < 5 s, and /connz shows the agent on a surviving server;
 *   - every request answered before t_kill verified;
 *   - every request sent at or after t_back got exactly one reply, and it verifies;
 *   - no request got two replies and no reply arrived for a request never sent, at any time;
 *   - requests in flight at t_kill or sent in [t_kill, t_back) may time out or get "no responders".
 */
static void test_cluster_failover(void **state)
{
    (void)state;
    int a = agent_server_wait(5000);
    assert_true(a >= 0);
    int k = (a + 1) % (int)w->n_nats;
    fprintf(stderr, "agent on server %d (%s); requester on server %d\n", a, w->nats[a]->url, k);

    struct stream *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    stream_init(st);
    assert_int_equal(world_hvs_connect(w, k, &st->nc), 0);
    snprintf(st->prefix, sizeof(st->prefix), "_INBOX.failover.%d.", (int)getpid());
    char wildcard[96];
    snprintf(wildcard, sizeof(wildcard), "%s*", st->prefix);
    assert_int_equal(natsConnection_SubscribeSync(&st->sub, st->nc, wildcard), NATS_OK);
    assert_int_equal(natsConnection_FlushTimeout(st->nc, 2000), NATS_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stream_main, st), 0);

    /* a stream that works before the fault */
    size_t ok = stream_wait_ok(st, STREAM_OK_BEFORE, STREAM_WAIT_MS);
    if (ok < STREAM_OK_BEFORE) {
        atomic_store(&st->stop, true);
        pthread_join(th, NULL);
        stream_report(st, atomic_load(&st->n), INT64_MAX, INT64_MAX);
        fail_msg("only %zu verified quotes in %d ms before any fault", ok, STREAM_WAIT_MS);
    }
    int64_t t_kill = world_now_ms();
    assert_int_equal(natsd_kill(w->nats[a]), 0);
    int64_t failover = wait_serving(st->nc, t_kill, 15000);
    int64_t t_back = t_kill + failover;
    fprintf(stderr, "cluster failover: server %d killed; agent serving through server %d after %lld ms\n", a,
            k, (long long)failover);
    /* the stream after failover: one more than STREAM_OK_AFTER, as the request in flight at t_back may be
     * among them */
    if (failover >= 0) {
        size_t ok_at_back = stream_wait_ok(st, 0, 0); /* the count now, without waiting */
        stream_wait_ok(st, ok_at_back + STREAM_OK_AFTER + 1, STREAM_WAIT_MS);
    }
    atomic_store(&st->stop, true);
    pthread_join(th, NULL);

    size_t n = atomic_load(&st->n);
    stream_report(st, n, t_kill, failover >= 0 ? t_back : INT64_MAX);
    if (failover < 0 || failover > SERVE_AGAIN_MS) {
        harness_log_tail(w->log, 30);
        fail_msg("no failover within %d ms (%lld)", SERVE_AGAIN_MS, (long long)failover);
    }
    int now_on = agent_server_wait(2000);
    fprintf(stderr, "agent now on server %d\n", now_on);
    assert_true(now_on >= 0 && now_on != a);
    size_t after = 0;
    for (size_t i = 0; i < n; i++) {
        const struct stream_rec *r = &st->rec[i];
        if (r->replies > 1)
            fail_msg("request %zu got %d replies", i, r->replies);
        if (r->done < t_kill && r->outcome != OUT_OK)
            fail_msg("request %zu before the kill: outcome %d %s", i, r->outcome, r->why);
        if (r->sent >= t_back) {
            after++;
            if (r->outcome != OUT_OK || r->replies != 1)
                fail_msg("request %zu sent %lld ms after failover: outcome %d, %d replies %s", i,
                         (long long)(r->sent - t_back), r->outcome, r->replies, r->why);
        }
    }
    assert_int_equal(st->strays, 0);
    assert_true(after >= STREAM_OK_AFTER); /* the stream really ran after the failover */
    natsSubscription_Destroy(st->sub);
    natsConnection_Destroy(st->nc);
    pthread_cond_destroy(&st->progress);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    const struct CMUnitTest single[] = {
        cmocka_unit_test(test_malformed_json),   cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_bad_banks),        cmocka_unit_test(test_huge_nonce),
        cmocka_unit_test(test_no_reply_subject), cmocka_unit_test(test_swtpm_killed),
        cmocka_unit_test(test_nats_restart),     cmocka_unit_test(test_nats_outage),
        cmocka_unit_test(test_reply_too_large),  cmocka_unit_test(test_stop),
    };
    const struct CMUnitTest cluster[] = {
        cmocka_unit_test(test_cluster_failover),
        cmocka_unit_test(test_stop),
    };
    int rc = cmocka_run_group_tests_name("service_faults_single_server", single, group_setup_single,
                                         group_teardown);
    rc |= cmocka_run_group_tests_name("service_faults_cluster", cluster, group_setup_cluster, group_teardown);
    harness_nats_close();
    return rc;
}
