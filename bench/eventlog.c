/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_eventlog: how fast and how lean is tagent's TCG event-log path?
 *
 *   (1) whole process, per corpus log: `tagent eventlog --replay --file F` against the baseline
 *       `tpm2_eventlog F` (tpm2-tools), on every UEFI log of ../shared/corpora/eventlog/uefi and on the ISecL
 *       log isecl/eventlog/uefi_event_log.bin. Both run N times, interleaved (alternating order), output to
 *       /dev/null; one sample is the wall time (CLOCK_MONOTONIC) from just before posix_spawn() to just
 *       after wait4() returns (bench_spawn_run(): no fork of this process in the figure). For scale,
 *       `tagent version` and /bin/true are timed the same way. Target: median(tpm2_eventlog) >= 5 x
 *       median(tagent) on every log tpm2_eventlog can read.
 *   (2) in process: eventlog_parse() + eventlog_replay() on a synthetic crypto-agile log built here (Spec ID
 * with SHA1+SHA256+SHA384; a mix of events modelled on a real UEFI boot, repeated up to 48 MiB), median of
 *       several runs, in MB/s (10^6 bytes). Target: >= 300 MB/s. A second mix of small events only (EV_IPL,
 *       40 bytes of data) is the worst case.
 *   (3) peak memory: ru_maxrss of `tagent eventlog --replay --file` on that synthetic log (written to a temp
 *       file) against the log's size, beside the baseline `tagent version`. Target: peak RSS <= 2 x the log.
 *       In process: heap growth (mallinfo2) and RSS high-water growth (/proc/self/clear_refs) around
 *       parse + replay.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "eventlog.h"

#ifndef BENCH_TAGENT
#error "BENCH_TAGENT (the tagent binary) comes from bench/CMakeLists.txt"
#endif
#ifndef BENCH_CORPORA
#error "BENCH_CORPORA (../shared/corpora) comes from bench/CMakeLists.txt"
#endif

#define TARGET_PROCESS_RATIO 5.0   /* (1): tpm2_eventlog / tagent, per log */
#define TARGET_MBPS          300.0 /* (2): parse + replay of the realistic mix */
#define TARGET_RSS_FACTOR    2.0   /* (3): peak RSS / log size */

#define ISECL_LOG "isecl/eventlog/uefi_event_log.bin"
#define UEFI_DIR  "eventlog/uefi"
#define MAX_FILES 64

/* TCG PC Client event types used by the generator. */
#define EV_NO_ACTION                     0x00000003
#define EV_SEPARATOR                     0x00000004
#define EV_S_CRTM_VERSION                0x00000008
#define EV_IPL                           0x0000000d
#define EV_EFI_VARIABLE_DRIVER_CONFIG    0x80000001
#define EV_EFI_VARIABLE_BOOT             0x80000002
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003
#define EV_EFI_GPT_EVENT                 0x80000006
#define EV_EFI_ACTION                    0x80000007
#define EV_EFI_VARIABLE_AUTHORITY        0x800000e0

struct opts {
    unsigned runs;        /* (1) runs of each command per log */
    unsigned warmup;      /* (1) untimed rounds first */
    unsigned inproc_runs; /* (2) timed runs per mix */
    unsigned rss_runs;    /* (3) runs of each command */
    unsigned size_mib;    /* (2)(3) synthetic log size */
    const char *corpora;
    const char *tagent;
    const char *write_log; /* -o: write the realistic-mix log there and exit */
};

/* ---- samples ---- */

/* The median of one column (sorting it). */
static double column_median(struct bench_samples *c)
{
    bench_samples_sort(c);
    return bench_samples_quantile(c, 0.5);
}

struct stats {
    double median_ms, p10_ms, p90_ms, cpu_ms, rss_mib;
};

static struct stats series_stats(struct bench_proc_samples *s)
{
    bench_samples_sort(&s->wall);
    return (struct stats){
        .median_ms = bench_samples_quantile(&s->wall, 0.5) / 1e6,
        .p10_ms = bench_samples_quantile(&s->wall, 0.1) / 1e6,
        .p90_ms = bench_samples_quantile(&s->wall, 0.9) / 1e6,
        .cpu_ms = column_median(&s->cpu) / 1e6,
        .rss_mib = column_median(&s->rss_kb) / 1024.0,
    };
}

/* ---- whole-process runs ---- */

/* One run through bench_spawn_run() (posix_spawn, then a blocking wait4): stdin is null_fd. */
static int process_run(char *const argv[], int null_fd, int out_fd, int err_fd, struct bench_run *ret)
{
    const int fds[3] = {null_fd, out_fd, err_fd};
    return bench_spawn_run(argv, NULL, fds, ret);
}

/* A command whose first error line we want (the untimed check run): stderr goes to a memfd. */
static int process_check(char *const argv[], int null_fd, struct bench_run *ret, char *err_line, size_t size)
{
    err_line[0] = '\0';
    int mfd = memfd_create("stderr", MFD_CLOEXEC);
    if (mfd < 0)
        return -errno;
    int r = process_run(argv, null_fd, null_fd, mfd, ret);
    char text[512];
    ssize_t n = r == 0 ? pread(mfd, text, sizeof(text) - 1, 0) : -1;
    close(mfd);
    if (n > 0) {
        text[n] = '\0';
        size_t len = strcspn(text, "\n");
        len = len < size - 1 ? len : size - 1;
        memcpy(err_line, text, len);
        err_line[len] = '\0';
    }
    return r;
}

