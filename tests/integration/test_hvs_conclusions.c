/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What HVS concludes from the running agent's replies, per subject and per failure (issue 10): every reply
 * is judged by HVS's own client rules (tests/mock/hvs_ta_client.c: nats.go's Request, encoding/json into
 * HVS's target types, the connector's steps after the decode).
 *   - every success of every subject is a success on HVS's side;
 *   - every failure is an error on HVS's side, never a success with empty data or a panic, within 1 s (8.5 s
 *     when the TPM hangs): a bad request, the TPM down, the TPM hung past the deadline, a file write that
 *     fails, a file that cannot be read, tbootxm absent, an unknown subject, a full queue, shutting down;
 *   - the reply says what failed (Tagent-Error-Code and Tagent-Error).
 * The reply over max_payload is in test_service_faults.c (it restarts the NATS server).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hvs_expect.h"
#include "hvs_verify.h"
#include "world.h"

#define HOST_ID   "edge-hvs"
#define FAST_MS   1000 /* a failure HVS learns of at once */
#define HUNG_MS   9000 /* the agent's 8 s deadline, plus the watchdog's tick and delivery (HVS waits 10 s) */
#define QUEUE_MAX 64   /* agent/service/service.c SERVICE_QUEUE_MAX */
#define WORKERS   2    /* agent/service/service.c SERVICE_WORKERS */
#define UUID4     "7a4e3f2c-9b1d-4c8e-a5f6-0123456789ab"

static const char *tagent_bin, *corpora;
static world_t *w;

/* HVS's Manifest as its json.Marshal writes it (Label and Uuid as the Go agent checks them). */
static const char manifest[] =
    "{\"XMLName\":{\"Space\":\"lib:wml:manifests:1.0\",\"Local\":\"Manifest\"},\"Xmlns\":\"lib:wml:manifests:"
    "1.0\","
    "\"Label\":\"ISL_Applications\",\"Uuid\":\"" UUID4 "\",\"DigestAlg\":\"SHA384\","
    "\"Dir\":null,\"File\":[{\"Path\":\"/opt/trustagent/bin/tagent\",\"SearchType\":\"\"}],\"Symlink\":null}";

static char *root_path(const char *rel)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s%s", w->root, rel) > 0);
    return p;
}

static void quote_payload(char *buf, size_t size)
{
    uint8_t nonce[32];
    RAND_bytes(nonce, sizeof(nonce));
    world_quote_payload(nonce, buf, size);
}

static void expect_error(const char *suffix, const char *payload, int code, const char *needle)
{
    hvs_expect_error_saying(w->hvs, HOST_ID, suffix, payload, code, FAST_MS, needle);
}

static int group_setup(void **state)
{
    (void)state;
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = HOST_ID};
    int r = world_start(&o, &w);
    static const char *const dirs[] = {"/opt", "/opt/trustagent", "/opt/trustagent/var"};
    for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) { /* as the installer makes it */
        char path[600];
        snprintf(path, sizeof(path), "%s%s", w->root, dirs[i]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            r = -errno;
    }
    return r == 0 ? world_agent_start(w, NULL, 40000) : r;
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(w);
    w = NULL;
    return harness_count_children() == 0 ? 0 : -1;
}

/* ---- successes ---- */

