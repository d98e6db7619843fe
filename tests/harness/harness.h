/* Test harness: real swtpm and nats-server children on loopback, each in its own temp dir.
 *
 * Every child is started with fork+exec and PR_SET_PDEATHSIG(SIGKILL), registered, and ended by
 * its PID only: explicitly (swtpm_free(), natsd_free(), harness_proc_stop()), from an atexit
 * handler, or from a SIGINT/SIGTERM/SIGABRT handler. Temp dirs are registered the same way.
 *
 * Functions return 0 or a negative errno and print a diagnostic to stderr on failure.
 * Not thread-safe: call it from the thread that runs the tests (PR_SET_PDEATHSIG fires when the
 * *thread* that forked a child exits, so start children from a thread that outlives them).
 */
#ifndef TAGENT_TEST_HARNESS_H
#define TAGENT_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <nats/nats.h>

/* ---- child processes (procs.c) ---- */

/* Installs the atexit and signal handlers; every other harness call does it implicitly. */
int harness_init(void);
/* Starts argv[0] (looked up in PATH) with stdout+stderr appended to log_path, stdin /dev/null. */
int harness_spawn(const char *const argv[], const char *log_path, pid_t *ret_pid);
/* The same with extra environment for the child only: "NAME=value" strings (NULL-terminated list, may be
 * NULL) that replace or add NAME, and bare "NAME"s that remove it; the test's own environment is not
 * touched. */
int harness_spawn_env(const char *const argv[], const char *const *env, const char *log_path, pid_t *ret_pid);
/* Runs argv to completion; 0 only if it exits with status 0 within timeout_ms. */
int harness_run(const char *const argv[], const char *log_path, int timeout_ms);
/* SIGTERM, wait up to 5 s, SIGKILL, reap. Only acts on registered PIDs (-ESRCH otherwise). */
int harness_proc_stop(pid_t pid);
/* Sends sig (e.g. SIGKILL to simulate a crash), waits up to 5 s, SIGKILL, reaps. */
int harness_proc_kill(pid_t pid, int sig);
/* Only sends sig to a registered child (e.g. SIGSTOP/SIGCONT to simulate a hung peer). */
int harness_proc_signal(pid_t pid, int sig);
/* 1 if the registered child has exited (it is then reaped and unregistered), 0 if it runs. */
int harness_proc_exited(pid_t pid);
/* Live (or unreaped) processes whose parent is this process, from /proc/<pid>/stat. */
int harness_count_children(void);
/* Stops every registered child and removes every registered temp dir. */
void harness_cleanup_all(void);

/* ---- temp dirs and small files (tmpdir.c) ---- */

/* Creates $TMPDIR/tagent-<tag>-XXXXXX (or /tmp/...), mode 0700, registered for cleanup. */
int harness_tmpdir_create(const char *tag, char **ret_path);
/* Removes the tree and unregisters it. */
int harness_tmpdir_remove(const char *path);
/* *ret = dir + "/" + name, malloc'ed. */
int harness_path_join(const char *dir, const char *name, char **ret);
int harness_file_write(const char *path, const char *text, mode_t mode);
/* The text of a file (at most 1 MiB), NUL-terminated; "" when it cannot be read. Never NULL (aborts on out
 * of memory: test code). Caller frees. */
char *harness_file_slurp(const char *path);
bool harness_path_exists(const char *path);
/* Prints the last max_lines lines of a log file to stderr, framed with its name. */
void harness_log_tail(const char *path, int max_lines);

/* ---- loopback ports (net.c) ---- */

/* A port that was free on 127.0.0.1 a moment ago. */
int harness_port_free(uint16_t *ret_port);
/* N such that N and N+1 were both free (swtpm: server N, control N+1). */
int harness_port_pair_free(uint16_t *ret_port);
/* One connect() to 127.0.0.1:port; *ret_fd is a blocking CLOEXEC socket. */
int harness_tcp_connect(uint16_t port, int *ret_fd);
/* Waits until child pid itself listens on 127.0.0.1:port and a connect succeeds.
 * -ECHILD: the child exited; -EADDRINUSE: someone else owns the port; -ETIMEDOUT. */