/* ---- (1) corpus logs, whole process ---- */

struct corpus_file {
    char path[PATH_MAX];
    const char *name; /* uefi/... (under corpora/eventlog) or isecl/... (under corpora) */
    size_t bytes, events;
    bool tool_ok;         /* tpm2_eventlog reads it (exit 0): timed and compared */
    char tool_error[200]; /* else: its status and first error line */
    struct bench_proc_samples tagent, tool;
};

struct floor_row {
    const char *label;
    char *argv[4];
    struct bench_proc_samples s;
};

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every *.bin under dir, depth first, in name order. */
static int collect_bins(const char *dir, struct corpus_file *files, size_t *n)
{
    struct dirent **ents;
    int count = scandir(dir, &ents, NULL, alphasort);
    if (count < 0)
        return -errno;
    int r = 0;
    for (int i = 0; i < count; i++) {
        const char *d = ents[i]->d_name;
        char path[PATH_MAX];
        struct stat st;
        if (r == 0 && strcmp(d, ".") != 0 && strcmp(d, "..") != 0 &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, d) < sizeof(path) && stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                r = collect_bins(path, files, n);
            else if (S_ISREG(st.st_mode) && has_suffix(d, ".bin")) {
                if (*n == MAX_FILES)
                    r = -E2BIG;
                else
                    snprintf(files[(*n)++].path, sizeof(files[0].path), "%s", path);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return r;
}

struct process_bench {
    struct corpus_file files[MAX_FILES];
    size_t n_files;
    struct floor_row floors[2];
    char tool_prog[PATH_MAX], true_prog[PATH_MAX];
    char tool_version[128];
    int null_fd;
};

/* Size and event count (tagent's own parser, untimed) and whether each command reads the log. */
static int corpus_check(struct process_bench *pb, const struct opts *o, struct corpus_file *f)
{
    struct stat st;
    if (stat(f->path, &st) < 0)
        return -errno;
    f->bytes = (size_t)st.st_size;
    struct eventlog *log = NULL;
    char *error = NULL;
    if (eventlog_load(f->path, NULL, &log, &error) == 0)
        f->events = log->n_events;
    eventlog_free(log);
    free(error);

    struct bench_run res = {0};
    char line[160], how[32];
    char *ta_argv[] = {(char *)o->tagent, "eventlog", "--replay", "--file", f->path, NULL};
    int r = process_check(ta_argv, pb->null_fd, &res, line, sizeof(line));
    if (r == 0 && !bench_exited_ok(res.status)) {
        bench_status_text(res.status, how, sizeof(how));
        fprintf(stderr, "bench_eventlog: tagent eventlog --replay --file %s: %s: %s\n", f->name, how, line);
        return -EPROTO;
    }
    char *tool_argv[] = {pb->tool_prog, f->path, NULL};
    if (r == 0)
        r = process_check(tool_argv, pb->null_fd, &res, line, sizeof(line));
    if (r == 0) {
        f->tool_ok = bench_exited_ok(res.status);
        bench_status_text(res.status, how, sizeof(how));
        snprintf(f->tool_error, sizeof(f->tool_error), "%s: %s", how, line);
    }
    return r;
}

static int process_setup(struct process_bench *pb, const struct opts *o)
{
    char dir[PATH_MAX];
    pb->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (pb->null_fd < 0)
        return -errno;
    if (bench_which("tpm2_eventlog", pb->tool_prog, sizeof(pb->tool_prog)) < 0) {
        fprintf(stderr,
                "bench_eventlog: tpm2_eventlog is not in $PATH (Debian: apt-get install tpm2-tools)\n");
        return -ENOENT;
    }
    if (bench_which("true", pb->true_prog, sizeof(pb->true_prog)) < 0)
        snprintf(pb->true_prog, sizeof(pb->true_prog), "/bin/true");
    /* -t and -c come from getopt(), which sets optarg for every option declared with ':' */
    if (access(o->tagent, X_OK) < 0) { /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        fprintf(stderr, "bench_eventlog: %s: %s (build the tagent target, or give -t)\n", o->tagent,
                strerror(errno));
        return -ENOENT;
    }

    /* tpm2_eventlog's version line, for the header. */
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "%s --version 2>/dev/null", pb->tool_prog);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(pb->tool_version, sizeof(pb->tool_version), p))
            pb->tool_version[0] = '\0';
        pb->tool_version[strcspn(pb->tool_version, "\n")] = '\0';
        pclose(p);
    }

    snprintf(dir, sizeof(dir), "%s/%s", o->corpora, UEFI_DIR);
    int r = collect_bins(dir, pb->files, &pb->n_files);
    if (r < 0) {
        fprintf(stderr, "bench_eventlog: %s: %s (give the corpora dir with -c)\n", dir, strerror(-r));
        return r;
    }
    if (pb->n_files == MAX_FILES)
        return -E2BIG;
    snprintf(pb->files[pb->n_files++].path, sizeof(pb->files[0].path), "%s/%s", o->corpora, ISECL_LOG);

    size_t cap = o->runs;
    size_t prefix = strlen(o->corpora) + 1; /* NOLINT(clang-analyzer-core.NonNullParamChecker): as -t above */
    for (size_t i = 0; i < pb->n_files && r == 0; i++) {
        struct corpus_file *f = &pb->files[i];
        f->name = f->path + prefix;
        if (!strncmp(f->name, "eventlog/", 9))
            f->name += 9; /* uefi/...: the corpus logs; isecl/...: the ISecL one */
        if ((r = bench_proc_samples_init(&f->tagent, cap)) == 0 &&
            (r = bench_proc_samples_init(&f->tool, cap)) == 0)
            r = corpus_check(pb, o, f);
        if (r < 0 && r != -EPROTO)
            fprintf(stderr, "bench_eventlog: %s: %s\n", f->path, strerror(-r));
    }

    pb->floors[0] =
        (struct floor_row){.label = "tagent version", .argv = {(char *)o->tagent, "version", NULL}};
    pb->floors[1] = (struct floor_row){.label = "/bin/true", .argv = {pb->true_prog, NULL}};
    for (size_t i = 0; i < 2 && r == 0; i++)
        r = bench_proc_samples_init(&pb->floors[i].s, cap);
    return r;
}

