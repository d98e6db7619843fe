/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/fleet's scenario, small (issue 19): 12 agents, each on its own swtpm (a copy of one provisioned TPM)
 * with its own root, host id and NATS credentials, behind a routed 3-node nats-server cluster, attested by an
 * HVS-like requester (tests/harness/fleet_round.h): every reply judged as HVS's client judges it and its
 * quote verified with the host's own asset tag bound in. Round 1: every host attested. Round 2: the NATS
 * server holding most agents (not the requester's) is SIGKILLed halfway; every agent that was on it
 * reconnects to a survivor within STORM_MS, and the only hosts lost are ones whose request was in flight to
 * an agent on the killed server at the kill, each with a timeout or no responders, never a wrong answer.
 * Round 3: every host attested again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fleet.h"
#include "fleet_round.h"
#include "harness.h"

#define HOSTS       12
#define STORM_MS    10000 /* the agents retry every 1 s with up to 1 s of jitter: a few seconds at most */
#define TIMEOUT_MS  5000  /* per request: a lost one costs this much of the test's time */
#define CONCURRENCY 4     /* requests in flight: the round lasts long enough for the kill to catch some */

static const char *tagent_bin, *corpora;
static fleet_t *fleet;
static natsConnection *hvs; /* the requester's connection: server 0 only, so killing another spares it */
static fleet_requester_t *rq;

static void print_round(const char *name, const struct fleet_round *r);

static int group_setup(void **state)
{
    (void)state;
    struct fleet_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .n = HOSTS};
    struct fleet_req_opts ro = {.concurrency = CONCURRENCY, .timeout_ms = TIMEOUT_MS};
    struct fleet_round tags;
    if (fleet_start(&o, &fleet) < 0 || world_hvs_connect(fleet->w, 0, &hvs) < 0 ||
        fleet_requester_new(fleet, hvs, &ro, &rq) < 0 || fleet_deploy_tags(rq, &tags) < 0)
        return -1;
    bool all = tags.count[FLEET_OK] == HOSTS;
    print_round("asset tags", &tags);
    fleet_round_free(&tags);
    return all ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    fleet_requester_free(rq);
    if (hvs)
        natsConnection_Destroy(hvs);
    bool clean = true;
    for (size_t i = 0; fleet && i < fleet->n; i++) {
        world_t one = {0};
        snprintf(one.log, sizeof(one.log), "%s", fleet->hosts[i].log);
        clean = clean && world_log_clean(&one);
    }
    fleet_free(fleet);
    return clean && harness_count_children() == 0 ? 0 : -1;
}

static void print_round(const char *name, const struct fleet_round *r)
{
    fprintf(stderr, "%s: %zu/%zu attested in %.2f s (%.1f hosts/s), p50 %.1f ms, p99 %.1f ms, %u resends",
            name, r->count[FLEET_OK], r->n, r->seconds,
            r->seconds > 0 ? (double)r->count[FLEET_OK] / r->seconds : 0, r->p50_ms, r->p99_ms, r->resends);
    for (int k = 1; k < FLEET_N_OUTCOMES; k++)
        if (r->count[k])
            fprintf(stderr, ", %s %zu", fleet_fail_name((enum fleet_fail)k), r->count[k]);
    fprintf(stderr, "\n");
    bool tail = true;
    for (size_t i = 0; i < r->n; i++)
        if (r->hosts[i].outcome != FLEET_OK) {
            fprintf(stderr, "  %s: %s: %s\n", fleet->hosts[i].id, fleet_fail_name(r->hosts[i].outcome),
                    r->hosts[i].why);
            if (tail)
                harness_log_tail(fleet->hosts[i].log, 15);
            tail = false;
        }
}

/* Every host attested in a plain round. */
static void assert_full_round(const char *name)
{
    struct fleet_round r;
    assert_int_equal(fleet_round_run(rq, &r), 0);
    print_round(name, &r);
    assert_int_equal(r.count[FLEET_OK], HOSTS);
    fleet_round_free(&r);
}

/* The server with the most agents, other than the requester's (0). */
static size_t busiest_server(void)
{
    size_t best = 1;
    for (size_t s = 2; s < fleet->w->n_nats; s++)
        if (fleet_hosts_on(fleet, (int)s) > fleet_hosts_on(fleet, (int)best))
            best = s;
    return best;
}

static void test_rounds_with_a_server_killed(void **state)
{
    (void)state;
    assert_full_round("round 1");

    struct fleet_fault ff;
    struct fleet_round r;
    size_t server = busiest_server();
    assert_int_equal(fleet_fault_round(rq, server, STORM_MS, &ff, &r), 0);
    print_round("round 2 (kill)", &r);
    fprintf(stderr,
            "kill of server %zu: %zu agents on it, %zu requests in flight (%zu to them); lost %zu "
            "(%zu unexplained, %zu wrong); storm %" PRId64 " ms by the agents, %" PRId64 " ms by /varz\n",
            ff.server, ff.on_server, ff.in_flight, ff.in_flight_on_server, ff.lost, ff.lost_unexplained,
            ff.wrong, ff.storm_ms, ff.varz_ms);
    for (size_t i = 0; ff.not_reconnected && i < fleet->n;
         i++) /* what the agents that did not come back said */
        if (fleet->hosts[i].server < 0 || fleet->hosts[i].server == (int)ff.server)
            harness_log_tail(fleet->hosts[i].log, 30);
    assert_true(ff.on_server > 0);
    assert_int_equal(ff.not_reconnected, 0);
    assert_true(ff.storm_ms <= STORM_MS);
    assert_true(ff.varz_ms >= 0);
    assert_int_equal(ff.wrong, 0);
    assert_int_equal(ff.lost_unexplained, 0);
    assert_true(ff.lost <= ff.in_flight_on_server);
    fleet_round_free(&r);

    assert_full_round("round 3");
}

int main(int argc, char **argv)
{
    if (world_main_args(argc, argv, &tagent_bin, &corpora) < 0)
        return 2;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rounds_with_a_server_killed)};
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return failed;
}
