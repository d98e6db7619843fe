/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent status` and the service's systemd notifications, against a provisioned world
 * (tests/harness/world.h): the status socket's document before, during and after the service runs; a second
 * instance refused; and sd_notify as systemd would see it through NOTIFY_SOCKET: READY=1, STATUS= lines, and
 * WATCHDOG=1 pings that stop while the TPM hangs (swtpm SIGSTOPped) and come back when it resumes.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "world.h"

static const char *tagent_bin, *corpora;
static world_t *w;

struct cli_run {
    int status;
    char *out;
};

/* `tagent --root R status [args]`: exit status and stdout. */
static void status_run(const char *args, struct cli_run *r)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' --root '%s' status %s", tagent_bin, w->root, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    r->out = calloc(1, 1 << 16);
    size_t n = fread(r->out, 1, (1 << 16) - 1, p);
    r->out[n] = '\0';
    int st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *status_json(int expect_status)
{
    struct cli_run r;
    status_run("--json", &r);
    if (r.status != expect_status)
        fail_msg("tagent status --json exited %d (expected %d): %s", r.status, expect_status, r.out);
    cJSON *j = cJSON_Parse(r.out);
    if (!j)
        fail_msg("tagent status --json printed no JSON: %s", r.out);
    free(r.out);
    return j;
}

static const cJSON *path_get(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static int group_setup(void **state)
{
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-status"};
    assert_int_equal(world_start(&o, &w), 0);
    return 0;
}

static int group_teardown(void **state)
{
    world_free(w);
    return harness_count_children() == 0 ? 0 : -1;
}

/* `tagent startService` with aik.pem replaced by text: its exit status (timeout(1) ends one that serves);
 * stderr goes to <dir>/aik-check.log, *ret_log (caller frees) is what this run wrote there. */
static int start_with_aik(const char *text, char **ret_log)
{
    char aik[600], log[600], cmd[2048];
    snprintf(aik, sizeof(aik), "%s/etc/trustagent/aik.pem", w->root);
    snprintf(log, sizeof(log), "%s/aik-check.log", w->dir);
    assert_int_equal(harness_file_write(aik, text, 0640), 0);
    snprintf(cmd, sizeof(cmd), "TAGENT_TCTI='%s' timeout 20 '%s' --root '%s' startService 2>'%s'",
             w->tpm->tcti, tagent_bin, w->root, log);
    int st = system(cmd);
    *ret_log = harness_file_slurp(log);
    fprintf(stderr, "startService with a bad aik.pem: exit %d: %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            *ret_log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A corrupt, empty or foreign aik.pem: the service refuses to start, naming the file and the setup task that
 * rewrites it (issue 12 item 5: it used to start and send a garbage Aik with every quote). */
static void test_aik_pem_checked(void **state)
{
    char aik[600], *log = NULL;
    snprintf(aik, sizeof(aik), "%s/etc/trustagent/aik.pem", w->root);
    char *good = harness_file_slurp(aik);
    char *foreign = harness_file_slurp(w->nats[0]->ca_file); /* a certificate, not this TPM's AIK */
    assert_true(strstr(good, "BEGIN CERTIFICATE") && strstr(foreign, "BEGIN CERTIFICATE"));
    const struct {
        const char *text, *says;
    } cases[] = {
        {"", "it is empty"},
        {"-----BEGIN CERTIFICATE-----\nMIIBgarbage\n-----END CERTIFICATE-----\n", "no readable PEM X.509"},
        {foreign, "not the certificate of this TPM's AIK"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int code = start_with_aik(cases[i].text, &log);
        if (code == 0 || code == 124 || !strstr(log, "aik.pem") || !strstr(log, cases[i].says) ||
            !strstr(log, "tagent setup provision-aik"))
            fail_msg("aik.pem case %zu: exit %d, log: %s", i, code, log);
        free(log);
    }
    assert_int_equal(harness_file_write(aik, good, 0640), 0);
    free(good);
    free(foreign);
}

static void test_status_stopped(void **state)
{
    struct cli_run r;
    status_run("", &r);
    assert_int_equal(r.status, 3);
    assert_non_null(
        strstr(r.out, "Provisioned: yes (config.yml, aik.pem, privacy-ca.cer, trust-agent.creds"));
    assert_non_null(strstr(r.out, "Service:     not running"));
    free(r.out);
    cJSON *j = status_json(3);
    assert_true(cJSON_IsFalse(path_get(j, "running", NULL)));
    assert_true(cJSON_IsTrue(path_get(j, "provisioned", "complete")));
    assert_null(path_get(j, "service", NULL));
    cJSON_Delete(j);
    status_run("--bogus", &r);
    assert_int_equal(r.status, 1);
    free(r.out);
}

static void request_ok(const char *suffix, const char *payload)
{
    char *text = NULL;
    assert_int_equal(world_request(w, suffix, payload, 5000, &text, NULL), 0);
    free(text);
}

static void test_status_running(void **state)
{
    assert_int_equal(world_agent_start(w, NULL, 30000), 0);
    uint8_t nonce[32] = {7};
    char payload[512];
    world_quote_payload(nonce, payload, sizeof(payload));
    request_ok("quote-request", payload);
    request_ok("quote-request", payload);
    request_ok("quote-request", "{\"nonce\":\"\"}"); /* an error reply: counted as failed */
    request_ok("aik-request", "null");

    cJSON *j = status_json(0);
    assert_true(cJSON_IsTrue(path_get(j, "running", NULL)));
    const cJSON *svc = path_get(j, "service", NULL);
    assert_int_equal(path_get(svc, "pid", NULL)->valueint, w->agent);
    assert_string_equal(path_get(svc, "host_id", NULL)->valuestring, "edge-status");
    assert_true(cJSON_IsTrue(path_get(svc, "nats", "connected")));
    assert_string_equal(path_get(svc, "nats", "server")->valuestring, w->nats[0]->url);
    const cJSON *quotes = path_get(path_get(svc, "requests", NULL), "quote-request", NULL);
    assert_int_equal(path_get(quotes, "served", NULL)->valueint, 2);
    assert_int_equal(path_get(quotes, "failed", NULL)->valueint, 1);
    /* the version-requests world_agent_start() sent while waiting are counted too */
    assert_true(path_get(path_get(svc, "requests", NULL), "version-request", "served")->valueint >= 1);
    assert_int_equal(path_get(path_get(svc, "requests", NULL), "aik-request", "served")->valueint, 1);
    assert_true(cJSON_IsNumber(path_get(svc, "last_quote", NULL)));
    assert_string_equal(path_get(svc, "last_error", "subject")->valuestring, "quote-request");
    assert_non_null(strstr(path_get(svc, "last_error", "message")->valuestring, "nonce"));
    assert_true(cJSON_IsTrue(path_get(svc, "tpm", "healthy")));
    cJSON_Delete(j);

    /* SIGHUP: the measure log is built again (the next quote carries it), the service keeps serving */
    assert_int_equal(harness_proc_signal(w->agent, SIGHUP), 0);
    for (int i = 0; i < 50 && !world_log_has(w, "SIGHUP: measure log re-read"); i++)
        usleep(100 * 1000);
    assert_true(world_log_has(w, "SIGHUP: measure log re-read"));
    request_ok("quote-request", payload);

    struct cli_run r;
    status_run("", &r);
    assert_int_equal(r.status, 0);
    fprintf(stderr, "%s", r.out);
    assert_non_null(strstr(r.out, "Service:     running (pid "));
    assert_non_null(strstr(r.out, "NATS:        connected to tls://127.0.0.1:"));
    assert_non_null(strstr(r.out, "TPM:         healthy"));
    assert_non_null(strstr(r.out, "quote-request 3 (1 failed)"));
    assert_non_null(strstr(r.out, "Last error:  "));
    assert_null(strstr(r.out, "quote-request: quote-request:")); /* the subject once, not twice */
    free(r.out);
}

static int run_tagent(const char *const *args, const char *log_name)
{
    char log[600];
    const char *argv[12] = {tagent_bin, "--root", w->root};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < 11; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(log, sizeof(log), "%s/%s", w->dir, log_name);
    int r = harness_run(argv, log, 60000);
    if (r != 0)
        harness_log_tail(log, 20);
    return r;
}

/* Exit status of `tagent async-report` (harness_run only tells 0 from not 0). */
static int async_report_status(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' --root '%s' async-report 2>>'%s/async-report.log'", tagent_bin, w->root,
             w->dir);
    int st = system(cmd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    fprintf(stderr, "tagent async-report: exit %d\n", code);
    return code;
}

/* Spec 3.7: the running service asked HVS whether it knows this host (the child `tagent async-report`); with
 * the host registered, a report request is posted; server trouble means retry (75), a refused token stop
 * (77). */
static void test_async_report(void **state)
{
    for (int i = 0; i < 50 && mockcp_request_count(w->mock, "GET /hvs/v2/hosts?hostHardwareId=") < 1; i++)
        usleep(100 * 1000);
    assert_int_equal(mockcp_request_count(w->mock, "GET /hvs/v2/hosts?hostHardwareId="), 1);
    assert_int_equal(mockcp_request_count(w->mock, "POST /hvs/v2/reports"), 0); /* not registered yet */

    char env[600];
    snprintf(env, sizeof(env), "%s/ta.env", w->dir);
    const char *create[] = {"setup", "create-host", "-f", env, NULL};
    assert_int_equal(run_tagent(create, "create-host.log"), 0);
    /* the UUID of the corpora's SMBIOS table (tests/harness/world.c links it into the root) */
    assert_int_equal(mockcp_host_set_uuid(w->mock, "edge-status", "8032632b-8fa4-e811-906e-00163566263e"), 0);
    int code = async_report_status();
    if (code != 0 || mockcp_request_count(w->mock, "POST /hvs/v2/reports?process=async 202") != 1) {
        char path[700];
        snprintf(path, sizeof(path), "%s/async-report.log", w->dir);
        harness_log_tail(path, 20);
    }
    assert_int_equal(code, 0);
    assert_int_equal(mockcp_request_count(w->mock, "POST /hvs/v2/reports?process=async 202"), 1);

    assert_int_equal(mockcp_fault(w->mock, "server-error", NULL), 0);
    assert_int_equal(async_report_status(), 75);
    assert_int_equal(mockcp_fault(w->mock, "unauthorized", "server-error"), 0);
    assert_int_equal(async_report_status(), 77);
    assert_int_equal(mockcp_fault(w->mock, NULL, "all"), 0);
    char *log = NULL;
    assert_int_equal(harness_path_join(w->dir, "async-report.log", &log), 0);
    char *text = harness_file_slurp(log);
    assert_non_null(strstr(text, "tagent retries in 5 minutes"));
    assert_non_null(strstr(text, "download-api-token"));
    free(text);
    free(log);
}

/* A second startService on the same root stops at the status socket, before the TPM or NATS. */
static void test_second_instance_refused(void **state)
{
    char log[600];
    snprintf(log, sizeof(log), "%s/second.log", w->dir);
    const char *argv[] = {tagent_bin, "--root", w->root, "startService", NULL};
    assert_int_not_equal(harness_run(argv, log, 20000), 0);
    char *text = harness_file_slurp(log);
    assert_non_null(strstr(text, "another tagent startService already answers"));
    free(text);
    struct cli_run r;
    status_run("", &r); /* the first one is untouched */
    assert_int_equal(r.status, 0);
    free(r.out);
}

static void test_status_after_stop(void **state)
{
    assert_int_equal(world_agent_stop(w), 0);
    char *sock = NULL;
    assert_int_equal(harness_path_join(w->root, "run/tagent/status.sock", &sock), 0);
    assert_false(harness_path_exists(sock)); /* removed on the way out */
    free(sock);
    cJSON *j = status_json(3);
    cJSON_Delete(j);
}

/* ---- sd_notify through NOTIFY_SOCKET ---- */

struct notify_sink {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void sink_open(struct notify_sink *n)
{
    int len = snprintf(n->path, sizeof(n->path), "%s/notify.sock", w->dir);
    assert_true(len > 0 && (size_t)len < sizeof(n->path));
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(n->fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, n->path, sizeof(sa.sun_path));
    unlink(n->path);
    assert_int_equal(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* Every notification of one test, with its time since the test began: printed at the end and on failure. */
struct transcript {
    int64_t t0;
    char text[1 << 14];
};

static void transcript_add(struct transcript *t, const char *what)
{
    size_t used = strlen(t->text);
    snprintf(t->text + used, sizeof(t->text) - used, "+%5lld ms  %s\n", (long long)(world_now_ms() - t->t0),
             what);
}

/* The next datagram, waiting no later than deadline (world_now_ms() time): 1 with it in d, 0 at the
 * deadline. poll() wakes at the datagram, so no reading is rounded up to a polling period. */
static int sink_next(struct notify_sink *n, int64_t deadline, char *d, size_t size)
{
    for (int64_t left; (left = deadline - world_now_ms()) > 0;) {
        struct pollfd p = {.fd = n->fd, .events = POLLIN};
        int k = poll(&p, 1, (int)left);
        if (k < 0 && errno != EINTR)
            fail_msg("poll on the notify socket: %s", strerror(errno));
        ssize_t len = k > 0 ? recv(n->fd, d, size - 1, MSG_DONTWAIT) : -1;
        if (len >= 0) {
            d[len] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Reads notifications until `want` WATCHDOG=1 pings came, or the deadline; returns how many came. */
static int pings_wait(struct notify_sink *n, int want, int64_t deadline, struct transcript *t)
{
    char d[512];
    int pings = 0;
    while (pings < want && sink_next(n, deadline, d, sizeof(d))) {
        transcript_add(t, d);
        pings += strstr(d, "WATCHDOG=1") != NULL;
    }
    return pings;
}

/* Reads notifications until none was WATCHDOG=1 for quiet_ms; returns when the last ping came (`since` if
 * none did), or -1 when pings still came at the deadline. */
static int64_t pings_quiet(struct notify_sink *n, int64_t since, int quiet_ms, int64_t deadline,
                           struct transcript *t)
{
    char d[512];
    int64_t last = since;
    for (;;) {
        int64_t until = last + quiet_ms < deadline ? last + quiet_ms : deadline;
        if (!sink_next(n, until, d, sizeof(d)))
            return until == last + quiet_ms ? last : -1;
        transcript_add(t, d);
        if (strstr(d, "WATCHDOG=1"))
            last = world_now_ms();
    }
}

/* The agent's watchdog arithmetic (agent/service/service.c: service_run sizes it from WATCHDOG_USEC,
 * watchdog_ping applies it) for a WatchdogSec of `usec`: WATCHDOG=1 every usec/2 (its thread wakes every 100
 * ms, so a period is rounded up to that), the TPM probed every usec/3 (100 ms .. 5 s) when no quote proved it
 * alive, and pings only while that proof is at most two probe periods + 1 s old. Every window of the test
 * follows from these, so a short WATCHDOG_USEC makes a short test. Should the agent's fixed 1 s shrink, the
 * test needs no change: the stale bound only sets a deadline, and the test goes on as soon as the pings stop.
 */
#define WATCHDOG_USEC   400000
#define AGENT_WAKE_MS   100
#define AGENT_STALE_MS  1000 /* the fixed part of the agent's freshness bound */
#define SCHED_MARGIN_MS 1500 /* a loaded 2-core machine, sanitizers */

struct watchdog_windows {
    int ping_ms;  /* between two pings of a healthy agent, at most */
    int probe_ms; /* between two TPM probes */
    int stale_ms; /* from the last proof of TPM life to the last ping, at most */
    int quiet_ms; /* a gap between pings that no healthy agent leaves: the pings have stopped */
};

static struct watchdog_windows watchdog_windows(uint64_t usec)
{
    struct watchdog_windows v = {.ping_ms = (int)(usec / 2000) + AGENT_WAKE_MS};
    v.probe_ms = (int)(usec / 3000);
    v.probe_ms = v.probe_ms < 100 ? 100 : v.probe_ms > 5000 ? 5000 : v.probe_ms;
    v.stale_ms = 2 * v.probe_ms + AGENT_STALE_MS;
    v.quiet_ms = 3 * v.ping_ms;
    return v;
}

static void test_notify_watchdog(void **state)
{
    const struct watchdog_windows wd = watchdog_windows(WATCHDOG_USEC);
    struct transcript *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->t0 = world_now_ms();
    struct notify_sink n;
    sink_open(&n);
    char env_sock[300], env_watchdog[64];
    snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", n.path);
    snprintf(env_watchdog, sizeof(env_watchdog), "WATCHDOG_USEC=%d", WATCHDOG_USEC);
    const char *env[] = {env_sock, env_watchdog, NULL};
    assert_int_equal(world_agent_start(w, env, 30000), 0);
    transcript_add(t, "(the agent answers version-request)");

    /* healthy: READY=1, the connected STATUS=, and pings at the pace WATCHDOG_USEC asks for */
    int pings = pings_wait(&n, 3, world_now_ms() + 3 * wd.ping_ms + SCHED_MARGIN_MS, t);
    if (pings < 3 || !strstr(t->text, "READY=1") || !strstr(t->text, "STATUS=connected to tls://127.0.0.1:"))
        fail_msg("healthy agent: %d of 3 pings, READY=1 and STATUS=connected expected:\n%s", pings, t->text);

    /* a hung TPM: the probe blocks in its call, the proof of life goes stale, the pings stop */
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    int64_t t_stop = world_now_ms();
    transcript_add(t, "(swtpm SIGSTOPped)");
    int64_t last = pings_quiet(&n, t_stop, wd.quiet_ms,
                               t_stop + wd.stale_ms + wd.ping_ms + wd.quiet_ms + SCHED_MARGIN_MS, t);
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    int64_t t_cont = world_now_ms();
    transcript_add(t, "(swtpm SIGCONTinued)");
    if (last < 0)
        fail_msg("WATCHDOG=1 still came %lld ms after the TPM hung (agent's bound: %d ms):\n%s",
                 (long long)(t_cont - t_stop), wd.stale_ms + wd.ping_ms, t->text);

    /* the TPM answers again: the blocked probe returns, the pings come back */
    pings = pings_wait(&n, 2, t_cont + wd.probe_ms + 2 * wd.ping_ms + SCHED_MARGIN_MS, t);
    if (pings < 2)
        fail_msg("%d of 2 pings after the TPM resumed:\n%s", pings, t->text);
    int64_t t_back = world_now_ms();

    assert_int_equal(world_agent_stop(w), 0);
    char d[512];
    bool stopping = false;
    for (int64_t until = world_now_ms() + 2000; !stopping && sink_next(&n, until, d, sizeof(d));) {
        transcript_add(t, d);
        stopping = strstr(d, "STOPPING=1") != NULL;
    }
    fprintf(stderr, "notifications (WATCHDOG_USEC=%d):\n%s", WATCHDOG_USEC, t->text);
    fprintf(
        stderr,
        "watchdog: last ping %lld ms after SIGSTOP (bound %d), pings back %lld ms after SIGCONT; whole test "
        "%lld ms\n",
        (long long)(last - t_stop), wd.stale_ms + wd.ping_ms, (long long)(t_back - t_cont),
        (long long)(world_now_ms() - t->t0));
    assert_true(stopping);
    free(t);
    close(n.fd);
    unlink(n.path);
}

/* Processes whose command line names this world's root and async-report (the service's child). */
static int async_report_processes(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300], buf[2048];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "re");
        size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        for (size_t i = 0; i + 1 < len; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        n += strstr(buf, w->root) && strstr(buf, "async-report");
    }
    if (d)
        closedir(d);
    return n;
}

/* SIGTERM while the async-report child waits on a slow HVS: the child is ended with the service (it must not
 * inherit the service's blocked SIGTERM) and the stop stays well inside systemd's TimeoutStopSec. */
static void test_stop_with_report_running(void **state)
{
    assert_int_equal(mockcp_fault(w->mock, "slow", NULL), 0);
    assert_int_equal(world_agent_start(w, NULL, 30000), 0);
    for (int i = 0; i < 50 && async_report_processes() == 0; i++)
        usleep(100 * 1000);
    assert_int_equal(async_report_processes(), 1);
    int64_t start = world_now_ms();
    assert_int_equal(world_agent_stop(w), 0);
    int64_t ms = world_now_ms() - start;
    fprintf(stderr, "SIGTERM with async-report running: exit after %lld ms\n", (long long)ms);
    assert_true(ms < 5000);
    assert_int_equal(async_report_processes(), 0);
    assert_int_equal(mockcp_fault(w->mock, NULL, "all"), 0);
}

/* Without a usable run directory (no systemd RuntimeDirectory=, nothing writable) the service still serves;
 * only `tagent status` cannot reach it, and says why. */
static void test_no_status_socket(void **state)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "mv %s/run %s/run.away && touch %s/run", w->root, w->root, w->root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(world_agent_start(w, NULL, 30000), 0);
    assert_true(world_log_has(w, "`tagent status` will not see this service"));
    uint8_t nonce[32] = {9};
    char payload[512];
    world_quote_payload(nonce, payload, sizeof(payload));
    request_ok("quote-request", payload);
    struct cli_run r;
    status_run("", &r);
    assert_int_equal(r.status, 1);
    free(r.out);
    assert_int_equal(world_agent_stop(w), 0);
    snprintf(cmd, sizeof(cmd), "rm %s/run && mv %s/run.away %s/run", w->root, w->root, w->root);
    assert_int_equal(system(cmd), 0);
}

/* ---- a tag secret that does not match the index (issue 12 item 2) ---- */

/* TPM2_PT_LOCKOUT_COUNTER, read with tpm2-tools (GetCapability: no authorization, nothing counted). */
static unsigned long da_counter(void)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof(cmd), "tpm2_getcap -T '%s' properties-variable 2>&1", w->tpm->tcti);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    const char *at = strstr(out, "TPM2_PT_LOCKOUT_COUNTER:");
    if (!at)
        fail_msg("tpm2_getcap printed no lockout counter: %s", out);
    return strtoul(at + strlen("TPM2_PT_LOCKOUT_COUNTER:"), NULL, 0);
}

/* tpm2_dictionarylockout with the lockout authorization (the owner secret after take-ownership). */
static void dictionarylockout(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tpm2_dictionarylockout -T '%s' -p '%s' %s", w->tpm->tcti, WORLD_OWNER_SECRET,
             args);
    assert_int_equal(system(cmd), 0);
}

/* config.yml's tag secret with its last hex digit changed (or back): the index no longer takes it. */
static void tag_secret_flip(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/etc/trustagent/config.yml", w->root);
    char *yml = harness_file_slurp(path);
    char *at = strstr(yml, "tag-secret-key: \"hex:");
    assert_non_null(at);
    char *end = strchr(at + strlen("tag-secret-key: \"hex:"), '"');
    assert_non_null(end);
    end[-1] = end[-1] == '0' ? '1' : '0';
    assert_int_equal(harness_file_write(path, yml, 0640), 0);
    free(yml);
}

static void quote_fails_with_tag_error(void)
{
    uint8_t nonce[32] = {9};
    char payload[512], *text = NULL;
    world_quote_payload(nonce, payload, sizeof(payload));
    assert_int_equal(world_request(w, "quote-request", payload, 9000, &text, NULL), 0);
    if (!strstr(text, "does not match the asset tag index") || !strstr(text, "define-tag-index") ||
        !strstr(text, "SIGHUP"))
        fail_msg("quote with a stale tag secret: %s", text);
    free(text);
}

/* Quotes with a tag secret the index refuses: the TPM is asked once (its DA counter goes up by one, not
 * once per quote, which used to lock the TPM out after three quotes), every quote fails saying why and what
 * to do, and `tagent status` shows it; a lockout shows as such instead of "healthy". */
static void test_stale_tag_secret(void **state)
{
    assert_int_equal(world_agent_stop(w), 0);
    dictionarylockout("-s -n 10 -t 1000 -l 1000"); /* room to see every try counted */
    unsigned long before = da_counter();
    tag_secret_flip();
    assert_int_equal(world_agent_start(w, NULL, 30000), 0);
    for (int i = 0; i < 6; i++)
        quote_fails_with_tag_error();
    unsigned long after = da_counter();
    fprintf(stderr, "6 quotes with a stale tag secret: TPM lockout counter %lu -> %lu\n", before, after);
    assert_true(after <= before + 1);

    /* deploy-asset-tag tries the secret once (an operator's explicit write); its refusal is remembered too */
    char deploy[256], *text = NULL;
    snprintf(deploy, sizeof(deploy), "{\"tag\":\"%s\",\"hardware_uuid\":\"%s\"}",
             "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8w",
             "8032632b-8fa4-e811-906e-00163566263e");
    world_request(w, "deploy-asset-tag", deploy, 9000, &text, NULL); /* an error reply: no text */
    free(text);
    unsigned long deployed = da_counter();
    for (int i = 0; i < 3; i++)
        quote_fails_with_tag_error();
    fprintf(stderr, "a refused deploy-asset-tag, then 3 quotes: TPM lockout counter %lu -> %lu -> %lu\n",
            after, deployed, da_counter());
    assert_true(deployed <= after + 1);
    assert_int_equal(da_counter(), deployed);

    struct cli_run r;
    status_run("", &r);
    fprintf(stderr, "%s", r.out);
    assert_non_null(strstr(r.out, "Asset tag:   QUOTES FAIL: the tag secret in config.yml"));
    assert_non_null(strstr(r.out, "define-tag-index"));
    assert_non_null(strstr(r.out, "TPM:         healthy")); /* one failure counted: not locked out */
    free(r.out);

    /* SIGHUP lets the next quote try again; with the TPM's limit at the counter + 1 that try locks it out */
    char args[64];
    snprintf(args, sizeof(args), "-s -n %lu -t 1000 -l 1000", da_counter() + 1);
    dictionarylockout(args);
    assert_int_equal(harness_proc_signal(w->agent, SIGHUP), 0);
    usleep(500 * 1000);
    quote_fails_with_tag_error();
    quote_fails_with_tag_error();
    status_run("", &r);
    fprintf(stderr, "%s", r.out);
    assert_non_null(strstr(r.out, "TPM:         in dictionary-attack lockout ("));
    assert_non_null(strstr(r.out, "tpm2_dictionarylockout --clear-lockout"));
    free(r.out);

    assert_int_equal(world_agent_stop(w), 0);
    tag_secret_flip();
    dictionarylockout("-c");
    dictionarylockout("-s -n 3 -t 1000 -l 1000");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aik_pem_checked),          cmocka_unit_test(test_status_stopped),
        cmocka_unit_test(test_status_running),           cmocka_unit_test(test_async_report),
        cmocka_unit_test(test_second_instance_refused),  cmocka_unit_test(test_status_after_stop),
        cmocka_unit_test(test_notify_watchdog),          cmocka_unit_test(test_no_status_socket),
        cmocka_unit_test(test_stop_with_report_running), cmocka_unit_test(test_stale_tag_secret),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
