/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fleet: N tagent agents behind a routed 3-node nats-server cluster, attested round after round by an
 * HVS-like requester (issue 19; tests/harness/fleet.h and fleet_round.h hold the machinery, README.md the
 * method). Per round: hosts attested per second, p50/p99 per host, failures by kind. Memory per agent and per
 * swtpm (smaps_rollup, summed / N), the servers' own connection, subscription and memory counts, setup time
 * by phase. With --kill-round K, round K SIGKILLs a NATS server (the busiest one that is not the requester's)
 * once a quarter of the hosts are attested: reconnect-storm duration, attestations in flight, lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench_util.h"
#include "fleet.h"
#include "fleet_round.h"

#define STORM_TIMEOUT_MS 60000
#define KB_PER_MIB       1024.0

struct opts {
    unsigned n, rounds, concurrency, timeout_ms, kill_round, wave, jobs, idle_s, ready_s;
    const char *out;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_fleet [-n AGENTS] [-r ROUNDS] [-c CONCURRENCY] [-t MS] [--kill-round K] [-o FILE]\n"
        "  -n N            agents, each with its own swtpm, root, host id and credentials (default 50)\n"
        "  -r N            attestation rounds: every host once per round (default 3)\n"
        "  -c N            requests in flight, as HVS's worker pool (default 64)\n"
        "  -t MS           per-request timeout (default 10000, HVS's)\n"
        "  --kill-round K  SIGKILL one NATS server halfway through round K (default 0: none)\n"
        "  -w N            agents starting at once (default 16)\n"
        "  -j N            `tagent setup` runs at once while cloning (default 4)\n"
        "  -i, --idle S    after round 1, S seconds idle: the agents' and swtpms' CPU time then (default 5)\n"
        "  -R, --ready-timeout S  per agent, spawn to READY=1 (default 60)\n"
        "  -o FILE         also write the summary to FILE\n");
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.n = 50,
                       .rounds = 3,
                       .concurrency = 64,
                       .timeout_ms = 10000,
                       .wave = 16,
                       .jobs = 4,
                       .idle_s = 5,
                       .ready_s = 60};
    const struct bench_option options[] = {
        {.letter = 'n', .count = &o->n, .min = 1, .max = 2000},
        {.letter = 'r', .count = &o->rounds, .min = 1, .max = 1000},
        {.letter = 'c', .count = &o->concurrency, .min = 1, .max = 1024},
        {.letter = 't', .count = &o->timeout_ms, .min = 100, .max = 600000},
        {.letter = 'k', .long_name = "kill-round", .count = &o->kill_round, .min = 0, .max = 1000},
        {.letter = 'w', .count = &o->wave, .min = 1, .max = 1024},
        {.letter = 'j', .count = &o->jobs, .min = 1, .max = 64},
        {.letter = 'o', .string = &o->out},
        {.letter = 'R', .long_name = "ready-timeout", .count = &o->ready_s, .min = 1, .max = 3600},
        {.letter = 'i', .long_name = "idle", .count = &o->idle_s, .min = 0, .max = 3600},
        {0},
    };
    const struct bench_cli cli = {"bench_fleet", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* Two agent fds per host would not need it, but every swtpm, agent and nats-server inherits our limit: the
 * servers hold a connection per agent. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Everything printed goes to stdout and, with -o, to the summary file. */
static FILE *summary;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (summary) {
        va_start(ap, fmt);
        vfprintf(summary, fmt, ap);
        va_end(ap);
    }
}

static void print_round(const char *name, const struct fleet_round *r)
{
    out("%-14s %6zu/%-6zu %8.2f %9.1f %8.1f %8.1f %7u %8.0f ", name, r->count[FLEET_OK], r->n, r->seconds,
        r->seconds > 0 ? (double)r->count[FLEET_OK] / r->seconds : 0, r->p50_ms, r->p99_ms, r->resends,
        r->count[FLEET_OK] ? r->cpu_ms * 1000 / (double)r->count[FLEET_OK] : 0);
    bool any = false;
    for (int k = 1; k < FLEET_N_OUTCOMES; k++)
        if (r->count[k]) {
            out("%s%s %zu", any ? ", " : "", fleet_fail_name((enum fleet_fail)k), r->count[k]);
            any = true;
        }
    out("%s\n", any ? "" : "-");
    for (size_t i = 0, shown = 0; i < r->n && shown < 5; i++)
        if (r->hosts[i].outcome != FLEET_OK && ++shown)
            fprintf(stderr, "  host %zu: %s: %s\n", i, fleet_fail_name(r->hosts[i].outcome), r->hosts[i].why);
}

