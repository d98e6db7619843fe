/* SPDX-License-Identifier: BSD-3-Clause */
/* A provisioned host for service tests and benchmarks (see world.h). */
#include "world.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#define SETUP_TIMEOUT_MS 120000

int64_t world_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int world_main_args(int argc, char **argv, const char **ret_tagent_bin, const char **ret_corpora)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/tagent /path/to/shared/corpora\n", argv[0]);
        return -EINVAL;
    }
    *ret_tagent_bin = argv[1];
    *ret_corpora = argv[2];
    setenv("TAGENT_LOG_TARGET", "stderr", 1);
    return 0;
}

static size_t world_discard(char *p, size_t size, size_t n, void *closure)
{
    (void)p;
    (void)closure;
    return size * n;
}

static int run_shell(const char *cmd)
{
    int st = system(cmd);
    if (st != 0) {
        fprintf(stderr, "world: `%s` failed (status %#x)\n", cmd, st);
        return -EIO;
    }
    return 0;
}

/* The root the agent sees: SMBIOS and (unless no_eventlog) the UEFI event log from the corpora. */
static int world_make_root(world_t *w, const struct world_opts *o)
{
    char cmd[4096];
    snprintf(w->root, sizeof(w->root), "%s/root", w->dir);
    snprintf(w->log, sizeof(w->log), "%s/agent.log", w->dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/sys/firmware/dmi/tables %s/sys/kernel/security/tpm0 && "
             "ln -s %s/isecl/hostinfo/purley/DMI %s/sys/firmware/dmi/tables/DMI",
             w->root, w->root, o->corpora, w->root);
    int r = run_shell(cmd);
    if (r == 0 && !o->no_eventlog) {
        snprintf(cmd, sizeof(cmd),
                 "ln -s %s/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin "
                 "%s/sys/kernel/security/tpm0/binary_bios_measurements",
                 o->corpora, w->root);
        r = run_shell(cmd);
    }
    return r;
}

/* NATS_SERVERS for the agent: every server of the cluster, comma separated. */
static void world_nats_urls(const world_t *w, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < w->n_nats; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", w->nats[i]->url);
}

/* `tagent setup <tasks...> -f env`, its output in dir/setup.log. */
static int world_setup(world_t *w, const char *env, const char *const *tasks, const char *what)
{
    char setup_log[600];
    const char *argv[16] = {w->tagent_bin, "--root", w->root, "setup"};
    size_t n = 4;
    snprintf(setup_log, sizeof(setup_log), "%s/setup.log", w->dir);
    for (; *tasks && n < 12; tasks++)
        argv[n++] = *tasks;
    argv[n++] = "-f";
    argv[n++] = env;
    argv[n] = NULL;
    if (harness_run(argv, setup_log, SETUP_TIMEOUT_MS) != 0) {
        harness_log_tail(setup_log, 60);
        fprintf(stderr, "world: tagent setup %s failed\n", what);
        return -EIO;
    }
    return 0;
}

static int world_setup_all(world_t *w)
{
    char env[600], urls[512], text[4096], mode[sizeof(urls) + 128], cmd[2048];
    snprintf(env, sizeof(env), "%s/ta.env", w->dir);
    world_nats_urls(w, urls, sizeof(urls));
    if (w->http)
        snprintf(mode, sizeof(mode), "TA_SERVICE_MODE=http\nCURRENT_IP=127.0.0.1\nTRUSTAGENT_PORT=%u\n",
                 w->port);
    else
        snprintf(mode, sizeof(mode), "TA_SERVICE_MODE=outbound\nNATS_SERVERS=%s\nTA_HOST_ID=%s\n", urls,
                 w->host_id);
    snprintf(text, sizeof(text),
             "HVS_URL=%s\nAAS_API_URL=%s\nCMS_BASE_URL=%s\nCMS_TLS_CERT_SHA384=%s\nBEARER_TOKEN=%s\n"
             "TPM_OWNER_SECRET=%s\n%sTAGENT_TCTI=%s\n",
             w->mock->hvs_url, w->mock->aas_url, w->mock->cms_url, w->mock->tls_sha384, w->mock->bearer,
             WORLD_OWNER_SECRET, mode, w->tpm->tcti);
    int r = harness_file_write(env, text, 0600);
    if (r < 0)
        return r;
    const char *all[] = {"all", NULL};
    if ((r = world_setup(w, env, all, "all")) < 0)
        return r;
    if (w->http) { /* the optional tasks `all` leaves out: HVS learns the host's connection string */
        const char *host[] = {"create-host", "create-host-unique-flavor", NULL};
        return world_setup(w, env, host, "create-host create-host-unique-flavor");
    }
    /* the deployment trusts the CA that signed the NATS servers' certificates (one CA for a cluster) */
    snprintf(cmd, sizeof(cmd), "cp %s %s/etc/trustagent/cacerts/nats-ca.pem", w->nats[0]->ca_file, w->root);
    return run_shell(cmd);
}

