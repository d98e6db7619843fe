/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_service: what `tagent startService` adds on top of the quote it serves, in one run on one provisioned
 * world (swtpm, mock control plane, nats-server in operator mode, `tagent setup all`; tests/harness/world.h):
 *
 *   latency, interleaved in rounds (one sample of each row per round, the order rotating between rounds):
 *     (a) tpm_quote() in this process [baseline]: the quote the handler makes (AIK, PCRs 0-23, default
 * banks); (h) the quote-request handler itself in this process (agent/service/handlers/handler_quote.c
 * compiled in): request JSON, AIK file + base64, the asset tag (cached), tpm_quote(), reply JSON with the
 * measure log; (b) quote-request over NATS through the running agent, one requester, sequential; (v)
 * version-request over NATS (no TPM): NATS + dispatch alone; (e) an echo responder in this process on its own
 * NATS connection, replying as many bytes as the quote reply has (and as the version reply has): the NATS
 * server's round trip with no agent at all. The swtpm serves one TCP connection at a time, but the swtpm TCTI
 * opens one per TPM command, so (a)/(h) here and (b) in the agent take turns on it as long as they never
 * overlap: the rounds are sequential. The echo rows send the very request the agent gets (the quote request
 * JSON, "null") and are answered with as many bytes as the agent's reply had, through the same nats-server
 * over TLS, so (b)-(e) is the agent's own time plus the TPM work it waits for. throughput: N requesters
 * (threads, each with its own NATS connection) share a fixed number of requests; requests/s per N, latency
 * under load, the agent's CPU time per request; smaps_rollup sampled meanwhile. memory: smaps_rollup of the
 * agent idle (after start and the warm-up requests, then 1 s idle), at peak during the throughput runs, and
 * idle again after them. start: fork .. READY=1 on a NOTIFY_SOCKET of ours, beside `tagent version` (process
 * start-up alone) and a cnats TLS + .creds connect in this process (the connection the agent makes before
 * READY=1). Targets (issue 19): the agent's own share of a quote over NATS, median(b) - median(e quote-sized)
 * - median(a) (the round trip minus the NATS server's echo of the same payload minus the TPM work it waits
 * for: the quote; the asset tag is cached, agent/service/service_tag.c) <= 0.15 ms; idle Rss < 6 MiB and Pss
 * < 3 MiB (smaps_rollup). Shown beside them (issue 6): median(b) - median(a) < 1 ms, READY=1 within 100 ms of
 * the start; idle Private_Dirty.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench_handler.h"
#include "bench_util.h"
#include "cleanup.h"
#include "config.h"
#include "eventlog.h"
#include "provision.h"
#include "quote.h"
#include "handler.h" /* agent/service/handler.h: the handler table entry and struct service_ctx */
#include "service_bench.h"
#include "world.h"

#define TARGET_OVERHEAD_MS  1.0  /* issue 6: median(b) - median(a) */
#define TARGET_OWN_SHARE_MS 0.15 /* issue 19: median(b) - median(e) - median(a) */
#define TARGET_IDLE_RSS_KB  6144
#define TARGET_IDLE_PSS_KB  3072
#define TOP_MAPPINGS        15 /* -M */
#define TARGET_READY_MS     100.0
#define REQUEST_TIMEOUT_MS  10000 /* HVS waits 10 s */
#define START_TIMEOUT_MS    15000
#define MAX_CONC            8
#define MAX_REQUESTERS      256
#define MAX_ENV             8
#define PCR_MASK_ALL        0x00ffffffu
#define AGENT_CREDS         "/etc/trustagent/credentials/trust-agent.creds"
#define ECHO_HOST           "bench-echo"

struct opts {
    unsigned rounds;    /* latency rounds */
    unsigned quotes;    /* quote requests per throughput run (version: 5x) */
    unsigned tp_rounds; /* throughput rounds per N */
    unsigned conc[MAX_CONC];
    size_t n_conc;
    unsigned starts; /* start-to-READY samples */
    unsigned warmup;
    const char *env[MAX_ENV + 1]; /* extra "K=V" for the agent, NULL-terminated */
    size_t n_env;
    bool mappings;      /* -M: the idle agent's top mappings by Rss */
    const char *tagent; /* -t */
};

/* ---- samples ---- */

struct stats {
    double median, p10, p90; /* ms */
    size_t n;
};

/* Sorts the samples (ns) in place. */
static struct stats samples_stats(struct bench_samples *s)
{
    bench_samples_sort(s);
    return (struct stats){.median = bench_samples_quantile(s, 0.5) / 1e6,
                          .p10 = bench_samples_quantile(s, 0.1) / 1e6,
                          .p90 = bench_samples_quantile(s, 0.9) / 1e6,
                          .n = s->n};
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_service [-n ROUNDS] [-q QUOTES] [-r ROUNDS] [-c N,N,..] [-s STARTS] [-w WARMUP] [-M]\n"
        "                     [-t TAGENT]\n"
        "  -n N      latency rounds: one sample of each row per round (default 200)\n"
        "  -q N      quote requests per throughput run; version-request runs send 5x (default 200)\n"
        "  -r N      throughput runs per concurrency (default 3)\n"
        "  -c LIST   concurrent requesters, comma separated (default 1,4,20; at most %d values of <= %d)\n"
        "  -s N      agent starts timed to READY=1 (default 10)\n"
        "  -w N      untimed warm-up rounds (default 5)\n"
        "  -e K=V    extra environment for the agent (what-if runs, e.g. -e MALLOC_ARENA_MAX=1); "
        "repeatable\n"
        "  -M        print the idle agent's %d mappings with the most Rss (/proc/<pid>/smaps, files by "
        "path)\n"
        "  -t BIN    the tagent binary the world sets up and runs; the in-process rows are this tree's\n"
        "            code (default %s)\n",
        MAX_CONC, MAX_REQUESTERS, TOP_MAPPINGS, BENCH_TAGENT);
}