int harness_wait_listening(pid_t pid, uint16_t port, int timeout_ms);

/* ---- swtpm (swtpm.c) ---- */

struct swtpm_opts {
    bool skip_setup;       /* no swtpm_setup: libtpms defaults, no EK, pcr_banks ignored */
    bool ek_cert;          /* swtpm_setup --create-ek-cert (private swtpm-localca CA) */
    const char *pcr_banks; /* swtpm_setup --pcr-banks; NULL = "sha256" */
};

typedef struct swtpm {
    pid_t pid;            /* 0 while stopped */
    uint16_t port;        /* TPM command port; control channel is port + 1 */
    char tcti[64];        /* "swtpm:host=127.0.0.1,port=N" */
    char *dir;            /* temp dir holding everything below */
    char *state_dir;      /* --tpmstate dir= */
    char *log_path;       /* swtpm's stdout+stderr (swtpm_setup logs to setup.log beside it) */
    char *ek_ca_cert;     /* root CA of the EK certificate chain (PEM); NULL without ek_cert */
    char *ek_issuer_cert; /* intermediate that signed the EK certificates; NULL without ek_cert */
    bool keep_dir;        /* swtpm_start_dir(): dir is the caller's, swtpm_free() leaves it */
} swtpm_t;

/* opts may be NULL: swtpm_setup with the sha256 bank and no EK certificate. */
int swtpm_start(const struct swtpm_opts *opts, swtpm_t **ret_tpm);
/* swtpm on the state already in dir/state (e.g. a copy of a stopped one's state dir: the same TPM, EK and
 * keys included), logging to dir/swtpm.log, on free ports. dir is the caller's: no temp dir is registered
 * for it (a fleet of a thousand clones lives in one temp dir) and swtpm_free() does not remove it. */
int swtpm_start_dir(const char *dir, swtpm_t **ret_tpm);
/* Graceful stop; state and ports are kept for swtpm_restart(). */
int swtpm_stop(swtpm_t *tpm);
/* SIGKILL, as if swtpm crashed; state and ports are kept. */
int swtpm_kill(swtpm_t *tpm);
/* Stops it if running, then starts it again on the same state dir and ports. */
int swtpm_restart(swtpm_t *tpm);
/* Stops it, removes its temp dir, frees it. NULL is fine. */
void swtpm_free(swtpm_t *tpm);

/* ---- nats-server (natsd.c) ---- */

struct natsd_opts {
    bool tls;               /* server cert for IP 127.0.0.1 / DNS localhost from a fresh EC CA */
    uint16_t port;          /* 0 = pick a free one (and retry on collision) */
    const char *name;       /* server_name; NULL = unique generated name */
    const char *tls_extra;  /* lines added inside the tls { } block, e.g. "verify: true" */
    const char *extra_conf; /* appended to the config file: operator/JWT, cluster, ... */
    const char *auth_conf;  /* written before extra_conf: operator mode (natsjwt_server_conf() text), ... */
    const struct natsd *ca_from; /* tls: issue the server certificate from this server's CA (one trust
                                  * anchor for a cluster) instead of a fresh CA */
    bool monitor;                /* HTTP monitoring (/connz, /routez, ...) on 127.0.0.1:http_port */
};

typedef struct natsd {
    pid_t pid;          /* 0 while stopped */
    uint16_t port;      /* client port */
    uint16_t http_port; /* monitoring port with opts.monitor, else 0 */
    char url[64];       /* nats://127.0.0.1:P or tls://127.0.0.1:P */
    char *name;         /* server_name; the INFO line must carry it for the server to count as ours */
    char *dir;          /* temp dir holding everything below */
    char *conf_path;    /* edit it and natsd_restart() to change the config */
    char *log_path;     /* nats-server's stdout+stderr */
    char *ca_file;      /* TLS only (else NULL): CA that clients trust, */
    char *ca_key_file;  /* its key, for tlsgen_ca_load() to issue more certs (client, other servers) */
    char *cert_file;    /* server certificate: IP 127.0.0.1, DNS localhost */
    char *key_file;     /* server key */
} natsd_t;

