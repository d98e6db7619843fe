/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_https_quote: what HTTP mode adds to a quote, on one provisioned world in HTTP mode (swtpm, mock
 * control plane, `tagent setup all` with TA_SERVICE_MODE=http; tests/harness/world.h), interleaved in rounds
 * (one sample of each row per round, the order rotating between rounds):
 *   (a) the quote handler's HTTP form in this process [baseline]: handler_quote.run_http on a context of our
 *       own (request JSON, AIK, asset-tag NV read, tpm_quote(), the indented XML): everything but transport;
 *   (b) POST /v2/tpm/quote over HTTPS through the running agent: one libcurl handle, so one keep-alive
 *       TLS 1.3 connection (and session) for every sample, with a bearer token the mock AAS minted;
 *   (v) GET /v2/version over HTTPS on the same connection: TLS + routing + libmicrohttpd with no TPM and no
 *       token check (a floor for the transport's share of (b));
 *   (t) token_auth_check() of (b)'s token in this process (agent/auth: ES384 signature, claims, permission),
 *       the other part of (b) that (a) does not do.
 * The swtpm serves one TCP connection at a time; (a) here and (b) in the agent take turns on it, never
 * overlapping (the rounds are sequential). Reported: median, p10, p90 per row, median(b) - median(a) and
 * median(b) / median(a) (target: overhead < 1 ms, as for NATS in bench_service).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_handler.h"
#include "bench_util.h"
#include "cleanup.h"
#include "token_auth.h"
#include "world.h"

#define TARGET_OVERHEAD_MS 1.0
#define TA_CLAIMS          "{\"permissions\":[{\"service\":\"TA\",\"rules\":[\"*:*\"]}]}"

enum row { ROW_HANDLER, ROW_HTTPS_QUOTE, ROW_HTTPS_VERSION, ROW_TOKEN, N_ROWS };

static const char *const row_names[N_ROWS] = {
    [ROW_HANDLER] = "(a) quote handler (HTTP form) in process [baseline]",
    [ROW_HTTPS_QUOTE] = "(b) POST /v2/tpm/quote over HTTPS",
    [ROW_HTTPS_VERSION] = "(v) GET /v2/version over HTTPS",
    [ROW_TOKEN] = "(t) token_auth_check() in process",
};

struct bench {
    unsigned rounds, warmup;
    world_t *w;
    struct bench_handler h;
    uint64_t nonce_counter;
    CURL *curl;
    struct curl_slist *quote_headers;
    struct token_auth *auth;
    char *authorization; /* the header's value: "Bearer <JWT>" */
    char url_quote[96], url_version[96];
    char *body; /* the last reply (libcurl's default writer into a memory stream) */
    size_t len;
    size_t reply_len[N_ROWS];
    struct bench_samples lat[N_ROWS];
};

static void nonce_next(struct bench *b, uint8_t nonce[32])
{
    uint64_t c = ++b->nonce_counter;
    memset(nonce, 0x5a, 32);
    memcpy(nonce, &c, sizeof(c));
}

static int time_handler(struct bench *b, bool record)
{
    uint8_t nonce[32];
    char payload[512], *message = NULL;
    struct service_http_body out = {0};
    int code = 0;
    nonce_next(b, nonce);
    world_quote_payload(nonce, payload, sizeof(payload));
    uint64_t t0 = bench_mono_ns();
    int r = handler_quote.run_http(&b->h.ctx, payload, strlen(payload), &out, &code, &message);
    uint64_t t1 = bench_mono_ns();
    if (r < 0)
        fprintf(stderr, "bench_https_quote: quote handler in process: %s\n",
                message ? message : strerror(-r));
    else
        b->reply_len[ROW_HANDLER] = out.len;
    free(out.data);
    free(message);
    if (r == 0 && record)
        bench_samples_add(&b->lat[ROW_HANDLER], t1 - t0);
    return r;
}

/* One request on the bench's connection; 200 with a body that starts with expect, else -EIO. */
static int time_https(struct bench *b, enum row row, bool record)
{
    uint8_t nonce[32];
    char payload[512];
    bool quote = row == ROW_HTTPS_QUOTE;
    curl_easy_setopt(b->curl, CURLOPT_URL, quote ? b->url_quote : b->url_version);
    curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, quote ? b->quote_headers : NULL);
    if (quote) {
        nonce_next(b, nonce);
        world_quote_payload(nonce, payload, sizeof(payload));
        curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, payload);
    } else
        curl_easy_setopt(b->curl, CURLOPT_HTTPGET, 1L);
    free(b->body);
    b->body = NULL;
    FILE *f = open_memstream(&b->body, &b->len);
    if (!f)
        return -ENOMEM;
    curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, f);
    long status = 0;
    uint64_t t0 = bench_mono_ns();
    CURLcode rc = curl_easy_perform(b->curl);
    uint64_t t1 = bench_mono_ns();
    fclose(f);
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
    const char *expect = quote ? "  <tpm_quote_response>" : "";
    if (rc != CURLE_OK || status != 200 || !b->body || strncmp(b->body, expect, strlen(expect)) != 0) {
        fprintf(stderr, "bench_https_quote: %s: %s, status %ld: %.300s\n", row_names[row],
                curl_easy_strerror(rc), status, b->body ? b->body : "");
        return -EIO;
    }
    b->reply_len[row] = b->len;
    if (record)
        bench_samples_add(&b->lat[row], t1 - t0);
    return 0;
}