/* fork_first for the peak-RSS rows of (3): bench_util.h says why a vfork child's ru_maxrss would be ours. */
static int timed_how(char *const argv[], int null_fd, bool fork_first, struct bench_proc_samples *s,
                     bool record)
{
    char label[PATH_MAX + 64];
    const int fds[3] = {null_fd, null_fd, null_fd};
    snprintf(label, sizeof(label), "%s %s", argv[0], argv[1] ? argv[1] : "");
    return bench_run_timed("bench_eventlog", label, argv, fds, fork_first, s, record);
}

static int timed(char *const argv[], int null_fd, struct bench_proc_samples *s, bool record)
{
    return timed_how(argv, null_fd, false, s, record);
}

/* Rounds: in each, every log once with both commands (tagent first in even rounds, tpm2_eventlog first in odd
 * ones), then the two floor rows. So load on the shared machine spreads over every row alike. */
static int process_run_all(struct process_bench *pb, const struct opts *o)
{
    int r = 0;
    for (unsigned round = 0; r == 0 && round < o->warmup + o->runs; round++) {
        bool record = round >= o->warmup;
        for (size_t i = 0; r == 0 && i < pb->n_files; i++) {
            struct corpus_file *f = &pb->files[i];
            char *ta_argv[] = {(char *)o->tagent, "eventlog", "--replay", "--file", f->path, NULL};
            char *tool_argv[] = {pb->tool_prog, f->path, NULL};
            for (int k = 0; r == 0 && k < 2; k++) {
                if ((k == 0) == (round % 2 == 0))
                    r = timed(ta_argv, pb->null_fd, &f->tagent, record);
                else if (f->tool_ok)
                    r = timed(tool_argv, pb->null_fd, &f->tool, record);
            }
        }
        for (size_t i = 0; r == 0 && i < 2; i++)
            r = timed(pb->floors[i].argv, pb->null_fd, &pb->floors[i].s, record);
    }
    return r;
}

static bool process_report(struct process_bench *pb, const struct opts *o)
{
    printf("(1) whole process, per corpus log: `tagent eventlog --replay --file F` vs `tpm2_eventlog F` "
           "[baseline]\n");
    printf(
        "    %u runs of each, interleaved (alternating order), %u warm-up rounds; stdout+stderr to "
        "/dev/null;\n"
        "    one sample = wall time posix_spawn() .. wait4() (CLOCK_MONOTONIC); cpu = the child's user+sys\n",
        o->runs, o->warmup);
    printf("    tagent: %s\n    baseline: %s (%s)\n\n", o->tagent, pb->tool_prog,
           pb->tool_version[0] ? pb->tool_version : "version unknown");
    printf("%-52s %6s %5s | %8s %7s %7s | %8s %7s %7s | %7s %6s %s\n", "log", "bytes", "ev", "tagent", "p90",
           "cpu", "tpm2_ev", "p90", "cpu", "ratio", "cpu", "5x?");
    printf("%-52s %6s %5s | %8s %7s %7s | %8s %7s %7s | %7s %6s\n", "", "", "", "ms", "ms", "ms", "ms", "ms",
           "ms", "tpm2/ta", "ratio");
    size_t met = 0, compared = 0;
    double worst = 0, best = 0;
    for (size_t i = 0; i < pb->n_files; i++) {
        struct corpus_file *f = &pb->files[i];
        struct stats ta = series_stats(&f->tagent);
        if (!f->tool_ok) {
            printf("%-52s %6zu %5zu | %8.3f %7.3f %7.3f | %s\n", f->name, f->bytes, f->events, ta.median_ms,
                   ta.p90_ms, ta.cpu_ms, "tpm2_eventlog fails on this log: no ratio");
            printf("%-52s %6s %5s |   (%s)\n", "", "", "", f->tool_error);
            continue;
        }
        struct stats tool = series_stats(&f->tool);
        double ratio = tool.median_ms / ta.median_ms;
        bool ok = ratio >= TARGET_PROCESS_RATIO;
        met += ok;
        if (compared == 0 || ratio < worst)
            worst = ratio;
        if (compared == 0 || ratio > best)
            best = ratio;
        compared++;
        printf("%-52s %6zu %5zu | %8.3f %7.3f %7.3f | %8.3f %7.3f %7.3f | %7.2f %6.2f %s\n", f->name,
               f->bytes, f->events, ta.median_ms, ta.p90_ms, ta.cpu_ms, tool.median_ms, tool.p90_ms,
               tool.cpu_ms, ratio, tool.cpu_ms / ta.cpu_ms, ok ? "met" : "NOT met");
    }
    printf("\nfor scale (same rounds, same method):\n");
    for (size_t i = 0; i < 2; i++) {
        struct stats s = series_stats(&pb->floors[i].s);
        printf("%-52s %6s %5s | %8.3f %7.3f %7.3f |\n", pb->floors[i].label, "", "", s.median_ms, s.p90_ms,
               s.cpu_ms);
    }
    printf(
        "\nratio = median wall time of tpm2_eventlog [baseline] / of tagent, same log (%.2f .. %.2f); the\n"
        "target is judged on it. cpu ratio = the same for the median CPU time (steadier on a busy "
        "machine).\n",
        worst, best);
    bool all = met == compared && compared > 0;
    printf("target (tagent >= %.0fx faster than tpm2_eventlog on every log): %s (%zu of %zu logs)\n\n",
           TARGET_PROCESS_RATIO, all ? "MET" : "NOT MET", met, compared);
    return all;
}

