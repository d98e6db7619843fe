/* swtpm on loopback TCP with its state (and its own EK CA) in a private temp dir. */
#include "harness.h"
#include "harness_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SWTPM_READY_MS 10000
#define SWTPM_SETUP_MS 60000
#define START_ATTEMPTS 5
#define LOG_TAIL_LINES 30

/* The stock /etc/swtpm-localca.conf keeps one CA in /var/lib/swtpm-localca, writable only by
 * root/tss: swtpm_setup --create-ek-cert then fails for anyone else, and as root every test
 * would share (and race on) that CA. A private CA per instance works as any user. */
static int write_localca_config(const swtpm_t *tpm, const char *ca_dir, char **ret_setup_conf)
{
    char localca[PATH_MAX], *text = NULL, *conf = NULL, *localca_conf = NULL, *options = NULL;
    int r;

    r = harness_find_program("swtpm_localca", localca, sizeof(localca));
    if (r < 0) {
        fprintf(stderr, "swtpm: swtpm_localca not found (package swtpm-tools)\n");
        return r;
    }
    if ((r = harness_path_join(tpm->dir, "swtpm-localca.conf", &localca_conf)) < 0 ||
        (r = harness_path_join(tpm->dir, "swtpm-localca.options", &options)) < 0 ||
        (r = harness_path_join(tpm->dir, "swtpm_setup.conf", &conf)) < 0)
        goto out;
    r = -ENOMEM;
    if (asprintf(&text,
                 "statedir = %s\nsigningkey = %s/signkey.pem\nissuercert = %s/issuercert.pem\n"
                 "certserial = %s/certserial\n",
                 ca_dir, ca_dir, ca_dir, ca_dir) < 0)
        goto out;
    if ((r = harness_file_write(localca_conf, text, 0600)) < 0)
        goto out;
    r = harness_file_write(options,
                           "--platform-manufacturer tagent-tests\n--platform-version 2.1\n"
                           "--platform-model swtpm\n",
                           0600);
    if (r < 0)
        goto out;
    free(text);
    r = -ENOMEM;
    if (asprintf(&text,
                 "create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\n",
                 localca, localca_conf, options) < 0) {
        text = NULL;
        goto out;
    }
    r = harness_file_write(conf, text, 0600);
out:
    free(text);
    free(localca_conf);
    free(options);
    if (r < 0) {
        free(conf);
        return r;
    }
    *ret_setup_conf = conf;
    return 0;
}

static int run_setup(swtpm_t *tpm, const struct swtpm_opts *opts)
{
    char *ca_dir = NULL, *conf = NULL, *log = NULL;
    const char *banks = opts->pcr_banks ? opts->pcr_banks : "sha256";
    int r;

    if ((r = harness_path_join(tpm->dir, "localca", &ca_dir)) < 0 ||
        (r = harness_path_join(tpm->dir, "setup.log", &log)) < 0)
        goto out;
    if (mkdir(ca_dir, 0700) < 0) {
        r = -errno;
        goto out;
    }
    r = write_localca_config(tpm, ca_dir, &conf);
    if (r < 0)
        goto out;
    const char *ek = opts->ek_cert ? "--create-ek-cert" : NULL;
    const char *argv[] = {"swtpm_setup", "--tpm2", "--tpmstate",  tpm->state_dir,
                          "--config",    conf,     "--pcr-banks", banks,
                          "--overwrite", ek,       NULL};
    r = harness_run(argv, log, SWTPM_SETUP_MS);
    if (r < 0) {
        harness_log_tail(log, LOG_TAIL_LINES);
        goto out;
    }
    if (opts->ek_cert &&
        ((r = harness_path_join(ca_dir, "swtpm-localca-rootca-cert.pem", &tpm->ek_ca_cert)) < 0 ||
         (r = harness_path_join(ca_dir, "issuercert.pem", &tpm->ek_issuer_cert)) < 0))
        goto out;
out:
    free(ca_dir);
    free(conf);
    free(log);
    return r;
}