int natsd_start(const struct natsd_opts *opts, natsd_t **ret_nats);
int natsd_stop(natsd_t *nats);
int natsd_kill(natsd_t *nats);
int natsd_restart(natsd_t *nats);
void natsd_free(natsd_t *nats);
/* Operator (decentralised JWT) mode as an ISecL deployment runs it: TLS on and auth_conf (operator JWT,
 * system account, resolver with preloaded accounts, e.g. natsjwt_deployment.server_conf) in the config. */
int natsd_start_operator(const char *auth_conf, natsd_t **ret_nats);
/* n operator-mode servers (auth_conf as above) routed into one cluster on loopback, all with certificates
 * from the first one's CA (ca_file), so a client trusting that CA may connect to any of them, and with
 * monitoring on (failover tests ask /connz which server holds a client). Each
 * ret_nats[i] is stopped, restarted and freed on its own; its conf keeps the cluster block. */
int natsd_start_cluster(const char *auth_conf, size_t n, natsd_t *ret_nats[]);
/* GET http://127.0.0.1:<http_port><path> from the monitoring endpoint (opts.monitor); *ret_body is the
 * response body (caller frees). -ENOTCONN when monitoring is off or the server is down. */
int natsd_monitor_get(const natsd_t *nats, const char *path, char **ret_body);
/* Client options for this server: its URL, TLS trusting its CA when TLS is on, a 5 s connect timeout,
 * and natsOptions_SetUserCredentialsFromFiles(creds_path) unless creds_path is NULL. The caller
 * destroys *ret_opts. Returns 0 or -EIO (the natsStatus text is printed). */
int natsd_client_options(const natsd_t *nats, const char *creds_path, natsOptions **ret_opts);
/* natsConnection_Connect() that retries (up to 3 attempts) only on NATS_CONNECTION_AUTH_FAILED.
 * cnats 3.4 drops the nonce signature from CONNECT when its first byte is 0 (its base64 encoder stops at a
 * leading NUL; nats.c PR #705), so about 1 in 256 connections with a .creds file or nkey is refused with
 * "Authorization Violation" although the credentials are good. Each attempt gets a fresh nonce; a real
 * credential problem still fails every attempt. Use it where a connection is expected to succeed. */
natsStatus natsd_connect(natsOptions *opts, natsConnection **ret_nc);
/* Call last in main() instead of nats_CloseAndWait(): releases cnats (threads, buffers) and then OpenSSL.
 * cnats 3.4 frees OpenSSL's compression-method stack in its own atexit handler without clearing
 * OpenSSL's pointer (nats.c issue #904); if OpenSSL's atexit cleanup runs after it (OpenSSL was used
 * before cnats' first call, e.g. for keys or certificates), the process dies in OPENSSL_cleanup() with a
 * double free. Cleaning OpenSSL up explicitly first makes both exit handlers harmless. No OpenSSL or
 * cnats call may follow. */
void harness_nats_close(void);

/* ---- mock control plane (mockcp.c): tests/mock's tagent-mock-cp, CMS + AAS + HVS on one HTTPS port ----
 * Its PKI (root CA, TLS CA and leaf, Privacy CA, AAS JWT signing key) lives in dir and survives
 * mockcp_restart(). Faults (names as tagent-mock-cp takes them): wrong-cms-cert, unauthorized, server-error,
 * slow, malformed-json, truncated-pem. Every request is appended to request_log as
 * "<METHOD> <path>[?<query>] <status>". */

#define MOCKCP_DEFAULT_BEARER "mock-bearer-token"

struct mockcp_opts {
    const char *program;         /* NULL: $TAGENT_MOCK_CP, else the tagent-mock-cp of this build tree */
    const char *dir;             /* NULL: a fresh temp dir, removed by mockcp_free() */
    uint16_t port;               /* 0: the mock binds a free port itself */
    const char *bearer;          /* token it expects; NULL: MOCKCP_DEFAULT_BEARER */
    const char *const *ek_ca;    /* NULL-terminated EK CA files (e.g. swtpm's ek_ca_cert, ek_issuer_cert) */
    const char *const *ek_certs; /* NULL-terminated registered EK certificates (PEM or DER) */
    const char *const *faults;   /* NULL-terminated fault names active from the start */
    bool nats; /* --nats-dir dir/nats: operator, accounts, nats-server-auth.conf, hvs.creds */
    const char *nats_account_seed; /* --nats-account-seed: sign agent .creds with this account instead */
    int aik_validity_years;        /* 0: the mock's default (1) */
};

