/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent startService` end to end: swtpm (EK certificate, SHA1+SHA256+SHA384 banks) + the mock control
 * plane + nats-server in operator mode; `tagent setup all` provisions a temp root, then the real binary
 * serves NATS while this test plays HVS with the mock's hvs.creds and verifies every reply as HVS does
 * (AIK signature over the attest, extraData = the verification nonce, PCR values hashing to pcrDigest).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "harness.h"
#include "world.h"
#include "hvs_expect.h"
#include "hvs_verify.h"
#include "quote.h"

#define HOST_ID "edge-svc"
#define SUBJ(x) "trust-agent." HOST_ID "." x

static const char *tagent_bin, *corpora;

static world_t *w;
static uint8_t aik_modulus[256]; /* the AIK the TPM holds */

static uint8_t *b64_decode(const char *s, size_t *ret_len)
{
    size_t n = strlen(s);
    uint8_t *out = malloc(n / 4 * 3 + 4);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    assert_true(len >= 0);
    if (n && s[n - 1] == '=')
        len--;
    if (n > 1 && s[n - 2] == '=')
        len--;
    *ret_len = (size_t)len;
    return out;
}

static char *b64_encode(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* One request as HVS sends it; returns the reply text (caller frees) and its round-trip time. */
static char *request(const char *subject, const char *payload, int64_t *ret_ms)
{
    natsMsg *reply = NULL;
    int64_t start = world_now_ms();
    natsStatus s = natsConnection_Request(&reply, w->hvs, subject, payload, (int)strlen(payload), 5000);
    if (ret_ms)
        *ret_ms = world_now_ms() - start;
    if (s != NATS_OK) {
        harness_log_tail(w->log, 40);
        fail_msg("request %s: %s", subject, natsStatus_GetText(s));
    }
    char *text = strndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return text;
}

static cJSON *request_json(const char *subject, const char *payload, int64_t *ret_ms)
{
    char *text = request(subject, payload, ret_ms);
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s: reply is not JSON: %.200s", subject, text);
    free(text);
    return j;
}

static void start_agent(void)
{
    assert_int_equal(world_agent_start(w, NULL, 40000), 0);
}

static int group_setup(void **state)
{
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = HOST_ID};
    assert_int_equal(world_start(&o, &w), 0);

    /* the AIK the TPM holds (before the agent keeps the swtpm connection) */
    tpm_t *t = NULL;
    struct tpm_aik_info aik = {0};
    assert_int_equal(tpm_open(w->tpm->tcti, &t, NULL), 0);
    assert_int_equal(tpm_aik_info(t, &aik, NULL), 0);
    memcpy(aik_modulus, aik.modulus, 256);
    free(aik.pem);
    tpm_close(t);
    start_agent();
    return 0;
}

static int group_teardown(void **state)
{
    world_free(w);
    w = NULL;
    return harness_count_children() == 0 ? 0 : -1;
}

static void test_version(void **state)
{
    cJSON *j = request_json(SUBJ("version-request"), "null", NULL);
    assert_true(cJSON_IsString(j));
    assert_non_null(strstr(j->valuestring, "Service Name: Trust Agent\nVersion: v"));
    assert_non_null(strstr(j->valuestring, "\nBuild Date: "));
    cJSON_Delete(j);
}

static void test_aik(void **state)
{
    cJSON *j = request_json(SUBJ("aik-request"), "null", NULL);
    assert_true(cJSON_IsString(j));
    size_t len;
    uint8_t *der = b64_decode(j->valuestring, &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    BIGNUM *n = NULL;
    uint8_t mod[256];
    assert_true(EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_N, &n));
    assert_int_equal(BN_bn2binpad(n, mod, 256), 256);
    assert_memory_equal(mod, aik_modulus, 256);
    BN_free(n);
    X509_free(x);
    free(der);
    cJSON_Delete(j);
}

/* Verifies a successful quote reply as HVS does; tag NULL: no asset tag expected. */
static void verify_quote(cJSON *j, const uint8_t *nonce, size_t nonce_len, const uint8_t *tag)
{
    cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "ErrorCode");
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "ErrorMessage");
    if (!cJSON_IsNumber(code) || code->valueint != 0)
        fail_msg("quote failed: %s", cJSON_IsString(msg) ? msg->valuestring : "?");
    assert_string_equal(msg->valuestring, "OK");
    static const char *const keys[] = {
        "XMLName", "TimeStamp",       "ErrorCode",        "ErrorMessage",     "Aik",     "Quote", "EventLog",
        "ImaLogs", "TcbMeasurements", "SelectedPcrBanks", "IsTagProvisioned", "AssetTag"};
    cJSON *it = j->child;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++, it = it->next) {
        assert_non_null(it);
        assert_string_equal(it->string, keys[i]);
    }
    assert_null(it);
    cJSON *banks = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "SelectedPcrBanks"),
                                                    "SelectedPcrBanks");
    assert_int_equal(cJSON_GetArraySize(banks), 2);
    assert_string_equal(cJSON_GetArrayItem(banks, 0)->valuestring, "SHA384");
    assert_string_equal(cJSON_GetArrayItem(banks, 1)->valuestring, "SHA256");
    /* the event log from the corpus file, as measure-log JSON */
    cJSON *ev = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(j, "EventLog")->valuestring);
    assert_true(cJSON_IsArray(ev) && cJSON_GetArraySize(ev) > 0);
    cJSON_Delete(ev);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "ImaLogs")->valuestring, "");
    assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "IsTagProvisioned")));
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "IsTagProvisioned")), tag != NULL);
    const char *asset = cJSON_GetObjectItemCaseSensitive(j, "AssetTag")->valuestring;
    if (tag) {
        char *b64 = b64_encode(tag, 48);
        assert_string_equal(asset, b64);
        free(b64);
    } else
        assert_string_equal(asset, "");

    /* AIK signature, extraData, pcrDigest: HVS's checks, shared with tagent-hvs (tests/mock/hvs_verify.c) */
    struct hvs_quote q;
    bool ok = hvs_verify_quote(j, nonce, nonce_len, &q);
    for (size_t i = 0; i < q.nchecks; i++)
        if (!q.checks[i].ok)
            fail_msg("HVS check %s: %s", q.checks[i].name, q.checks[i].msg);
    assert_true(ok);
    assert_int_equal(q.tag_provisioned, tag != NULL);
    if (tag)
        assert_memory_equal(q.tag, tag, 48);
    assert_int_equal(q.nbanks, 2);
    assert_int_equal(q.banks[0].alg, 0x000c);
    assert_int_equal(q.banks[1].alg, 0x000b);
    for (uint32_t i = 0; i < q.nbanks; i++) {
        assert_int_equal(q.banks[i].select_size, 3);
        assert_memory_equal(q.banks[i].bits, "\xff\xff\xff", 3);
    }
}

/* verify_quote() with the tag the reply says is deployed (an earlier test may have deployed one). */
static void verify_quote_tagged_or_not(cJSON *j, const uint8_t nonce[32])
{
    size_t n;
    uint8_t *tag = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "IsTagProvisioned"))
                       ? b64_decode(cJSON_GetObjectItemCaseSensitive(j, "AssetTag")->valuestring, &n)
                       : NULL;
    verify_quote(j, nonce, 32, tag);
    free(tag);
}

static cJSON *quote_request(uint8_t nonce[32], int64_t *ret_ms)
{
    RAND_bytes(nonce, 32);
    char *b64 = b64_encode(nonce, 32), payload[512];
    snprintf(payload, sizeof(payload),
             "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23],"
             "\"pcrbanks\":[],\"ima_measure_enabled\":false}",
             b64);
    free(b64);
    return request_json(SUBJ("quote-request"), payload, ret_ms);
}

static void test_quote(void **state)
{
    uint8_t nonce[32];
    int64_t ms;
    cJSON *j = quote_request(nonce, &ms);
    verify_quote(j, nonce, 32, NULL);
    cJSON_Delete(j);
    fprintf(stderr, "quote-request answered in %lld ms\n", (long long)ms);
}

/* ima_measure_enabled: the IMA log (read per request, so linked in while the agent runs) as HVS's imaLogs
 * JSON next to a quote that still verifies; with the log gone the quote fails as the Go agent's does, with a
 * message naming IMA. */
static void test_quote_ima(void **state)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/sys/kernel/security/ima && ln -sf %s/isecl/ima/ascii_runtime_measurements "
             "%s/sys/kernel/security/ima/ascii_runtime_measurements",
             w->root, corpora, w->root);
    assert_int_equal(system(cmd), 0);
    uint8_t nonce[32];
    RAND_bytes(nonce, 32);
    char *b64 = b64_encode(nonce, 32), payload[512];
    snprintf(payload, sizeof(payload),
             "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7,10],\"pcrbanks\":[\"SHA256\"],"
             "\"ima_measure_enabled\":true}",
             b64);
    free(b64);
    cJSON *j = request_json(SUBJ("quote-request"), payload, NULL);
    struct hvs_quote q;
    if (!hvs_verify_quote(j, nonce, 32, &q))
        fail_msg("quote with IMA: %s", cJSON_GetObjectItemCaseSensitive(j, "ErrorMessage")->valuestring);
    cJSON *ima = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(j, "ImaLogs")->valuestring);
    assert_non_null(ima);
    const cJSON *pcr = cJSON_GetObjectItemCaseSensitive(ima, "pcr");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(pcr, "index")->valueint, 10);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ima, "ima_template")->valuestring, "ima-sig");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ima, "ima_measurements");
    assert_int_equal(cJSON_GetArraySize(m), 101); /* one per line of the corpus file */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(m, 1), "file")->valuestring,
                        "/usr/lib/systemd/systemd");
    cJSON_Delete(ima);
    cJSON_Delete(j);

    snprintf(cmd, sizeof(cmd), "rm %s/sys/kernel/security/ima/ascii_runtime_measurements", w->root);
    assert_int_equal(system(cmd), 0);
    hvs_expect_error_saying(w->hvs, HOST_ID, "quote-request", payload, ERR_FAILED, 1000, "IMA");
}

/* The shared HVS checks (hvs_verify.c) catch what they are for: one altered field fails exactly its check. */
static void expect_only_failure(const cJSON *j, const uint8_t *nonce, const char *name)
{
    struct hvs_quote q;
    assert_false(hvs_verify_quote(j, nonce, 32, &q));
    for (size_t i = 0; i < q.nchecks; i++)
        if (q.checks[i].ok == (strcmp(q.checks[i].name, name) == 0))
            fail_msg("altered %s: check %s ok=%d (%s)", name, q.checks[i].name, q.checks[i].ok,
                     q.checks[i].msg);
}

static void tamper_quote(cJSON *j, const uint8_t *nonce, size_t at_from_end, size_t at, const char *name)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(j, "Quote");
    char *orig = strdup(item->valuestring);
    size_t len;
    uint8_t *blob = hvs_b64_decode(orig, &len);
    assert_non_null(blob);
    blob[at_from_end ? len - at_from_end : at] ^= 0x01;
    char *b64 = hvs_b64_encode(blob, len);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "Quote", cJSON_CreateString(b64));
    expect_only_failure(j, nonce, name);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "Quote", cJSON_CreateString(orig));
    free(b64);
    free(blob);
    free(orig);
}

static void test_quote_tampered(void **state)
{
    uint8_t nonce[32];
    cJSON *j = quote_request(nonce, NULL);
    struct hvs_quote q;
    assert_true(hvs_verify_quote(j, nonce, 32, &q));
    size_t len;
    uint8_t *blob = hvs_b64_decode(cJSON_GetObjectItemCaseSensitive(j, "Quote")->valuestring, &len);
    size_t attest_len = (size_t)(blob[0] << 8 | blob[1]), signer_len = (size_t)(blob[8] << 8 | blob[9]);
    free(blob);
    tamper_quote(j, nonce, 1, 0, "pcr-digest");                                      /* last PCR value byte */
    tamper_quote(j, nonce, 0, 2 + attest_len + 6 + 10, "aik-signature");             /* signature byte */
    tamper_quote(j, nonce, 0, 2 + 6 + 2 + signer_len + 2 + 32 + 3, "aik-signature"); /* attest: clockInfo */
    nonce[0] ^= 1;
    expect_only_failure(j, nonce, "nonce");
    nonce[0] ^= 1;
    char *aik = strdup(cJSON_GetObjectItemCaseSensitive(j, "Aik")->valuestring);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "Aik",
                                           cJSON_CreateString("bm90IGEgY2VydA==")); /* "not a cert" */
    assert_false(hvs_verify_quote(j, nonce, 32, &q));
    assert_false(q.checks[1].ok);
    assert_string_equal(q.checks[1].name, "aik-certificate");
    assert_false(q.checks[3].ok); /* no key, no signature check */
    assert_true(q.checks[4].ok && q.checks[5].ok);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "Aik", cJSON_CreateString(aik));
    free(aik);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "ErrorCode", cJSON_CreateNumber(5));
    assert_false(hvs_verify_quote(j, nonce, 32, &q));
    for (size_t i = 0; i < q.nchecks; i++)
        assert_false(q.checks[i].ok);
    cJSON_Delete(j);
}

/* A malformed request: an error on HVS's side within 1 s (tests/mock/hvs_ta_client.c judges it). */
static void assert_error_reply(const char *suffix, const char *payload, int code)
{
    hvs_expect_error(w->hvs, HOST_ID, suffix, payload, strlen(payload), code, 1000);
}

static void test_bad_requests(void **state)
{
    assert_error_reply("quote-request", "{\"nonce\":", ERR_REQUEST);
    assert_error_reply("quote-request", "null", ERR_REQUEST);
    assert_error_reply("quote-request", "{\"nonce\":\"\",\"pcrs\":[0]}", ERR_REQUEST);
    assert_error_reply("quote-request", "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"MD5\"]}",
                       ERR_REQUEST);
    assert_error_reply("quote-request", "{\"nonce\":\"AAAA\",\"pcrs\":[24]}", ERR_REQUEST);
    assert_error_reply("quote-request", "{\"nonce\":\"not base64!\",\"pcrs\":[0]}", ERR_REQUEST);
    assert_error_reply("deploy-asset-tag", "{\"tag\":\"AAAA\"}", ERR_REQUEST);
    assert_error_reply("deploy-manifest", "{}", ERR_REQUEST);
    assert_error_reply("application-measurement-request", "{}", 0);
    assert_error_reply("no-such-request", "null", ERR_UNSUPPORTED);
    /* keys match case-insensitively, unknown keys are ignored, as Go's json.Unmarshal */
    uint8_t nonce[32] = {1, 2, 3};
    char *b64 = b64_encode(nonce, 32), payload[256];
    snprintf(payload, sizeof(payload), "{\"NONCE\":\"%s\",\"Pcrs\":[0,1,2,3,4,5,6,7],\"extra\":1}", b64);
    free(b64);
    struct hvs_ta_result r;
    hvs_expect_ok(w->hvs, HOST_ID, "quote-request", payload, &r);
    hvs_ta_result_free(&r);
    test_version(state); /* still serving */
    /* binding key: none provisioned -> null */
    char *text = request(SUBJ("get-binding-certificate"), "null", NULL);
    assert_string_equal(text, "null");
    free(text);
}

static void test_asset_tag(void **state)
{
    uint8_t tag[48], nonce[32];
    RAND_bytes(tag, sizeof(tag));
    char *b64 = b64_encode(tag, 48), payload[256];
    snprintf(payload, sizeof(payload),
             "{\"tag\":\"%s\",\"hardware_uuid\":\"00000000-0000-0000-0000-000000000000\"}", b64);
    free(b64);
    char *text = request(SUBJ("deploy-asset-tag"), payload, NULL);
    assert_string_equal(text, "\"\"");
    free(text);
    cJSON *j = quote_request(nonce, NULL);
    verify_quote(j, nonce, 32, tag);
    cJSON_Delete(j);
}

static void test_host_info(void **state)
{
    /* collected live (no platform-info from `tagent init` in this root): the corpus host's SMBIOS */
    cJSON *j = request_json(SUBJ("host-info-request"), "null", NULL);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ErrorCode"));
    assert_true(cJSON_IsObject(j) && cJSON_GetArraySize(j) > 5);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "hardware_uuid")->valuestring,
                        "8032632b-8fa4-e811-906e-00163566263e");
    cJSON_Delete(j);

    /* with init's platform-info (what the service, running as tagent, must use), that file, compacted */
    char cmd[1200], path[700];
    snprintf(path, sizeof(path), "%s/opt/trustagent/var/system-info/platform-info", w->root);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/opt/trustagent/var/system-info", w->root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(
        harness_file_write(path, "{\n  \"host_name\": \"from-init\",\n  \"no_of_sockets\": \"2\"\n}\n", 0600),
        0);
    char *text = request(SUBJ("host-info-request"), "null", NULL);
    assert_string_equal(text, "{\"host_name\":\"from-init\",\"no_of_sockets\":\"2\"}");
    free(text);
    assert_int_equal(unlink(path), 0);
}

/* ---- tagent-hvs (tests/mock/hvs_requester.c) against the running service ---- */

struct hvs_run {
    int status; /* exit status, or -1 if it did not exit normally */
    int64_t ms;
    cJSON *report; /* parsed stdout, NULL if it printed none */
    char *err;     /* stderr text */
};

static void hvs_run(const char *args, struct hvs_run *r)
{
    const char *bin = getenv("TAGENT_HVS");
    assert_non_null(bin);
    char cmd[4096], err_path[600];
    snprintf(err_path, sizeof(err_path), "%s/hvs.err", w->dir);
    snprintf(cmd, sizeof(cmd), "'%s' --url '%s' --creds '%s/hvs.creds' --ca '%s' %s 2>'%s'", bin,
             w->nats[0]->url, w->mock->nats_dir, w->nats[0]->ca_file, args, err_path);
    int64_t start = world_now_ms();
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 1 << 20);
    size_t n = fread(out, 1, (1 << 20) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    r->ms = world_now_ms() - start;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->report = cJSON_Parse(out);
    r->err = harness_file_slurp(err_path);
    fprintf(stderr, "tagent-hvs %s: exit %d in %lld ms\n", args, r->status, (long long)r->ms);
    if (r->err[0])
        fprintf(stderr, "  stderr: %s", r->err);
    free(out);
}

static void hvs_run_free(struct hvs_run *r)
{
    cJSON_Delete(r->report);
    free(r->err);
}

static const cJSON *report_check(const cJSON *report, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(
        c, cJSON_GetObjectItemCaseSensitive(
               report, "checks")) if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring,
                                             name) == 0) return c;
    fail_msg("trust report has no check %s", name);
    return NULL;
}

static int report_int(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(it));
    return it->valueint;
}

/* Every check HVS makes on the quote itself passes, whatever the event log says. */
static void assert_quote_checks_ok(const cJSON *report)
{
    static const char *const names[] = {"response",      "aik-certificate", "quote-parse",
                                        "aik-signature", "nonce",           "pcr-digest"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const cJSON *c = report_check(report, names[i]);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "ok")))
            fail_msg("check %s failed: %s", names[i],
                     cJSON_GetObjectItemCaseSensitive(c, "error")->valuestring);
    }
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(report, "host_id")->valuestring, HOST_ID);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "asset_tag"))); /* test_asset_tag ran */
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(report, "version")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(report, "host_info")));
}

/* The event log is the corpus file rhel8-uefi.bin, recorded on another machine; the swtpm's PCRs were never
 * extended with it. HVS's pcr_eventlog_integrity must fail: every PCR the log touches replays to a value the
 * swtpm does not hold. The quote itself still verifies. */
static void test_hvs_corpus_log_mismatch(void **state)
{
    struct hvs_run r;
    hvs_run("--host-id " HOST_ID, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(r.report);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.report, "trusted")));
    assert_quote_checks_ok(r.report);
    const cJSON *replay = report_check(r.report, "eventlog-replay");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(replay, "ok")));
    int compared = report_int(replay, "compared"), mismatched = report_int(replay, "mismatched");
    fprintf(stderr, "corpus log vs swtpm: %d of %d replayed PCRs mismatch, %d not quoted\n", mismatched,
            compared, report_int(replay, "not_quoted"));
    assert_true(compared > 0);
    assert_int_equal(mismatched, compared);
    const cJSON *sha256 =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(replay, "pcrs"), "SHA256");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sha256, "0")->valuestring, "mismatch");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(replay, "mismatches"));
    hvs_run_free(&r);
}

static void test_hvs_consistent_log_trusted(void **state)
{
    uint8_t nonce[32];
    cJSON *j = quote_request(nonce, NULL);
    char *eventlog = strdup(cJSON_GetObjectItemCaseSensitive(j, "EventLog")->valuestring);
    cJSON_Delete(j);
    assert_int_equal(harness_proc_stop(w->agent), 0);
    w->agent = 0;
    int64_t start = world_now_ms();
    assert_int_equal(world_extend_pcrs_from_log(w, eventlog), 0);
    fprintf(stderr, "PCR extension took %lld ms\n", (long long)(world_now_ms() - start));
    free(eventlog);
    start_agent();

    struct hvs_run r;
    /* as HVS: pcrbanks [] -> the agent picks SHA384+SHA256 (SHA1 would break the 2304-byte cap) */
    hvs_run("--host-id " HOST_ID, &r);
    if (r.status != 0 && r.report) {
        char *text = cJSON_Print(report_check(r.report, "eventlog-replay"));
        fprintf(stderr, "%s\n", text);
        free(text);
    }
    assert_int_equal(r.status, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.report, "trusted")));
    assert_quote_checks_ok(r.report);
    cJSON *shown = cJSON_Duplicate(r.report, true);
    cJSON_ReplaceItemInObjectCaseSensitive(shown, "host_info", cJSON_CreateString("(omitted here)"));
    char *text = cJSON_PrintUnformatted(shown);
    fprintf(stderr, "trust report: %s\n", text);
    free(text);
    cJSON_Delete(shown);
    const cJSON *replay = report_check(r.report, "eventlog-replay");
    assert_true(report_int(replay, "compared") > 0);
    assert_int_equal(report_int(replay, "mismatched"), 0);
    const cJSON *pcrs = cJSON_GetObjectItemCaseSensitive(replay, "pcrs");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pcrs, "SHA256"), "0")->valuestring,
        "match");
    /* the log's SHA1 events are reported, not compared, when SHA1 is not quoted */
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pcrs, "SHA1"), "0")->valuestring,
        "not-quoted");
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(r.report, "selected_banks");
    assert_int_equal(cJSON_GetArraySize(sel), 2);
    assert_string_equal(cJSON_GetArrayItem(sel, 0)->valuestring, "SHA384");
    hvs_run_free(&r);

    /* explicit banks and a fixed nonce: SHA256+SHA1 quoted, both replayed */
    hvs_run("--host-id " HOST_ID " --banks SHA256,SHA1 --nonce-hex "
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            &r);
    assert_int_equal(r.status, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.report, "trusted")));
    replay = report_check(r.report, "eventlog-replay");
    pcrs = cJSON_GetObjectItemCaseSensitive(replay, "pcrs");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pcrs, "SHA1"), "0")->valuestring,
        "match");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pcrs, "SHA384"), "0")->valuestring,
        "not-quoted");
    sel = cJSON_GetObjectItemCaseSensitive(r.report, "quoted_banks");
    assert_string_equal(cJSON_GetArrayItem(sel, 0)->valuestring, "SHA256");
    assert_string_equal(cJSON_GetArrayItem(sel, 1)->valuestring, "SHA1");
    hvs_run_free(&r);

    /* every bank set HVS may ask for is attested; all three banks do not fit HVS's 2304 bytes, so the agent
     * quotes the two strongest and says so in SelectedPcrBanks */
    static const struct {
        const char *ask, *quoted;
    } sets[] = {
        {"SHA1", "SHA1"},
        {"SHA256", "SHA256"},
        {"SHA384", "SHA384"},
        {"SHA1,SHA384", "SHA1,SHA384"},
        {"SHA384,SHA256", "SHA384,SHA256"},
        {"SHA1,SHA256,SHA384", "SHA256,SHA384"},
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        char args[256], quoted[64] = "";
        snprintf(args, sizeof(args), "--host-id " HOST_ID " --banks %s", sets[i].ask);
        hvs_run(args, &r);
        if (r.status != 0)
            fail_msg("banks %s: tagent-hvs exit %d: %s", sets[i].ask, r.status, r.err);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.report, "trusted")));
        const cJSON *b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(r.report, "quoted_banks"))
        {
            size_t n = strlen(quoted);
            snprintf(quoted + n, sizeof(quoted) - n, "%s%s", n ? "," : "", b->valuestring);
        }
        assert_string_equal(quoted, sets[i].quoted);
        hvs_run_free(&r);
    }
}

static void test_hvs_errors(void **state)
{
    struct hvs_run r;
    /* nobody serves the host id: HVS's first call (host info) fails, and the report says which and why */
    hvs_run("--host-id nobody-serves-this --timeout 5000", &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "host-info-request to trust-agent.nobody-serves-this"));
    assert_non_null(strstr(r.err, "no agent serves this host id"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.report, "trusted")));
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.report, "calls"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "outcome")->valuestring, "error");
    assert_null(
        cJSON_GetObjectItemCaseSensitive(first, "agent_error")); /* nats-server's 503, not the agent's */
    assert_true(r.ms < 6000);
    hvs_run_free(&r);
    /* --call: one request; an agent's failure is HVS's error, and the agent's words are in the report */
    hvs_run("--host-id " HOST_ID " --call deploy-manifest --payload {}", &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r.report, "outcome")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r.report, "error")->valuestring,
                        "nats: no responders available for request");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r.report, "agent_error_code")->valueint, ERR_REQUEST);
    assert_non_null(strstr(r.err, "tagent: deploy-manifest: bad request"));
    hvs_run_free(&r);
    hvs_run("--host-id " HOST_ID " --call version-request", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r.report, "outcome")->valuestring, "ok");
    hvs_run_free(&r);
    hvs_run("--host-id " HOST_ID " --nonce-hex abc", &r); /* odd-length hex: usage error */
    assert_int_equal(r.status, 2);
    hvs_run_free(&r);
    hvs_run("--host-id", &r); /* missing argument */
    assert_int_equal(r.status, 2);
    hvs_run_free(&r);
}

static void test_tpm_outage(void **state)
{
    assert_int_equal(swtpm_stop(w->tpm), 0);
    uint8_t nonce[32];
    int64_t ms;
    char payload[512];
    RAND_bytes(nonce, sizeof(nonce));
    world_quote_payload(nonce, payload, sizeof(payload));
    hvs_expect_error_saying(w->hvs, HOST_ID, "quote-request", payload, ERR_FAILED, 1000, "does not answer");
    assert_int_equal(swtpm_restart(w->tpm), 0);
    cJSON *j = quote_request(nonce, &ms);
    verify_quote_tagged_or_not(j, nonce);
    cJSON_Delete(j);
}

/* A TPM that hangs (swtpm stopped with SIGSTOP): the deadline answers the quote with a timeout error, the
 * other worker keeps serving, and once the TPM resumes quotes work again. */
static void test_tpm_hung(void **state)
{
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGSTOP), 0);
    uint8_t nonce[32];
    int64_t ms;
    char *b64 = NULL, payload[256];
    RAND_bytes(nonce, 32);
    b64 = b64_encode(nonce, 32);
    snprintf(payload, sizeof(payload), "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7],\"pcrbanks\":[]}", b64);
    free(b64);
    ms = hvs_expect_error(w->hvs, HOST_ID, "quote-request", payload, strlen(payload), ERR_TIMEOUT, 9000);
    fprintf(stderr, "TPM hung: timeout reply in %lld ms\n", (long long)ms);
    test_version(state); /* the other worker still answers */
    assert_int_equal(harness_proc_signal(w->tpm->pid, SIGCONT), 0);
    cJSON *j = quote_request(nonce, &ms);
    verify_quote_tagged_or_not(j, nonce);
    cJSON_Delete(j);
}

static void test_sigterm(void **state)
{
    assert_int_equal(world_agent_stop(w), 0); /* exit status 0 within 15 s */
    char *out = harness_file_slurp(w->log);
    assert_null(strstr(out, "5e7a11c0ffee"));
    free(out);
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
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_aik),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_quote_ima),
        cmocka_unit_test(test_quote_tampered),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_host_info),
        cmocka_unit_test(test_asset_tag),
        cmocka_unit_test(test_hvs_corpus_log_mismatch),
        cmocka_unit_test(test_hvs_consistent_log_trusted),
        cmocka_unit_test(test_hvs_errors),
        cmocka_unit_test(test_tpm_outage),
        cmocka_unit_test(test_tpm_hung),
        cmocka_unit_test(test_sigterm),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
