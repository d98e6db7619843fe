/* NATS decentralised auth as an ISecL deployment runs it: nats-server in operator mode with TLS and a memory
 * resolver, .creds minted by tests/mock/natsjwt.c, clients through cnats
 * (natsOptions_SetUserCredentialsFromFiles).
 * - nkeys and JWT layout (no server): text forms, CRC, ed25519 against RFC 8032, claims as jwt v2 writes
 * them;
 * - the agent user for "edge-01" (publish deny ">", subscribe "trust-agent.edge-01.>", responses max 1)
 * answers HVS's request; it cannot publish anywhere else, cannot answer twice, cannot subscribe to another
 * host;
 * - refused: a user of an account the server does not know, a tampered JWT, the wrong seed, an expired JWT.
 * One server serves the whole group; the last test stops it by PID and checks nothing is left, and the group
 * teardown stops it if a test failed first. NATS_AUTH_FILTER=<glob> runs only matching tests;
 * NATS_AUTH_SERVER_LOG=1 prints the server's log (its reason for each refusal) at the end.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>
#include <openssl/evp.h>

#include "harness.h"
#include "natsjwt.h"

#define HOST_ID       "edge-01"
#define QUOTE_SUBJECT "trust-agent." HOST_ID ".quote-request"
#define QUIET_MS      500 /* how long "nothing arrives" is watched for */

/* What cnats reported through the async error handler (it runs on a cnats thread). */
struct async_err {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
    natsStatus last;
    char text[256];
};

struct group {
    struct natsjwt_deployment *dep;
    natsd_t *nats;
    char *dir; /* .creds files */
    char *agent_creds;
    char *hvs_creds;
};

struct conns {
    natsOptions *opts[2];
    natsConnection *agent;
    natsConnection *hvs;
    natsSubscription *subs[4];
    struct async_err agent_err;
};

static struct group g;

/* ---- helpers ---- */

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    struct async_err *e = closure;
    const char *text = NULL;

    natsConnection_GetLastError(nc, &text);
    pthread_mutex_lock(&e->lock);
    e->count++;
    e->last = err;
    snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

/* Waits until at least n errors were reported; returns the count seen. */
static int async_err_wait(struct async_err *e, int n, int timeout_ms)
{
    struct timespec until;
    int count;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->lock);
    while (e->count < n && pthread_cond_timedwait(&e->cond, &e->lock, &until) == 0)
        ;
    count = e->count;
    pthread_mutex_unlock(&e->lock);
    return count;
}

static char *write_creds(const char *name, const char *text)
{
    char *path = NULL;

    assert_int_equal(harness_path_join(g.dir, name, &path), 0);
    assert_int_equal(harness_file_write(path, text, 0600), 0);
    return path;
}

/* Connects with a .creds file; returns the natsStatus and, on failure, cnats' last error text. Connections
 * expected to succeed go through natsd_connect(), which retries the 1-in-256 refusal cnats 3.4 causes itself
 * (see harness.h); a refusal that is expected is a single attempt. */
static natsStatus connect_creds(const char *creds_path, natsOptions **ret_opts, natsConnection **ret_nc,
                                struct async_err *err, char *err_text, size_t err_size, bool expect_ok)
{
    natsStatus s;
    const char *text = NULL;

    assert_int_equal(natsd_client_options(g.nats, creds_path, ret_opts), 0);
    if (err)
        assert_int_equal(natsOptions_SetErrorHandler(*ret_opts, on_async_error, err), NATS_OK);
    assert_int_equal(natsOptions_SetMaxReconnect(*ret_opts, 0), NATS_OK);
    s = expect_ok ? natsd_connect(*ret_opts, ret_nc) : natsConnection_Connect(ret_nc, *ret_opts);
    if (err_text) {
        err_text[0] = '\0';
        if (s != NATS_OK && (text = nats_GetLastError(NULL)))
            snprintf(err_text, err_size, "%s", text);
    }
    return s;
}

/* The server answers a bad credential with -ERR 'Authorization Violation' and closes: cnats reports it.
 * Three attempts, each refused, so the refusal is not cnats' own 1-in-256 one (see harness.h). */