static int time_token(struct bench *b, bool record)
{
    char *reason = NULL;
    uint64_t t0 = bench_mono_ns();
    int status = token_auth_check(b->auth, b->authorization, "quote:create", &reason);
    uint64_t t1 = bench_mono_ns();
    if (status != 0)
        fprintf(stderr, "bench_https_quote: token_auth_check: %d: %s\n", status, reason ? reason : "?");
    free(reason);
    if (status == 0 && record)
        bench_samples_add(&b->lat[ROW_TOKEN], t1 - t0);
    return status == 0 ? 0 : -EACCES;
}

static int time_row(struct bench *b, enum row row, bool record)
{
    if (row == ROW_TOKEN)
        return time_token(b, record);
    return row == ROW_HANDLER ? time_handler(b, record) : time_https(b, row, record);
}

static int round_run(struct bench *b, unsigned round, bool record)
{
    for (unsigned i = 0; i < N_ROWS; i++) {
        int r = time_row(b, (enum row)((i + round) % N_ROWS), record);
        if (r < 0)
            return r;
    }
    return 0;
}

static int client_setup(struct bench *b)
{
    char path[700], *token = NULL, *header = NULL;
    size_t len = 0;
    int r = world_token_file(b->w, "bench.jwt", TA_CLAIMS, 3600, path, sizeof(path));
    if (r == 0)
        r = config_read_file(path, 1u << 16, &token, &len);
    if (r < 0 || asprintf(&header, "Authorization: Bearer %s", token) < 0) {
        fprintf(stderr, "bench_https_quote: no token from the mock AAS (%s)\n",
                strerror(r < 0 ? -r : ENOMEM));
        free(token);
        return r < 0 ? r : -ENOMEM;
    }
    b->quote_headers = curl_slist_append(NULL, header);
    b->quote_headers = curl_slist_append(b->quote_headers, "Content-Type: application/json");
    b->authorization = strdup(header + strlen("Authorization: "));
    free(header);
    free(token);
    char *error = NULL;
    if ((r = token_auth_new(b->w->root, &b->h.cfg, &b->auth, &error)) < 0) {
        fprintf(stderr, "bench_https_quote: token_auth_new: %s\n", error ? error : strerror(-r));
        free(error);
        return r;
    }
    snprintf(b->url_quote, sizeof(b->url_quote), "%s/v2/tpm/quote", b->w->url);
    snprintf(b->url_version, sizeof(b->url_version), "%s/v2/version", b->w->url);
    if (!(b->curl = curl_easy_init()) || !b->quote_headers)
        return -ENOMEM;
    curl_easy_setopt(b->curl, CURLOPT_CAINFO, b->w->ca);
    curl_easy_setopt(b->curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(b->curl, CURLOPT_TIMEOUT_MS, 10000L);
    return 0;
}

static int bench_run(struct bench *b)
{
    if (!b->w)
        return -EINVAL;
    int r = bench_handler_open(&b->h, b->w->root, b->w->tpm->tcti, "bench_https_quote");
    if (r == 0)
        r = client_setup(b);
    for (size_t i = 0; r == 0 && i < N_ROWS; i++)
        r = bench_samples_init(&b->lat[i], b->rounds);
    for (unsigned i = 0; r == 0 && i < b->warmup; i++)
        r = round_run(b, i, false);
    long connects = 0;
    for (unsigned i = 0; r == 0 && i < b->rounds; i++) {
        r = round_run(b, i, true);
        if (r == 0 && (i + 1) % 50 == 0)
            fprintf(stderr, "bench_https_quote: %u/%u rounds\n", i + 1, b->rounds);
    }
    curl_easy_getinfo(b->curl, CURLINFO_NUM_CONNECTS, &connects);
    if (r == 0 && connects != 0)
        fprintf(stderr, "bench_https_quote: note: the last request opened %ld new connection(s)\n", connects);
    return r;
}

static double print_row(struct bench *b, enum row row)
{
    struct bench_samples *s = &b->lat[row];
    bench_samples_sort(s);
    double median = bench_samples_quantile(s, 0.5) / 1e6;
    printf("%-54s %9.3f %9.3f %9.3f %8zu\n", row_names[row], median, bench_samples_quantile(s, 0.1) / 1e6,
           bench_samples_quantile(s, 0.9) / 1e6, b->reply_len[row]);
    return median;
}

static void bench_report(struct bench *b)
{
    printf("\nbench_https_quote: %u rounds, one keep-alive TLS 1.3 connection (ms)\n", b->rounds);
    printf("%-54s %9s %9s %9s %8s\n", "row", "median", "p10", "p90", "bytes");
    double a = print_row(b, ROW_HANDLER), q = print_row(b, ROW_HTTPS_QUOTE);
    print_row(b, ROW_HTTPS_VERSION);
    print_row(b, ROW_TOKEN);
    printf(
        "\nHTTPS overhead: median(b) - median(a) = %.3f ms (target < %.1f ms: %s); median(b) / median(a) = "
        "%.3f\n",
        q - a, TARGET_OVERHEAD_MS, q - a < TARGET_OVERHEAD_MS ? "met" : "NOT MET", q / a);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_https_quote [-n ROUNDS] [-w WARMUP]\n"
               "  -n N      rounds: one sample of each row per round (default 200)\n"
               "  -w N      untimed warm-up rounds (default 5)\n");
}

int main(int argc, char **argv)
{
    static struct bench b = {.rounds = 200, .warmup = 5};
    const struct bench_option options[] = {
        {.letter = 'n', .count = &b.rounds, .min = 1, .max = 1000000},
        {.letter = 'w', .count = &b.warmup, .min = 0, .max = 1000},
        {0},
    };
    const struct bench_cli cli = {.prog = "bench_https_quote", .usage = usage, .options = options};
    int r = bench_opts_parse(&cli, argc, argv);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct world_opts wo = {
        .tagent_bin = BENCH_TAGENT, .corpora = BENCH_CORPORA, .host_id = "bench-https", .http = true};
    r = world_serve(&wo, &b.w);
    if (r == 0)
        r = bench_run(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_https_quote: failed (%s)\n", strerror(-r));
    curl_slist_free_all(b.quote_headers);
    token_auth_free(b.auth);
    free(b.authorization);
    if (b.curl)
        curl_easy_cleanup(b.curl);
    free(b.body);
    for (size_t i = 0; i < N_ROWS; i++)
        bench_samples_free(&b.lat[i]);
    bench_handler_close(&b.h);
    world_free(b.w);
    curl_global_cleanup();
    return r == 0 ? 0 : 1;
}
