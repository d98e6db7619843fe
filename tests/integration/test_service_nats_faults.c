/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NATS link's faults as the operator sees them (issue 12, items 3, 4, 7, 8): a subscription the
 * credentials refuse is a failure that the log and `tagent status` name with its fix; READY=1 only once a
 * NATS server took the connection, and WATCHDOG=1 pings through a NATS outage longer than WatchdogSec; a
 * damaged file in cacerts/ costs only itself; a truncated .creds file is named; a SIGTERM does not log
 * "reconnecting".
 */
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

#include "harness.h"
#include "world.h"

#define WATCHDOG_USEC 400000 /* pings every 200 ms: an outage of a few seconds is many WatchdogSecs */

static const char *tagent_bin, *corpora;
static world_t *w;

static int group_setup(void **state)
{
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = "edge-natsfault"};
    assert_int_equal(world_start(&o, &w), 0);
    return 0;
}

static int group_teardown(void **state)
{
    bool clean = world_log_clean(w); /* the last test's runs (fresh_log() checks the others') */
    world_free(w);
    return clean && harness_count_children() == 0 ? 0 : -1;
}

/* `tagent --root R <args>`: exit status, stdout+stderr in *ret_out (caller frees). */
static int tagent_run(const char *args, char **ret_out)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' --root '%s' %s 2>&1", tagent_bin, w->root, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 1 << 16);
    assert_non_null(out);
    size_t n = fread(out, 1, (1 << 16) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    *ret_out = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits up to ms for the agent's log to hold needle. */
static bool log_wait(const char *needle, int ms)
{
    for (int64_t until = world_now_ms() + ms; world_now_ms() < until; usleep(100 * 1000))
        if (world_log_has(w, needle))
            return true;
    return world_log_has(w, needle);
}

static void shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void shell(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
}

/* Each test reads only its own runs' log: the one before it must have left no agent and no sanitizer
 * report. */
static void fresh_log(void)
{
    world_agent_stop(w); /* a failed test may have left one running */
    assert_true(world_log_clean(w));
    shell(": > %s", w->log);
}

/* #3: another host id than the credentials were minted for. */
static void test_refused_subscription(void **state)
{
    fresh_log();
    /* as after TA_HOST_ID changed and setup said download-credential "already done" */
    shell("sed -i '/host-id/s/edge-natsfault/edge-someone-else/' %s/etc/trustagent/config.yml", w->root);
    assert_int_equal(world_agent_start(w, NULL, 3000), -ETIMEDOUT); /* nothing answers: nothing may */
    if (!log_wait("refused the subscription to trust-agent.edge-someone-else.>", 10000)) {
        harness_log_tail(w->log, 40);
        fail_msg("no refused-subscription error in the log");
    }
    assert_true(world_log_has(w, "download-credential --force"));
    assert_true(world_log_has(w, ".creds"));
    char *out = NULL;
    int st = tagent_run("status", &out);
    fprintf(stderr, "tagent status (exit %d):\n%s", st, out);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "NOT SERVING"));
    assert_non_null(strstr(out, "download-credential --force"));
    free(out);
    assert_int_equal(world_agent_stop(w), 0);
    shell("sed -i '/host-id/s/edge-someone-else/edge-natsfault/' %s/etc/trustagent/config.yml", w->root);
}

