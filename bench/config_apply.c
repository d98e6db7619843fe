/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_config_apply: what does `tagent config-apply` cost on top of the TPM decryption it has to do?
 *
 * On one swtpm, provisioned with tep_provision_device() (profile ptt: P-384, AES-256), with a configuration
 * of one incompressible file (1 MiB by default) sealed with tepc_seal(), it times
 *   (a) tep_config_apply() in process with the real ops (tep_apply_tpm_ops): read, parse, profile and policy
 *       key from the TPM, ECDSA verification, sequence read, decryption, extraction with fsyncs, renames,
 *       the sequence write, the result file;
 *   (b) the baseline: tpm_tep_decrypt() of the same ciphertext with the same authValue and SRK Name, the
 *       TPM2_EncryptDecrypt2 chunk loop and nothing else;
 *   (c) `tagent config-apply` as a whole process: wall time and peak RSS (ru_maxrss from wait4), with
 *       `tagent version` for scale (process start-up alone).
 * (a) and (b) run interleaved in rounds, in alternating order. A fresh container (next sequence) is sealed
 * and delivered before each (a) and (c) sample, outside the timing. Target (issue 14): median(a) <= 1.1 x
 * median(b).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "bench_tep.h"
#include "bench_util.h"
#include "harness.h"
#include "provision.h"
#include "tepc.h"

#define TARGET_RATIO 1.1
#define OWNER_SECRET BENCH_TEP_OWNER_SECRET
#define BLOB_NAME    "tep_user_config_data.bin"

struct opts {
    unsigned iterations, process_iterations, warmup, size_kib;
};

struct row {
    const char *label;
    struct bench_samples wall, cpu, rss; /* ns, ns, kB */
};

struct bench {
    struct opts opts;
    swtpm_t *swtpm;
    tpm_t *tpm;
    struct bench_tep_device dev; /* owner secret, signing key, AES key */
    char *dir, *root, *blob_path;
    uint8_t *tgz;
    size_t tgz_len;
    uint32_t sequence;
    struct tep_tpm_apply state;
    struct tep_apply_ops ops;
    uint8_t *ciphertext, *plain; /* (b)'s input and output */
    size_t ct_len;
    uint8_t iv[TEPC_IV_LEN];
    struct row apply, bare, process, version;
    long parent_anon_kb; /* when the processes were forked */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_config_apply [-n ITERATIONS] [-p PROCESS_ITERATIONS] [-w WARMUP] [-s KIB]\n"
            "  -n N  tep_config_apply() and bare tpm_tep_decrypt() samples each (default 7)\n"
            "  -p N  `tagent config-apply` and `tagent version` process runs each (default 3; 0 skips them)\n"
            "  -w N  untimed warm-up rounds first (default 1)\n"
            "  -s N  size of the configuration's one file in KiB (default 1024)\n");
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.iterations = 7, .process_iterations = 3, .warmup = 1, .size_kib = 1024};
    const struct bench_option options[] = {
        {.letter = 'n', .long_name = "iterations", .count = &o->iterations, .min = 1, .max = 10000},
        {.letter = 'p', .long_name = "process-iterations", .count = &o->process_iterations, .max = 10000},
        {.letter = 'w', .long_name = "warmup", .count = &o->warmup, .max = 10000},
        {.letter = 's', .long_name = "size", .count = &o->size_kib, .min = 1, .max = 60 * 1024},
        {0},
    };
    const struct bench_cli cli = {"bench_config_apply", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* Prints and frees *error when r says the call failed. */
static int check(int r, const char *what, char **error)
{
    if (r < 0)
        fprintf(stderr, "bench_config_apply: %s: %s\n", what, *error ? *error : strerror(-r));
    free(*error);
    *error = NULL;
    return r;
}

static int row_init(struct row *row, size_t cap, const char *label)
{
    row->label = label;
    int r = bench_samples_init(&row->wall, cap);
    if (r == 0)
        r = bench_samples_init(&row->cpu, cap);
    return r == 0 ? bench_samples_init(&row->rss, cap) : r;
}

static void row_free(struct row *row)
{
    bench_samples_free(&row->wall);
    bench_samples_free(&row->cpu);
    bench_samples_free(&row->rss);
}

/* ---- the device and the owner ---- */

/* Ownership, then provision-device with keys made here. */
static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, data, len);
    int r = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return r;
}

