/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A provisioned host for service tests and benchmarks: swtpm (EK certificate, SHA1+SHA256+SHA384 banks),
 * the mock control plane, nats-server in operator mode (one server or a routed cluster), a temp root with
 * the corpora's SMBIOS table and UEFI event log, `tagent setup all` run against all of it, and an HVS-side
 * NATS connection with the mock's hvs.creds. A cluster is fully routed (and its servers' monitoring is on)
 * before world_start() returns. Then `tagent startService` can be started and stopped.
 *
 * Not tied to cmocka: functions return 0 or a negative errno and print what failed to stderr.
 */
#ifndef TAGENT_TEST_WORLD_H
#define TAGENT_TEST_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nats/nats.h>

#include "harness.h"

#define WORLD_OWNER_SECRET "hex:5e7a11c0ffee5e7a11c0ffee"
#define WORLD_MAX_NATS     3
/* What an agent's environment lacks, as under systemd, which starts tagent.service without the shell's
 * variables: an SSL_CERT_FILE naming the system bundle (some images export one) would have cnats parse
 * ~150 certificates into the agent's heap (agent/service/service.c process_setup). Bare names: removed
 * (harness_spawn_env). */
#define WORLD_AGENT_ENV_UNSET "SSL_CERT_FILE", "SSL_CERT_DIR"

struct world_opts {
    const char *tagent_bin; /* the tagent under test */
    const char *corpora;    /* ../shared/corpora */
    const char *host_id;    /* TA_HOST_ID */
    size_t n_nats;          /* 1 (default) or up to WORLD_MAX_NATS servers routed into a cluster */
    bool no_eventlog;       /* no securityfs event log in the root */
    /* HTTP service mode: TA_SERVICE_MODE=http, CURRENT_IP=127.0.0.1, TRUSTAGENT_PORT a free port; setup all
     * (download-cert from the mock CMS), then create-host and create-host-unique-flavor; no NATS server. The
     * service is up when it sends READY=1 (NOTIFY_SOCKET) and answers GET /v2/version. */
    bool http;
};

typedef struct world {
    swtpm_t *tpm;
    mockcp_t *mock;
    natsd_t *nats[WORLD_MAX_NATS];
    size_t n_nats;
    char *dir;
    char root[512], log[512], creds[600];
    const char *tagent_bin;
    char host_id[64];
    pid_t agent;
    natsConnection *hvs; /* HVS's connection (all cluster URLs); NULL in HTTP mode */
    bool http;
    uint16_t port;    /* HTTP mode: TRUSTAGENT_PORT */
    char url[64];     /* HTTP mode: "https://127.0.0.1:<port>", the connection string's URL */
    char ca[600];     /* HTTP mode: the CA the agent's TLS certificate chains to (the mock CMS root) */
    int64_t ready_ms; /* HTTP mode: start to READY=1 of the last world_agent_start() */
} world_t;

/* Everything up to a provisioned root; the agent is not started. */
int world_start(const struct world_opts *opts, world_t **ret_world);
/* Stops the agent (if running) and every process, removes the temp dirs, frees. NULL is fine. */
void world_free(world_t *w);

/* world_start() and world_agent_start() (no extra environment, 40 s): a provisioned host being served. */
int world_serve(const struct world_opts *opts, world_t **ret_world);

/* Spawns `tagent --root R startService` with extra environment (NULL-terminated "K=V" list, may be NULL)
 * and waits until it answers version-request (up to timeout_ms); in HTTP mode until it sends READY=1 through
 * NOTIFY_SOCKET and answers GET /v2/version with 200. */
int world_agent_start(world_t *w, const char *const *env, int timeout_ms);
/* SIGTERM and wait for the exit; 0 only when it exited with status 0. */
int world_agent_stop(world_t *w);

/* Another HVS-side connection (hvs.creds) to server index `server`, or to any of them with -1; it reconnects
 * without end every 100 ms. The caller destroys *ret_nc. */
int world_hvs_connect(const world_t *w, int server, natsConnection **ret_nc);

/* HTTP mode: a bearer token the mock AAS mints with these claims (see mockcp_mint_token), written to
 * w->dir/<name>; its path into path. */
int world_token_file(world_t *w, const char *name, const char *claims_json, int validity_seconds, char *path,
                     size_t size);

/* Extends the swtpm's PCRs with the measure log's measurements (its JSON text, as a quote carries it: per
 * bank/pcr, in log order, EV_NO_ACTION skipped, which is what HVS's Replay computes) through tpm2_pcrextend,
 * so that log and PCRs agree as on a real host. Stop the agent first: it holds the swtpm connection. */
int world_extend_pcrs_from_log(world_t *w, const char *eventlog);

/* "trust-agent.<host-id>.<suffix>" into buf. */
const char *world_subject(const world_t *w, const char *suffix, char *buf, size_t size);
/* One request as HVS sends it on its connection; *ret_text is the reply (caller frees), *ret_ms the
 * round trip. A NATS failure (timeout, no responders) returns -ETIMEDOUT / -EIO with nothing in *ret_text. */
int world_request(world_t *w, const char *suffix, const char *payload, int timeout_ms, char **ret_text,
                  int64_t *ret_ms);
/* A quote-request payload as HVS sends it (32-byte nonce, PCRs 0-23, "pcrbanks":[]) into buf. */
void world_quote_payload(const uint8_t nonce[32], char *buf, size_t size);

int64_t world_now_ms(void);

/* A world test's command line, "<test> /path/to/tagent /path/to/shared/corpora": the two paths, with the
 * agent's log sent to stderr (TAGENT_LOG_TARGET). -EINVAL after printing the usage. */
int world_main_args(int argc, char **argv, const char **ret_tagent_bin, const char **ret_corpora);

/* The agent's log holds needle. */
bool world_log_has(const world_t *w, const char *needle);
/* No sanitizer (ASan, LSan, UBSan) report in the agent's log. */
bool world_log_clean(const world_t *w);
/* Requesters that give each request its own reply subject <prefix><seq> on one wildcard subscription:
 * the seq a reply subject names, or -1 when it is not prefix followed by a decimal number. */
long world_inbox_seq(const char *subject, const char *prefix);

#endif