struct sink {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void sink_open(struct sink *n)
{
    snprintf(n->path, sizeof(n->path), "%s/notify-b.sock", w->dir);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(n->fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, n->path, sizeof(sa.sun_path));
    unlink(n->path);
    assert_int_equal(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

struct seen {
    int pings, ready, stopping;
};

/* Reads notifications for ms, counting them into s. */
static void sink_read(struct sink *n, int ms, struct seen *s)
{
    for (int64_t until = world_now_ms() + ms, left; (left = until - world_now_ms()) > 0;) {
        struct pollfd p = {.fd = n->fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char d[512];
        ssize_t len = recv(n->fd, d, sizeof(d) - 1, MSG_DONTWAIT);
        if (len < 0)
            continue;
        d[len] = '\0';
        s->pings += strstr(d, "WATCHDOG=1") != NULL;
        s->ready += strstr(d, "READY=1") != NULL;
        s->stopping += strstr(d, "STOPPING=1") != NULL;
    }
}

/* #4: READY=1 waits for the first connect; the pings go on while NATS is away; SIGTERM says no
 * "reconnecting". */
static void test_ready_and_watchdog(void **state)
{
    fresh_log();
    struct sink n;
    sink_open(&n);
    char env_sock[300], env_wd[64];
    snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", n.path);
    snprintf(env_wd, sizeof(env_wd), "WATCHDOG_USEC=%d", WATCHDOG_USEC);
    const char *env[] = {env_sock, env_wd, NULL};

    assert_int_equal(natsd_stop(w->nats[0]), 0);
    assert_int_equal(world_agent_start(w, env, 2000), -ETIMEDOUT); /* the agent runs, NATS is down */
    struct seen before = {0};
    sink_read(&n, 3000, &before);
    fprintf(stderr, "NATS down at start: %d pings, READY=1 %d times\n", before.pings, before.ready);
    assert_int_equal(before.ready, 0);
    assert_true(before.pings >= 5);

    assert_int_equal(natsd_restart(w->nats[0]), 0);
    struct seen after = {0};
    for (int64_t until = world_now_ms() + 20000; !after.ready && world_now_ms() < until;)
        sink_read(&n, 200, &after);
    assert_int_equal(after.ready, 1);
    assert_true(log_wait("serving trust-agent.edge-natsfault.>", 5000));

    /* an outage of 4 s: ten WatchdogSecs */
    assert_int_equal(natsd_stop(w->nats[0]), 0);
    struct seen outage = {0};
    sink_read(&n, 4000, &outage);
    fprintf(stderr, "NATS outage of 4 s: %d pings\n", outage.pings);
    assert_true(outage.pings >= 10);
    assert_int_equal(natsd_restart(w->nats[0]), 0);
    assert_true(log_wait("NATS: reconnected", 20000));

    /* "serving" once, not on every connect */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "test $(grep -c 'serving trust-agent.edge-natsfault' '%s') -eq 1", w->log);
    assert_int_equal(system(cmd), 0);

    assert_int_equal(world_agent_stop(w), 0);
    snprintf(cmd, sizeof(cmd), "sed -n '/SIGTERM/,$p' '%s' | grep -q reconnecting", w->log);
    assert_int_not_equal(system(cmd), 0);
    close(n.fd);
    unlink(n.path);
}

/* #8: a truncated PEM and a binary file in cacerts/ are named and skipped; the agent still connects. */
static void test_damaged_cacerts(void **state)
{
    fresh_log();
    shell("head -c 300 %s/etc/trustagent/cacerts/nats-ca.pem > %s/etc/trustagent/cacerts/0-truncated.pem",
          w->root, w->root);
    shell("head -c 200 /dev/urandom > %s/etc/trustagent/cacerts/1-binary.pem", w->root);
    assert_int_equal(world_agent_start(w, NULL, 30000), 0);
    assert_true(world_log_has(w, "0-truncated.pem skipped"));
    assert_true(world_log_has(w, "1-binary.pem skipped"));
    assert_int_equal(world_agent_stop(w), 0);
    shell("rm %s/etc/trustagent/cacerts/0-truncated.pem %s/etc/trustagent/cacerts/1-binary.pem", w->root,
          w->root);
}

/* #7: the NATS CA missing from cacerts/, and a truncated .creds file, each said as such. */
static void test_tls_and_creds_errors(void **state)
{
    fresh_log();
    shell("mv %s/etc/trustagent/cacerts/nats-ca.pem %s/nats-ca.pem.away", w->root, w->dir);
    assert_int_equal(world_agent_start(w, NULL, 4000), -ETIMEDOUT);
    bool said = log_wait("TLS verification of the NATS server failed", 8000);
    if (!said)
        harness_log_tail(w->log, 30);
    assert_true(said);
    assert_true(world_log_has(w, "/etc/trustagent/cacerts"));
    char *out = NULL;
    int st = tagent_run("status", &out);
    fprintf(stderr, "tagent status, NATS CA missing (exit %d):\n%s", st, out);
    assert_non_null(strstr(out, "TLS verification of the NATS server failed"));
    assert_non_null(strstr(out, "/etc/trustagent/cacerts"));
    free(out);
    assert_int_equal(world_agent_stop(w), 0);
    shell("mv %s/nats-ca.pem.away %s/etc/trustagent/cacerts/nats-ca.pem", w->dir, w->root);

    shell("cp %s/etc/trustagent/credentials/trust-agent.creds %s/creds.away && head -c 100 %s/creds.away > "
          "%s/etc/trustagent/credentials/trust-agent.creds",
          w->root, w->dir, w->dir, w->root);
    assert_int_equal(world_agent_start(w, NULL, 3000), -ETIMEDOUT);
    said = log_wait("are unusable", 5000);
    if (!said)
        harness_log_tail(w->log, 30);
    assert_true(said);
    assert_true(world_log_has(w, "trust-agent.creds are unusable"));
    assert_true(world_log_has(w, "download-credential --force"));
    assert_int_equal(world_agent_stop(w), 0);
    shell("cp %s/creds.away %s/etc/trustagent/credentials/trust-agent.creds", w->dir, w->root);
}

/* #3, setup's side: credentials minted for another host id are "not done" for this one. */
static void test_setup_notices_other_host_id(void **state)
{
    world_agent_stop(w);
    char *out = NULL, args[1200];
    snprintf(args, sizeof(args), "setup download-credential -f '%s/ta.env'", w->dir);
    int st = tagent_run(args, &out);
    fprintf(stderr, "same host id (exit %d):\n%s", st, out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "already done"));
    free(out);

    shell("sed 's/^TA_HOST_ID=.*/TA_HOST_ID=edge-moved/' %s/ta.env > %s/ta-moved.env", w->dir, w->dir);
    snprintf(args, sizeof(args), "setup download-credential -f '%s/ta-moved.env'", w->dir);
    st = tagent_run(args, &out);
    fprintf(stderr, "another host id (exit %d):\n%s", st, out);
    assert_int_equal(st, 0);
    assert_null(strstr(out, "already done"));
    free(out);

    /* and back: the creds now name edge-moved, so this host id's are fetched again */
    snprintf(args, sizeof(args), "setup download-credential -f '%s/ta.env'", w->dir);
    st = tagent_run(args, &out);
    fprintf(stderr, "back (exit %d):\n%s", st, out);
    assert_int_equal(st, 0);
    assert_null(strstr(out, "already done"));
    free(out);
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
        cmocka_unit_test(test_refused_subscription),
        cmocka_unit_test(test_ready_and_watchdog),
        cmocka_unit_test(test_damaged_cacerts),
        cmocka_unit_test(test_tls_and_creds_errors),
        cmocka_unit_test(test_setup_notices_other_host_id),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