static void assert_refused(const char *creds_text, const char *file_name)
{
    char *path = write_creds(file_name, creds_text);

    for (int attempt = 0; attempt < 3; attempt++) {
        natsOptions *opts = NULL;
        natsConnection *nc = NULL;
        char text[512];
        natsStatus s = connect_creds(path, &opts, &nc, NULL, text, sizeof(text), false);

        if (s == NATS_OK)
            fail_msg("%s: connection accepted", file_name);
        assert_int_equal(s, NATS_CONNECTION_AUTH_FAILED);
        if (!strcasestr(text, "authorization violation"))
            fail_msg("%s: unexpected error text: %s", file_name, text);
        assert_null(nc);
        natsOptions_Destroy(opts);
    }
    free(path);
}

static void assert_accepted(const char *creds_text, const char *file_name)
{
    char *path = write_creds(file_name, creds_text);
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    char text[512];
    natsStatus s = connect_creds(path, &opts, &nc, NULL, text, sizeof(text), true);

    if (s != NATS_OK)
        fail_msg("%s: refused: %s: %s", file_name, natsStatus_GetText(s), text);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    free(path);
}

/* Decoded JSON of a JWT's payload (base64url without padding, via OpenSSL's base64). */
static cJSON *jwt_payload(const char *jwt)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    size_t len, padded;
    char *b64;
    unsigned char *raw;
    int n;
    cJSON *json;

    if (!dot1 || !dot2 || dot2 <= dot1 + 1)
        fail_msg("not a JWT: %.40s", jwt);
    len = (size_t)(dot2 - dot1 - 1);
    if (len > 1u << 20)
        fail_msg("JWT payload too long");
    padded = (len + 3) / 4 * 4;
    b64 = calloc(1, padded + 1);
    raw = calloc(1, padded + 1);
    assert_non_null(b64);
    assert_non_null(raw);
    memcpy(b64, dot1 + 1, len);
    for (size_t i = 0; i < len; i++)
        b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    memset(b64 + len, '=', padded - len);
    n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
    assert_true(n > 0);
    n -= (int)(padded - len); /* EVP_DecodeBlock counts the padding as zero bytes */
    json = cJSON_ParseWithLength((const char *)raw, (size_t)n);
    assert_non_null(json);
    free(b64);
    free(raw);
    return json;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static double json_num(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    if (natsjwt_deployment_create(NULL, &g.dep) < 0 ||
        natsd_start_operator(g.dep->server_conf, &g.nats) < 0 ||
        harness_tmpdir_create("natsauth", &g.dir) < 0 ||
        natsjwt_creds_trust_agent(g.dep, HOST_ID, &g.agent_creds) < 0 ||
        natsjwt_creds_hvs(g.dep, &g.hvs_creds) < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    if (g.nats && getenv("NATS_AUTH_SERVER_LOG")) /* what the server said about each refusal */
        harness_log_tail(g.nats->log_path, 200);
    natsd_free(g.nats);
    harness_tmpdir_remove(g.dir);
    free(g.dir);
    free(g.agent_creds);
    free(g.hvs_creds);
    natsjwt_deployment_free(g.dep);
    memset(&g, 0, sizeof(g));
    return 0;
}

static int conns_setup(void **state)
{
    struct conns *c = calloc(1, sizeof(*c));

    if (!c)
        return -1;
    pthread_mutex_init(&c->agent_err.lock, NULL);
    pthread_cond_init(&c->agent_err.cond, NULL);
    *state = c;
    return 0;
}

static int conns_teardown(void **state)
{
    struct conns *c = *state;

    for (size_t i = 0; i < sizeof(c->subs) / sizeof(c->subs[0]); i++)
        natsSubscription_Destroy(c->subs[i]);
    natsConnection_Destroy(c->agent);
    natsConnection_Destroy(c->hvs);
    natsOptions_Destroy(c->opts[0]);
    natsOptions_Destroy(c->opts[1]);
    pthread_cond_destroy(&c->agent_err.cond);
    pthread_mutex_destroy(&c->agent_err.lock);
    free(c);
    return 0;
}

/* Agent and HVS connected with their .creds, as the agent and HVS are in a deployment. */
static void connect_agent_and_hvs(struct conns *c)
{
    assert_non_null(c); /* the tests' *state, from their setup */
    char *agent_path = write_creds("trust-agent.creds", g.agent_creds);
    char *hvs_path = write_creds("hvs.creds", g.hvs_creds);
    char text[512];
    natsStatus s;

    s = connect_creds(agent_path, &c->opts[0], &c->agent, &c->agent_err, text, sizeof(text), true);
    if (s != NATS_OK)
        harness_log_tail(g.nats->log_path, 20);
    if (s != NATS_OK)
        fail_msg("agent refused: %s: %s", natsStatus_GetText(s), text);
    s = connect_creds(hvs_path, &c->opts[1], &c->hvs, NULL, text, sizeof(text), true);
    if (s != NATS_OK)
        harness_log_tail(g.nats->log_path, 20);
    if (s != NATS_OK)
        fail_msg("HVS refused: %s: %s", natsStatus_GetText(s), text);
    free(agent_path);
    free(hvs_path);
}

static void on_quote_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    char reply[256];

    snprintf(reply, sizeof(reply), "{\"quote-for\":\"%.*s\"}", natsMsg_GetDataLength(msg),
             natsMsg_GetData(msg));
    if (natsMsg_GetReply(msg))
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
    natsMsg_Destroy(msg);
}