static int device_provision(struct bench *b)
{
    char *error = NULL;
    int r = check(bench_tep_provision(b->tpm, b->dir, b->root, TEPC_PROFILE_PTT, &b->dev, &error), "set-up",
                  &error);
    return r;
}

/* The configuration: one file of random bytes (gzip cannot shrink it, so the ciphertext is its size). */
static int config_make(struct bench *b)
{
    char *dir = NULL, *file = NULL, *cmd = NULL, *error = NULL;
    size_t len = (size_t)b->opts.size_kib << 10;
    uint8_t *data = malloc(len);
    int r = data && RAND_bytes(data, (int)len) == 1 ? 0 : -ENOMEM;
    if (r == 0 &&
        (asprintf(&dir, "%s/config", b->dir) < 0 || asprintf(&file, "%s/config/blob.bin", b->dir) < 0))
        r = -ENOMEM;
    if (r == 0 && mkdir(dir, 0700) < 0)
        r = -errno;
    if (r == 0)
        r = write_file(file, data, len);
    if (r == 0)
        r = check(tepc_archive_create(dir, 1767225600, &b->tgz, &b->tgz_len, &error), "archive", &error);
    free(data);
    free(dir);
    free(file);
    free(cmd);
    return r;
}

/* The next container into the upload folder; also (b)'s ciphertext, from the first one. */
static int deliver(struct bench *b)
{
    struct tepc_seal_params params = {.profile = TEPC_PROFILE_PTT, .sequence = ++b->sequence, .created = 0};
    uint8_t *blob = NULL;
    size_t len = 0;
    char *error = NULL;
    int r = check(
        tepc_seal(b->tgz, b->tgz_len, b->dev.sign, b->dev.aes, b->dev.aes_len, &params, &blob, &len, &error),
        "seal", &error);
    struct tepc_blob parsed;
    if (r == 0 && !b->ciphertext &&
        (r = check(tepc_parse(blob, len, &parsed, &error), "parse", &error)) == 0) {
        b->ct_len = parsed.ciphertext_len;
        b->ciphertext = malloc(b->ct_len);
        b->plain = malloc(b->ct_len);
        if (!b->ciphertext || !b->plain)
            r = -ENOMEM;
        else
            memcpy(b->ciphertext, parsed.ciphertext, b->ct_len);
        memcpy(b->iv, parsed.header.iv, sizeof(b->iv));
    }
    if (r == 0)
        r = write_file(b->blob_path, blob, len);
    free(blob);
    return r;
}

/* ---- the rows ---- */

static int time_apply(struct bench *b, bool record)
{
    int r = deliver(b);
    if (r < 0)
        return r;
    enum tep_apply_outcome outcome;
    char *message = NULL;
    uint64_t w0 = bench_mono_ns(), c0 = bench_thread_cpu_ns();
    r = tep_config_apply(b->root, &b->ops, &outcome, &message);
    uint64_t w1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    if (r == 0 && outcome != TEP_APPLY_APPLIED) {
        fprintf(stderr, "bench_config_apply: not applied: %s\n", message ? message : "?");
        r = -EPROTO;
    }
    free(message);
    if (r == 0 && record) {
        bench_samples_add(&b->apply.wall, w1 - w0);
        bench_samples_add(&b->apply.cpu, c1 - c0);
    }
    return r;
}

static int time_bare(struct bench *b, bool record)
{
    char *error = NULL;
    uint64_t w0 = bench_mono_ns(), c0 = bench_thread_cpu_ns();
    int r = tpm_tep_decrypt(b->tpm, &b->state.enc_auth, b->state.srk_name, b->state.srk_name_len, b->iv,
                            b->ciphertext, b->ct_len, b->plain, &error);
    uint64_t w1 = bench_mono_ns(), c1 = bench_thread_cpu_ns();
    r = check(r, "tpm_tep_decrypt", &error);
    if (r == 0 && record) {
        bench_samples_add(&b->bare.wall, w1 - w0);
        bench_samples_add(&b->bare.cpu, c1 - c0);
    }
    return r;
}

