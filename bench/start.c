/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_start: what starting the tagent binary costs, whole process, against /bin/true [baseline]:
 *
 *   rows: /bin/true, `tagent version`, `tagent help`, and for scale `tagent eventlog --replay --file LOG` on
 * a small corpus log. One sample is the wall time (CLOCK_MONOTONIC) from just before posix_spawn() to just
 *   after wait4() returns (bench_spawn_run(): the child runs on our address space until its exec, so no fork
 *   of this process is in the figure), stdin, stdout and stderr on /dev/null. The rows run interleaved, one
 * of each per round, the starting row moving by one each round. Columns: median, p10, p90 of the wall time,
 *   the median CPU time (user + system) and peak RSS of the child.
 *   objects: each command once more, untimed, with LD_DEBUG=files and LD_DEBUG_OUTPUT in a temp dir: the
 *   dynamic loader writes a "generating link map" line for every shared object it maps, dlopen()ed ones
 *   included (the front binary will load its commands as modules). ld.so itself is counted; the program and
 *   the vDSO are not. -v lists the names.
 *
 * Target (issue 19): median(tagent version) <= 1.5 x median(/bin/true).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#ifndef BENCH_TAGENT
#error "BENCH_TAGENT (the tagent binary) comes from bench/CMakeLists.txt"
#endif
#ifndef BENCH_CORPORA
#error "BENCH_CORPORA (../shared/corpora) comes from bench/CMakeLists.txt"
#endif

#define TARGET_RATIO  1.5 /* median(tagent version) / median(/bin/true) */
#define DEFAULT_LOG   "eventlog/uefi/google-go-eventlog/arch-linux-workstation.bin"
#define MAX_OBJECTS   128
#define OBJECT_NAME   160
#define LINK_MAP_MARK "generating link map"

struct opts {
    unsigned runs, warmup;
    const char *tagent, *corpora, *log; /* log: relative to corpora unless absolute */
    bool verbose;
};

enum row { ROW_TRUE, ROW_VERSION, ROW_HELP, ROW_EVENTLOG, N_ROWS };

struct row_data {
    const char *label;
    char *argv[6];
    struct bench_proc_samples s;
    size_t n_objects;
    char (*objects)[OBJECT_NAME]; /* MAX_OBJECTS names */
};

struct bench {
    struct opts o;
    struct row_data rows[N_ROWS];
    char true_prog[PATH_MAX], log_path[PATH_MAX], log_label[PATH_MAX + 32];
    char tmpdir[PATH_MAX];
    int null_fd;
};

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_start [-n RUNS] [-w WARMUP] [-t TAGENT] [-c CORPORA] [-l LOG] [-v]\n"
            "  -n N    timed runs of each command (default 200)\n"
            "  -w N    untimed warm-up rounds first (default 5)\n"
            "  -t BIN  the tagent binary (default %s)\n"
            "  -c DIR  the shared corpora (default %s)\n"
            "  -l LOG  the event log of the eventlog row, under the corpora unless absolute (default %s)\n"
            "  -v      list the shared objects each command maps\n",
            BENCH_TAGENT, BENCH_CORPORA, DEFAULT_LOG);
}

static int opts_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){
        .runs = 200, .warmup = 5, .tagent = BENCH_TAGENT, .corpora = BENCH_CORPORA, .log = DEFAULT_LOG};
    const struct bench_option options[] = {
        {.letter = 'n', .count = &o->runs, .min = 1, .max = 100000},
        {.letter = 'w', .count = &o->warmup, .min = 0, .max = 1000},
        {.letter = 't', .string = &o->tagent},
        {.letter = 'c', .string = &o->corpora},
        {.letter = 'l', .string = &o->log},
        {.letter = 'v', .flag = &o->verbose},
        {0},
    };
    const struct bench_cli cli = {"bench_start", usage, options};
    return bench_opts_parse(&cli, argc, argv);
}

/* ---- shared objects, from the dynamic loader's own account ---- */

/* "  12345:\tfile=libc.so.6 [0];  generating link map": the name as the loader was asked for it (a soname, or
 * the path given to dlopen()). */
static bool link_map_name(const char *line, char *buf, size_t size)
{
    const char *p = strstr(line, "file="), *end = p ? strstr(p, " [") : NULL;
    if (!p || !end || !strstr(end, LINK_MAP_MARK))
        return false;
    p += strlen("file=");
    snprintf(buf, size, "%.*s", (int)(end - p), p);
    return true;
}