/* Answers twice: responses are allowed with max 1, so only the first may get through. */
static void on_request_reply_twice(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    if (natsMsg_GetReply(msg)) {
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), "first");
        natsConnection_PublishString(nc, natsMsg_GetReply(msg), "second");
    }
    natsMsg_Destroy(msg);
}

static void assert_no_message(natsSubscription *sub)
{
    natsMsg *msg = NULL;
    natsStatus s = natsSubscription_NextMsg(&msg, sub, QUIET_MS);

    if (s == NATS_OK)
        fail_msg("unexpected message on %s: %.*s", natsMsg_GetSubject(msg), natsMsg_GetDataLength(msg),
                 natsMsg_GetData(msg));
    assert_int_equal(s, NATS_TIMEOUT);
}

/* ---- tests without a server ---- */

static void test_nkey_text(void **state)
{
    static const char types[] = "OAU";

    for (const char *t = types; *t; t++) {
        struct nkey key, back;
        char pub[57], seed[59], bad[59], type = 0;
        uint8_t raw[32], sig[64];

        assert_int_equal(nkey_create(*t, &key), 0);
        nkey_public_string(&key, pub);
        nkey_seed_string(&key, seed);
        assert_int_equal(strlen(pub), NKEY_PUBLIC_LEN);
        assert_int_equal(strlen(seed), NKEY_SEED_LEN);
        assert_int_equal(pub[0], *t);
        assert_int_equal(seed[0], 'S');
        assert_int_equal(seed[1], *t);

        assert_int_equal(nkey_public_decode(pub, &type, raw), 0);
        assert_int_equal(type, *t);
        assert_memory_equal(raw, key.pub, 32);
        assert_int_equal(nkey_from_seed(seed, &back), 0);
        assert_int_equal(back.type, *t);
        assert_memory_equal(back.seed, key.seed, 32);
        assert_memory_equal(back.pub, key.pub, 32);

        /* Any one character changed is caught (CRC16 catches every burst up to 16 bits). */
        for (size_t i = 0; i < NKEY_SEED_LEN; i++) {
            snprintf(bad, sizeof(bad), "%s", seed);
            bad[i] = bad[i] == 'A' ? 'B' : 'A';
            assert_int_equal(nkey_from_seed(bad, &back), -EINVAL);
        }
        for (size_t i = 0; i < NKEY_PUBLIC_LEN; i++) {
            snprintf(bad, sizeof(bad), "%s", pub);
            bad[i] = bad[i] == '7' ? '2' : '7';
            assert_int_equal(nkey_public_decode(bad, NULL, NULL), -EINVAL);
        }
        assert_int_equal(nkey_public_decode("", NULL, NULL), -EINVAL);
        assert_int_equal(nkey_from_seed(pub, &back), -EINVAL);
        seed[NKEY_SEED_LEN - 1] = '\0';
        assert_int_equal(nkey_from_seed(seed, &back), -EINVAL);

        assert_int_equal(nkey_sign(&key, "nonce", 5, sig), 0);
        assert_int_equal(nkey_verify(pub, "nonce", 5, sig), 0);
        assert_int_equal(nkey_verify(pub, "nonce!", 6, sig), -EBADMSG);
        nkey_wipe(&key);
        nkey_wipe(&back);
    }
    assert_int_equal(nkey_create('X', &(struct nkey){0}), -EINVAL);
}