static int parse_conc(const char *arg, void *data)
{
    struct opts *o = data;
    return bench_parse_counts(arg, 1, MAX_REQUESTERS, o->conc, MAX_CONC, &o->n_conc);
}

static int parse_env(const char *arg, void *data)
{
    struct opts *o = data;
    if (o->n_env == MAX_ENV || !strchr(arg, '=') || arg[0] == '=')
        return -EINVAL;
    o->env[o->n_env++] = arg;
    return 0;
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.rounds = 200,
                       .quotes = 200,
                       .tp_rounds = 3,
                       .conc = {1, 4, 20},
                       .n_conc = 3,
                       .starts = 10,
                       .warmup = 5,
                       .tagent = BENCH_TAGENT};
    const struct bench_option options[] = {
        {.letter = 'n', .count = &o->rounds, .min = 1, .max = 1000000},
        {.letter = 'q', .count = &o->quotes, .min = 1, .max = 1000000},
        {.letter = 'r', .count = &o->tp_rounds, .min = 1, .max = 1000},
        {.letter = 'c', .parse = parse_conc, .data = o},
        {.letter = 's', .count = &o->starts, .min = 1, .max = 1000},
        {.letter = 'w', .count = &o->warmup, .min = 0, .max = 1000},
        {.letter = 'e', .parse = parse_env, .data = o},
        {.letter = 'M', .flag = &o->mappings},
        {.letter = 't', .string = &o->tagent},
        {0},
    };
    const struct bench_cli cli = {"bench_service", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* ---- the bench ---- */

enum lat_row {
    ROW_TPM,
    ROW_TAG,
    ROW_HANDLER,
    ROW_NATS_QUOTE,
    ROW_NATS_VERSION,
    ROW_ECHO_QUOTE,
    ROW_ECHO_VERSION,
    N_ROWS
};

static const char *const row_names[N_ROWS] = {
    [ROW_TPM] = "(a) tpm_quote() in process [baseline]",
    [ROW_TAG] = "(t) tpm_tag_read() in process",
    [ROW_HANDLER] = "(h) quote handler in process",
    [ROW_NATS_QUOTE] = "(b) quote-request over NATS",
    [ROW_NATS_VERSION] = "(v) version-request over NATS",
    [ROW_ECHO_QUOTE] = "(e) NATS echo, quote-sized reply",
    [ROW_ECHO_VERSION] = "(e) NATS echo, version-sized reply",
};

struct tp_result {
    double *rps, *cpu_ms; /* per run */
    size_t n;
    struct bench_samples lat;
};

struct bench {
    struct opts o;
    world_t *w;
    /* in-process side: the agent's handler on a TPM context of our own */
    struct bench_handler h;
    uint64_t nonce_counter;
    /* NATS side */
    char subject_quote[160], subject_version[160], subject_echo[2][64]; /* [0] quote-sized, [1] version */
    natsConnection *echo_nc;
    natsSubscription *echo_sub;
    _Atomic size_t echo_len[2]; /* what the echo responder replies: the agent's last reply sizes */
    natsConnection *req_nc[MAX_REQUESTERS];
    size_t quote_reply_len, version_reply_len, handler_reply_len;
    /* results */
    struct bench_samples lat[N_ROWS];
    uint64_t cpu_tpm, cpu_handler;    /* summed thread CPU of (a) and (h) */
    struct tp_result tp[2][MAX_CONC]; /* [0] quote, [1] version */
    struct mem idle, peak, idle_after;
    int idle_threads;
    unsigned peak_reads;
    pid_t agent_pid;
    struct bench_samples ready, connected, stop, version_proc, nats_connect;
};

static void nonce_next(struct bench *b, uint8_t nonce[32])
{
    uint64_t c = ++b->nonce_counter;
    memset(nonce, 0xa5, 32);
    memcpy(nonce, &c, sizeof(c));
}

/* ---- one sample of each latency row ---- */

static int time_tpm(struct bench *b, bool record)
{
    uint8_t nonce[32];
    struct tpm_quote q = {0};
    _cleanup_free_ char *error = NULL;
    nonce_next(b, nonce);
    struct tpm_quote_request req = {.nonce = nonce, .nonce_len = sizeof(nonce), .pcr_mask = PCR_MASK_ALL};
    uint64_t c0 = bench_thread_cpu_ns(), t0 = bench_mono_ns();
    int r = tpm_quote(b->h.ctx.tpm, &req, &q, &error);
    uint64_t t1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    if (r < 0)
        fprintf(stderr, "bench_service: tpm_quote: %s\n", error ? error : "out of memory");
    else if (q.attempts != 1) {
        fprintf(stderr, "bench_service: tpm_quote() needed %u attempts: PCRs changed?\n", q.attempts);
        r = -EPROTO;
    }
    tpm_quote_free(&q);
    if (r == 0 && record) {
        bench_samples_add(&b->lat[ROW_TPM], t1 - t0);
        b->cpu_tpm += c1 - c0;
    }
    return r;
}

/* The asset-tag read the first quote-request after a start or SIGHUP makes before the quote (NV index
 * 0x01c10110 through a salted session); later ones take the tag from the agent's cache. */
static int time_tag(struct bench *b, bool record)
{
    uint8_t tag[TPM_ASSET_TAG_SIZE];
    bool present = false;
    _cleanup_free_ char *error = NULL;
    uint64_t t0 = bench_mono_ns();
    int r = tpm_tag_read(b->h.ctx.tpm, &b->h.ctx.tag_auth, tag, &present, &error);
    uint64_t t1 = bench_mono_ns();
    if (r < 0)
        fprintf(stderr, "bench_service: tpm_tag_read: %s\n", error ? error : "out of memory");
    else if (record)
        bench_samples_add(&b->lat[ROW_TAG], t1 - t0);
    return r;
}

static int time_handler(struct bench *b, bool record)
{
    uint8_t nonce[32];
    char payload[512], *reply = NULL, *message = NULL;
    int code = 0;
    nonce_next(b, nonce);
    world_quote_payload(nonce, payload, sizeof(payload));
    uint64_t c0 = bench_thread_cpu_ns(), t0 = bench_mono_ns();
    int r = handler_quote.run(&b->h.ctx, payload, strlen(payload), &reply, &code, &message);
    uint64_t t1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    if (r < 0)
        fprintf(stderr, "bench_service: quote handler in process: %s\n", message ? message : strerror(-r));
    else
        b->handler_reply_len = strlen(reply);
    free(reply);
    free(message);
    if (r == 0 && record) {
        bench_samples_add(&b->lat[ROW_HANDLER], t1 - t0);
        b->cpu_handler += c1 - c0;
    }
    return r;
}

/* One request on nc; checks the reply (quote: ErrorCode 0; version: a JSON string) and returns its length. */
static int nats_request(natsConnection *nc, const char *subject, const char *payload, bool quote,
                        uint64_t *ret_ns, size_t *ret_len)
{
    natsMsg *reply = NULL;
    uint64_t t0 = bench_mono_ns();
    natsStatus s =
        natsConnection_Request(&reply, nc, subject, payload, (int)strlen(payload), REQUEST_TIMEOUT_MS);
    uint64_t t1 = bench_mono_ns();
    if (s != NATS_OK) {
        fprintf(stderr, "bench_service: %s: %s\n", subject, natsStatus_GetText(s));
        return -EIO;
    }
    const char *data = natsMsg_GetData(reply);
    int len = natsMsg_GetDataLength(reply);
    bool ok = quote ? len > 0 && strstr(data, "\"ErrorCode\":0,") != NULL : len > 0 && data[0] == '"';
    if (!ok)
        fprintf(stderr, "bench_service: %s: unexpected reply: %.200s\n", subject, data);
    natsMsg_Destroy(reply);
    *ret_ns = t1 - t0;
    if (ret_len)
        *ret_len = (size_t)len;
    return ok ? 0 : -EPROTO;
}

static int time_nats(struct bench *b, bool quote, bool record)
{
    uint8_t nonce[32];
    char payload[512];
    uint64_t ns;
    size_t len;
    if (quote) {
        nonce_next(b, nonce);
        world_quote_payload(nonce, payload, sizeof(payload));
    } else
        snprintf(payload, sizeof(payload), "null");
    int r = nats_request(b->w->hvs, quote ? b->subject_quote : b->subject_version, payload, quote, &ns, &len);
    if (r == 0) {
        *(quote ? &b->quote_reply_len : &b->version_reply_len) = len;
        if (record)
            bench_samples_add(&b->lat[quote ? ROW_NATS_QUOTE : ROW_NATS_VERSION], ns);
    }
    return r;
}

/* The echo responder: answers a request on subject_echo[k] with echo_len[k] bytes, the size of the agent's
 * reply to the same request (the agent answers on a worker thread of its own; this answers on cnats's
 * delivery thread, so the row is the NATS server's round trip and nothing of an agent). */
static void echo_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    static char buf[1 << 20];
    struct bench *b = closure;
    size_t k = strcmp(natsMsg_GetSubject(msg), b->subject_echo[0]) == 0 ? 0 : 1;
    size_t want = atomic_load(&b->echo_len[k]);
    if (want > sizeof(buf))
        want = sizeof(buf);
    if (!buf[0])
        memset(buf, 'x', sizeof(buf));
    if (natsMsg_GetReply(msg))
        natsConnection_Publish(nc, natsMsg_GetReply(msg), buf, (int)want);
    natsMsg_Destroy(msg);
}