/* HVS-side client options: hvs.creds, the NATS CA, one server (server >= 0) or all of them. Reconnects
 * without end, quickly and without jitter, so fault tests time the agent and not HVS's own reconnection. */
static int world_hvs_options(const world_t *w, int server, natsOptions **ret_opts)
{
    const char *urls[WORLD_MAX_NATS];
    size_t n = 0;
    natsOptions *opts = NULL;
    for (size_t i = 0; i < w->n_nats; i++)
        if (server < 0 || (size_t)server == i)
            urls[n++] = w->nats[i]->url;
    if (n == 0)
        return -EINVAL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(opts, urls, (int)n);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK)
        s = natsOptions_LoadCATrustedCertificates(opts, w->nats[0]->ca_file);
    if (s == NATS_OK)
        s = natsOptions_SetUserCredentialsFromFiles(opts, w->creds, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 100);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(opts, 0, 0);
    if (s != NATS_OK) {
        fprintf(stderr, "world: HVS options: %s (%s)\n", natsStatus_GetText(s), nats_GetLastError(NULL));
        natsOptions_Destroy(opts);
        return -EIO;
    }
    *ret_opts = opts;
    return 0;
}

int world_hvs_connect(const world_t *w, int server, natsConnection **ret_nc)
{
    natsOptions *opts = NULL;
    int r = world_hvs_options(w, server, &opts);
    if (r < 0)
        return r;
    natsStatus s = natsd_connect(opts, ret_nc); /* the connection keeps its own copy of the options */
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        fprintf(stderr, "world: HVS connection: %s (%s)\n", natsStatus_GetText(s), nats_GetLastError(NULL));
        return -EIO;
    }
    return 0;
}

/* "num_routes": k in a server's /routez. */
static int world_routes(const natsd_t *nats)
{
    char *body = NULL;
    int n = -1;
    if (natsd_monitor_get(nats, "/routez", &body) == 0) {
        const char *p = strstr(body, "\"num_routes\":");
        n = p ? atoi(p + strlen("\"num_routes\":")) : -1;
    }
    free(body);
    return n;
}

/* A cluster serves a request across servers only once every route is up; the servers start one after
 * another and the first ones retry their routes about once a second. */
static int world_cluster_wait(const world_t *w, int timeout_ms)
{
    for (int64_t until = world_now_ms() + timeout_ms;;) {
        size_t meshed = 0;
        for (size_t i = 0; i < w->n_nats; i++)
            meshed += world_routes(w->nats[i]) == (int)w->n_nats - 1;
        if (meshed == w->n_nats)
            return 0;
        if (world_now_ms() > until) {
            fprintf(stderr, "world: the cluster's routes are not all up after %d ms\n", timeout_ms);
            return -ETIMEDOUT;
        }
        usleep(100 * 1000);
    }
}