/* This process's anonymous resident memory (kB): a forked child's ru_maxrss includes its copy of it. */
static long rss_anon_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* One tagent process, stdio on /dev/null; its wall time, CPU and peak RSS from wait4. fork, not posix_spawn:
 * a vfork-style child shares this process's memory until exec, and the kernel then counts all of it in the
 * child's ru_maxrss; a forked child counts only the anonymous pages it copied. */
static int time_process(struct bench *b, struct row *row, const char *command)
{
    char *tcti = NULL;
    if (asprintf(&tcti, "TAGENT_TCTI=%s", b->swtpm->tcti) < 0)
        return -ENOMEM;
    static const char owner_env[] = "TPM_OWNER_SECRET=" OWNER_SECRET;
    char *env[] = {"PATH=/usr/bin:/bin", "TAGENT_LOG_TARGET=stderr", (char *)owner_env, tcti, NULL};
    const char *argv[] = {BENCH_TAGENT, "--root", b->root, command, NULL};
    fflush(stdout);
    uint64_t w0 = bench_mono_ns();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execve(BENCH_TAGENT, (char *const *)argv, env);
        _exit(127);
    }
    free(tcti);
    if (pid < 0)
        return -errno;
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return -errno;
    uint64_t w1 = bench_mono_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_config_apply: `tagent %s` exited with status %d\n", command, status);
        return -EPROTO;
    }
    bench_samples_add(&row->wall, w1 - w0);
    bench_samples_add(&row->cpu, bench_timeval_ns(ru.ru_utime) + bench_timeval_ns(ru.ru_stime));
    bench_samples_add(&row->rss, (uint64_t)ru.ru_maxrss);
    return 0;
}

static int bench_run(struct bench *b)
{
    int r = 0;
    for (unsigned i = 0; r == 0 && i < b->opts.warmup; i++) {
        r = time_apply(b, false);
        if (r == 0)
            r = time_bare(b, false);
    }
    /* alternating order: whatever warms swtpm up for the second of a pair favours each row equally */
    for (unsigned i = 0; r == 0 && i < b->opts.iterations; i++) {
        r = i % 2 ? time_bare(b, true) : time_apply(b, true);
        if (r == 0)
            r = i % 2 ? time_apply(b, true) : time_bare(b, true);
    }
    /* (b)'s buffers are not needed any longer: less for the forked children to copy */
    free(b->ciphertext);
    free(b->plain);
    b->ciphertext = b->plain = NULL;
    b->parent_anon_kb = rss_anon_kb();
    for (unsigned i = 0; r == 0 && i < b->opts.process_iterations; i++) {
        r = deliver(b);
        if (r == 0)
            r = time_process(b, &b->process, "config-apply");
        if (r == 0)
            r = time_process(b, &b->version, "version");
    }
    return r;
}

/* ---- report ---- */

static double median_ms(struct bench_samples *s)
{
    bench_samples_sort(s);
    return bench_samples_quantile(s, 0.5) / 1e6;
}

static void row_print(struct row *row)
{
    if (!row->wall.n)
        return;
    double med = median_ms(&row->wall), p10 = bench_samples_quantile(&row->wall, 0.1) / 1e6,
           p90 = bench_samples_quantile(&row->wall, 0.9) / 1e6, cpu = median_ms(&row->cpu);
    printf("| %-44s | %9.1f | %9.1f | %9.1f | %8.1f |", row->label, med, p10, p90, cpu);
    if (row->rss.n) {
        bench_samples_sort(&row->rss);
        printf(" %8.0f |\n", bench_samples_quantile(&row->rss, 1.0));
    } else
        printf(" %8s |\n", "");
}