static void process_free(struct process_bench *pb)
{
    for (size_t i = 0; i < pb->n_files; i++) {
        bench_proc_samples_free(&pb->files[i].tagent);
        bench_proc_samples_free(&pb->files[i].tool);
    }
    for (size_t i = 0; i < 2; i++)
        bench_proc_samples_free(&pb->floors[i].s);
    if (pb->null_fd > 0)
        close(pb->null_fd);
}

/* ---- synthetic crypto-agile log ---- */

struct gen {
    uint8_t *buf;
    size_t len, cap;
    uint64_t rng;
    size_t events;  /* after the Spec ID event */
    size_t extends; /* events that are not EV_NO_ACTION */
    bool full;
};

static const struct {
    uint16_t alg, size;
} gen_algs[] = {{EVENTLOG_ALG_SHA1, 20}, {EVENTLOG_ALG_SHA256, 32}, {EVENTLOG_ALG_SHA384, 48}};
#define GEN_N_ALGS (sizeof(gen_algs) / sizeof(gen_algs[0]))

static uint64_t gen_rand(struct gen *g)
{
    /* xorshift64*: deterministic, so every run and every machine gets the same log. */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 0x2545f4914f6cdd1dull;
}

static unsigned gen_between(struct gen *g, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(gen_rand(g) % (hi - lo + 1));
}

static void gen_fill(struct gen *g, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = gen_rand(g);
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void put_u16(uint8_t **p, uint16_t v)
{
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 4;
}

static void put_u64(uint8_t **p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p, (uint32_t)(v >> 32));
}

static int gen_init(struct gen *g, size_t cap)
{
    *g = (struct gen){.buf = malloc(cap), .cap = cap, .rng = 0x9e3779b97f4a7c15ull};
    if (!g->buf)
        return -ENOMEM;
    /* TCG_PCR_EVENT carrying TCG_EfiSpecIDEvent: SHA1+SHA256+SHA384, no vendor info. */
    uint8_t *p = g->buf;
    uint32_t spec_len = 16 + 4 + 4 + 4 + 4 * GEN_N_ALGS + 1;
    put_u32(&p, 0);
    put_u32(&p, EV_NO_ACTION);
    memset(p, 0, 20);
    p += 20;
    put_u32(&p, spec_len);
    memcpy(p, "Spec ID Event03", 16);
    p += 16;
    put_u32(&p, 0);               /* platformClass: client */
    *p++ = 0, *p++ = 2, *p++ = 0; /* spec version 2.0, errata 0 */
    *p++ = 2;                     /* uintnSize: 64-bit UINTN */
    put_u32(&p, GEN_N_ALGS);
    for (size_t i = 0; i < GEN_N_ALGS; i++) {
        put_u16(&p, gen_algs[i].alg);
        put_u16(&p, gen_algs[i].size);
    }
    *p++ = 0; /* vendorInfoSize */
    g->len = (size_t)(p - g->buf);
    return 0;
}

/* One TCG_PCR_EVENT2 with a digest per bank (random bytes: replay does not check them against the data;
 * zeros for EV_NO_ACTION);
 * the data comes from fill(). Nothing is written once the log is full. */
static uint8_t *gen_event_begin(struct gen *g, uint32_t pcr, uint32_t type, uint32_t data_len)
{
    size_t need = 12 + 4 + data_len;
    for (size_t i = 0; i < GEN_N_ALGS; i++)
        need += 2 + gen_algs[i].size;
    if (g->full || need > g->cap - g->len) {
        g->full = true;
        return NULL;
    }
    uint8_t *p = g->buf + g->len;
    put_u32(&p, pcr);
    put_u32(&p, type);
    put_u32(&p, GEN_N_ALGS);
    for (size_t i = 0; i < GEN_N_ALGS; i++) {
        put_u16(&p, gen_algs[i].alg);
        if (type == EV_NO_ACTION)
            memset(p, 0, gen_algs[i].size); /* TCG PFP: EV_NO_ACTION digests are zero (and not extended) */
        else
            gen_fill(g, p, gen_algs[i].size);
        p += gen_algs[i].size;
    }
    put_u32(&p, data_len);
    g->len += need;
    g->events++;
    g->extends += type != EV_NO_ACTION;
    return p;
}

