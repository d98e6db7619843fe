/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Many hosts behind one NATS cluster, for bench/fleet.c and tests/integration/test_fleet.c.
 *
 * One host is provisioned for real by the world (world.h, n_nats = 3: swtpm, mock control plane, `tagent
 * setup all`). Its swtpm is then stopped and its state copied N times: each host gets its own swtpm process
 * on that copy (so the TPM work of every quote runs in a process of its own, as on N machines), its own copy
 * of the root, its own host id (fleet-h<i>) and its own NATS credentials for that id, fetched by the agent's
 * own `tagent setup download-credential --force` against the mock AAS. Every agent runs `tagent startService`
 * with NATS_SERVERS listing the three servers, TLS and .creds as in production, and NOTIFY_SOCKET on one
 * datagram socket of ours: READY=1 says it is up, "STATUS=connected to <url>" / "STATUS=disconnected ..."
 * say which server it is on and when it left or came back (the sender's PID arrives with SO_PASSCRED).
 *
 * The clones share the EK and the AIK: identity uniqueness is not what a fleet run measures. Each host gets
 * its own 48-byte asset tag instead (deploy-asset-tag, fleet_round.h), which its quote binds into the signed
 * nonce, so a reply from the wrong host fails verification.
 *
 * Not thread-safe (the harness is not): call it from one thread; the notify listener is internal.
 */
#ifndef TAGENT_TEST_FLEET_H
#define TAGENT_TEST_FLEET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "world.h"

#define FLEET_TAG_SIZE 48

struct fleet_opts {
    const char *tagent_bin;
    const char *corpora;
    size_t n;               /* hosts */
    unsigned start_wave;    /* agents starting at once (spawned, not yet READY=1); 0: 16 */
    unsigned setup_jobs;    /* `tagent setup download-credential` runs at once; 0: 4 */
    int ready_timeout_ms;   /* per agent, from its spawn; 0: 60 s */
    const char *const *env; /* extra "K=V" for every agent (NULL-terminated, may be NULL) */
};

struct fleet_host {
    char id[32]; /* TA_HOST_ID: fleet-h<i> */
    char dir[400], root[420], log[420];
    swtpm_t *tpm;
    pid_t agent;
    uint8_t tag[FLEET_TAG_SIZE]; /* deployed by fleet_deploy_tags() */
    /* from its notifications, under fleet.mu */
    bool ready;
    int server;            /* index into world.nats of the server it last said it is connected to; -1 */
    int64_t connected_ms;  /* when that STATUS=connected arrived (world_now_ms()) */
    int64_t disconnect_ms; /* when the last STATUS=disconnected arrived, 0 if none */
    unsigned connects;
};

/* How long each phase of fleet_start() took (ms). */
struct fleet_setup_times {
    int64_t world, clone, credentials, swtpm, agents, total;
};

typedef struct fleet {
    world_t *w;
    struct fleet_host *hosts;
    size_t n;
    char *dir;
    char aik_b64[4096]; /* the seed host's AIK certificate as the quote's Aik field carries it */
    struct fleet_setup_times times;
    /* the notify listener */
    int notify_fd;
    pthread_t notify_thread;
    bool notify_running;
    pthread_mutex_t mu;
    int *by_pid; /* pid -> host index + 1 (0: none) */
    size_t pid_max;
} fleet_t;

/* Everything up to N agents that sent READY=1. Prints progress to stderr. */
int fleet_start(const struct fleet_opts *opts, fleet_t **ret_fleet);
/* Stops every agent and swtpm, the world, removes the temp dir, frees. NULL is fine. */
void fleet_free(fleet_t *f);

/* How many hosts last said they are connected to server (under the lock). */
size_t fleet_hosts_on(fleet_t *f, int server);

/* SIGKILL to NATS server `server` (reaped before it returns); *ret_kill_ms: world_now_ms() at the reap. */
int fleet_kill_server(fleet_t *f, size_t server, int64_t *ret_kill_ms);

/* The reconnect storm after a kill at kill_ms of server `server`: waits (up to timeout_ms) until every host
 * in on_server (host indexes, n_on of them) said "connected" to another server after kill_ms. *ret_storm_ms:
 * from kill_ms to the last of those notifications; *ret_left: hosts that had not reconnected at the timeout.
 */
int fleet_wait_reconnected(fleet_t *f, size_t server, const size_t *on_server, size_t n_on, int64_t kill_ms,
                           int timeout_ms, int64_t *ret_storm_ms, size_t *ret_left);

/* Client connections the running servers' /varz count, summed; < 0 when a server did not answer. */
long fleet_server_connections(fleet_t *f);

struct fleet_mem {
    uint64_t pss_kb, rss_kb; /* summed over the processes */
    size_t n;                /* processes read */
};
/* smaps_rollup of every agent and of every swtpm. */
int fleet_memory(fleet_t *f, struct fleet_mem *ret_agents, struct fleet_mem *ret_tpms);
/* CPU time (user + system, ms) used so far by all agents and by all swtpms, from /proc/<pid>/stat. */
void fleet_cpu_ms(fleet_t *f, double *ret_agents_ms, double *ret_tpms_ms);
/* The same summed over the running NATS servers. */
double fleet_servers_cpu_ms(fleet_t *f);

#endif
