/* SPDX-License-Identifier: BSD-3-Clause */
/* The bench programs' shared helpers (bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_OPTIONS 32

/* ---- the command line ---- */

static int parse_count_span(const char *s, size_t len, unsigned min, unsigned max, unsigned *ret)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || end != s + len || v < min || v > max)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

int bench_parse_count(const char *s, unsigned min, unsigned max, unsigned *ret)
{
    return parse_count_span(s, strlen(s), min, max, ret);
}

int bench_parse_counts(const char *s, unsigned min, unsigned max, unsigned *v, size_t cap, size_t *ret_n)
{
    size_t n = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        if (n == cap || parse_count_span(p, len, min, max, &v[n]) < 0)
            return -EINVAL;
        n++;
        p += len + (p[len] == ',');
    }
    if (n == 0)
        return -EINVAL;
    *ret_n = n;
    return 0;
}

static const struct bench_option *option_find(const struct bench_cli *cli, int letter)
{
    for (const struct bench_option *o = cli->options; o->letter; o++)
        if (o->letter == letter)
            return o;
    return NULL;
}

static int option_apply(const struct bench_cli *cli, const struct bench_option *o, const char *arg)
{
    int r = 0;
    if (o->flag) {
        *o->flag = true;
    } else if (o->count) {
        r = bench_parse_count(arg, o->min, o->max, o->count);
        if (r < 0)
            fprintf(stderr, "%s: -%c wants a count in %u..%u, not \"%s\"\n", cli->prog, o->letter, o->min,
                    o->max, arg);
    } else if (o->string) {
        *o->string = arg;
    } else {
        r = o->parse(arg, o->data);
        if (r < 0)
            fprintf(stderr, "%s: bad value for -%c: \"%s\"\n", cli->prog, o->letter, arg);
    }
    return r;
}

int bench_opts_parse(const struct bench_cli *cli, int argc, char **argv)
{
    char optstring[2 * MAX_OPTIONS + 2] = "";
    struct option longopts[MAX_OPTIONS + 2] = {{0}};
    size_t n_short = 0, n_long = 0;
    int r = 0;

    for (const struct bench_option *o = cli->options; o->letter; o++) {
        if (n_short == 2 * MAX_OPTIONS)
            return -E2BIG;
        optstring[n_short++] = o->letter;
        if (!o->flag)
            optstring[n_short++] = ':';
        if (o->long_name)
            longopts[n_long++] =
                (struct option){o->long_name, o->flag ? no_argument : required_argument, NULL, o->letter};
    }
    optstring[n_short++] = 'h';
    if (n_long) /* --help only beside other long options: a program without them never had it */
        longopts[n_long++] = (struct option){"help", no_argument, NULL, 'h'};

    int c;
    /* plain getopt() where there are no long options, so "--x" is refused the way it always was */
    while (r == 0 && (c = n_long ? getopt_long(argc, argv, optstring, longopts, NULL)
                                 : getopt(argc, argv, optstring)) != -1) {
        const struct bench_option *o = option_find(cli, c);
        if (c == 'h') {
            cli->usage(stdout);
            r = 1;
        } else if (!o) {
            cli->usage(stderr);
            r = -EINVAL;
        } else {
            r = option_apply(cli, o, optarg);
        }
    }
    if (r == 0 && optind != argc) {
        cli->usage(stderr);
        r = -EINVAL;
    }
    return r;
}

/* ---- clocks ---- */

uint64_t bench_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_mono_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