static void gen_raw(struct gen *g, uint32_t pcr, uint32_t type, uint32_t len)
{
    uint8_t *p = gen_event_begin(g, pcr, type, len);
    if (p)
        gen_fill(g, p, len);
}

static void gen_text(struct gen *g, uint32_t pcr, uint32_t type, const char *text, uint32_t len)
{
    uint8_t *p = gen_event_begin(g, pcr, type, len);
    if (!p)
        return;
    size_t tl = strlen(text);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)text[i % tl];
    if (len)
        p[len - 1] = 0;
}

/* UEFI_VARIABLE_DATA: VendorGuid, UnicodeNameLength, VariableDataLength, UTF-16 name, data. */
static void gen_variable(struct gen *g, uint32_t pcr, uint32_t type, const char *name, uint32_t data_len)
{
    size_t nl = strlen(name);
    uint8_t *p = gen_event_begin(g, pcr, type, (uint32_t)(16 + 8 + 8 + 2 * nl + data_len));
    if (!p)
        return;
    gen_fill(g, p, 16);
    p += 16;
    put_u64(&p, nl);
    put_u64(&p, data_len);
    for (size_t i = 0; i < nl; i++) {
        *p++ = (uint8_t)name[i];
        *p++ = 0;
    }
    gen_fill(g, p, data_len);
}

/* UEFI_IMAGE_LOAD_EVENT: location, length, link-time address, device path length, device path. */
static void gen_image(struct gen *g, uint32_t len)
{
    uint8_t *p = gen_event_begin(g, 4, EV_EFI_BOOT_SERVICES_APPLICATION, len);
    if (!p)
        return;
    put_u64(&p, 0x7d9d5018 + gen_rand(g) % 0x100000);
    put_u64(&p, 0x100000 + gen_rand(g) % 0x400000);
    put_u64(&p, 0);
    put_u64(&p, len - 32);
    gen_fill(g, p, len - 32);
}

static const char grub_text[] =
    "grub_cmd: linux (hd0,gpt2)/vmlinuz-4.18.0-372.9.1.el8.x86_64 root=/dev/mapper/rhel-root ro "
    "crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap "
    "console=ttyS0,38400n8 "
    "net.ifnames=0 biosdevname=0 scsi_mod.use_blk_mq=Y ";

/* One boot's worth of events, modelled on a real UEFI + shim + GRUB boot (the corpus's rhel8-uefi.bin: 82
 * events, ~415 bytes each on average): CRTM version, Secure Boot variables (PK/KEK/db/dbx a few KB), boot
 * variables, separators, EFI actions, the loaded images (~100 B), the GPT, db authorities, and many GRUB
 * EV_IPL strings of 30-200 bytes. */