typedef struct mockcp {
    pid_t pid; /* 0 while stopped */
    uint16_t port;
    char base_url[48];   /* "https://127.0.0.1:<port>" */
    char cms_url[64];    /* base_url + "/cms/v1" */
    char aas_url[64];    /* base_url + "/aas/v1" */
    char hvs_url[64];    /* base_url + "/hvs/v2" */
    char tls_sha384[97]; /* lowercase hex SHA-384 of the served leaf's DER (CMS_TLS_CERT_SHA384) */
    char *bearer;
    char *ca_file; /* root CA PEM, what GET /cms/v1/ca-certificates serves */
    char *dir;
    char *log_path;       /* the program's stdout+stderr */
    char *request_log;    /* dir/requests.log */
    char *nats_dir;       /* dir/nats with opts.nats, else NULL */
    char *nats_auth_conf; /* text of nats_dir/nats-server-auth.conf (for natsd_start_operator()), or NULL */
    char **argv;          /* for mockcp_restart() */
    bool own_dir;
} mockcp_t;

/* Starts it and waits (up to 60 s: the first start makes RSA-3072 keys) for its READY line. */
int mockcp_start(const struct mockcp_opts *opts, mockcp_t **ret_mock);
/* SIGTERM; 0 only if it exited cleanly (it printed STOPPED and no sanitizer report). */
int mockcp_stop(mockcp_t *mock);
/* Stops it if running and starts it again: same dir (same PKI, tls_sha384), same port, same options. */
int mockcp_restart(mockcp_t *mock);
/* Stops it, removes its temp dir (unless opts.dir was given), frees it. NULL is fine. */
void mockcp_free(mockcp_t *mock);
/* POST /mock/faults?set=...&clear=... (comma lists; clear "all"); either may be NULL. */
int mockcp_fault(mockcp_t *mock, const char *set, const char *clear);
/* POST /mock/host-uuid: gives the registered host `name` this hardware UUID (as HVS learns it from
 * host-info). */
int mockcp_host_set_uuid(mockcp_t *mock, const char *name, const char *uuid);
/* GET /mock/state: JSON with hosts, flavors, reports, tokens, credentials, aik_certs, tls_certs (caller
 * frees). */
int mockcp_state(mockcp_t *mock, char **ret_json);
/* POST /aas/v1/custom-claims-token with the installation token: a JWT the mock AAS signs (ES384, kid of its
 * signing certificate) carrying claims_json (an object, e.g.
 * {"permissions":[{"service":"TA","rules":["*:*"]}]}), valid for validity_seconds. *ret_jwt: the token
 * (caller frees). */
int mockcp_mint_token(mockcp_t *mock, const char *claims_json, int validity_seconds, char **ret_jwt);
/* Lines of request_log that start with prefix (e.g. "POST /hvs/v2/hosts "); < 0 on error. */
int mockcp_request_count(const mockcp_t *mock, const char *prefix);

/* ---- test PKI (tlsgen.c): EC P-256 keys, SHA-256 signatures, PEM files ---- */

typedef struct tlsgen_ca tlsgen_ca_t;

struct tlsgen_leaf {
    const char *cn;
    const char *ip_san;  /* may be NULL */
    const char *dns_san; /* may be NULL */
    bool client;         /* extendedKeyUsage clientAuth instead of serverAuth */
};

int tlsgen_ca_create(const char *cn, tlsgen_ca_t **ret_ca);
int tlsgen_ca_load(const char *cert_path, const char *key_path, tlsgen_ca_t **ret_ca);
int tlsgen_ca_save(const tlsgen_ca_t *ca, const char *cert_path, const char *key_path);
int tlsgen_leaf_issue(const tlsgen_ca_t *ca, const struct tlsgen_leaf *leaf, const char *cert_path,
                      const char *key_path);
void tlsgen_ca_free(tlsgen_ca_t *ca);

#endif