static void test_successes(void **state)
{
    (void)state;
    struct hvs_ta_result r;
    hvs_expect_ok(w->hvs, HOST_ID, "version-request", "null", &r);
    hvs_ta_result_free(&r);
    hvs_expect_ok(w->hvs, HOST_ID, "aik-request", "null", &r);
    assert_true(r.body_len > 100 && r.body[0] == '"');
    hvs_ta_result_free(&r);
    hvs_expect_ok(w->hvs, HOST_ID, "host-info-request", "null", &r);
    hvs_ta_result_free(&r);
    hvs_expect_ok(w->hvs, HOST_ID, "get-binding-certificate", "null", &r);
    assert_string_equal(r.body, "null"); /* no workload agent: "no binding key", not an error */
    hvs_ta_result_free(&r);

    uint8_t nonce[32], tag[48];
    char payload[512];
    RAND_bytes(nonce, sizeof(nonce));
    world_quote_payload(nonce, payload, sizeof(payload));
    hvs_expect_ok(w->hvs, HOST_ID, "quote-request", payload, &r);
    cJSON *j = cJSON_Parse(r.body);
    struct hvs_quote q;
    assert_true(hvs_verify_quote(j, nonce, sizeof(nonce), &q));
    cJSON_Delete(j);
    hvs_ta_result_free(&r);

    RAND_bytes(tag, sizeof(tag));
    char *b64 = hvs_b64_encode(tag, sizeof(tag));
    snprintf(payload, sizeof(payload), "{\"tag\":\"%s\",\"hardware_uuid\":\"%s\"}", b64, UUID4);
    free(b64);
    hvs_expect_ok(w->hvs, HOST_ID, "deploy-asset-tag", payload, &r);
    assert_string_equal(r.body, "\"\"");
    hvs_ta_result_free(&r);

    hvs_expect_ok(w->hvs, HOST_ID, "deploy-manifest", manifest, &r);
    hvs_ta_result_free(&r);
    char *written = root_path("/opt/trustagent/var/manifest_" UUID4 ".xml");
    assert_true(harness_path_exists(written));
    assert_int_equal(unlink(written), 0);
    free(written);
}

/* ---- failures answered at once ---- */

static void test_bad_requests(void **state)
{
    (void)state;
    expect_error("quote-request", "{\"nonce\":\"not base64!\",\"pcrs\":[0]}", ERR_REQUEST, "nonce");
    /* a nonce cut short by \u0000 was once accepted */
    expect_error("quote-request", "{\"nonce\":\"AAAA\\u0000AAAA\",\"pcrs\":[0]}", ERR_REQUEST,
                 "NUL character");
    expect_error("quote-request", "null", ERR_REQUEST, "quote-request");
    expect_error("deploy-asset-tag", "{\"tag\":\"AAAA\"}", ERR_REQUEST, "tag");
    expect_error("deploy-manifest", "{\"Label\":\"x\",\"Uuid\":\"not-a-uuid\"}", ERR_REQUEST, "Uuid");
    expect_error("application-measurement-request", "[1]", ERR_REQUEST, "application-measurement-request");
}

static void test_unknown_subject(void **state)
{
    (void)state;
    expect_error("no-such-request", "null", ERR_UNSUPPORTED, "unknown subject");
    expect_error("send-ima-filelist-request", "null", ERR_UNSUPPORTED, "unknown subject");
}

static void test_tbootxm_absent(void **state)
{
    (void)state;
    expect_error("application-measurement-request", manifest, ERR_UNSUPPORTED, "tbootxm");
}

/* A manifest that cannot be written (a directory where the file goes): an error, and nothing half-written. */
static void test_write_failed(void **state)
{
    (void)state;
    char *target = root_path("/opt/trustagent/var/manifest_" UUID4 ".xml");
    assert_int_equal(mkdir(target, 0700), 0);
    expect_error("deploy-manifest", manifest, ERR_FAILED, "writing");
    assert_int_equal(rmdir(target), 0);
    free(target);
}

