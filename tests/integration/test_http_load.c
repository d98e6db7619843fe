/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP service mode under load (issue 18): 20 clients, each HVS's HTTPS client (tests/mock/hvs_http_client.c)
 * on its own keep-alive TLS connection with a token the mock AAS minted, send 100 quote requests each (2,000;
 * TAGENT_LOAD_REQUESTS overrides the total) one after another with unique random 32-byte nonces. Every one
 * must be answered 200, decode as HVS decodes the XML, and verify as HVS verifies it against its own
 * request's nonce (so the nonce is echoed and no answer goes to another request); each client must have used
 * one TLS connection for all of its requests.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hvs_http_client.h"
#include "hvs_verify.h"
#include "world.h"

#define CLIENTS          20
#define DEFAULT_REQUESTS 2000
#define HVS_CLAIMS                                                                                           \
    "{\"permissions\":[{\"service\":\"TA\",\"rules\":[\"host_info:retrieve\",\"aik:retrieve\",\"quote:"      \
    "create\"]}]}"

static const char *tagent_bin, *corpora;
static world_t *w;
static char token[700];

struct client_run {
    pthread_t thread;
    int index, requests;
    int ok, refused, undecoded, unverified;
    int64_t max_ms, total_ms;
    long connections; /* TLS connections curl opened for this client */
    char first_error[600];
};

static void note_error(struct client_run *c, const char *what, const char *why, long n)
{
    if (!c->first_error[0])
        snprintf(c->first_error, sizeof(c->first_error), "%s: %s (%ld)", what, why, n);
}

static void *client_main(void *arg)
{
    struct client_run *c = arg;
    struct hvs_http *h = NULL;
    char why[400] = "";
    if (hvs_http_new(w->url, w->ca, token, 10000, &h, why, sizeof(why)) != 0) {
        note_error(c, "client", why, 0);
        return NULL;
    }
    struct hvs_quote *q = calloc(1, sizeof(*q));
    for (int i = 0; q && i < c->requests; i++) {
        uint8_t nonce[32];
        char payload[512];
        struct hvs_ta_result r;
        RAND_bytes(nonce, sizeof(nonce));
        world_quote_payload(nonce, payload, sizeof(payload));
        hvs_http_call(h, "quote", payload, &r);
        c->max_ms = r.ms > c->max_ms ? r.ms : c->max_ms;
        c->total_ms += r.ms;
        if (r.http_status != 200) {
            c->refused++;
            note_error(c, "quote, status", r.error, r.http_status);
        } else if (r.outcome != HVS_OK || !r.json) {
            c->undecoded++;
            note_error(c, "quote decode", r.error, 0);
        } else {
            cJSON *resp = cJSON_Parse(r.json);
            if (hvs_verify_quote(resp, nonce, sizeof(nonce), q))
                c->ok++;
            else {
                c->unverified++;
                for (size_t k = 0; k < q->nchecks; k++)
                    if (!q->checks[k].ok)
                        note_error(c, "verify, check", q->checks[k].msg, (long)k);
            }
            cJSON_Delete(resp);
        }
        hvs_ta_result_free(&r);
    }
    free(q);
    c->connections = hvs_http_connections(h);
    hvs_http_free(h);
    return NULL;
}

static void test_http_load(void **state)
{
    (void)state;
    const char *env = getenv("TAGENT_LOAD_REQUESTS");
    int total = env ? atoi(env) : DEFAULT_REQUESTS;
    assert_true(total >= CLIENTS);
    struct client_run runs[CLIENTS] = {0};
    int64_t start = world_now_ms();
    for (int i = 0; i < CLIENTS; i++) {
        runs[i].index = i;
        runs[i].requests = total / CLIENTS + (i < total % CLIENTS);
        assert_int_equal(pthread_create(&runs[i].thread, NULL, client_main, &runs[i]), 0);
    }
    int ok = 0, refused = 0, undecoded = 0, unverified = 0;
    int64_t max_ms = 0, sum_ms = 0;
    bool one_connection = true;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(runs[i].thread, NULL);
        ok += runs[i].ok;
        refused += runs[i].refused;
        undecoded += runs[i].undecoded;
        unverified += runs[i].unverified;
        sum_ms += runs[i].total_ms;
        max_ms = runs[i].max_ms > max_ms ? runs[i].max_ms : max_ms;
        one_connection &= runs[i].connections == 1;
        if (runs[i].first_error[0])
            fprintf(stderr, "client %d: %s\n", i, runs[i].first_error);
        if (runs[i].connections != 1)
            fprintf(stderr, "client %d: %ld TLS connections\n", i, runs[i].connections);
    }
    int64_t wall = world_now_ms() - start;
    fprintf(stderr,
            "%d quotes from %d clients in %lld ms (%.1f/s): %d verified, %d refused, %d undecoded, %d "
            "unverified; "
            "latency mean %.1f ms, max %lld ms\n",
            total, CLIENTS, (long long)wall, total * 1000.0 / (double)(wall ? wall : 1), ok, refused,
            undecoded, unverified, (double)sum_ms / total, (long long)max_ms);
    assert_int_equal(ok, total);
    assert_true(one_connection);
    assert_true(world_log_clean(w));
}

static int group_setup(void **state)
{
    (void)state;
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .http = true};
    if (world_start(&o, &w) != 0 ||
        world_token_file(w, "hvs.jwt", HVS_CLAIMS, 3600, token, sizeof(token)) != 0)
        return -1;
    return world_agent_start(w, NULL, 40000) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int r = w && w->agent ? world_agent_stop(w) : 0;
    bool clean = w && world_log_clean(w);
    world_free(w);
    harness_cleanup_all();
    return r == 0 && clean ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (world_main_args(argc, argv, &tagent_bin, &corpora) < 0)
        return 2;
    if (hvs_http_global_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_http_load)};
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