/* Each running server's /varz: client connections, subscriptions, resident memory. */
static void print_servers(fleet_t *f)
{
    for (size_t i = 0; i < f->w->n_nats; i++) {
        char *body = NULL;
        if (!f->w->nats[i]->pid || natsd_monitor_get(f->w->nats[i], "/varz", &body) < 0) {
            out("  nats-server %zu: down\n", i);
            continue;
        }
        cJSON *j = cJSON_Parse(body);
        double conns = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "connections"));
        double subs = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "subscriptions"));
        double mem = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "mem"));
        double cpu = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "cpu"));
        out("  nats-server %zu: %6.0f connections, %6.0f subscriptions (cluster-wide interest), RSS %7.1f "
            "MiB, "
            "cpu %5.1f%%\n",
            i, conns, subs, mem / 1048576.0, cpu);
        cJSON_Delete(j);
        free(body);
    }
}

static void print_memory(fleet_t *f)
{
    struct fleet_mem a, t;
    if (fleet_memory(f, &a, &t) < 0)
        fprintf(stderr, "bench_fleet: some smaps_rollup could not be read (a process exited?)\n");
    out("memory (smaps_rollup, after round 1): per agent Pss %.2f MiB, Rss %.2f MiB (%zu agents); per swtpm "
        "Pss %.2f MiB, Rss %.2f MiB (%zu)\n",
        a.n ? (double)a.pss_kb / KB_PER_MIB / (double)a.n : 0,
        a.n ? (double)a.rss_kb / KB_PER_MIB / (double)a.n : 0, a.n,
        t.n ? (double)t.pss_kb / KB_PER_MIB / (double)t.n : 0,
        t.n ? (double)t.rss_kb / KB_PER_MIB / (double)t.n : 0, t.n);
    out("  total Pss: agents %.0f MiB, swtpms %.0f MiB\n", (double)a.pss_kb / KB_PER_MIB,
        (double)t.pss_kb / KB_PER_MIB);
}

/* What N idle agents cost: their CPU time over idle_s seconds with no request. */
static void print_idle(fleet_t *f, unsigned idle_s)
{
    double a0, t0, a1, t1;
    if (!idle_s)
        return;
    fleet_cpu_ms(f, &a0, &t0);
    sleep(idle_s);
    fleet_cpu_ms(f, &a1, &t1);
    out("idle %u s: CPU per agent %.3f ms/s, per swtpm %.3f ms/s (all agents: %.1f%% of one core)\n", idle_s,
        (a1 - a0) / idle_s / (double)f->n, (t1 - t0) / idle_s / (double)f->n, (a1 - a0) / idle_s / 10.0);
}

static void print_fault(const struct fleet_fault *ff)
{
    out("fault: SIGKILL of nats-server %zu with %zu agents on it: reconnect storm %" PRId64
        " ms (agents' STATUS=connected), %" PRId64 " ms (survivors' /varz back at %ld connections); %zu not "
        "reconnected\n",
        ff->server, ff->on_server, ff->storm_ms, ff->varz_ms, ff->connections_before, ff->not_reconnected);
    out("  survivors' CPU from the kill to the storm's end: %.0f ms (%.2f ms per reconnected agent, round "
        "traffic included)\n",
        ff->storm_cpu_ms, ff->on_server ? ff->storm_cpu_ms / (double)ff->on_server : 0);
    out("  in flight at the kill: %zu (%zu to agents on that server); lost %zu, of which %zu not in flight "
        "there and %zu not a timeout/no-responders\n",
        ff->in_flight, ff->in_flight_on_server, ff->lost, ff->lost_unexplained, ff->wrong);
}

