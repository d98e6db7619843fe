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

/* ---- child processes (procs.c) ---- */

/* Installs the atexit and signal handlers; every other harness call does it implicitly. */
int harness_init(void);
/* Starts argv[0] (looked up in PATH) with stdout+stderr appended to log_path, stdin /dev/null. */
int harness_spawn(const char *const argv[], const char *log_path, pid_t *ret_pid);
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
} swtpm_t;

/* opts may be NULL: swtpm_setup with the sha256 bank and no EK certificate. */
int swtpm_start(const struct swtpm_opts *opts, swtpm_t **ret_tpm);
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
};

typedef struct natsd {
    pid_t pid;         /* 0 while stopped */
    uint16_t port;     /* client port */
    char url[64];      /* nats://127.0.0.1:P or tls://127.0.0.1:P */
    char *name;        /* server_name; the INFO line must carry it for the server to count as ours */
    char *dir;         /* temp dir holding everything below */
    char *conf_path;   /* edit it and natsd_restart() to change the config */
    char *log_path;    /* nats-server's stdout+stderr */
    char *ca_file;     /* TLS only (else NULL): CA that clients trust, */
    char *ca_key_file; /* its key, for tlsgen_ca_load() to issue more certs (client, other servers) */
    char *cert_file;   /* server certificate: IP 127.0.0.1, DNS localhost */
    char *key_file;    /* server key */
} natsd_t;

int natsd_start(const struct natsd_opts *opts, natsd_t **ret_nats);
int natsd_stop(natsd_t *nats);
int natsd_kill(natsd_t *nats);
int natsd_restart(natsd_t *nats);
void natsd_free(natsd_t *nats);

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