static void gen_boot(struct gen *g)
{
    gen_raw(g, 0, EV_S_CRTM_VERSION, 48);
    gen_variable(g, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot", 1);
    gen_variable(g, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "PK", 950);
    gen_variable(g, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "KEK", 1560);
    gen_variable(g, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "db", 3140);
    gen_variable(g, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, "dbx", 4620);
    gen_raw(g, 7, EV_SEPARATOR, 4);
    gen_variable(g, 1, EV_EFI_VARIABLE_BOOT, "BootOrder", 8);
    for (int i = 0; i < 3; i++)
        gen_variable(g, 1, EV_EFI_VARIABLE_BOOT, "Boot0000", gen_between(g, 60, 150));
    gen_text(g, 4, EV_EFI_ACTION, "Calling EFI Application from Boot Option", 40);
    for (uint32_t pcr = 0; pcr < 7; pcr++)
        gen_raw(g, pcr, EV_SEPARATOR, 4);
    gen_raw(g, 5, EV_EFI_GPT_EVENT, 356);
    gen_image(g, gen_between(g, 80, 160));
    gen_variable(g, 7, EV_EFI_VARIABLE_AUTHORITY, "db", 1500);
    gen_image(g, gen_between(g, 80, 160));
    gen_variable(g, 7, EV_EFI_VARIABLE_AUTHORITY, "MokListRT", 1050);
    gen_image(g, gen_between(g, 80, 160));
    for (int i = 0; i < 54; i++)
        gen_text(g, i % 3 ? 8 : 9, EV_IPL, grub_text + gen_between(g, 0, 40), gen_between(g, 30, 200));
    gen_text(g, 5, EV_EFI_ACTION, "Exit Boot Services Invocation", 29);
    gen_text(g, 5, EV_EFI_ACTION, "Exit Boot Services Returned with Success", 40);
}

enum mix { MIX_BOOT, MIX_SMALL };

static int gen_log(struct gen *g, size_t size, enum mix mix)
{
    int r = gen_init(g, size);
    if (r < 0)
        return r;
    /* StartupLocality (locality 0), as most firmware logs it right after the Spec ID event. */
    uint8_t *p = gen_event_begin(g, 0, EV_NO_ACTION, 17);
    if (p)
        memcpy(p, "StartupLocality\0", 17);
    while (!g->full) {
        if (mix == MIX_BOOT)
            gen_boot(g);
        else
            gen_text(g, 8, EV_IPL, grub_text, 40);
    }
    return 0;
}

/* ---- (2) in-process throughput, (3) heap ---- */

struct mix_result {
    const char *label;
    size_t bytes, events;
    double parse_ms, replay_ms, total_ms; /* medians */
    double mbps;
    /* memory, from the first timed run */
    bool mem_ok;
    long heap_parse, heap_replay, hwm_growth; /* bytes */
};

static long heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

/* VmRSS or VmHWM of this process in bytes, or -1. */
static long self_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* Resets this process's RSS high-water mark to its current RSS (Linux >= 4.0). */
static bool hwm_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int inproc_run(const struct gen *g, struct mix_result *m, uint64_t *parse_ns, uint64_t *replay_ns,
                      bool measure_memory)
{
    static struct eventlog_pcrs pcrs;
    struct eventlog *log = NULL;
    char *error = NULL;
    long heap0 = 0, rss0 = 0;
    if (measure_memory) {
        malloc_trim(0);
        m->mem_ok = hwm_reset();
        rss0 = self_status_kb("VmRSS");
        heap0 = heap_in_use();
    }
    uint64_t t0 = bench_mono_ns();
    int r = eventlog_parse(g->buf, g->len, NULL, &log, &error);
    uint64_t t1 = bench_mono_ns();
    if (r == 0 && measure_memory)
        m->heap_parse = heap_in_use() - heap0;
    if (r == 0)
        r = eventlog_replay(log, &pcrs, &error);
    uint64_t t2 = bench_mono_ns();
    if (r == 0 && measure_memory) {
        m->heap_replay = heap_in_use() - heap0;
        long hwm = self_status_kb("VmHWM");
        m->mem_ok &= hwm >= 0 && rss0 >= 0;
        m->hwm_growth = (hwm - rss0) * 1024;
    }
    if (r < 0) {
        fprintf(stderr, "bench_eventlog: synthetic log (%s): %s\n", m->label, error ? error : strerror(-r));
    } else if (log->n_events != g->events || log->end != g->len || log->trailing_bytes) {
        fprintf(stderr,
                "bench_eventlog: synthetic log (%s): parsed %zu events up to %zu, generated %zu in %zu\n",
                m->label, log->n_events, log->end, g->events, g->len);
        r = -EPROTO;
    } else {
        /* Every bank replayed every extending event. */
        for (uint32_t b = 0; b < pcrs.n_banks; b++) {
            uint64_t sum = 0;
            for (int p = 0; p < EVENTLOG_PCRS; p++)
                sum += pcrs.banks[b].n_extends[p];
            if (sum != g->extends || pcrs.n_banks != GEN_N_ALGS) {
                fprintf(stderr,
                        "bench_eventlog: synthetic log (%s): bank %u replayed %" PRIu64 " of %zu events\n",
                        m->label, b, sum, g->extends);
                r = -EPROTO;
            }
        }
    }
    eventlog_free(log);
    free(error);
    *parse_ns = t1 - t0;
    *replay_ns = t2 - t1;
    return r;
}

static int inproc_bench(const struct gen *g, unsigned runs, struct mix_result *m)
{
    m->bytes = g->len;
    m->events = g->events;
    struct bench_samples parse = {0}, replay = {0}, total = {0};
    int r = bench_samples_init(&parse, runs);
    if (r == 0)
        r = bench_samples_init(&replay, runs);
    if (r == 0)
        r = bench_samples_init(&total, runs);
    uint64_t p, q;
    /* One untimed run first (it also takes the memory figures, so the timed runs carry no /proc reads). */
    if (r == 0)
        r = inproc_run(g, m, &p, &q, true);
    for (unsigned i = 0; r == 0 && i < runs; i++) {
        if ((r = inproc_run(g, m, &p, &q, false)) == 0) {
            bench_samples_add(&parse, p);
            bench_samples_add(&replay, q);
            bench_samples_add(&total, p + q);
        }
    }
    if (r == 0) {
        m->parse_ms = column_median(&parse) / 1e6;
        m->replay_ms = column_median(&replay) / 1e6;
        m->total_ms = column_median(&total) / 1e6;
        m->mbps = (double)m->bytes / 1e6 / (m->total_ms / 1e3);
    }
    bench_samples_free(&parse);
    bench_samples_free(&replay);
    bench_samples_free(&total);
    return r;
}

static bool inproc_report(const struct mix_result *m, size_t n, unsigned runs)
{
    printf("(2) in process: eventlog_parse() + eventlog_replay() on a synthetic crypto-agile log "
           "(SHA1+SHA256+SHA384 banks)\n");
    printf("    median of %u runs after 1 untimed run; parse includes its copy of the buffer; MB = 10^6 "
           "bytes\n\n",
           runs);
    printf("%-36s %9s %8s %8s | %8s %8s %8s | %8s\n", "mix", "bytes", "events", "avg ev", "parse", "replay",
           "total", "MB/s");
    printf("%-36s %9s %8s %8s | %8s %8s %8s |\n", "", "", "", "bytes", "ms", "ms", "ms");
    for (size_t i = 0; i < n; i++)
        printf("%-36s %9zu %8zu %8.1f | %8.2f %8.2f %8.2f | %8.1f\n", m[i].label, m[i].bytes, m[i].events,
               (double)m[i].bytes / (double)m[i].events, m[i].parse_ms, m[i].replay_ms, m[i].total_ms,
               m[i].mbps);
    printf("    per event (total): realistic %.0f ns, small-only %.0f ns\n",
           m[0].total_ms * 1e6 / (double)m[0].events, m[1].total_ms * 1e6 / (double)m[1].events);
    bool met = m[0].mbps >= TARGET_MBPS;
    printf("target (>= %.0f MB/s on the realistic mix): %s (%.1f MB/s; the small-event mix, the worst case: "
           "%.1f MB/s)\n\n",
           TARGET_MBPS, met ? "MET" : "NOT MET", m[0].mbps, m[1].mbps);
    return met;
}

/* ---- (3) peak memory of the whole process ---- */

static int write_file(const char *path, int fd, const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "bench_eventlog: %s: write: %s\n", path, strerror(errno));
            return -errno;
        }
        off += (size_t)n;
    }
    return 0;
}

