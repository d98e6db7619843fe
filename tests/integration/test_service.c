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
#include "quote.h"

#define OWNER   "hex:5e7a11c0ffee5e7a11c0ffee"
#define HOST_ID "edge-svc"
#define SUBJ(x) "trust-agent." HOST_ID "." x

static const char *tagent_bin, *corpora;

static struct world {
    swtpm_t *tpm;
    mockcp_t *mock;
    natsd_t *nats;
    char *dir;
    char root[512], log[512];
    uint8_t aik_modulus[256];
    pid_t agent;
    natsConnection *hvs;
    natsOptions *hvs_opts;
} w;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (f) {
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
        fclose(f);
    }
    return buf;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    int64_t start = now_ms();
    natsStatus s = natsConnection_Request(&reply, w.hvs, subject, payload, (int)strlen(payload), 5000);
    if (ret_ms)
        *ret_ms = now_ms() - start;
    if (s != NATS_OK) {
        harness_log_tail(w.log, 40);
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

static void write_root(void)
{
    snprintf(w.root, sizeof(w.root), "%s/root", w.dir);
    snprintf(w.log, sizeof(w.log), "%s/agent.log", w.dir);
    char cmd[4096], env[600], setup_log[600];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/sys/firmware/dmi/tables %s/sys/kernel/security/tpm0 && "
             "ln -s %s/isecl/hostinfo/purley/DMI %s/sys/firmware/dmi/tables/DMI && "
             "ln -s %s/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin "
             "%s/sys/kernel/security/tpm0/binary_bios_measurements",
             w.root, w.root, corpora, w.root, corpora, w.root);
    assert_int_equal(system(cmd), 0);
    snprintf(env, sizeof(env), "%s/ta.env", w.dir);
    snprintf(setup_log, sizeof(setup_log), "%s/setup.log", w.dir);
    char text[4096];
    snprintf(text, sizeof(text),
             "HVS_URL=%s\nAAS_API_URL=%s\nCMS_BASE_URL=%s\nCMS_TLS_CERT_SHA384=%s\nBEARER_TOKEN=%s\n"
             "TPM_OWNER_SECRET=%s\nTA_SERVICE_MODE=outbound\nNATS_SERVERS=%s\nTA_HOST_ID=%s\nTAGENT_TCTI=%s\n",
             w.mock->hvs_url, w.mock->aas_url, w.mock->cms_url, w.mock->tls_sha384, w.mock->bearer, OWNER,
             w.nats->url, HOST_ID, w.tpm->tcti);
    assert_int_equal(harness_file_write(env, text, 0600), 0);
    const char *argv[] = {tagent_bin, "--root", w.root, "setup", "all", "-f", env, NULL};
    if (harness_run(argv, setup_log, 120000) != 0) {
        harness_log_tail(setup_log, 60);
        fail_msg("tagent setup all failed");
    }
    /* the deployment trusts the CA that signed the NATS servers' certificates */
    snprintf(cmd, sizeof(cmd), "cp %s %s/etc/trustagent/cacerts/nats-ca.pem", w.nats->ca_file, w.root);
    assert_int_equal(system(cmd), 0);
}

static void start_agent(void)
{
    const char *argv[] = {tagent_bin, "--root", w.root, "startService", NULL};
    assert_int_equal(harness_spawn(argv, w.log, &w.agent), 0);
    /* ready when it answers */
    for (int i = 0; i < 200; i++) {
        natsMsg *reply = NULL;
        if (natsConnection_RequestString(&reply, w.hvs, SUBJ("version-request"), "null", 200) == NATS_OK) {
            natsMsg_Destroy(reply);
            return;
        }
        usleep(200 * 1000); /* no responders yet: the answer comes at once */
        if (harness_proc_exited(w.agent) == 1) {
            harness_log_tail(w.log, 60);
            fail_msg("tagent startService exited");
        }
    }
    harness_log_tail(w.log, 60);
    fail_msg("tagent startService did not answer within 40 s");
}