/* RFC 8032 section 7.1, TEST 1: the ed25519 underneath is the standard one. */
static void test_nkey_ed25519_rfc8032(void **state)
{
    static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                     0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                     0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    static const uint8_t pub[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                    0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                    0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
    static const uint8_t sig[64] = {
        0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e, 0x82, 0x8a,
        0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55,
        0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
        0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b};
    struct nkey key = {.type = 'U'}, back;
    char text[59], pub_text[57];
    uint8_t out[64];

    /* Build the text form from the raw seed and let nkey_from_seed derive the public key. */
    memcpy(key.seed, seed, 32);
    nkey_seed_string(&key, text);
    assert_int_equal(nkey_from_seed(text, &back), 0);
    assert_memory_equal(back.pub, pub, 32);
    assert_int_equal(nkey_sign(&back, "", 0, out), 0);
    assert_memory_equal(out, sig, 64);
    nkey_public_string(&back, pub_text);
    assert_int_equal(nkey_verify(pub_text, "", 0, sig), 0);
    nkey_wipe(&back);
}

static void test_jwt_layout(void **state)
{
    const char *const pub_deny[] = {">", NULL};
    const char *const sub_allow[] = {"trust-agent." HOST_ID ".>", NULL};
    const struct natsjwt_user_perms perms = {.pub_deny = pub_deny, .sub_allow = sub_allow, .resp_max = 1};
    struct nkey user;
    char user_pub[57], *jwt = NULL, *creds = NULL, seed[59];
    const char *dot;
    cJSON *claims, *nats, *resp;
    time_t now = time(NULL);

    assert_int_equal(nkey_create('U', &user), 0);
    nkey_public_string(&user, user_pub);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, &perms, &jwt), 0);

    /* header.payload.signature; the header is the fixed {"typ":"JWT","alg":"ed25519-nkey"} */
    assert_int_equal(strncmp(jwt, "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.", 47), 0);
    assert_null(strpbrk(jwt, "=+/ \n"));
    dot = strrchr(jwt, '.');
    assert_int_equal(strlen(dot + 1), 86); /* 64 bytes, base64url without padding */
    {
        /* The signature covers "header.payload" and verifies with the issuer's public key. */
        char b64[89];
        unsigned char raw[66];
        uint8_t sig[64];

        snprintf(b64, sizeof(b64), "%s==", dot + 1);
        for (char *p = b64; *p; p++)
            *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
        assert_int_equal(EVP_DecodeBlock(raw, (unsigned char *)b64, 88), 66);
        memcpy(sig, raw, 64);
        assert_int_equal(nkey_verify(g.dep->account_pub, jwt, (size_t)(dot - jwt), sig), 0);
        assert_int_equal(nkey_verify(g.dep->op_pub, jwt, (size_t)(dot - jwt), sig), -EBADMSG);
    }

    claims = jwt_payload(jwt);
    assert_string_equal(json_str(claims, "iss"), g.dep->account_pub);
    assert_string_equal(json_str(claims, "sub"), user_pub);
    assert_string_equal(json_str(claims, "name"), HOST_ID);
    assert_int_equal(strlen(json_str(claims, "jti")), 52);
    assert_true(json_num(claims, "iat") >= (double)now - 5 && json_num(claims, "iat") <= (double)now + 5);
    assert_null(cJSON_GetObjectItem(claims, "exp"));
    nats = cJSON_GetObjectItem(claims, "nats");
    assert_string_equal(json_str(nats, "type"), "user");
    assert_int_equal((int)json_num(nats, "version"), 2);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(nats, "pub"), "deny"), 0)->valuestring,
        ">");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(nats, "sub"), "allow"), 0)->valuestring,
        "trust-agent." HOST_ID ".>");
    resp = cJSON_GetObjectItem(nats, "resp");
    assert_int_equal((int)json_num(resp, "max"), 1);
    assert_int_equal((int)json_num(nats, "subs"), -1);
    assert_int_equal((int)json_num(nats, "payload"), -1);
    cJSON_Delete(claims);

    claims = jwt_payload(g.dep->account_jwt);
    assert_string_equal(json_str(claims, "iss"), g.dep->op_pub);
    assert_string_equal(json_str(claims, "sub"), g.dep->account_pub);
    nats = cJSON_GetObjectItem(claims, "nats");
    assert_string_equal(json_str(nats, "type"), "account");
    assert_int_equal((int)json_num(cJSON_GetObjectItem(nats, "limits"), "conn"), -1);
    cJSON_Delete(claims);

    claims = jwt_payload(g.dep->operator_jwt);
    assert_string_equal(json_str(claims, "iss"), g.dep->op_pub);
    assert_string_equal(json_str(claims, "sub"), g.dep->op_pub);
    assert_string_equal(json_str(cJSON_GetObjectItem(claims, "nats"), "type"), "operator");
    cJSON_Delete(claims);

    /* The .creds layout the spec gives (what AAS returns and nsc writes). */
    assert_int_equal(natsjwt_creds(jwt, &user, &creds), 0);
    nkey_seed_string(&user, seed);
    {
        char *want = NULL;

        assert_true(asprintf(&want,
                             "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                             "************************* IMPORTANT *************************\n",
                             jwt) > 0);
        assert_int_equal(strncmp(creds, want, strlen(want)), 0);
        free(want);
        assert_true(asprintf(&want, "\n-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
                             seed) > 0);
        assert_non_null(strstr(creds, want));
        free(want);
    }
    assert_int_equal(natsjwt_creds("a\nb", &user, &(char *){NULL}), -EINVAL);
    assert_int_equal(natsjwt_creds_trust_agent(g.dep, "bad*host", &(char *){NULL}), -EINVAL);
    assert_int_equal(natsjwt_creds_trust_agent(g.dep, "", &(char *){NULL}), -EINVAL);
    assert_int_equal(natsjwt_user(&g.dep->op, &user, "x", NULL, &(char *){NULL}), -EINVAL);
    free(creds);
    free(jwt);
    nkey_wipe(&user);
}