/* The request (b) or (v) sends, to the echo: the same bytes in, as many bytes back as the agent replied. */
static int time_echo(struct bench *b, bool quote_sized, bool record)
{
    uint8_t nonce[32];
    char payload[512];
    size_t k = quote_sized ? 0 : 1;
    size_t want = quote_sized ? b->quote_reply_len : b->version_reply_len;
    if (quote_sized) {
        nonce_next(b, nonce);
        world_quote_payload(nonce, payload, sizeof(payload));
    } else
        snprintf(payload, sizeof(payload), "null");
    atomic_store(&b->echo_len[k], want);
    natsMsg *reply = NULL;
    uint64_t t0 = bench_mono_ns();
    natsStatus s = natsConnection_Request(&reply, b->w->hvs, b->subject_echo[k], payload,
                                          (int)strlen(payload), REQUEST_TIMEOUT_MS);
    uint64_t t1 = bench_mono_ns();
    bool ok = s == NATS_OK && (size_t)natsMsg_GetDataLength(reply) == want;
    natsMsg_Destroy(reply);
    if (!ok) {
        fprintf(stderr, "bench_service: echo request: %s\n",
                s == NATS_OK ? "the reply has not the agent's reply size" : natsStatus_GetText(s));
        return -EIO;
    }
    if (record)
        bench_samples_add(&b->lat[quote_sized ? ROW_ECHO_QUOTE : ROW_ECHO_VERSION], t1 - t0);
    return 0;
}