uint64_t bench_thread_cpu_ns(void)
{
    return bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t bench_timeval_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* ---- samples ---- */

int bench_samples_init(struct bench_samples *s, size_t cap)
{
    s->n = 0;
    s->cap = cap ? cap : 1;
    s->v = calloc(s->cap, sizeof(s->v[0]));
    return s->v ? 0 : -ENOMEM;
}

void bench_samples_add(struct bench_samples *s, uint64_t v)
{
    if (s->n < s->cap)
        s->v[s->n++] = v;
}

void bench_samples_free(struct bench_samples *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_samples_sort(struct bench_samples *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(s->v[0]), cmp_u64);
}

double bench_samples_quantile(const struct bench_samples *s, double q)
{
    if (s->n == 0)
        return 0;
    double pos = q * (double)(s->n - 1);
    size_t lo = (size_t)pos, hi = lo + 1 < s->n ? lo + 1 : lo;
    double frac = pos - (double)lo;
    return (double)s->v[lo] * (1 - frac) + (double)s->v[hi] * frac;
}

double bench_median_double(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- processes ---- */

int bench_which(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && (size_t)snprintf(buf, size, "%.*s/%s", (int)len, p, name) < size &&
            access(buf, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return -ENOENT;
}

int bench_child_wait(pid_t pid, int timeout_ms, int *ret_status)
{
    int fd = pidfd_open(pid, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int k;
        do
            k = poll(&p, 1, timeout_ms);
        while (k < 0 && errno == EINTR);
        close(fd);
        if (k == 0)
            return -ETIMEDOUT;
    }
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        return -errno;
    *ret_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    return 0;
}

/* The child's end of bench_fork_run(): its stdio, then the program; 127 when the exec fails. */
static void fork_child(char *const argv[], char *const envp[], const int fds[3])
{
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            _exit(127);
    execve(argv[0], argv, envp);
    _exit(127);
}

/* What bench_spawn_run() and bench_fork_run() share: the start (spawn or fork), the wait, the figures. */
static int run_child(char *const argv[], char *const envp[], const int fds[3], bool fork_first,
                     struct bench_run *ret)
{
    extern char **environ;
    posix_spawn_file_actions_t fa;
    int r = posix_spawn_file_actions_init(&fa);
    for (int i = 0; r == 0 && i < 3; i++)
        r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    if (r != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -r;
    }
    pid_t pid;
    int status = 0;
    struct rusage ru;
    uint64_t t0 = bench_mono_ns();
    if (fork_first) {
        pid = fork();
        if (pid == 0)
            fork_child(argv, envp ? envp : environ, fds);
        r = pid < 0 ? errno : 0;
    } else
        r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return -r; /* glibc reports a failed exec here */
    pid_t w;
    while ((w = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    uint64_t t1 = bench_mono_ns();
    if (w < 0)
        return -errno;
    *ret = (struct bench_run){
        .wall_ns = t1 - t0,
        .cpu_ns = bench_timeval_ns(ru.ru_utime) + bench_timeval_ns(ru.ru_stime),
        .maxrss_kb = (uint64_t)ru.ru_maxrss,
        .pid = pid,
        .status = status,
    };
    return 0;
}

int bench_spawn_run(char *const argv[], char *const envp[], const int fds[3], struct bench_run *ret)
{
    return run_child(argv, envp, fds, false, ret);
}

int bench_fork_run(char *const argv[], char *const envp[], const int fds[3], struct bench_run *ret)
{
    return run_child(argv, envp, fds, true, ret);
}

int bench_proc_samples_init(struct bench_proc_samples *s, size_t cap)
{
    int r = bench_samples_init(&s->wall, cap);
    if (r == 0)
        r = bench_samples_init(&s->cpu, cap);
    return r == 0 ? bench_samples_init(&s->rss_kb, cap) : r;
}

void bench_proc_samples_free(struct bench_proc_samples *s)
{
    bench_samples_free(&s->wall);
    bench_samples_free(&s->cpu);
    bench_samples_free(&s->rss_kb);
}

int bench_spawn_timed(const char *prog, const char *label, char *const argv[], const int fds[3],
                      struct bench_proc_samples *s, bool record)
{
    return bench_run_timed(prog, label, argv, fds, false, s, record);
}

int bench_run_timed(const char *prog, const char *label, char *const argv[], const int fds[3],
                    bool fork_first, struct bench_proc_samples *s, bool record)
{
    struct bench_run run = {0};
    int r = run_child(argv, NULL, fds, fork_first, &run);
    if (r < 0) {
        fprintf(stderr, "%s: %s: cannot start %s: %s\n", prog, label, argv[0], strerror(-r));
        return r;
    }
    if (!bench_exited_ok(run.status)) {
        char how[32];
        bench_status_text(run.status, how, sizeof(how));
        fprintf(stderr, "%s: %s: %s (run the command by hand to see why)\n", prog, label, how);
        return -EPROTO;
    }
    if (record) {
        bench_samples_add(&s->wall, run.wall_ns);
        bench_samples_add(&s->cpu, run.cpu_ns);
        bench_samples_add(&s->rss_kb, run.maxrss_kb);
    }
    return 0;
}

bool bench_exited_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void bench_status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, size, "status 0x%x", (unsigned)status);
}