static int group_setup(void **state)
{
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    struct swtpm_opts topts = {.ek_cert = true, .pcr_banks = "sha1,sha256,sha384"};
    assert_int_equal(swtpm_start(&topts, &w.tpm), 0);
    setenv("TAGENT_TCTI", w.tpm->tcti, 1);
    const char *ek_ca[] = {w.tpm->ek_ca_cert, w.tpm->ek_issuer_cert, NULL};
    struct mockcp_opts mopts = {.ek_ca = ek_ca, .nats = true};
    assert_int_equal(mockcp_start(&mopts, &w.mock), 0);
    assert_int_equal(natsd_start_operator(w.mock->nats_auth_conf, &w.nats), 0);
    assert_int_equal(harness_tmpdir_create("service", &w.dir), 0);
    write_root();

    /* the AIK the TPM holds (before the agent keeps the swtpm connection) */
    tpm_t *t = NULL;
    struct tpm_error err;
    struct tpm_aik_info aik = {0};
    assert_int_equal(tpm_open(w.tpm->tcti, &t, &err), 0);
    assert_int_equal(tpm_aik_info(t, &aik, &err), 0);
    memcpy(w.aik_modulus, aik.modulus, 256);
    free(aik.pem);
    tpm_close(t);

    char creds[600];
    snprintf(creds, sizeof(creds), "%s/hvs.creds", w.mock->nats_dir);
    assert_int_equal(natsd_client_options(w.nats, creds, &w.hvs_opts), 0);
    assert_int_equal(natsd_connect(w.hvs_opts, &w.hvs), NATS_OK);
    start_agent();
    return 0;
}

static int group_teardown(void **state)
{
    if (w.agent && harness_proc_exited(w.agent) == 0)
        harness_proc_stop(w.agent);
    if (w.hvs)
        natsConnection_Destroy(w.hvs);
    natsOptions_Destroy(w.hvs_opts);
    natsd_free(w.nats);
    mockcp_free(w.mock);
    swtpm_free(w.tpm);
    harness_tmpdir_remove(w.dir);
    free(w.dir);
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
    assert_memory_equal(mod, w.aik_modulus, 256);
    BN_free(n);
    X509_free(x);
    free(der);
    cJSON_Delete(j);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t bank_size(uint16_t alg)
{
    return alg == 0x0004 ? 20 : alg == 0x000b ? 32 : alg == 0x000c ? 48 : 0;
}

/* Verifies a successful quote reply as HVS does; tag NULL: no asset tag expected. */
static void verify_quote(cJSON *j, const uint8_t *nonce, size_t nonce_len, const uint8_t *tag)
{
    cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "ErrorCode");
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "ErrorMessage");
    if (!cJSON_IsNumber(code) || code->valueint != 0)
        fail_msg("quote failed: %s", cJSON_IsString(msg) ? msg->valuestring : "?");
    assert_string_equal(msg->valuestring, "OK");
    static const char *const keys[] = {"XMLName", "TimeStamp", "ErrorCode", "ErrorMessage", "Aik", "Quote",
                                       "EventLog", "ImaLogs", "TcbMeasurements", "SelectedPcrBanks",
                                       "IsTagProvisioned", "AssetTag"};
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

    /* AIK: base64 of the PEM text */
    size_t pem_len, blob_len;
    uint8_t *pem = b64_decode(cJSON_GetObjectItemCaseSensitive(j, "Aik")->valuestring, &pem_len);
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    uint8_t *blob = b64_decode(cJSON_GetObjectItemCaseSensitive(j, "Quote")->valuestring, &blob_len);

    /* attest */
    assert_true(blob_len > 2);
    size_t attest_len = be16(blob);
    assert_true(2 + attest_len + 6 <= blob_len);
    const uint8_t *a = blob + 2, *end = a + attest_len;
    const uint8_t *p = a + 6;
    p += 2 + be16(p); /* qualifiedSigner */
    size_t extra_len = be16(p);
    const uint8_t *extra = p + 2;
    p += 2 + extra_len;
    uint8_t want[32];
    SHA256(nonce, nonce_len, want);
    if (tag) {
        uint8_t buf[32 + 48];
        memcpy(buf, want, 32);
        memcpy(buf + 32, tag, 48);
        SHA256(buf, sizeof(buf), want);
    }
    assert_int_equal(extra_len, 32);
    assert_memory_equal(extra, want, 32);
    p += 17 + 8;
    uint32_t count = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    p += 4;
    assert_int_equal(count, 2);
    struct {
        uint16_t alg;
        uint8_t bits[3];
    } sel[2];
    for (uint32_t i = 0; i < count; i++) {
        sel[i].alg = be16(p);
        assert_int_equal(p[2], 3);
        memcpy(sel[i].bits, p + 3, 3);
        p += 6;
    }
    assert_int_equal(sel[0].alg, 0x000c);
    assert_int_equal(sel[1].alg, 0x000b);
    size_t digest_len = be16(p);
    const uint8_t *digest = p + 2;
    assert_int_equal(digest_len, 32);
    assert_true(digest + 32 <= end);

    /* signature: RSASSA-SHA256 over the attest bytes */
    const uint8_t *s = end;
    assert_int_equal(be16(s), 0x0014);
    assert_int_equal(be16(s + 2), 0x000b);
    size_t sig_len = be16(s + 4);
    const uint8_t *sig = s + 6;
    assert_true(sig + sig_len <= blob + blob_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sig_len, a, attest_len), 1);
    EVP_MD_CTX_free(md);

    /* PCR values hash to pcrDigest */
    const uint8_t *v = sig + sig_len;
    size_t total = 0;
    for (uint32_t i = 0; i < count; i++)
        for (int k = 0; k < 24; k++)
            if (sel[i].bits[k / 8] & (1u << (k % 8)))
                total += bank_size(sel[i].alg);
    assert_int_equal((size_t)(blob + blob_len - v), total);
    uint8_t got[32];
    SHA256(v, total, got);
    assert_memory_equal(got, digest, 32);

    X509_free(x);
    free(pem);
    free(blob);
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