static int time_row(struct bench *b, enum lat_row row, bool record)
{
    switch (row) {
    case ROW_TPM: return time_tpm(b, record);
    case ROW_TAG: return time_tag(b, record);
    case ROW_HANDLER: return time_handler(b, record);
    case ROW_NATS_QUOTE: return time_nats(b, true, record);
    case ROW_NATS_VERSION: return time_nats(b, false, record);
    case ROW_ECHO_QUOTE: return time_echo(b, true, record);
    case ROW_ECHO_VERSION: return time_echo(b, false, record);
    default: return -EINVAL;
    }
}

/* One sample of every row; the starting row moves by one each round so no row always follows the same one. */
static int latency_round(struct bench *b, unsigned round, bool record)
{
    int r = 0;
    for (unsigned k = 0; r == 0 && k < N_ROWS; k++)
        r = time_row(b, (enum lat_row)((k + round) % N_ROWS), record);
    return r;
}

/* ---- throughput ---- */

struct requester {
    natsConnection *nc;
    const char *subject;
    bool quote;
    size_t count;
    uint64_t *lat; /* count samples */
    pthread_barrier_t *go;
    int r;
};

static void *requester_main(void *arg)
{
    struct requester *q = arg;
    char payload[512];
    uint8_t nonce[32];
    pthread_barrier_wait(q->go);
    for (size_t i = 0; i < q->count && q->r == 0; i++) {
        if (q->quote) {
            memset(nonce, 0x3c, sizeof(nonce));
            uintptr_t who = (uintptr_t)q;
            memcpy(nonce, &who, sizeof(who));           /* distinct per requester, */
            memcpy(nonce + sizeof(who), &i, sizeof(i)); /* and per request */
            world_quote_payload(nonce, payload, sizeof(payload));
        } else
            snprintf(payload, sizeof(payload), "null");
        q->r = nats_request(q->nc, q->subject, payload, q->quote, &q->lat[i], NULL);
    }
    return NULL;
}

/* total requests spread over n requesters; returns requests/s and the agent's CPU per request. */
static int throughput_run(struct bench *b, bool quote, unsigned n, size_t total, struct tp_result *res)
{
    struct requester q[MAX_REQUESTERS];
    pthread_t th[MAX_REQUESTERS];
    pthread_barrier_t go;
    uint64_t *lat = calloc(total, sizeof(*lat));
    if (!lat)
        return -ENOMEM;
    pthread_barrier_init(&go, NULL, n + 1);
    size_t off = 0;
    unsigned started = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t count = total / n + (i < total % n);
        q[i] = (struct requester){.nc = b->req_nc[i],
                                  .subject = quote ? b->subject_quote : b->subject_version,
                                  .quote = quote,
                                  .count = count,
                                  .lat = lat + off,
                                  .go = &go};
        off += count;
        if (pthread_create(&th[i], NULL, requester_main, &q[i]) != 0)
            break;
        started++;
    }
    int r = started == n ? 0 : -EAGAIN;
    if (r < 0) {
        /* the barrier can never open: nothing was timed; leave without joining (the bench exits) */
        free(lat);
        fprintf(stderr, "bench_service: cannot start %u requester threads\n", n);
        return r;
    }
    uint64_t cpu0 = proc_cpu_ns(b->agent_pid);
    pthread_barrier_wait(&go);
    uint64_t t0 = bench_mono_ns();
    for (unsigned i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (q[i].r < 0)
            r = q[i].r;
    }
    uint64_t t1 = bench_mono_ns();
    uint64_t cpu1 = proc_cpu_ns(b->agent_pid);
    pthread_barrier_destroy(&go);
    if (r == 0) {
        res->rps[res->n] = (double)total / ((double)(t1 - t0) / 1e9);
        res->cpu_ms[res->n] = (double)(cpu1 - cpu0) / 1e6 / (double)total;
        res->n++;
        for (size_t i = 0; i < total; i++)
            bench_samples_add(&res->lat, lat[i]);
    }
    free(lat);
    return r;
}

static int throughput_phase(struct bench *b)
{
    const struct opts *o = &b->o;
    int r = 0;
    for (size_t k = 0; r == 0 && k < 2; k++)
        for (size_t i = 0; r == 0 && i < o->n_conc; i++) {
            struct tp_result *t = &b->tp[k][i];
            size_t per_run = k == 0 ? o->quotes : 5u * o->quotes;
            t->rps = calloc(o->tp_rounds, sizeof(double));
            t->cpu_ms = calloc(o->tp_rounds, sizeof(double));
            r = t->rps && t->cpu_ms ? bench_samples_init(&t->lat, per_run * o->tp_rounds) : -ENOMEM;
        }
    struct mem_sampler *ms = NULL;
    if (r == 0)
        r = mem_sampler_start(b->agent_pid, 10, &ms);
    /* rounds of every (kind, N), the order of N rotating, so drift hits every N alike */
    for (unsigned round = 0; r == 0 && round < o->tp_rounds; round++)
        for (size_t j = 0; r == 0 && j < o->n_conc; j++) {
            size_t i = (j + round) % o->n_conc;
            r = throughput_run(b, true, o->conc[i], o->quotes, &b->tp[0][i]);
            if (r == 0)
                r = throughput_run(b, false, o->conc[i], 5u * o->quotes, &b->tp[1][i]);
        }
    if (ms)
        mem_sampler_stop(ms, &b->peak, &b->peak_reads);
    return r;
}