static int objects_read(const char *path, struct row_data *row)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char line[1024];
    snprintf(row->objects[0], OBJECT_NAME, "ld.so (the dynamic loader)");
    row->n_objects = 1;
    while (fgets(line, sizeof(line), f))
        if (row->n_objects < MAX_OBJECTS && link_map_name(line, row->objects[row->n_objects], OBJECT_NAME))
            row->n_objects++;
    fclose(f);
    return 0;
}

/* environ plus LD_DEBUG=files and LD_DEBUG_OUTPUT=prefix (the loader appends .<pid>). */
static char **debug_env(const char *prefix, char *out_var, size_t size)
{
    extern char **environ;
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 3, sizeof(*envp));
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_DEBUG", 8) != 0) /* ours, not the caller's */
            envp[k++] = environ[i];
    snprintf(out_var, size, "LD_DEBUG_OUTPUT=%s", prefix);
    envp[k++] = "LD_DEBUG=files";
    envp[k++] = out_var;
    envp[k] = NULL;
    return envp;
}

static int objects_count(struct bench *b, struct row_data *row)
{
    char prefix[PATH_MAX + 8], var[PATH_MAX + 32], file[PATH_MAX + 32];
    snprintf(prefix, sizeof(prefix), "%s/ld", b->tmpdir);
    char **envp = debug_env(prefix, var, sizeof(var));
    if (!envp)
        return -ENOMEM;
    const int fds[3] = {b->null_fd, b->null_fd, b->null_fd};
    struct bench_run run = {0};
    int r = bench_spawn_run(row->argv, envp, fds, &run);
    free(envp);
    if (r < 0)
        return r;
    snprintf(file, sizeof(file), "%s.%d", prefix, (int)run.pid);
    r = objects_read(file, row);
    unlink(file);
    if (r < 0)
        fprintf(stderr, "bench_start: %s: no LD_DEBUG output from %s (%s)\n", file, row->label, strerror(-r));
    return r;
}

/* ---- the timed runs ---- */

static int row_run(struct bench *b, struct row_data *row, bool record)
{
    const int fds[3] = {b->null_fd, b->null_fd, b->null_fd};
    return bench_spawn_timed("bench_start", row->label, row->argv, fds, &row->s, record);
}

static int bench_rounds(struct bench *b)
{
    int r = 0;
    for (unsigned round = 0; r == 0 && round < b->o.warmup + b->o.runs; round++)
        for (unsigned k = 0; r == 0 && k < N_ROWS; k++)
            r = row_run(b, &b->rows[(k + round) % N_ROWS], round >= b->o.warmup);
    return r;
}

/* ---- setup ---- */

static int bench_setup(struct bench *b)
{
    const struct opts *o = &b->o;
    b->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (b->null_fd < 0)
        return -errno;
    if (bench_which("true", b->true_prog, sizeof(b->true_prog)) < 0)
        snprintf(b->true_prog, sizeof(b->true_prog), "/bin/true");
    if (access(o->tagent, X_OK) < 0) {
        fprintf(stderr, "bench_start: %s: %s (build the tagent target, or give -t)\n", o->tagent,
                strerror(errno));
        return -ENOENT;
    }
    if (o->log[0] == '/')
        snprintf(b->log_path, sizeof(b->log_path), "%s", o->log);
    else
        snprintf(b->log_path, sizeof(b->log_path), "%s/%s", o->corpora, o->log);
    if (access(b->log_path, R_OK) < 0) {
        fprintf(stderr, "bench_start: %s: %s (give the corpora with -c or a log with -l)\n", b->log_path,
                strerror(errno));
        return -ENOENT;
    }
    const char *slash = strrchr(b->log_path, '/');
    snprintf(b->log_label, sizeof(b->log_label), "tagent eventlog --replay --file %s", slash + 1);

    const char *tmp = getenv("TMPDIR");
    snprintf(b->tmpdir, sizeof(b->tmpdir), "%s/bench_start.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b->tmpdir)) {
        int e = errno;
        fprintf(stderr, "bench_start: %s: %s\n", b->tmpdir, strerror(e));
        b->tmpdir[0] = '\0';
        return -e;
    }

    char *ta = (char *)o->tagent;
    b->rows[ROW_TRUE] = (struct row_data){.label = "/bin/true [baseline]", .argv = {b->true_prog, NULL}};
    b->rows[ROW_VERSION] = (struct row_data){.label = "tagent version", .argv = {ta, "version", NULL}};
    b->rows[ROW_HELP] = (struct row_data){.label = "tagent help", .argv = {ta, "help", NULL}};
    b->rows[ROW_EVENTLOG] = (struct row_data){
        .label = b->log_label, .argv = {ta, "eventlog", "--replay", "--file", b->log_path, NULL}};
    int r = 0;
    for (size_t i = 0; r == 0 && i < N_ROWS; i++) {
        struct row_data *row = &b->rows[i];
        row->objects = calloc(MAX_OBJECTS, sizeof(*row->objects));
        r = row->objects ? 0 : -ENOMEM;
        if (r == 0)
            r = bench_proc_samples_init(&row->s, o->runs);
        if (r == 0)
            r = row_run(b, row, false); /* each command works at all, before anything is timed */
        if (r == 0)
            r = objects_count(b, row);
    }
    return r;
}