static void assert_error_reply(const char *subject, const char *payload, bool quote_shape)
{
    int64_t ms;
    cJSON *j = request_json(subject, payload, &ms);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "ErrorCode");
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "ErrorMessage");
    assert_true(cJSON_IsNumber(code));
    assert_int_not_equal(code->valueint, 0);
    assert_true(cJSON_IsString(msg) && msg->valuestring[0]);
    if (quote_shape)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "SelectedPcrBanks"));
    if (ms > 1000)
        fail_msg("%s %s: error reply after %lld ms", subject, payload, (long long)ms);
    cJSON_Delete(j);
}

static void test_bad_requests(void **state)
{
    assert_error_reply(SUBJ("quote-request"), "{\"nonce\":", true);
    assert_error_reply(SUBJ("quote-request"), "null", true);
    assert_error_reply(SUBJ("quote-request"), "{\"nonce\":\"\",\"pcrs\":[0]}", true);
    assert_error_reply(SUBJ("quote-request"), "{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"MD5\"]}", true);
    assert_error_reply(SUBJ("quote-request"), "{\"nonce\":\"AAAA\",\"pcrs\":[24]}", true);
    assert_error_reply(SUBJ("quote-request"), "{\"nonce\":\"not base64!\",\"pcrs\":[0]}", true);
    assert_error_reply(SUBJ("deploy-asset-tag"), "{\"tag\":\"AAAA\"}", false);
    assert_error_reply(SUBJ("deploy-manifest"), "{}", false);
    assert_error_reply(SUBJ("application-measurement-request"), "{}", false);
    assert_error_reply(SUBJ("no-such-request"), "null", false);
    /* keys match case-insensitively, unknown keys are ignored, as Go's json.Unmarshal */
    uint8_t nonce[32] = {1, 2, 3};
    char *b64 = b64_encode(nonce, 32), payload[256];
    snprintf(payload, sizeof(payload), "{\"NONCE\":\"%s\",\"Pcrs\":[0,1,2,3,4,5,6,7],\"extra\":1}", b64);
    free(b64);
    cJSON *j = request_json(SUBJ("quote-request"), payload, NULL);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "ErrorCode")->valueint, 0);
    cJSON_Delete(j);
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
    snprintf(payload, sizeof(payload), "{\"tag\":\"%s\",\"hardware_uuid\":\"00000000-0000-0000-0000-000000000000\"}",
             b64);
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
    cJSON *j = request_json(SUBJ("host-info-request"), "null", NULL);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "ErrorCode");
    if (code) /* a build without tagent_hostinfo answers with a typed error */
        assert_int_equal(code->valueint, 3);
    else
        assert_true(cJSON_IsObject(j) && cJSON_GetArraySize(j) > 5);
    cJSON_Delete(j);
}