/* ---- tests against nats-server ---- */

static void test_hvs_request_agent_replies(void **state)
{
    struct conns *c = *state;
    natsMsg *reply = NULL;

    connect_agent_and_hvs(c);
    assert_int_equal(natsConnection_Subscribe(&c->subs[0], c->agent, QUOTE_SUBJECT, on_quote_request, NULL),
                     NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);

    assert_int_equal(natsConnection_RequestString(&reply, c->hvs, QUOTE_SUBJECT, "nonce-1", 5000), NATS_OK);
    assert_string_equal(natsMsg_GetData(reply), "{\"quote-for\":\"nonce-1\"}");
    natsMsg_Destroy(reply);
    reply = NULL;
    /* The reply permission is per request: a second request is answered too. */
    assert_int_equal(natsConnection_RequestString(&reply, c->hvs, QUOTE_SUBJECT, "nonce-2", 5000), NATS_OK);
    assert_string_equal(natsMsg_GetData(reply), "{\"quote-for\":\"nonce-2\"}");
    natsMsg_Destroy(reply);
    assert_int_equal(async_err_wait(&c->agent_err, 1, 0), 0);
}

static void test_agent_publish_denied(void **state)
{
    struct conns *c = *state;
    natsSubscription *spy = NULL, *own = NULL;

    connect_agent_and_hvs(c);
    /* HVS may listen on _INBOX.>: a subject the agent could reach only by publishing outside a reply. */
    assert_int_equal(natsConnection_SubscribeSync(&c->subs[0], c->hvs, "_INBOX.spy"), NATS_OK);
    spy = c->subs[0];
    assert_int_equal(natsConnection_SubscribeSync(&c->subs[1], c->agent, QUOTE_SUBJECT), NATS_OK);
    own = c->subs[1];
    assert_int_equal(natsConnection_Flush(c->hvs), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);

    /* cnats sends the PUB; the server drops it and answers -ERR 'Permissions Violation for Publish ...'. */
    assert_int_equal(natsConnection_PublishString(c->agent, "_INBOX.spy", "leak"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
    assert_true(async_err_wait(&c->agent_err, 1, 5000) >= 1);
    pthread_mutex_lock(&c->agent_err.lock);
    assert_int_equal(c->agent_err.last, NATS_NOT_PERMITTED);
    if (!strcasestr(c->agent_err.text, "permissions violation for publish to \"_INBOX.spy\"") &&
        !strcasestr(c->agent_err.text, "permissions violation for publish to _INBOX.spy"))
        fail_msg("agent error text: %s", c->agent_err.text);
    pthread_mutex_unlock(&c->agent_err.lock);
    assert_no_message(spy);

    /* Not even to its own subject: the agent only ever answers. */
    assert_int_equal(natsConnection_PublishString(c->agent, QUOTE_SUBJECT, "self"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
    assert_true(async_err_wait(&c->agent_err, 2, 5000) >= 2);
    assert_no_message(own);

    /* A permissions violation does not cost the connection. */
    assert_int_equal(natsConnection_Status(c->agent), NATS_CONN_STATUS_CONNECTED);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
}

static void test_agent_answers_once(void **state)
{
    struct conns *c = *state;
    natsMsg *msg = NULL;

    connect_agent_and_hvs(c);
    assert_int_equal(
        natsConnection_Subscribe(&c->subs[0], c->agent, QUOTE_SUBJECT, on_request_reply_twice, NULL),
        NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&c->subs[1], c->hvs, "_INBOX.hvs-manual"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->hvs), NATS_OK);

    assert_int_equal(natsConnection_PublishRequestString(c->hvs, QUOTE_SUBJECT, "_INBOX.hvs-manual", "n"),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&msg, c->subs[1], 5000), NATS_OK);
    assert_string_equal(natsMsg_GetData(msg), "first");
    natsMsg_Destroy(msg);
    assert_no_message(c->subs[1]);
    assert_true(async_err_wait(&c->agent_err, 1, 5000) >= 1);
    pthread_mutex_lock(&c->agent_err.lock);
    assert_int_equal(c->agent_err.last, NATS_NOT_PERMITTED);
    pthread_mutex_unlock(&c->agent_err.lock);
}

static void test_agent_subscribe_other_host_denied(void **state)
{
    struct conns *c = *state;

    connect_agent_and_hvs(c);
    /* cnats accepts the SUB locally; the server refuses it and never delivers on it. */
    assert_int_equal(natsConnection_SubscribeSync(&c->subs[0], c->agent, "trust-agent.other.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
    assert_true(async_err_wait(&c->agent_err, 1, 5000) >= 1);
    pthread_mutex_lock(&c->agent_err.lock);
    assert_int_equal(c->agent_err.last, NATS_NOT_PERMITTED);
    if (!strcasestr(c->agent_err.text, "permissions violation for subscription to"))
        fail_msg("agent error text: %s", c->agent_err.text);
    pthread_mutex_unlock(&c->agent_err.lock);

    assert_int_equal(natsConnection_PublishString(c->hvs, "trust-agent.other.quote-request", "n"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->hvs), NATS_OK);
    assert_no_message(c->subs[0]);
    /* A wider pattern than its own is refused too. */
    assert_int_equal(natsConnection_SubscribeSync(&c->subs[1], c->agent, "trust-agent.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(c->agent), NATS_OK);
    assert_true(async_err_wait(&c->agent_err, 2, 5000) >= 2);
    assert_int_equal(natsConnection_Status(c->agent), NATS_CONN_STATUS_CONNECTED);
}

static void test_unknown_account_refused(void **state)
{
    struct nkey stranger, user;
    char *jwt = NULL, *creds = NULL;

    /* A well-formed user JWT, but its account was never signed into the server's resolver. */
    assert_int_equal(nkey_create('A', &stranger), 0);
    assert_int_equal(nkey_create('U', &user), 0);
    assert_int_equal(natsjwt_user(&stranger, &user, HOST_ID, NULL, &jwt), 0);
    assert_int_equal(natsjwt_creds(jwt, &user, &creds), 0);
    assert_refused(creds, "stranger.creds");
    free(creds);
    free(jwt);
    nkey_wipe(&user);
    nkey_wipe(&stranger);
}

/* The agent's own JWT with its payload swapped for one granting "publish >": the signature no longer fits. */
static void test_tampered_jwt_refused(void **state)
{
    const char *const pub_deny[] = {">", NULL};
    const char *const sub_allow[] = {"trust-agent." HOST_ID ".>", NULL};
    const char *const everything[] = {">", NULL};
    const struct natsjwt_user_perms agent = {.pub_deny = pub_deny, .sub_allow = sub_allow, .resp_max = 1};
    const struct natsjwt_user_perms wide = {.pub_allow = everything, .sub_allow = everything};
    struct nkey user;
    char *good = NULL, *greedy = NULL, *forged = NULL, *creds = NULL;
    const char *good_dot1, *good_dot2, *greedy_dot1, *greedy_dot2;

    assert_int_equal(nkey_create('U', &user), 0);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, &agent, &good), 0);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, &wide, &greedy), 0);
    good_dot1 = strchr(good, '.');
    good_dot2 = strchr(good_dot1 + 1, '.');
    greedy_dot1 = strchr(greedy, '.');
    greedy_dot2 = strchr(greedy_dot1 + 1, '.');
    assert_true(asprintf(&forged, "%.*s%.*s%s", (int)(good_dot1 - good), good,
                         (int)(greedy_dot2 - greedy_dot1), greedy_dot1, good_dot2) > 0);

    assert_int_equal(natsjwt_creds(forged, &user, &creds), 0);
    assert_refused(creds, "forged.creds");
    free(creds);
    creds = NULL;

    /* One character in the middle of the signature changed. */
    free(forged);
    forged = strdup(good);
    assert_non_null(forged);
    forged[good_dot2 - good + 10] = forged[good_dot2 - good + 10] == 'A' ? 'B' : 'A';
    assert_int_equal(natsjwt_creds(forged, &user, &creds), 0);
    assert_refused(creds, "badsig.creds");
    free(creds);
    creds = NULL;

    /* Control: both untampered JWTs are accepted with this very user key. */
    assert_int_equal(natsjwt_creds(good, &user, &creds), 0);
    assert_accepted(creds, "good.creds");
    free(creds);
    assert_int_equal(natsjwt_creds(greedy, &user, &creds), 0);
    assert_accepted(creds, "greedy.creds");
    free(creds);
    free(forged);
    free(greedy);
    free(good);
    nkey_wipe(&user);
}

/* The agent's JWT with another user's seed: the nonce signature does not match the JWT's subject. */
static void test_wrong_seed_refused(void **state)
{
    struct nkey user, other;
    char *jwt = NULL, *creds = NULL;

    assert_int_equal(nkey_create('U', &user), 0);
    assert_int_equal(nkey_create('U', &other), 0);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, NULL, &jwt), 0);
    assert_int_equal(natsjwt_creds(jwt, &other, &creds), 0);
    assert_refused(creds, "wrong-seed.creds");
    free(creds);
    free(jwt);
    nkey_wipe(&user);
    nkey_wipe(&other);
}