/* ---- setup ---- */

/* The echo responder needs a user that may answer requests HVS's user sends: HVS publishes only to
 * trust-agent.>, and an agent user subscribes to its own trust-agent.<host-id>.> and may publish replies
 * only. So it gets agent .creds of its own from the mock's AAS, for another host id (curl: the bench has no
 * HTTPS client of its own, and this is setup, not timed). */
static int echo_creds(struct bench *b, char *ret_path, size_t size)
{
    char url[128], log[600], *auth = NULL;
    snprintf(ret_path, size, "%s/echo.creds", b->w->dir);
    snprintf(log, sizeof(log), "%s/echo-creds.log", b->w->dir);
    /* sized by the token: the mock's bearer is a signed JWT of several hundred bytes */
    if (asprintf(&auth, "Authorization: Bearer %s", b->w->mock->bearer) < 0)
        return -ENOMEM;
    snprintf(url, sizeof(url), "%s/credentials", b->w->mock->aas_url);
    static const char body[] = "{\"type\":\"TA\",\"parameters\":{\"host-id\":\"" ECHO_HOST "\"}}";
    const char *argv[] = {"curl",     "-sSf",
                          "--cacert", b->w->mock->ca_file,
                          "-H",       auth,
                          "-H",       "Content-Type: application/json",
                          "-H",       "Accept: text/plain",
                          "-d",       body,
                          "-o",       ret_path,
                          url,        NULL};
    int r = harness_run(argv, log, 15000);
    if (r < 0) {
        harness_log_tail(log, 10);
        fprintf(stderr, "bench_service: no .creds for the echo responder from %s\n", url);
    }
    free(auth);
    return r;
}

static int echo_setup(struct bench *b)
{
    char creds[700];
    natsOptions *opts = NULL;
    char wildcard[64];
    snprintf(b->subject_echo[0], sizeof(b->subject_echo[0]), "trust-agent.%s.quote-echo", ECHO_HOST);
    snprintf(b->subject_echo[1], sizeof(b->subject_echo[1]), "trust-agent.%s.version-echo", ECHO_HOST);
    snprintf(wildcard, sizeof(wildcard), "trust-agent.%s.>", ECHO_HOST);
    int r = echo_creds(b, creds, sizeof(creds));
    if (r == 0)
        r = natsd_client_options(b->w->nats[0], creds, &opts);
    /* replies written at once, as the agent's are (transport/nats.c): the echo must not carry cnats'
     * flusher delay (about 1 ms) that the agent does not have */
    if (r == 0 && natsOptions_SetSendAsap(opts, true) != NATS_OK)
        r = -ENOMEM;
    natsStatus s = r == 0 ? natsd_connect(opts, &b->echo_nc) : NATS_ERR;
    natsOptions_Destroy(opts);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&b->echo_sub, b->echo_nc, wildcard, echo_on_msg, b);
    if (s == NATS_OK)
        s = natsConnection_Flush(b->echo_nc);
    if (r == 0 && s != NATS_OK) {
        fprintf(stderr, "bench_service: echo responder: %s (%s)\n", natsStatus_GetText(s),
                nats_GetLastError(NULL));
        r = -EIO;
    }
    return r;
}

static int nats_setup(struct bench *b)
{
    world_subject(b->w, "quote-request", b->subject_quote, sizeof(b->subject_quote));
    world_subject(b->w, "version-request", b->subject_version, sizeof(b->subject_version));
    int r = echo_setup(b);
    unsigned max_n = 0;
    for (size_t i = 0; i < b->o.n_conc; i++)
        max_n = b->o.conc[i] > max_n ? b->o.conc[i] : max_n;
    for (unsigned i = 0; r == 0 && i < max_n; i++)
        r = world_hvs_connect(b->w, -1, &b->req_nc[i]);
    return r;
}

static int idle_measure(struct bench *b, struct mem *ret)
{
    sleep(1);
    int r = mem_read(b->agent_pid, ret);
    if (r < 0)
        fprintf(stderr, "bench_service: smaps_rollup of %d: %s\n", (int)b->agent_pid, strerror(-r));
    return r;
}

/* ---- start to READY=1 ---- */

/* The NATS connection the agent makes before READY=1 (TLS + .creds), made here with a warm library. */
static int time_nats_connect(struct bench *b, uint64_t *ret_ns)
{
    char creds[700];
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    snprintf(creds, sizeof(creds), "%s%s", b->w->root, AGENT_CREDS);
    if (natsd_client_options(b->w->nats[0], creds, &opts) < 0)
        return -EIO;
    uint64_t t0 = bench_mono_ns();
    natsStatus s = natsd_connect(opts, &nc);
    uint64_t t1 = bench_mono_ns();
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        fprintf(stderr, "bench_service: agent-creds connect: %s\n", natsStatus_GetText(s));
        return -EIO;
    }
    *ret_ns = t1 - t0;
    return 0;
}