/* The busiest server other than the requester's (0). */
static size_t kill_target(fleet_t *f)
{
    size_t best = 1;
    for (size_t s = 2; s < f->w->n_nats; s++)
        if (fleet_hosts_on(f, (int)s) > fleet_hosts_on(f, (int)best))
            best = s;
    return best;
}

static int run_rounds(const struct opts *o, fleet_t *f, fleet_requester_t *rq)
{
    out("%-14s %13s %8s %9s %8s %8s %7s %8s %s\n", "round", "attested", "s", "hosts/s", "p50 ms", "p99 ms",
        "resend", "cpu us", "failures");
    int r = 0;
    for (unsigned k = 1; r == 0 && k <= o->rounds; k++) {
        struct fleet_round round;
        char name[32];
        double srv0 = fleet_servers_cpu_ms(f);
        if (k == o->kill_round) {
            struct fleet_fault ff;
            r = fleet_fault_round(rq, kill_target(f), STORM_TIMEOUT_MS, &ff, &round);
            snprintf(name, sizeof(name), "%u (kill)", k);
            print_round(name, &round);
            if (r == 0)
                print_fault(&ff);
        } else {
            r = fleet_round_run(rq, &round);
            snprintf(name, sizeof(name), "%u", k);
            print_round(name, &round);
        }
        if (k != o->kill_round && round.count[FLEET_OK])
            out("  nats-servers' CPU: %.0f us per attested host\n",
                (fleet_servers_cpu_ms(f) - srv0) * 1000 / (double)round.count[FLEET_OK]);
        fleet_round_free(&round);
        if (k == 1) {
            print_memory(f);
            print_servers(f);
            print_idle(f, o->idle_s);
        }
    }
    return r;
}

int main(int argc, char **argv)
{
    struct opts o;
    int r = opts_parse(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    raise_nofile();
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    if (o.out && !(summary = fopen(o.out, "w"))) {
        fprintf(stderr, "bench_fleet: cannot write %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    fleet_t *f = NULL;
    natsConnection *nc = NULL;
    fleet_requester_t *rq = NULL;
    struct fleet_opts fo = {.tagent_bin = BENCH_TAGENT,
                            .corpora = BENCH_CORPORA,
                            .n = o.n,
                            .start_wave = o.wave,
                            .setup_jobs = o.jobs,
                            .ready_timeout_ms = (int)o.ready_s * 1000};
    struct fleet_req_opts ro = {.concurrency = o.concurrency, .timeout_ms = (int)o.timeout_ms};
    struct fleet_round tags = {0};
    r = fleet_start(&fo, &f);
    if (r == 0)
        r = world_hvs_connect(f->w, 0, &nc); /* the requester stays on server 0: the kill spares it */
    if (r == 0)
        r = fleet_requester_new(f, nc, &ro, &rq);
    if (r == 0) {
        out("bench_fleet: %u agents, 3 nats-servers, %u rounds, %u in flight, timeout %u ms\n", o.n, o.rounds,
            o.concurrency, o.timeout_ms);
        out("setup: %.1f s (world %.1f, clone %.1f, swtpms %.1f, credentials %.1f, agents to READY=1 %.1f)\n",
            (double)f->times.total / 1e3, (double)f->times.world / 1e3, (double)f->times.clone / 1e3,
            (double)f->times.swtpm / 1e3, (double)f->times.credentials / 1e3, (double)f->times.agents / 1e3);
        out("agents per server:");
        for (size_t s = 0; s < f->w->n_nats; s++)
            out(" %zu", fleet_hosts_on(f, (int)s));
        out("\n");
        r = fleet_deploy_tags(rq, &tags);
        print_round("asset tags", &tags);
        if (r == 0 && tags.count[FLEET_OK] != f->n)
            r = -EIO;
    }
    if (r == 0)
        r = run_rounds(&o, f, rq);
    if (f && r == 0) {
        out("after the run:\n");
        print_servers(f);
    }
    fleet_round_free(&tags);
    fleet_requester_free(rq);
    if (nc)
        natsConnection_Destroy(nc);
    fleet_free(f);
    if (summary)
        fclose(summary);
    harness_nats_close();
    if (r < 0)
        fprintf(stderr, "bench_fleet: failed: %s\n", strerror(-r));
    return r < 0 ? 1 : 0;
}