static int rss_bench(const struct opts *o, const char *log_path, size_t log_bytes,
                     const struct mix_result *boot, bool *ret_met)
{
    struct bench_proc_samples ver = {0}, ev = {0};
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int r = null_fd >= 0 ? 0 : -errno;
    if (r == 0 && (r = bench_proc_samples_init(&ver, o->rss_runs)) == 0)
        r = bench_proc_samples_init(&ev, o->rss_runs);
    char *ver_argv[] = {(char *)o->tagent, "version", NULL};
    char *ev_argv[] = {(char *)o->tagent, "eventlog", "--replay", "--file", (char *)log_path, NULL};
    /* A forked child's ru_maxrss also covers the anonymous memory it shares with this process until the exec
     * (fork copies the page tables of anonymous mappings, not of file mappings): keep that small (the
     * synthetic buffers are freed) and show it. */
    malloc_trim(0);
    long parent_anon = self_status_kb("RssAnon");
    r = r == 0 ? timed_how(ev_argv, null_fd, true, &ev, false) : r; /* page cache */
    for (unsigned i = 0; r == 0 && i < o->rss_runs; i++) {
        if ((r = timed_how(i % 2 ? ev_argv : ver_argv, null_fd, true, i % 2 ? &ev : &ver, true)) == 0)
            r = timed_how(i % 2 ? ver_argv : ev_argv, null_fd, true, i % 2 ? &ver : &ev, true);
    }
    if (null_fd >= 0)
        close(null_fd);
    if (r < 0) {
        bench_proc_samples_free(&ver);
        bench_proc_samples_free(&ev);
        return r;
    }

    struct stats sv = series_stats(&ver), se = series_stats(&ev);
    double mib = (double)log_bytes / (1024.0 * 1024.0);
    double cost = se.rss_mib - sv.rss_mib;
    bool met = se.rss_mib <= TARGET_RSS_FACTOR * mib;
    printf("(3) peak memory: ru_maxrss (wait4) of the whole process, median of %u runs each, interleaved\n",
           o->rss_runs);
    printf(
        "    log: the realistic mix of (2) in %s, %.2f MiB; bench_eventlog's own RssAnon at fork: %.2f MiB\n"
        "    (the child's ru_maxrss includes that, its memory until the exec: %s)\n\n",
        log_path, mib, parent_anon / 1024.0,
        parent_anon >= 0 && parent_anon / 1024.0 < sv.rss_mib / 2 ? "far below both rows, so it does not show"
                                                                  : "NOT small: the rows may be inflated");
    printf("%-52s %10s %10s %8s\n", "row", "peak RSS", "wall", "peak/log");
    printf("%-52s %10s %10s\n", "", "MiB", "ms");
    printf("%-52s %10.2f %10.2f %8s\n", "tagent version [baseline]", sv.rss_mib, sv.median_ms, "");
    printf("%-52s %10.2f %10.2f %8.2f\n", "tagent eventlog --replay --file <synthetic log>", se.rss_mib,
           se.median_ms, se.rss_mib / mib);
    printf("%-52s %10.2f %10s %8.2f\n", "  minus the baseline: what the log costs", cost, "", cost / mib);
    printf("    whole process on the synthetic log: %.1f MB/s end to end (read + parse + replay + JSON + "
           "start-up)\n",
           (double)log_bytes / 1e6 / (se.median_ms / 1e3));
    if (boot->mem_ok)
        printf(
            "    in process (realistic mix): heap growth after eventlog_parse() %.2f MiB (%.3f x log), after "
            "replay %.2f MiB;\n"
            "    RSS high-water growth over parse + replay %.2f MiB (%.3f x log; the caller's own buffer not "
            "counted)\n",
            boot->heap_parse / 1048576.0, boot->heap_parse / 1048576.0 / mib, boot->heap_replay / 1048576.0,
            boot->hwm_growth / 1048576.0, boot->hwm_growth / 1048576.0 / mib);
    printf("target (peak RSS of the whole process <= %.0f x the log size): %s (%.2f MiB for a %.2f MiB log; "
           "%.2f x)\n\n",
           TARGET_RSS_FACTOR, met ? "MET" : "NOT MET", se.rss_mib, mib, se.rss_mib / mib);
    bench_proc_samples_free(&ver);
    bench_proc_samples_free(&ev);
    *ret_met = met;
    return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_eventlog [-n RUNS] [-w WARMUP] [-r RUNS] [-m RUNS] [-s MIB] [-c CORPORA] [-t TAGENT]\n"
        "                      [-o FILE]\n"
        "  -n N    (1) runs of each command per corpus log (default 30)\n"
        "  -w N    (1) untimed warm-up rounds first (default 2)\n"
        "  -r N    (2) timed in-process runs per mix (default 9)\n"
        "  -m N    (3) whole-process runs for peak RSS (default 5)\n"
        "  -s MIB  (2)(3) synthetic log size in MiB (default 48; the parser's limit is 64)\n"
        "  -c DIR  the shared corpora (default %s)\n"
        "  -t BIN  the tagent binary (default %s)\n"
        "  -o FILE write the realistic-mix synthetic log to FILE and exit\n",
        BENCH_CORPORA, BENCH_TAGENT);
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.runs = 30,
                       .warmup = 2,
                       .inproc_runs = 9,
                       .rss_runs = 5,
                       .size_mib = 48,
                       .corpora = BENCH_CORPORA,
                       .tagent = BENCH_TAGENT};
    const struct bench_option options[] = {
        {.letter = 'n', .count = &o->runs, .min = 1, .max = 100000},
        {.letter = 'w', .count = &o->warmup, .min = 0, .max = 1000},
        {.letter = 'r', .count = &o->inproc_runs, .min = 1, .max = 10000},
        {.letter = 'm', .count = &o->rss_runs, .min = 1, .max = 10000},
        {.letter = 's', .count = &o->size_mib, .min = 1, .max = 64},
        {.letter = 'c', .string = &o->corpora},
        {.letter = 't', .string = &o->tagent},
        {.letter = 'o', .string = &o->write_log},
        {0},
    };
    const struct bench_cli cli = {"bench_eventlog", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

int main(int argc, char **argv)
{
    struct opts o;
    int r = opts_parse(argc, argv, &o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t size = (size_t)o.size_mib << 20;

    if (o.write_log) {
        struct gen g;
        int fd = -1;
        r = gen_log(&g, size, MIX_BOOT);
        if (r == 0 && (fd = open(o.write_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
            r = -errno;
        if (r == 0)
            r = write_file(o.write_log, fd, g.buf, g.len);
        if (fd >= 0)
            close(fd);
        free(g.buf);
        if (r == 0)
            printf("%s: %zu bytes, %zu events after the Spec ID event\n", o.write_log, g.len, g.events);
        else
            fprintf(stderr, "bench_eventlog: %s: %s\n", o.write_log, strerror(-r));
        return r == 0 ? 0 : 1;
    }

    printf("bench_eventlog: %ld CPUs; corpora %s\n\n", sysconf(_SC_NPROCESSORS_ONLN), o.corpora);

    /* (1) first, while this process is small (a child's ru_maxrss counts what this process holds at the
     * spawn). */
    static struct process_bench pb;
    r = process_setup(&pb, &o);
    if (r == 0)
        r = process_run_all(&pb, &o);
    bool met1 = r == 0 && process_report(&pb, &o);
    process_free(&pb);

    /* (2) both mixes; the realistic one is then written to a temp file for (3) and freed. */
    struct mix_result mixes[2] = {{.label = "realistic boot mix"},
                                  {.label = "small events only (EV_IPL, 40 B)"}};
    struct gen g = {0};
    char tmp[PATH_MAX] = "";
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/bench_eventlog.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = -1;
    for (int i = 1; r == 0 && i >= 0; i--) {
        if ((r = gen_log(&g, size, i ? MIX_SMALL : MIX_BOOT)) == 0)
            r = inproc_bench(&g, o.inproc_runs, &mixes[i]);
        if (r == 0 && i == 0) {
            if ((fd = mkstemp(tmp)) < 0)
                r = -errno, fprintf(stderr, "bench_eventlog: %s: %s\n", tmp, strerror(errno));
            else
                r = write_file(tmp, fd, g.buf, g.len);
        }
        free(g.buf);
        g.buf = NULL;
    }
    bool met2 = r == 0 && inproc_report(mixes, 2, o.inproc_runs);

    /* (3) */
    bool met3 = false;
    if (r == 0)
        r = rss_bench(&o, tmp, mixes[0].bytes, &mixes[0], &met3);
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }

    if (r < 0) {
        fprintf(stderr, "bench_eventlog: failed (%s)\n", strerror(-r));
        return 1;
    }
    printf(
        "summary: (1) process >= %.0fx tpm2_eventlog: %s; (2) >= %.0f MB/s in process: %s; (3) peak RSS <= "
        "%.0fx log: %s\n",
        TARGET_PROCESS_RATIO, met1 ? "met" : "NOT met", TARGET_MBPS, met2 ? "met" : "NOT met",
        TARGET_RSS_FACTOR, met3 ? "met" : "NOT met");
    return 0;
}