static int start_phase(struct bench *b)
{
    const struct opts *o = &b->o;
    struct notify *n = NULL;
    char log[600], vlog[600];
    snprintf(log, sizeof(log), "%s/startService.log", b->w->dir);
    snprintf(vlog, sizeof(vlog), "%s/version.log", b->w->dir);
    const char *version_argv[] = {b->w->tagent_bin, "version", NULL};
    int r = notify_open(b->w->dir, &n);
    if (r < 0) {
        fprintf(stderr, "bench_service: NOTIFY_SOCKET: %s\n", strerror(-r));
        return r;
    }
    r = bench_samples_init(&b->ready, o->starts);
    if (r == 0)
        r = bench_samples_init(&b->connected, o->starts);
    if (r == 0)
        r = bench_samples_init(&b->stop, o->starts);
    if (r == 0)
        r = bench_samples_init(&b->version_proc, o->starts);
    if (r == 0)
        r = bench_samples_init(&b->nats_connect, o->starts);
    /* one untimed start first (page cache, swtpm's first connection), then rounds of the three in turn */
    for (unsigned i = 0; r == 0 && i <= o->starts; i++) {
        bool record = i > 0;
        for (unsigned k = 0; r == 0 && k < 3; k++) {
            uint64_t ns = 0;
            struct start_times t;
            switch ((k + i) % 3) {
            case 0:
                r = start_time_one(n, b->w->tagent_bin, b->w->root, b->w->tpm->tcti, o->env, log,
                                   START_TIMEOUT_MS, &t);
                if (r == 0 && record) {
                    bench_samples_add(&b->ready, t.ready_ns);
                    if (t.connected_ns)
                        bench_samples_add(&b->connected, t.connected_ns);
                    bench_samples_add(&b->stop, t.stop_ns);
                }
                break;
            case 1:
                r = process_time_one(version_argv, vlog, START_TIMEOUT_MS, &ns);
                if (r == 0 && record)
                    bench_samples_add(&b->version_proc, ns);
                break;
            default:
                r = time_nats_connect(b, &ns);
                if (r == 0 && record)
                    bench_samples_add(&b->nats_connect, ns);
            }
        }
    }
    notify_close(n);
    return r;
}

/* ---- the run ---- */

static int bench_run(struct bench *b)
{
    const struct opts *o = &b->o;
    int r = bench_handler_open(&b->h, b->w->root, b->w->tpm->tcti, "bench_service");
    for (size_t i = 0; r == 0 && i < N_ROWS; i++)
        r = bench_samples_init(&b->lat[i], o->rounds);
    if (r == 0)
        r = world_agent_start(b->w, o->env, START_TIMEOUT_MS);
    if (r == 0) {
        b->agent_pid = b->w->agent;
        r = nats_setup(b);
    }
    /* The agent's TPM context connects (and flushes leftover sessions, see quote/tpm_context.c) on its first
     * use: let that happen before any quote of ours is in flight. */
    if (r == 0)
        r = time_nats(b, true, false);
    /* warm-up (also learns the reply sizes the echo rows copy), then the agent idles before the first read */
    for (unsigned i = 0; r == 0 && i < o->warmup + 1; i++)
        r = latency_round(b, i, false);
    if (r == 0)
        r = idle_measure(b, &b->idle);
    if (r == 0) {
        b->idle_threads = proc_threads(b->agent_pid);
        printf(
            "agent pid %d idle after start and %u warm-up rounds: Rss %ld kB, Pss %ld kB, Private_Dirty %ld "
            "kB, %d threads\n",
            (int)b->agent_pid, o->warmup + 1, b->idle.rss, b->idle.pss, b->idle.private_dirty,
            b->idle_threads);
        mem_breakdown_print(b->agent_pid, 10);
        if (o->mappings) {
            printf("-M: the idle agent's %d mapping groups with the most Rss (kB; Pss counts shared pages "
                   "by their share)\n",
                   TOP_MAPPINGS);
            mem_top_print(b->agent_pid, TOP_MAPPINGS);
        }
        printf("\nlatency rounds ...\n");
    }
    for (unsigned i = 0; r == 0 && i < o->rounds; i++)
        r = latency_round(b, i, true);
    if (r == 0) {
        printf("throughput runs ...\n");
        r = throughput_phase(b);
    }
    if (r == 0)
        r = idle_measure(b, &b->idle_after);
    if (r == 0) {
        printf("agent idle 1 s after the throughput runs:\n");
        mem_breakdown_print(b->agent_pid, 10);
    }
    if (b->w->agent) {
        int s = world_agent_stop(b->w);
        r = r ? r : s;
    }
    if (r == 0) {
        printf("start-to-READY runs ...\n\n");
        r = start_phase(b);
    }
    return r;
}

/* ---- report ---- */

static struct stats print_lat(const char *label, struct bench_samples *s, const char *note)
{
    struct stats st = samples_stats(s);
    printf("%-40s %5zu %9.3f %9.3f %9.3f  %s\n", label, st.n, st.median, st.p10, st.p90, note);
    return st;
}

static const char *verdict(bool met)
{
    return met ? "MET" : "NOT MET";
}

/* The latency targets' figures (ms, of medians). */
struct lat_figures {
    double overhead;  /* (b) - (a) */
    double own_share; /* (b) - (e quote-sized) - (a) */
    double echo;      /* (e quote-sized) */
};

/* The median over rounds of (b)-(e)-(a) of the same round (ms): the rows of a round run back to back, so a
 * shared machine's drift cancels in each difference. Taken before anything sorts the samples; -1 if a row
 * lost a sample. */
static double own_share_paired(const struct bench *b)
{
    const struct bench_samples *q = &b->lat[ROW_NATS_QUOTE], *e = &b->lat[ROW_ECHO_QUOTE],
                               *a = &b->lat[ROW_TPM];
    if (q->n == 0 || q->n != e->n || q->n != a->n)
        return -1;
    double *d = calloc(q->n, sizeof(*d));
    if (!d)
        return -1;
    for (size_t i = 0; i < q->n; i++)
        d[i] = ((double)q->v[i] - (double)e->v[i] - (double)a->v[i]) / 1e6;
    double m = bench_median_double(d, q->n);
    free(d);
    return m;
}