int world_start(const struct world_opts *o, world_t **ret_world)
{
    world_t *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->tagent_bin = o->tagent_bin;
    snprintf(w->host_id, sizeof(w->host_id), "%s", o->host_id ? o->host_id : "edge-world");
    w->http = o->http;
    w->n_nats = o->http ? 0 : o->n_nats ? o->n_nats : 1;
    int r = w->n_nats <= WORLD_MAX_NATS ? 0 : -EINVAL;
    if (r == 0 && w->http) {
        r = harness_port_free(&w->port);
        snprintf(w->url, sizeof(w->url), "https://127.0.0.1:%u", w->port);
    }

    struct swtpm_opts topts = {.ek_cert = true, .pcr_banks = "sha1,sha256,sha384"};
    if (r == 0)
        r = swtpm_start(&topts, &w->tpm);
    if (r == 0) {
        const char *ek_ca[] = {w->tpm->ek_ca_cert, w->tpm->ek_issuer_cert, NULL};
        struct mockcp_opts mopts = {.ek_ca = ek_ca, .nats = !w->http};
        r = mockcp_start(&mopts, &w->mock);
    }
    if (r == 0 && w->http)
        snprintf(w->ca, sizeof(w->ca), "%s", w->mock->ca_file);
    else if (r == 0)
        r = w->n_nats == 1 ? natsd_start_operator(w->mock->nats_auth_conf, &w->nats[0])
                           : natsd_start_cluster(w->mock->nats_auth_conf, w->n_nats, w->nats);
    if (r == 0)
        r = harness_tmpdir_create("world", &w->dir);
    if (r == 0) {
        if (!w->http)
            snprintf(w->creds, sizeof(w->creds), "%s/hvs.creds", w->mock->nats_dir);
        r = world_make_root(w, o);
    }
    if (r == 0)
        r = world_setup_all(w);
    if (r == 0 && w->n_nats > 1)
        r = world_cluster_wait(w, 15000);
    if (r == 0 && !w->http)
        r = world_hvs_connect(w, -1, &w->hvs);
    if (r < 0) {
        world_free(w);
        return r;
    }
    *ret_world = w;
    return 0;
}

int world_serve(const struct world_opts *o, world_t **ret_world)
{
    world_t *w = NULL;
    int r = world_start(o, &w);
    if (r == 0)
        r = world_agent_start(w, NULL, 40000);
    if (r < 0) {
        world_free(w);
        return r;
    }
    *ret_world = w;
    return 0;
}

void world_free(world_t *w)
{
    if (!w)
        return;
    if (w->agent && harness_proc_exited(w->agent) == 0)
        harness_proc_stop(w->agent);
    if (w->hvs)
        natsConnection_Destroy(w->hvs);
    for (size_t i = 0; i < WORLD_MAX_NATS; i++)
        natsd_free(w->nats[i]);
    mockcp_free(w->mock);
    swtpm_free(w->tpm);
    if (w->dir)
        harness_tmpdir_remove(w->dir);
    free(w->dir);
    free(w);
}

const char *world_subject(const world_t *w, const char *suffix, char *buf, size_t size)
{
    snprintf(buf, size, "trust-agent.%s.%s", w->host_id, suffix);
    return buf;
}

/* The agent's exit while we wait for it: its log's tail, -ECHILD. */
static int world_agent_exited(world_t *w)
{
    w->agent = 0;
    harness_log_tail(w->log, 60);
    fprintf(stderr, "world: tagent startService exited\n");
    return -ECHILD;
}

/* GET <url>/v2/version (no token) with the mock's CA: the HTTP status, 0 when there was no answer. */
static long world_http_version(const world_t *w)
{
    char url[128];
    long status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    snprintf(url, sizeof(url), "%s/v2/version", w->url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, w->ca);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, world_discard);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* HTTP mode: the agent with NOTIFY_SOCKET on a datagram socket of ours; up when READY=1 came and
 * /v2/version answers 200. envp has room for one more entry at n. */