static void test_tpm_outage(void **state)
{
    assert_int_equal(swtpm_stop(w.tpm), 0);
    uint8_t nonce[32];
    int64_t ms;
    cJSON *j = quote_request(nonce, &ms);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "ErrorCode");
    assert_true(cJSON_IsNumber(code) && code->valueint != 0);
    if (ms > 1000)
        fail_msg("quote error reply with the TPM down after %lld ms", (long long)ms);
    fprintf(stderr, "TPM down: error reply in %lld ms: %s\n", (long long)ms,
            cJSON_GetObjectItemCaseSensitive(j, "ErrorMessage")->valuestring);
    cJSON_Delete(j);
    assert_int_equal(swtpm_restart(w.tpm), 0);
    j = quote_request(nonce, &ms);
    cJSON *tagged = cJSON_GetObjectItemCaseSensitive(j, "IsTagProvisioned");
    size_t n;
    uint8_t *tag = cJSON_IsTrue(tagged) ? b64_decode(cJSON_GetObjectItemCaseSensitive(j, "AssetTag")->valuestring, &n)
                                        : NULL;
    verify_quote(j, nonce, 32, tag);
    free(tag);
    cJSON_Delete(j);
}

/* A TPM that hangs (swtpm stopped with SIGSTOP): the deadline answers the quote with a timeout error, the
 * other worker keeps serving, and once the TPM resumes quotes work again. */
static void test_tpm_hung(void **state)
{
    assert_int_equal(harness_proc_signal(w.tpm->pid, SIGSTOP), 0);
    uint8_t nonce[32];
    int64_t ms;
    natsMsg *reply = NULL;
    char *b64 = NULL, payload[256];
    RAND_bytes(nonce, 32);
    b64 = b64_encode(nonce, 32);
    snprintf(payload, sizeof(payload), "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7],\"pcrbanks\":[]}", b64);
    free(b64);
    int64_t start = now_ms();
    natsStatus s = natsConnection_Request(&reply, w.hvs, SUBJ("quote-request"), payload, (int)strlen(payload), 9500);
    ms = now_ms() - start;
    assert_int_equal(s, NATS_OK);
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "ErrorCode")->valueint, 4);
    fprintf(stderr, "TPM hung: timeout reply in %lld ms\n", (long long)ms);
    cJSON_Delete(j);
    test_version(state); /* the other worker still answers */
    assert_int_equal(harness_proc_signal(w.tpm->pid, SIGCONT), 0);
    j = quote_request(nonce, &ms);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "ErrorCode")->valueint, 0);
    cJSON_Delete(j);
}

static void test_sigterm(void **state)
{
    assert_int_equal(harness_proc_signal(w.agent, SIGTERM), 0);
    int status = -1;
    pid_t r = 0;
    for (int i = 0; i < 100 && r == 0; i++) {
        r = waitpid(w.agent, &status, WNOHANG);
        if (r == 0)
            usleep(100 * 1000);
    }
    assert_int_equal(r, w.agent);
    harness_proc_exited(w.agent); /* unregisters it */
    w.agent = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        harness_log_tail(w.log, 40);
        fail_msg("tagent exited with status %#x after SIGTERM", status);
    }
    char *out = slurp(w.log);
    assert_null(strstr(out, "5e7a11c0ffee"));
    assert_null(strstr(out, "AddressSanitizer"));
    assert_null(strstr(out, "runtime error"));
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
        cmocka_unit_test(test_version),     cmocka_unit_test(test_aik),        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_bad_requests), cmocka_unit_test(test_host_info), cmocka_unit_test(test_asset_tag),
        cmocka_unit_test(test_tpm_outage),  cmocka_unit_test(test_tpm_hung),   cmocka_unit_test(test_sigterm),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