static void bench_report(struct bench *b)
{
    printf(
        "\nbench_config_apply: %u KiB configuration (ciphertext %zu bytes), swtpm at %s, %u samples each\n\n",
        b->opts.size_kib, b->ct_len, b->swtpm->tcti, b->opts.iterations);
    printf("| %-44s | %9s | %9s | %9s | %8s | %8s |\n", "row", "median ms", "p10 ms", "p90 ms", "cpu ms",
           "maxrss kB");
    printf("|%s|-----------|-----------|-----------|----------|----------|\n",
           "----------------------------------------------");
    row_print(&b->apply);
    row_print(&b->bare);
    row_print(&b->process);
    row_print(&b->version);
    double ratio = median_ms(&b->apply.wall) / median_ms(&b->bare.wall);
    printf("\nratio (a)/(b) of the medians: %.3f (target <= %.1f): %s\n", ratio, TARGET_RATIO,
           ratio <= TARGET_RATIO ? "MET" : "MISSED");
    if (b->process.rss.n && b->version.rss.n)
        printf(
            "peak RSS of `tagent config-apply`: %.0f kB, %.0f kB above `tagent version` (payload %zu kB)\n",
            bench_samples_quantile(&b->process.rss, 1.0),
            bench_samples_quantile(&b->process.rss, 1.0) - bench_samples_quantile(&b->version.rss, 1.0),
            b->ct_len / 1024);
    if (b->process.rss.n)
        printf(
            "(each child's ru_maxrss includes its copy of this process's anonymous memory at fork: %ld kB)\n",
            b->parent_anon_kb);
}

/* ---- set-up ---- */

static int bench_setup(struct bench *b)
{
    static const struct swtpm_opts swtpm_opts = {.skip_setup = true};
    char *error = NULL, *upload = NULL, *cmd = NULL;
    int r = harness_tmpdir_create("bench-config-apply", &b->dir);
    if (r == 0 &&
        (asprintf(&b->root, "%s/root", b->dir) < 0 || asprintf(&upload, "%s" TEP_UPLOAD_DIR, b->root) < 0 ||
         asprintf(&b->blob_path, "%s/" BLOB_NAME, upload) < 0 || asprintf(&cmd, "mkdir -p '%s'", upload) < 0))
        r = -ENOMEM;
    if (r == 0 && system(cmd) != 0)
        r = -EIO;
    free(cmd);
    free(upload);
    if (r == 0)
        r = swtpm_start(&swtpm_opts, &b->swtpm);
    if (r == 0)
        r = check(tpm_open(b->swtpm->tcti, &b->tpm, &error), "tpm_open", &error);
    if (r == 0)
        r = device_provision(b);
    if (r == 0)
        r = config_make(b);
    if (r == 0)
        r = check(tep_apply_tpm_ops(b->root, b->tpm, &b->dev.owner, &b->state, &b->ops, &error), "apply ops",
                  &error);
    unsigned n = b->opts.iterations, p = b->opts.process_iterations;
    if (r == 0)
        r = row_init(&b->apply, n, "(a) tep_config_apply(), real ops");
    if (r == 0)
        r = row_init(&b->bare, n, "(b) tpm_tep_decrypt() alone [baseline]");
    if (r == 0)
        r = row_init(&b->process, p ? p : 1, "(c) `tagent config-apply` process");
    if (r == 0)
        r = row_init(&b->version, p ? p : 1, "    `tagent version` process, for scale");
    return r;
}

static void bench_free(struct bench *b)
{
    row_free(&b->apply);
    row_free(&b->bare);
    row_free(&b->process);
    row_free(&b->version);
    tep_tpm_apply_clear(&b->state);
    bench_tep_device_clear(&b->dev);
    tpm_close(b->tpm);
    swtpm_free(b->swtpm);
    free(b->tgz);
    free(b->ciphertext);
    free(b->plain);
    free(b->blob_path);
    free(b->root);
    if (b->dir)
        harness_tmpdir_remove(b->dir);
    free(b->dir);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    int r = opts_parse(argc, argv, &b.opts);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    r = bench_setup(&b);
    if (r == 0)
        r = bench_run(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_config_apply: failed (%s)\n", strerror(-r));
    bench_free(&b);
    return r == 0 ? 0 : 1;
}