static int world_http_agent_start(world_t *w, const char **envp, size_t n, int timeout_ms)
{
    const char *argv[] = {w->tagent_bin, "--root", w->root, "startService", NULL};
    char notify[300];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int len = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", w->dir);
    if (len <= 0 || (size_t)len >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(sa.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "world: notify socket %s: %s\n", sa.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -EIO;
    }
    snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", sa.sun_path);
    envp[n] = notify;
    envp[n + 1] = NULL;
    int64_t start = world_now_ms(), until = start + timeout_ms;
    int r = harness_spawn_env(argv, envp, w->log, &w->agent);
    bool ready = false;
    while (r == 0 && !ready && world_now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char msg[512];
        if (poll(&p, 1, 100) == 1) {
            ssize_t got = recv(fd, msg, sizeof(msg) - 1, 0);
            msg[got > 0 ? got : 0] = '\0';
            ready = strstr(msg, "READY=1") != NULL;
        } else if (harness_proc_exited(w->agent) == 1)
            r = world_agent_exited(w);
    }
    close(fd);
    w->ready_ms = world_now_ms() - start;
    for (; r == 0 && ready && world_now_ms() < until; usleep(50 * 1000))
        if (world_http_version(w) == 200)
            return 0;
    if (r == 0) {
        harness_log_tail(w->log, 60);
        fprintf(stderr, "world: tagent startService (http) %s within %d ms\n",
                ready ? "sent READY=1 but did not answer GET /v2/version with 200" : "did not send READY=1",
                timeout_ms);
        r = -ETIMEDOUT;
    }
    return r;
}

/* " <pcr>:<bank>=<hex>" for each measured event of one bank/pcr group, run 32 at a time. */
static int extend_group(world_t *w, const cJSON *g, char *cmd, size_t size, size_t *len, int *batch,
                        int *total)
{
    const cJSON *pcr = cJSON_GetObjectItemCaseSensitive(g, "pcr"), *ev;
    const cJSON *index = cJSON_GetObjectItemCaseSensitive(pcr, "index");
    const char *bank_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pcr, "bank"));
    char bank[16];
    if (!cJSON_IsNumber(index) || !bank_name)
        return -EINVAL;
    snprintf(bank, sizeof(bank), "%s", bank_name);
    for (char *c = bank; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(g, "tpm_events"))
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type_name"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "measurement"));
        if (type && strcmp(type, "EV_NO_ACTION") == 0)
            continue;
        if (!m)
            return -EINVAL;
        if (*batch == 0)
            *len = (size_t)snprintf(cmd, size, "tpm2_pcrextend -T '%s'", w->tpm->tcti);
        *len += (size_t)snprintf(cmd + *len, size - *len, " %d:%s=%s", index->valueint, bank, m);
        (*total)++;
        if (++*batch == 32) {
            *batch = 0;
            if (run_shell(cmd) < 0)
                return -EIO;
        }
    }
    return 0;
}

int world_extend_pcrs_from_log(world_t *w, const char *eventlog)
{
    cJSON *log = cJSON_Parse(eventlog);
    char *cmd = malloc(1 << 16);
    int batch = 0, total = 0, r = cJSON_IsArray(log) && cmd ? 0 : -EINVAL;
    size_t len = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, log)
    {
        if (r == 0)
            r = extend_group(w, g, cmd, 1 << 16, &len, &batch, &total);
    }
    if (r == 0 && batch)
        r = run_shell(cmd);
    if (r == 0)
        fprintf(stderr, "world: extended the swtpm PCRs with %d measurements from the measure log\n", total);
    else
        fprintf(stderr, "world: extending the PCRs from the measure log failed (%s)\n", strerror(-r));
    free(cmd);
    cJSON_Delete(log);
    return r;
}

int world_token_file(world_t *w, const char *name, const char *claims_json, int validity_seconds, char *path,
                     size_t size)
{
    char *jwt = NULL;
    int r = mockcp_mint_token(w->mock, claims_json, validity_seconds, &jwt);
    snprintf(path, size, "%s/%s", w->dir, name);
    if (r == 0)
        r = harness_file_write(path, jwt, 0600);
    free(jwt);
    return r;
}