static void report_latency(struct bench *b, struct lat_figures *ret)
{
    double paired = own_share_paired(b);
    struct stats st[N_ROWS];
    char note[N_ROWS][96];
    for (size_t i = 0; i < N_ROWS; i++)
        note[i][0] = '\0';
    snprintf(note[ROW_TPM], sizeof(note[0]), "cpu %.3f ms (this thread)",
             b->lat[ROW_TPM].n ? (double)b->cpu_tpm / 1e6 / (double)b->lat[ROW_TPM].n : 0);
    snprintf(note[ROW_HANDLER], sizeof(note[0]), "cpu %.3f ms; reply %zu B",
             b->lat[ROW_HANDLER].n ? (double)b->cpu_handler / 1e6 / (double)b->lat[ROW_HANDLER].n : 0,
             b->handler_reply_len);
    snprintf(note[ROW_NATS_QUOTE], sizeof(note[0]), "reply %zu B", b->quote_reply_len);
    snprintf(note[ROW_NATS_VERSION], sizeof(note[0]), "reply %zu B", b->version_reply_len);
    snprintf(note[ROW_ECHO_QUOTE], sizeof(note[0]), "no agent: NATS server + TLS, %zu B", b->quote_reply_len);
    snprintf(note[ROW_ECHO_VERSION], sizeof(note[0]), "no agent, %zu B", b->version_reply_len);

    printf("(1) latency: %u interleaved rounds, one requester (ms)\n", b->o.rounds);
    printf("%-40s %5s %9s %9s %9s\n", "row", "n", "median", "p10", "p90");
    for (size_t i = 0; i < N_ROWS; i++)
        st[i] = print_lat(row_names[i], &b->lat[i], note[i]);
    double a = st[ROW_TPM].median, t = st[ROW_TAG].median, h = st[ROW_HANDLER].median,
           q = st[ROW_NATS_QUOTE].median;
    double e = st[ROW_ECHO_QUOTE].median;
    *ret = (struct lat_figures){.overhead = q - a, .own_share = q - e - a, .echo = e};
    printf("  agent overhead  (b)-(a) %7.3f ms   ratio (b)/(a) %.3f\n", q - a, q / a);
    printf("  agent's own share (b)-(e)-(a) %.3f ms: the round trip (b) minus the NATS server's echo of the "
           "same\n"
           "    request and reply sizes (e) %.3f ms, minus the TPM work the agent waits for, the quote (a);\n"
           "    (b)-(e) alone %.3f ms. The asset tag is cached (service_tag.c): (t) is what the first quote "
           "after\n"
           "    a start or SIGHUP adds. Paired per round, the median of (b)-(e)-(a): %.3f ms\n",
           q - e - a, e, q - e, paired);
    printf(
        "    handler work  (h)-(a) %7.3f ms   the JSON, AIK file, base64, TCB dir, the cached tag (medians:\n"
        "                                     noise may make it < 0); an uncached tag read (t) %.3f ms\n",
        h - a, t);
    printf("    NATS+dispatch (b)-(h) %7.3f ms   echo of the same size %.3f ms; version-request %.3f ms\n",
           q - h, st[ROW_ECHO_QUOTE].median, st[ROW_NATS_VERSION].median);
    printf("    agent dispatch alone: (v)-(e version-sized) %.3f ms, (b)-(h)-(e quote-sized) %.3f ms\n\n",
           st[ROW_NATS_VERSION].median - st[ROW_ECHO_VERSION].median, q - h - st[ROW_ECHO_QUOTE].median);
}

static void report_throughput(struct bench *b)
{
    printf("(2) throughput: %u runs per row, requests spread over N requesters with a NATS connection each\n",
           b->o.tp_rounds);
    printf("%-20s %4s %7s %9s %9s %9s %9s %12s\n", "request", "N", "per run", "req/s", "lat p50", "lat p90",
           "agent cpu", "vs N=first");
    printf("%-20s %4s %7s %9s %9s %9s %9s %12s\n", "", "", "", "median", "ms", "ms", "ms/req", "req/s ratio");
    for (size_t k = 0; k < 2; k++) {
        double first = 0;
        for (size_t i = 0; i < b->o.n_conc; i++) {
            struct tp_result *t = &b->tp[k][i];
            double rps = bench_median_double(t->rps, t->n), cpu = bench_median_double(t->cpu_ms, t->n);
            struct stats st = samples_stats(&t->lat);
            if (i == 0)
                first = rps;
            printf("%-20s %4u %7u %9.1f %9.3f %9.3f %9.3f %12.2f\n",
                   k == 0 ? "quote-request" : "version-request", b->o.conc[i],
                   k == 0 ? b->o.quotes : 5 * b->o.quotes, rps, st.median, st.p90, cpu,
                   first > 0 ? rps / first : 0);
        }
    }
    printf("\n");
}