/* One attempt on tpm->port; -ECHILD or -EADDRINUSE mean "try other ports". */
static int swtpm_launch(swtpm_t *tpm)
{
    char state[PATH_MAX + 8], server[80], ctrl[80];
    int r;

    snprintf(state, sizeof(state), "dir=%s", tpm->state_dir);
    snprintf(server, sizeof(server), "type=tcp,port=%u,bindaddr=127.0.0.1", tpm->port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%u,bindaddr=127.0.0.1", (unsigned)tpm->port + 1);
    /* startup-clear: the TPM is usable at once, as after firmware ran TPM2_Startup. */
    const char *flags = "not-need-init,startup-clear";
    const char *argv[] = {"swtpm", "socket", "--tpm2", "--tpmstate", state, "--server",
                          server,  "--ctrl", ctrl,     "--flags",    flags, NULL};

    r = harness_spawn(argv, tpm->log_path, &tpm->pid);
    if (r < 0)
        return r;
    r = harness_wait_listening(tpm->pid, tpm->port, SWTPM_READY_MS);
    if (r == 0)
        r = harness_wait_listening(tpm->pid, tpm->port + 1, SWTPM_READY_MS);
    if (r < 0) {
        harness_proc_stop(tpm->pid);
        tpm->pid = 0;
        return r;
    }
    snprintf(tpm->tcti, sizeof(tpm->tcti), "swtpm:host=127.0.0.1,port=%u", tpm->port);
    return 0;
}

/* A neighbour may grab a port between our probe and swtpm's bind: then pick others. */
static int swtpm_launch_anywhere(swtpm_t *tpm)
{
    int r = -EADDRINUSE;

    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        r = harness_port_pair_free(&tpm->port);
        if (r == 0)
            r = swtpm_launch(tpm);
        if (r != -ECHILD && r != -EADDRINUSE)
            return r;
        fprintf(stderr, "swtpm: attempt %d on ports %u/%u: %s\n", attempt, tpm->port, (unsigned)tpm->port + 1,
                strerror(-r));
    }
    return r;
}

static int swtpm_prepare_dir(swtpm_t *tpm)
{
    int r;

    if ((r = harness_tmpdir_create("swtpm", &tpm->dir)) < 0 ||
        (r = harness_path_join(tpm->dir, "state", &tpm->state_dir)) < 0 ||
        (r = harness_path_join(tpm->dir, "swtpm.log", &tpm->log_path)) < 0)
        return r;
    if (mkdir(tpm->state_dir, 0700) < 0) {
        r = -errno;
        fprintf(stderr, "swtpm: mkdir %s: %s\n", tpm->state_dir, strerror(errno));
        return r;
    }
    return 0;
}

int swtpm_start(const struct swtpm_opts *opts, swtpm_t **ret_tpm)
{
    static const struct swtpm_opts defaults;
    swtpm_t *tpm = calloc(1, sizeof(*tpm));
    int r;

    if (!tpm)
        return -ENOMEM;
    if (!opts)
        opts = &defaults;
    r = swtpm_prepare_dir(tpm);
    if (r == 0 && !opts->skip_setup)
        r = run_setup(tpm, opts);
    if (r == 0)
        r = swtpm_launch_anywhere(tpm);
    if (r < 0) {
        fprintf(stderr, "swtpm: start failed: %s\n", strerror(-r));
        if (harness_path_exists(tpm->log_path))
            harness_log_tail(tpm->log_path, LOG_TAIL_LINES);
        swtpm_free(tpm);
        return r;
    }
    *ret_tpm = tpm;
    return 0;
}

int swtpm_start_dir(const char *dir, swtpm_t **ret_tpm)
{
    swtpm_t *tpm = calloc(1, sizeof(*tpm));
    int r = tpm ? 0 : -ENOMEM;

    if (r == 0) {
        tpm->keep_dir = true;
        tpm->dir = strdup(dir);
        r = tpm->dir ? 0 : -ENOMEM;
    }
    if (r == 0 && (r = harness_path_join(dir, "state", &tpm->state_dir)) == 0 &&
        (r = harness_path_join(dir, "swtpm.log", &tpm->log_path)) == 0)
        r = swtpm_launch_anywhere(tpm);
    if (r < 0) {
        fprintf(stderr, "swtpm: start on the state in %s failed: %s\n", dir, strerror(-r));
        swtpm_free(tpm);
        return r;
    }
    *ret_tpm = tpm;
    return 0;
}

int swtpm_stop(swtpm_t *tpm)
{
    int r = 0;

    if (tpm->pid > 0)
        r = harness_proc_stop(tpm->pid);
    tpm->pid = 0;
    return r;
}

int swtpm_kill(swtpm_t *tpm)
{
    int r = 0;

    if (tpm->pid > 0)
        r = harness_proc_kill(tpm->pid, SIGKILL);
    tpm->pid = 0;
    return r;
}

int swtpm_restart(swtpm_t *tpm)
{
    int r = swtpm_stop(tpm);

    if (r == 0)
        r = swtpm_launch(tpm);
    if (r < 0) {
        fprintf(stderr, "swtpm: restart on port %u failed: %s\n", tpm->port, strerror(-r));
        harness_log_tail(tpm->log_path, LOG_TAIL_LINES);
    }
    return r;
}

void swtpm_free(swtpm_t *tpm)
{
    if (!tpm)
        return;
    swtpm_stop(tpm);
    if (!tpm->keep_dir)
        harness_tmpdir_remove(tpm->dir);
    free(tpm->dir);
    free(tpm->state_dir);
    free(tpm->log_path);
    free(tpm->ek_ca_cert);
    free(tpm->ek_issuer_cert);
    free(tpm);
}