int world_agent_start(world_t *w, const char *const *env, int timeout_ms)
{
    const char *argv[] = {w->tagent_bin, "--root", w->root, "startService", NULL};
    char subject[160];
    /* the service takes its TPM from TAGENT_TCTI (setup read it from the env file; config.yml does not keep
     * it); the caller's extras come after it, so they may override it */
    char tcti[300];
    const char *envp[16] = {tcti, WORLD_AGENT_ENV_UNSET};
    size_t n = 3;
    snprintf(tcti, sizeof(tcti), "TAGENT_TCTI=%s", w->tpm->tcti);
    for (size_t i = 0; env && env[i] && n < sizeof(envp) / sizeof(envp[0]) - 2; i++)
        envp[n++] = env[i];
    envp[n] = NULL;
    if (w->http)
        return world_http_agent_start(w, envp, n, timeout_ms);
    int r = harness_spawn_env(argv, envp, w->log, &w->agent);
    if (r < 0)
        return r;
    world_subject(w, "version-request", subject, sizeof(subject));
    for (int64_t until = world_now_ms() + timeout_ms; world_now_ms() < until;) {
        natsMsg *reply = NULL;
        if (natsConnection_RequestString(&reply, w->hvs, subject, "null", 200) == NATS_OK) {
            natsMsg_Destroy(reply);
            return 0;
        }
        if (harness_proc_exited(w->agent) == 1)
            return world_agent_exited(w);
        usleep(50 * 1000); /* no responders yet: the answer comes at once */
    }
    harness_log_tail(w->log, 60);
    fprintf(stderr, "world: tagent startService did not answer within %d ms\n", timeout_ms);
    return -ETIMEDOUT;
}

int world_agent_stop(world_t *w)
{
    if (!w->agent)
        return 0;
    if (harness_proc_signal(w->agent, SIGTERM) < 0)
        return -ESRCH;
    int status = -1;
    pid_t r = 0;
    for (int i = 0; i < 150 && r == 0; i++) {
        r = waitpid(w->agent, &status, WNOHANG);
        if (r == 0)
            usleep(100 * 1000);
    }
    if (r != w->agent) {
        harness_proc_stop(w->agent);
        w->agent = 0;
        harness_log_tail(w->log, 60);
        fprintf(stderr, "world: tagent did not exit within 15 s of SIGTERM\n");
        return -ETIMEDOUT;
    }
    harness_proc_exited(w->agent); /* unregisters it */
    w->agent = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        harness_log_tail(w->log, 40);
        fprintf(stderr, "world: tagent exited with status %#x after SIGTERM\n", status);
        return -EIO;
    }
    return 0;
}

int world_request(world_t *w, const char *suffix, const char *payload, int timeout_ms, char **ret_text,
                  int64_t *ret_ms)
{
    char subject[160];
    natsMsg *reply = NULL;
    world_subject(w, suffix, subject, sizeof(subject));
    int64_t start = world_now_ms();
    natsStatus s = natsConnection_Request(&reply, w->hvs, subject, payload, (int)strlen(payload), timeout_ms);
    if (ret_ms)
        *ret_ms = world_now_ms() - start;
    if (s != NATS_OK)
        return s == NATS_TIMEOUT ? -ETIMEDOUT : -EIO;
    char *text = strndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    if (!text)
        return -ENOMEM;
    *ret_text = text;
    return 0;
}

void world_quote_payload(const uint8_t nonce[32], char *buf, size_t size)
{
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, nonce, 32);
    snprintf(buf, size,
             "{\"nonce\":\"%s\",\"pcrs\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23],"
             "\"pcrbanks\":[],\"ima_measure_enabled\":false}",
             b64);
}

bool world_log_has(const world_t *w, const char *needle)
{
    char *text = harness_file_slurp(w->log);
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

bool world_log_clean(const world_t *w)
{
    return !world_log_has(w, "AddressSanitizer") && !world_log_has(w, "LeakSanitizer") &&
           !world_log_has(w, "runtime error");
}

long world_inbox_seq(const char *subject, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = NULL;
    if (strncmp(subject, prefix, n) != 0 || subject[n] < '0' || subject[n] > '9')
        return -1;
    long seq = strtol(subject + n, &end, 10);
    return *end ? -1 : seq;
}