static void test_expired_jwt_refused(void **state)
{
    const struct natsjwt_user_perms expired = {.expires = time(NULL) - 60};
    const struct natsjwt_user_perms later = {.expires = time(NULL) + 3600};
    struct nkey user;
    char *jwt = NULL, *creds = NULL;

    assert_int_equal(nkey_create('U', &user), 0);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, &expired, &jwt), 0);
    assert_int_equal(natsjwt_creds(jwt, &user, &creds), 0);
    assert_refused(creds, "expired.creds");
    free(creds);
    free(jwt);
    assert_int_equal(natsjwt_user(&g.dep->account, &user, HOST_ID, &later, &jwt), 0);
    assert_int_equal(natsjwt_creds(jwt, &user, &creds), 0);
    assert_accepted(creds, "later.creds");
    free(creds);
    free(jwt);
    nkey_wipe(&user);
}

/* Last: the server goes away by its PID and leaves no child, PID or temp dir behind. */
static void test_server_stops_clean(void **state)
{
    pid_t pid = g.nats->pid;
    char dir[512];

    snprintf(dir, sizeof(dir), "%s", g.nats->dir);
    natsd_free(g.nats);
    g.nats = NULL;
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_false(harness_path_exists(dir));
    assert_int_equal(harness_count_children(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nkey_text),
        cmocka_unit_test(test_nkey_ed25519_rfc8032),
        cmocka_unit_test(test_jwt_layout),
        cmocka_unit_test_setup_teardown(test_hvs_request_agent_replies, conns_setup, conns_teardown),
        cmocka_unit_test_setup_teardown(test_agent_publish_denied, conns_setup, conns_teardown),
        cmocka_unit_test_setup_teardown(test_agent_answers_once, conns_setup, conns_teardown),
        cmocka_unit_test_setup_teardown(test_agent_subscribe_other_host_denied, conns_setup, conns_teardown),
        cmocka_unit_test(test_unknown_account_refused),
        cmocka_unit_test(test_tampered_jwt_refused),
        cmocka_unit_test(test_wrong_seed_refused),
        cmocka_unit_test(test_expired_jwt_refused),
        cmocka_unit_test(test_server_stops_clean),
    };
    int failed;

    if (getenv("NATS_AUTH_FILTER"))
        cmocka_set_test_filter(getenv("NATS_AUTH_FILTER"));
    failed = cmocka_run_group_tests_name("integration.nats_auth", tests, group_setup, group_teardown);

    /* cnats and OpenSSL both hold library state until told; release it for the leak checker. */
    harness_nats_close();
    return failed;
}