static void report_memory(struct bench *b, bool *ret_rss, bool *ret_pss)
{
    printf("(3) memory of the agent process, /proc/<pid>/smaps_rollup (kB)\n");
    printf("%-36s %9s %9s %13s %13s %9s\n", "state", "Rss", "Pss", "Private_Dirty", "Shared_Clean", "Anon");
    const struct {
        const char *label;
        const struct mem *m;
    } rows[] = {{"idle (after start + warm-up, 1 s)", &b->idle},
                {"peak under load (field-wise max)", &b->peak},
                {"idle 1 s after the load", &b->idle_after}};
    for (size_t i = 0; i < 3; i++)
        printf("%-36s %9ld %9ld %13ld %13ld %9ld\n", rows[i].label, rows[i].m->rss, rows[i].m->pss,
               rows[i].m->private_dirty, rows[i].m->shared_clean, rows[i].m->anonymous);
    printf("  %d threads idle; %u smaps_rollup reads during the load\n", b->idle_threads, b->peak_reads);
    *ret_rss = b->idle.rss < TARGET_IDLE_RSS_KB;
    *ret_pss = b->idle.pss < TARGET_IDLE_PSS_KB;
    printf("  idle Rss %.2f MiB (target < %d MiB): %s;  idle Pss %.2f MiB (target < %d MiB): %s;  idle "
           "Private_Dirty %.2f MiB\n\n",
           (double)b->idle.rss / 1024, TARGET_IDLE_RSS_KB / 1024, verdict(*ret_rss),
           (double)b->idle.pss / 1024, TARGET_IDLE_PSS_KB / 1024, verdict(*ret_pss),
           (double)b->idle.private_dirty / 1024);
}

static double report_start(struct bench *b)
{
    printf("(4) start: %u starts of `tagent startService`, each followed by SIGTERM and its exit (ms)\n",
           b->o.starts);
    printf("%-40s %5s %9s %9s %9s\n", "row", "n", "median", "p10", "p90");
    struct stats ready = print_lat("fork .. READY=1", &b->ready, "");
    print_lat("fork .. STATUS=connected", &b->connected, "NATS up (just before READY=1)");
    print_lat("SIGTERM .. exit", &b->stop, "");
    print_lat("`tagent version` fork .. exit", &b->version_proc, "process start-up alone");
    print_lat("cnats TLS + .creds connect", &b->nats_connect, "in this process, warm library");
    printf("\n");
    return ready.median;
}

static void bench_report(struct bench *b)
{
    struct lat_figures lat;
    double ready;
    bool rss_met, pss_met;
    printf("\nbench_service: %s, swtpm %s, nats %s (operator mode, TLS); %ld CPUs\n", b->w->tagent_bin,
           b->w->tpm->tcti, b->w->nats[0]->url, sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t i = 0; i < b->o.n_env; i++)
        printf("agent environment: %s\n", b->o.env[i]);
    printf("\n");
    report_latency(b, &lat);
    report_throughput(b);
    report_memory(b, &rss_met, &pss_met);
    ready = report_start(b);
    printf("targets (issue 19)\n");
    printf(
        "  agent's own share of a quote over NATS, median(b)-median(e)-median(a) %.3f ms (<= %.2f ms): %s\n",
        lat.own_share, TARGET_OWN_SHARE_MS, verdict(lat.own_share <= TARGET_OWN_SHARE_MS));
    printf("  idle Rss %ld kB (< %d kB): %s\n", b->idle.rss, TARGET_IDLE_RSS_KB, verdict(rss_met));
    printf("  idle Pss %ld kB (< %d kB): %s\n", b->idle.pss, TARGET_IDLE_PSS_KB, verdict(pss_met));
    printf("for information (issue 6)\n");
    printf("  agent overhead median(b)-median(a) %.3f ms (< %.0f ms): %s\n", lat.overhead, TARGET_OVERHEAD_MS,
           verdict(lat.overhead < TARGET_OVERHEAD_MS));
    printf("  start to READY=1 median %.3f ms (< %.0f ms): %s\n", ready, TARGET_READY_MS,
           verdict(ready < TARGET_READY_MS));
    printf("  idle Private_Dirty %ld kB\n", b->idle.private_dirty);
}

static void bench_free(struct bench *b)
{
    for (size_t i = 0; i < MAX_REQUESTERS; i++)
        if (b->req_nc[i])
            natsConnection_Destroy(b->req_nc[i]);
    if (b->echo_sub)
        natsSubscription_Destroy(b->echo_sub);
    if (b->echo_nc)
        natsConnection_Destroy(b->echo_nc);
    for (size_t i = 0; i < N_ROWS; i++)
        bench_samples_free(&b->lat[i]);
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < MAX_CONC; i++) {
            free(b->tp[k][i].rps);
            free(b->tp[k][i].cpu_ms);
            bench_samples_free(&b->tp[k][i].lat);
        }
    bench_samples_free(&b->ready);
    bench_samples_free(&b->connected);
    bench_samples_free(&b->stop);
    bench_samples_free(&b->version_proc);
    bench_samples_free(&b->nats_connect);
    bench_handler_close(&b->h);
    world_free(b->w);
}

int main(int argc, char **argv)
{
    static struct bench b; /* large: keep it off the stack */
    int r = opts_parse(argc, argv, &b.o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    /* Line-buffered: progress, the table and diagnostics on stderr stay in order in one file. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A freshly linked tagent's page-cache pages are dirty until written back, and smaps counts them as
     * Private_Dirty of the agent: write them back first. */
    sync();
    struct world_opts wo = {.tagent_bin = b.o.tagent, .corpora = BENCH_CORPORA, .host_id = "bench-service"};
    r = world_start(&wo, &b.w);
    if (r == 0)
        r = bench_run(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_service: failed (%s)\n", strerror(-r));
    bench_free(&b);
    harness_nats_close();
    return r == 0 ? 0 : 1;
}
