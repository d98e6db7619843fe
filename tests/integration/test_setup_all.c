/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent setup all` end to end, as a user runs it: the real binary against a real swtpm with an EK
 * certificate, the mock CMS/AAS/HVS (tests/mock) doing the real privacy-CA protocol, and nats-server in
 * operator mode trusting the account the mock's AAS signs agent credentials with. Checks files and modes,
 * the AIK certificate against the TPM, that the .creds file works, idempotent reruns, every fault switch
 * (a specific error, nothing half-written), reruns after an interruption at every task boundary and after a
 * kill, and that no secret reaches the output.
 */
#include <dirent.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "harness.h"
#include "quote.h"

#define OWNER   "hex:5e7a11c0ffee5e7a11c0ffee"
#define HOST_ID "edge-01"

static const char *tagent_bin, *corpora;

static struct world {
    swtpm_t *tpm;
    mockcp_t *mock;
    natsd_t *nats;
    char *dir;
    unsigned roots;
} w;

struct run {
    char root[512], env[512], log[512];
};

/* A fresh root prefix with the real SMBIOS table of a corpus machine (a link: the hardware UUID), and a
 * trustagent.env for this world; extra is appended to the env file. */
static void new_root(struct run *r, const char *extra)
{
    snprintf(r->root, sizeof(r->root), "%s/root%u", w.dir, ++w.roots);
    snprintf(r->env, sizeof(r->env), "%s/ta%u.env", w.dir, w.roots);
    snprintf(r->log, sizeof(r->log), "%s/out%u.log", w.dir, w.roots);
    char dmi[600], target[4096];
    snprintf(dmi, sizeof(dmi), "%s/sys/firmware/dmi/tables", r->root);
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", dmi);
    assert_int_equal(system(cmd), 0);
    snprintf(target, sizeof(target), "%s/isecl/hostinfo/purley/DMI", corpora);
    char link[620];
    snprintf(link, sizeof(link), "%s/DMI", dmi);
    assert_int_equal(symlink(target, link), 0);

    char env[4096];
    snprintf(
        env, sizeof(env),
        "HVS_URL=%s\nAAS_API_URL=%s\nCMS_BASE_URL=%s\nCMS_TLS_CERT_SHA384=%s\nBEARER_TOKEN=%s\n"
        "TPM_OWNER_SECRET=%s\nTA_SERVICE_MODE=outbound\nNATS_SERVERS=%s\nTA_HOST_ID=%s\nTAGENT_TCTI=%s\n%s",
        w.mock->hvs_url, w.mock->aas_url, w.mock->cms_url, w.mock->tls_sha384, w.mock->bearer, OWNER,
        w.nats->url, HOST_ID, w.tpm->tcti, extra ? extra : "");
    assert_int_equal(harness_file_write(r->env, env, 0600), 0);
}

/* tagent --root <root> setup <args...> -f <env>; returns its exit status. */
static int setup(struct run *r, const char *const *args)
{
    const char *argv[24] = {tagent_bin, "--root", r->root, "setup"};
    size_t n = 4;
    for (; *args && n < 20; args++)
        argv[n++] = *args;
    argv[n++] = "-f";
    argv[n++] = r->env;
    argv[n] = NULL;
    return harness_run(argv, r->log, 120000);
}

static bool log_has(const struct run *r, const char *text)
{
    char *out = harness_file_slurp(r->log);
    bool has = strstr(out, text) != NULL;
    free(out);
    return has;
}

static void assert_no_secrets(const struct run *r)
{
    char *out = harness_file_slurp(r->log);
    assert_null(strstr(out, w.mock->bearer));
    assert_null(strstr(out, "5e7a11c0ffee"));
    assert_null(strstr(out, "SUAM")); /* an account or user nkey seed */
    free(out);
}

static mode_t mode_of(const struct run *r, const char *rel)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s%s", r->root, rel);
    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* Every file under root (paths and sizes), for before/after comparisons. */
static char *tree(const char *root)
{
    char cmd[1200], path[600];
    snprintf(path, sizeof(path), "%s/tree.txt", w.dir);
    snprintf(cmd, sizeof(cmd),
             "cd %s && find . -path ./sys -prune -o -type f -printf '%%p %%s %%m\\n' | sort > %s", root,
             path);
    assert_int_equal(system(cmd), 0);
    return harness_file_slurp(path);
}

static int group_setup(void **state)
{
    struct swtpm_opts topts = {.ek_cert = true};
    assert_int_equal(swtpm_start(&topts, &w.tpm), 0);
    const char *ek_ca[] = {w.tpm->ek_ca_cert, w.tpm->ek_issuer_cert, NULL};
    struct mockcp_opts mopts = {.ek_ca = ek_ca, .nats = true};
    assert_int_equal(mockcp_start(&mopts, &w.mock), 0);
    assert_int_equal(natsd_start_operator(w.mock->nats_auth_conf, &w.nats), 0);
    assert_int_equal(harness_tmpdir_create("setup-all", &w.dir), 0);
    return 0;
}

static int group_teardown(void **state)
{
    natsd_free(w.nats);
    mockcp_free(w.mock);
    swtpm_free(w.tpm);
    harness_tmpdir_remove(w.dir);
    free(w.dir);
    return harness_count_children() == 0 ? 0 : -1;
}

static bool cert_matches_tpm_aik(const char *pem_path)
{
    FILE *f = fopen(pem_path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    tpm_t *t = NULL;
    struct tpm_aik_info aik = {0};
    BIGNUM *n = NULL;
    uint8_t mod[256];
    bool ok = x && tpm_open(w.tpm->tcti, &t, NULL) == 0 && tpm_aik_info(t, &aik, NULL) == 0 &&
              EVP_PKEY_get_bn_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_RSA_N, &n) &&
              BN_bn2binpad(n, mod, 256) == 256 && memcmp(mod, aik.modulus, 256) == 0;
    BN_free(n);
    free(aik.pem);
    tpm_close(t);
    X509_free(x);
    return ok;
}

/* The .creds file lets cnats connect to the operator-mode server and subscribe to the agent's subjects. */
static void creds_work(const struct run *r)
{
    char creds[700];
    snprintf(creds, sizeof(creds), "%s/etc/trustagent/credentials/trust-agent.creds", r->root);
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsd_client_options(w.nats, creds, &opts), 0);
    assert_int_equal(natsd_connect(opts, &nc), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "trust-agent." HOST_ID ".quote-request"),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
}

static void test_setup_all(void **state)
{
    struct run r;
    new_root(&r, NULL);
    const char *all[] = {"all", NULL};
    int rc = setup(&r, all);
    if (rc != 0) {
        char *out = harness_file_slurp(r.log);
        fail_msg("setup all failed:\n%s", out);
    }
    static const char *const tasks[] = {"update-service-config", "download-ca-cert",   "download-privacy-ca",
                                        "take-ownership",        "define-tag-index",   "provision-aik",
                                        "provision-primary-key", "download-api-token", "download-credential"};
    for (size_t i = 0; i < 9; i++) {
        char line[128], done[128];
        snprintf(line, sizeof(line), "[%zu/9] %s ... ok", i + 1, tasks[i]);
        snprintf(done, sizeof(done), "[%zu/9] %s ... already done", i + 1, tasks[i]);
        /* take-ownership is already done when another test ran first on this swtpm */
        if (!log_has(&r, line) && !log_has(&r, done)) {
            char *out = harness_file_slurp(r.log);
            fail_msg("no \"%s\" in:\n%s", line, out);
        }
    }
    assert_no_secrets(&r);

    /* the spec's files and modes */
    assert_int_equal(mode_of(&r, "/etc/trustagent/config.yml"), 0640);
    assert_int_equal(mode_of(&r, "/etc/trustagent/privacy-ca.cer"), 0644);
    assert_int_equal(mode_of(&r, "/etc/trustagent/aik.pem"), 0640);
    assert_int_equal(mode_of(&r, "/etc/trustagent/credentials/trust-agent.creds"), 0600);
    char *files = tree(r.root);
    const char *ca = strstr(files, "./etc/trustagent/cacerts/");
    assert_non_null(ca);
    assert_memory_equal(strchr(ca, '\n') - 4, " 600", 4); /* "<path> <size> 600" */
    free(files);
    char path[700];
    snprintf(path, sizeof(path), "%s/etc/trustagent/config.yml", r.root);
    char *yml = harness_file_slurp(path);
    assert_non_null(strstr(yml, "api-token: \"ey"));
    assert_null(strstr(yml, w.mock->bearer));
    free(yml);

    /* the AIK certificate is for the TPM's AIK; the credentials work */
    snprintf(path, sizeof(path), "%s/etc/trustagent/aik.pem", r.root);
    assert_true(cert_matches_tpm_aik(path));
    creds_work(&r);

    /* again: nothing to do */
    assert_int_equal(setup(&r, all), 0);
    for (size_t i = 0; i < 9; i++) {
        char line[128];
        snprintf(line, sizeof(line), "[%zu/9] %s ... already done", i + 1, tasks[i]);
        assert_true(log_has(&r, line));
    }
}

/* A wrong CMS_TLS_CERT_SHA384: the CA download stops in the handshake; nothing at all is written. */
static void test_wrong_cms_hash_writes_nothing(void **state)
{
    struct run r;
    new_root(&r, NULL);
    const char *first[] = {"update-service-config", NULL};
    assert_int_equal(setup(&r, first), 0);
    char *before = tree(r.root);
    /* the env's pin is the real one; the env var takes precedence over the file */
    setenv("CMS_TLS_CERT_SHA384",
           "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
           "0000000000000000",
           1);
    const char *ca[] = {"download-ca-cert", NULL};
    int rc = setup(&r, ca);
    unsetenv("CMS_TLS_CERT_SHA384");
    assert_true(rc != 0);
    assert_true(log_has(&r, "CMS_TLS_CERT_SHA384"));
    assert_true(log_has(&r, "nothing was written"));
    char *after = tree(r.root);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

struct fault_case {
    const char *fault, *task, *message;
};

/* Each fault: a specific error naming the URL/status, and the tree unchanged. */
static void test_fault_switches(void **state)
{
    static const struct fault_case cases[] = {
        {"wrong-cms-cert", "download-ca-cert", "server's certificate SHA-384"},
        {"truncated-pem", "download-ca-cert", "not a complete PEM certificate chain"},
        {"unauthorized", "download-privacy-ca", "HTTP 401"},
        {"server-error", "download-privacy-ca", "HTTP 500"},
        {"malformed-json", "download-privacy-ca", "is not {\"certificate\""},
        {"unauthorized", "download-api-token", "bearer token was refused"},
        {"server-error", "download-credential", "HTTP 500"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        new_root(&r, NULL);
        const char *first[] = {"update-service-config", "download-ca-cert", NULL};
        assert_int_equal(setup(&r, first), 0);
        char *before = tree(r.root);
        assert_int_equal(mockcp_fault(w.mock, cases[i].fault, NULL), 0);
        const char *task[] = {cases[i].task, "--force", NULL};
        int rc = setup(&r, task);
        assert_int_equal(mockcp_fault(w.mock, NULL, "all"), 0);
        if (rc == 0 || !log_has(&r, cases[i].message)) {
            char *out = harness_file_slurp(r.log);
            fail_msg("fault %s, task %s: expected a failure saying \"%s\"; got (rc %d):\n%s", cases[i].fault,
                     cases[i].task, cases[i].message, rc, out);
        }
        assert_true(log_has(&r, "failed"));
        assert_no_secrets(&r);
        char *after = tree(r.root);
        assert_string_equal(before, after);
        free(before);
        free(after);
    }
}

/* Interrupted after every task boundary (the first k tasks done), `setup all` finishes the rest. */
static void test_resume_at_every_boundary(void **state)
{
    static const char *const tasks[] = {"update-service-config", "download-ca-cert",  "download-privacy-ca",
                                        "take-ownership",        "define-tag-index",  "provision-aik",
                                        "provision-primary-key", "download-api-token"};
    for (size_t k = 1; k <= 8; k++) {
        struct run r;
        new_root(&r, NULL);
        const char *first[10];
        for (size_t i = 0; i < k; i++)
            first[i] = tasks[i];
        first[k] = NULL;
        assert_int_equal(setup(&r, first), 0);
        const char *all[] = {"all", NULL};
        assert_int_equal(setup(&r, all), 0);
        assert_true(log_has(&r, "[9/9] download-credential ... ok"));
        char path[700];
        snprintf(path, sizeof(path), "%s/etc/trustagent/aik.pem", r.root);
        assert_true(cert_matches_tpm_aik(path));
    }
}

/* SIGKILL in the middle of `setup all`, then `setup all` again: provisioned. */
static void test_killed_then_rerun(void **state)
{
    for (int delay_ms = 150; delay_ms <= 450; delay_ms += 150) {
        struct run r;
        new_root(&r, NULL);
        const char *argv[] = {tagent_bin, "--root", r.root, "setup", "all", "-f", r.env, NULL};
        pid_t pid;
        assert_int_equal(harness_spawn(argv, r.log, &pid), 0);
        usleep((useconds_t)delay_ms * 1000);
        harness_proc_kill(pid, SIGKILL);
        const char *all[] = {"all", NULL};
        if (setup(&r, all) != 0) {
            char *out = harness_file_slurp(r.log);
            fail_msg("rerun after a kill at %d ms failed:\n%s", delay_ms, out);
        }
        char path[700];
        snprintf(path, sizeof(path), "%s/etc/trustagent/aik.pem", r.root);
        assert_true(cert_matches_tpm_aik(path));
        creds_work(&r);
    }
}

/* http mode's download-cert and the optional create-host and create-host-unique-flavor (named, never run by
 * `all`), through the binary against the mock CMS and HVS: what they write or send, that a rerun finds them
 * done, and that a forced create-host is refused for a host HVS already has. */
static void test_http_mode_and_host_registration(void **state)
{
    struct run r, flavor, again, forced;
    new_root(&r, "CURRENT_IP=127.0.0.1\n");
    flavor = again = forced = r;
    snprintf(flavor.log, sizeof(flavor.log), "%s/flavor%u.log", w.dir, w.roots);
    snprintf(again.log, sizeof(again.log), "%s/again%u.log", w.dir, w.roots);
    snprintf(forced.log, sizeof(forced.log), "%s/forced%u.log", w.dir, w.roots);
    /* the environment takes precedence over the env file; every run happens before any assertion, so that a
     * failing one cannot leave http mode set for the next test */
    setenv("TA_SERVICE_MODE", "http", 1);
    const char *cert[] = {"update-service-config", "download-ca-cert", "download-cert", "create-host", NULL};
    const char *flavors[] = {"create-host-unique-flavor", NULL};
    const char *rerun[] = {"download-cert", "create-host", NULL};
    const char *force[] = {"create-host", "--force", NULL};
    int rc = setup(&r, cert);
    int rc_flavor = rc == 0 ? setup(&flavor, flavors) : -1;
    int rc_again = rc == 0 ? setup(&again, rerun) : -1;
    int rc_forced = rc == 0 ? setup(&forced, force) : -1;
    unsetenv("TA_SERVICE_MODE");
    if (rc != 0) {
        char *out = harness_file_slurp(r.log);
        fail_msg("setup in http mode failed (%d):\n%s", rc, out);
    }
    assert_true(log_has(&r, "create-host ... ok"));
    assert_no_secrets(&r);

    /* the key and the certificate CMS signed for it, both 0600 */
    assert_int_equal(mode_of(&r, "/etc/trustagent/tls-cert.pem"), 0600);
    assert_int_equal(mode_of(&r, "/etc/trustagent/tls-key.pem"), 0600);
    char path[700];
    snprintf(path, sizeof(path), "%s/etc/trustagent/tls-cert.pem", r.root);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/etc/trustagent/tls-key.pem", r.root);
    f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    bool pair = x && k && X509_check_private_key(x, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    assert_true(pair);

    /* HVS has the host under CURRENT_IP and the flavor request for its connection string. HVS cannot be asked
     * whether the flavor exists, so the engine does not check that task after its run: a 201 is success. */
    char *hvs = NULL;
    assert_int_equal(mockcp_state(w.mock, &hvs), 0);
    bool host = strstr(hvs, "\"host_name\":\"127.0.0.1\"") != NULL;
    bool flavor_sent =
        strstr(hvs, "\"connection_string\":\"intel:https://127.0.0.1:1443\",\"partial_flavor_types\":"
                    "[\"HOST_UNIQUE\"]") != NULL;
    free(hvs);
    assert_true(host);
    assert_true(flavor_sent);
    if (rc_flavor != 0)
        fail_msg("create-host-unique-flavor failed although HVS took the request:\n%s",
                 harness_file_slurp(flavor.log));
    assert_true(log_has(&flavor, "create-host-unique-flavor ... ok"));
    assert_no_secrets(&flavor);

    assert_int_equal(rc_again, 0);
    assert_true(log_has(&again, "download-cert ... already done"));
    assert_true(log_has(&again, "create-host ... already done"));
    assert_true(rc_forced != 0);
    assert_true(log_has(&forced, "HVS already has a host named \"127.0.0.1\""));
    assert_no_secrets(&forced);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_all),         cmocka_unit_test(test_wrong_cms_hash_writes_nothing),
        cmocka_unit_test(test_fault_switches),    cmocka_unit_test(test_resume_at_every_boundary),
        cmocka_unit_test(test_killed_then_rerun), cmocka_unit_test(test_http_mode_and_host_registration),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    harness_nats_close();
    return rc;
}