static void bench_free(struct bench *b)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        bench_proc_samples_free(&b->rows[i].s);
        free(b->rows[i].objects);
    }
    if (b->tmpdir[0])
        rmdir(b->tmpdir);
    if (b->null_fd > 0)
        close(b->null_fd);
}

/* ---- report ---- */

static double median_of(struct bench_samples *s)
{
    bench_samples_sort(s);
    return bench_samples_quantile(s, 0.5);
}

static void bench_report(struct bench *b)
{
    const struct opts *o = &b->o;
    printf("bench_start: %s; %ld CPUs\n", o->tagent, sysconf(_SC_NPROCESSORS_ONLN));
    printf("  %u runs of each command, interleaved (rotating order), after %u warm-up rounds; stdio on "
           "/dev/null;\n"
           "  one sample = wall time posix_spawn() .. wait4() (CLOCK_MONOTONIC); cpu and peak RSS: the "
           "child's rusage\n\n",
           o->runs, o->warmup);
    printf("%-58s %8s %8s %8s %8s %8s %7s %8s\n", "command", "median", "p10", "p90", "cpu", "peak RSS",
           "ratio", "objects");
    printf("%-58s %8s %8s %8s %8s %8s %7s %8s\n", "", "ms", "ms", "ms", "ms", "MiB", "/true", "mapped");
    double base = 0, version = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        struct row_data *row = &b->rows[i];
        double med = median_of(&row->s.wall) / 1e6;
        double cpu = median_of(&row->s.cpu) / 1e6, rss = median_of(&row->s.rss_kb) / 1024.0;
        if (i == ROW_TRUE)
            base = med;
        if (i == ROW_VERSION)
            version = med;
        printf("%-58.58s %8.3f %8.3f %8.3f %8.3f %8.2f %7.2f %8zu\n", row->label, med,
               bench_samples_quantile(&row->s.wall, 0.1) / 1e6,
               bench_samples_quantile(&row->s.wall, 0.9) / 1e6, cpu, rss, base > 0 ? med / base : 0,
               row->n_objects);
    }
    printf(
        "\nobjects mapped: shared objects the dynamic loader mapped (LD_DEBUG=files \"%s\" lines, dlopen()\n"
        "included, plus ld.so itself; not the program or the vDSO), one untimed run each%s\n",
        LINK_MAP_MARK, o->verbose ? ":" : " (-v lists them)");
    for (size_t i = 0; i < N_ROWS; i++) {
        const struct row_data *row = &b->rows[i];
        printf("  %s: objects mapped: %zu\n", row->label, row->n_objects);
        for (size_t k = 0; o->verbose && k < row->n_objects; k++)
            printf("      %s\n", row->objects[k]);
    }
    double ratio = base > 0 ? version / base : 0;
    printf("\ntarget (median(tagent version) <= %.1fx median(/bin/true)): %s (%.2fx: %.3f ms vs %.3f ms)\n",
           TARGET_RATIO, ratio <= TARGET_RATIO ? "MET" : "NOT MET", ratio, version, base);
}

int main(int argc, char **argv)
{
    static struct bench b; /* the paths make it 16 KiB: not on the stack */
    int r = opts_parse(argc, argv, &b.o);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    b.null_fd = -1;
    r = bench_setup(&b);
    if (r == 0)
        r = bench_rounds(&b);
    if (r == 0)
        bench_report(&b);
    else
        fprintf(stderr, "bench_start: failed (%s)\n", strerror(-r));
    bench_free(&b);
    return r == 0 ? 0 : 1;
}