/* deploy-manifest keeps one file per Uuid, whatever its case, and at most 1000 files. */
static void test_manifest_case_and_cap(void **state)
{
    (void)state;
    char *upper = strdup(manifest), *u = strstr(upper, UUID4);
    for (char *c = u; c < u + strlen(UUID4); c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c);
    struct hvs_ta_result r;
    hvs_expect_ok(w->hvs, HOST_ID, "deploy-manifest", manifest, &r);
    hvs_ta_result_free(&r);
    hvs_expect_ok(w->hvs, HOST_ID, "deploy-manifest", upper, &r);
    hvs_ta_result_free(&r);
    free(upper);
    /* the upper-case Uuid replaced the file instead of adding manifest_7A4E....xml */
    char *second = root_path("/opt/trustagent/var/manifest_7A4E3F2C-9B1D-4C8E-A5F6-0123456789AB.xml");
    assert_int_equal(access(second, F_OK), -1);
    free(second);
    char *lower = root_path("/opt/trustagent/var/manifest_" UUID4 ".xml");
    assert_int_equal(access(lower, F_OK), 0);
    free(lower);
    char *dir = root_path("/opt/trustagent/var"), path[700];
    for (int i = 0; i < 999; i++) {
        snprintf(path, sizeof(path), "%s/manifest_%08x-0000-4000-8000-000000000000.xml", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    char *other = strdup(manifest);
    strstr(other, UUID4)[0] = 'b';
    expect_error("deploy-manifest", other, ERR_FAILED, "already holds 1000 manifests");
    free(other);
    for (int i = 0; i < 999; i++) {
        snprintf(path, sizeof(path), "%s/manifest_%08x-0000-4000-8000-000000000000.xml", dir, i);
        unlink(path);
    }
    free(dir);
}

/* Files the replies are made of, unreadable: the AIK certificate, the SMBIOS table (with no platform-info
 * from `tagent init` to fall back on), the binding key. */
static void test_unreadable_files(void **state)
{
    (void)state;
    char *aik = root_path("/etc/trustagent/aik.pem"), *moved = root_path("/etc/trustagent/aik.pem.away");
    assert_int_equal(rename(aik, moved), 0);
    expect_error("aik-request", "null", ERR_FAILED, "AIK");
    assert_int_equal(rename(moved, aik), 0);
    free(aik);
    free(moved);

    char *dmi = root_path("/sys/firmware/dmi/tables/DMI"),
         *dmi_away = root_path("/sys/firmware/dmi/tables/DMI.away");
    assert_int_equal(rename(dmi, dmi_away), 0);
    assert_int_equal(mkdir(dmi, 0700), 0);
    expect_error("host-info-request", "null", ERR_FAILED, "host info");
    assert_int_equal(rmdir(dmi), 0);
    assert_int_equal(rename(dmi_away, dmi), 0);
    free(dmi);
    free(dmi_away);

    char *wla = root_path("/etc/workload-agent"), *key = root_path("/etc/workload-agent/bindingkey.pem");
    assert_int_equal(mkdir(wla, 0700), 0);
    assert_int_equal(mkdir(key, 0700), 0);
    expect_error("get-binding-certificate", "null", ERR_FAILED, "bindingkey.pem");
    assert_int_equal(rmdir(key), 0);
    assert_int_equal(rmdir(wla), 0);
    free(wla);
    free(key);
}

static void test_tpm_down(void **state)
{
    (void)state;
    char payload[512];
    assert_int_equal(swtpm_stop(w->tpm), 0);
    quote_payload(payload, sizeof(payload));
    expect_error("quote-request", payload, ERR_FAILED, "TPM");
    char *b64 = NULL;
    uint8_t tag[48] = {1};
    b64 = hvs_b64_encode(tag, sizeof(tag));
    snprintf(payload, sizeof(payload), "{\"tag\":\"%s\",\"hardware_uuid\":\"%s\"}", b64, UUID4);
    free(b64);
    expect_error("deploy-asset-tag", payload, ERR_FAILED, "TPM");
    assert_int_equal(swtpm_restart(w->tpm), 0);
    struct hvs_ta_result r;
    quote_payload(payload, sizeof(payload));
    hvs_expect_ok(w->hvs, HOST_ID, "quote-request", payload, &r);
    hvs_ta_result_free(&r);
}

/* Hangs the TPM (swtpm SIGSTOPped) and sends one quote per worker: every worker that may run TPM work will
 * block in it. */
static void hang_quotes(struct hvs_ta_pending inflight[WORKERS])
{
    char payload[512];
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    for (int i = 0; i < WORKERS; i++) {
        quote_payload(payload, sizeof(payload));
        assert_int_equal(
            hvs_ta_send(w->hvs, HOST_ID, "quote-request", payload, strlen(payload), &inflight[i]), 0);
    }
}

/* The TPM hangs with both workers stuck in quotes: requests that need no TPM (version, host-info, aik) are
 * still answered, successfully and at once, by the worker kept for them (agent/service/pool.c). */
static void test_tpm_hung_light_requests(void **state)
{
    (void)state;
    static const char *const light[] = {"version-request", "host-info-request", "aik-request"};
    struct hvs_ta_pending inflight[WORKERS];
    hang_quotes(inflight);
    usleep(300 * 1000); /* both quotes are in the TPM now */
    for (size_t i = 0; i < sizeof(light) / sizeof(light[0]); i++) {
        struct hvs_ta_result r;
        assert_int_equal(hvs_ta_request(w->hvs, HOST_ID, light[i], "null", 4, 10000, &r), 0);
        fprintf(stderr, "TPM hung, 2 quotes in flight: %s -> %s in %lld ms\n", light[i],
                hvs_outcome_name(r.outcome), (long long)r.ms);
        if (r.outcome != HVS_OK || r.ms > FAST_MS)
            fail_msg("%s with the TPM hung: HVS concludes %s (%s) after %lld ms", light[i],
                     hvs_outcome_name(r.outcome), r.error, (long long)r.ms);
        hvs_ta_result_free(&r);
    }
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    for (int i = 0; i < WORKERS; i++) { /* each still gets exactly one reply */
        struct hvs_ta_result r;
        hvs_ta_wait(&inflight[i], 10000, &r);
        assert_true(r.replied);
        hvs_ta_result_free(&r);
    }
}

/* The TPM hangs (swtpm SIGSTOPped): the two workers block in quotes, the queue fills; the requests over the
 * queue are refused at once, every other one gets the deadline's error, all of them errors on HVS's side. */
static void test_tpm_hung_queue_full(void **state)
{
    (void)state;
    enum { N = WORKERS + QUEUE_MAX + 6 };
    static struct hvs_ta_pending pending[N];
    char payload[512];
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    for (int i = 0; i < N; i++) {
        quote_payload(payload, sizeof(payload));
        assert_int_equal(hvs_ta_send(w->hvs, HOST_ID, "quote-request", payload, strlen(payload), &pending[i]),
                         0);
        if (i < WORKERS)
            usleep(100 * 1000); /* the first two reach the workers before the rest are queued */
    }
    int busy = 0, deadline = 0;
    int64_t busy_max = 0, deadline_max = 0;
    for (int i = N - 1; i >= 0; i--) { /* the refused ones are the last sent: collect them first */
        struct hvs_ta_result r;
        hvs_ta_wait(&pending[i], 10000, &r);
        if (r.outcome != HVS_ERROR)
            fail_msg("request %d of %d with the TPM hung: HVS concludes %s", i, N,
                     hvs_outcome_name(r.outcome));
        if (!r.replied)
            fail_msg("request %d: no reply within HVS's 10 s", i);
        assert_int_equal(r.tagent_code, ERR_TIMEOUT);
        if (strstr(r.tagent_error, "too many requests queued")) {
            busy++;
            busy_max = r.ms > busy_max ? r.ms : busy_max;
        } else {
            deadline++;
            deadline_max = r.ms > deadline_max ? r.ms : deadline_max;
        }
        hvs_ta_result_free(&r);
    }
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    fprintf(stderr,
            "TPM hung, %d requests: %d refused as busy (slowest %lld ms), %d answered by the deadline "
            "(slowest %lld ms)\n",
            N, busy, (long long)busy_max, deadline, (long long)deadline_max);
    assert_true(busy >= N - WORKERS - QUEUE_MAX);
    assert_int_equal(busy + deadline, N);
    assert_true(busy_max <= FAST_MS);
    assert_true(deadline_max <= HUNG_MS);
    /* the refusals came within a second: one warning line for them, and one with the count of the rest */
    char *log = harness_file_slurp(w->log);
    int lines = 0;
    for (const char *at = log; (at = strstr(at, "quote-request refused: tagent is busy")); at++)
        lines++;
    fprintf(stderr, "%d busy refusals logged in %d line(s)\n", busy, lines);
    assert_true(lines <= 2);
    assert_non_null(strstr(log, "more requests refused"));
    free(log);
    struct hvs_ta_result r;
    quote_payload(payload, sizeof(payload));
    hvs_expect_ok(w->hvs, HOST_ID, "quote-request", payload, &r); /* serving again */
    hvs_ta_result_free(&r);
}

/* A request while the agent stops: an error on HVS's side at once, from the agent ("shutting down") while
 * its subscription is still there, else from nats-server (no responders: the agent drained it). */
static void expect_stopping_error(const char *suffix, const char *payload)
{
    struct hvs_ta_result r;
    assert_int_equal(hvs_ta_request(w->hvs, HOST_ID, suffix, payload, strlen(payload), 10000, &r), 0);
    if (r.outcome != HVS_ERROR || r.ms > FAST_MS)
        fail_msg("%s while stopping: HVS concludes %s after %lld ms", suffix, hvs_outcome_name(r.outcome),
                 (long long)r.ms);
    if (r.tagent_error && (r.tagent_code != ERR_TIMEOUT || !strstr(r.tagent_error, "shutting down")))
        fail_msg("%s while stopping: %d %s", suffix, r.tagent_code, r.tagent_error);
    fprintf(stderr, "%s while stopping: %s in %lld ms (%s)\n", suffix, r.error, (long long)r.ms,
            r.tagent_error ? r.tagent_error : "from nats-server");
    hvs_ta_result_free(&r);
}

/* SIGTERM while two quotes hang in the TPM: requests after it are errors at once, the two in flight get
 * their error when the stop's grace period (5 s) ends, and the agent exits 0. */
static void test_shutting_down(void **state)
{
    (void)state;
    struct hvs_ta_pending inflight[WORKERS];
    hang_quotes(inflight);
    usleep(300 * 1000);
    assert_int_equal(harness_proc_signal(w->agent, SIGTERM), 0);
    usleep(300 * 1000);
    expect_stopping_error("host-info-request", "null");
    expect_stopping_error("deploy-manifest", manifest);
    for (int i = 0; i < WORKERS; i++) {
        struct hvs_ta_result r;
        hvs_ta_wait(&inflight[i], 10000, &r);
        if (r.outcome != HVS_ERROR || !r.replied)
            fail_msg("in-flight quote at SIGTERM: HVS concludes %s after %lld ms",
                     hvs_outcome_name(r.outcome), (long long)r.ms);
        assert_int_equal(r.tagent_code, ERR_TIMEOUT);
        assert_non_null(strstr(r.tagent_error, "shutting down"));
        assert_true(r.ms <= HUNG_MS);
        fprintf(stderr, "in-flight quote at SIGTERM: error after %lld ms: %s\n", (long long)r.ms,
                r.tagent_error);
        hvs_ta_result_free(&r);
    }
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    assert_int_equal(world_agent_stop(w), 0);
    assert_true(world_log_clean(w));
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
        cmocka_unit_test(test_successes),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_unknown_subject),
        cmocka_unit_test(test_tbootxm_absent),
        cmocka_unit_test(test_write_failed),
        cmocka_unit_test(test_manifest_case_and_cap),
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_tpm_down),
        cmocka_unit_test(test_tpm_hung_light_requests),
        cmocka_unit_test(test_tpm_hung_queue_full),
        cmocka_unit_test(test_shutting_down),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
