/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_service: what the agent process costs, read from /proc (memory, CPU time, the mappings that hold
 * private memory), and the start-to-READY=1 time through a NOTIFY_SOCKET of our own (see service.h).
 */
#include "service_bench.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"

/* ---- memory ---- */

static bool field_kb(const char *line, const char *name, long *ret)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || line[n] != ':')
        return false;
    *ret = strtol(line + n + 1, NULL, 10);
    return true;
}

int mem_read(pid_t pid, struct mem *ret)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    struct mem m = {0};
    while (fgets(line, sizeof(line), f))
        if (!field_kb(line, "Rss", &m.rss) && !field_kb(line, "Pss", &m.pss) &&
            !field_kb(line, "Private_Dirty", &m.private_dirty) &&
            !field_kb(line, "Shared_Clean", &m.shared_clean))
            field_kb(line, "Anonymous", &m.anonymous);
    fclose(f);
    if (m.rss == 0)
        return -ESRCH; /* exited (a zombie has an empty rollup) */
    *ret = m;
    return 0;
}

static long max_l(long a, long b)
{
    return a > b ? a : b;
}

void mem_max(struct mem *acc, const struct mem *m)
{
    acc->rss = max_l(acc->rss, m->rss);
    acc->pss = max_l(acc->pss, m->pss);
    acc->private_dirty = max_l(acc->private_dirty, m->private_dirty);
    acc->shared_clean = max_l(acc->shared_clean, m->shared_clean);
    acc->anonymous = max_l(acc->anonymous, m->anonymous);
}

int proc_threads(pid_t pid)
{
    char path[64], line[256];
    long n = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f))
        if (field_kb(line, "Threads", &n))
            break;
    fclose(f);
    return (int)n;
}

uint64_t proc_cpu_ns(pid_t pid)
{
    char path[64];
    uint64_t sum = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        unsigned long long run = 0;
        snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "re");
        if (f && fscanf(f, "%llu", &run) == 1)
            sum += run;
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}

/* ---- which mappings hold the private memory ---- */

struct mapping {
    unsigned long start, end;
    char perms[5];
    char name[128]; /* "" for anonymous */
    long rss, pss, private_dirty;
};

struct group {
    char label[160];
    long rss, pss, private_dirty;
    unsigned count;
};

static int mappings_read(pid_t pid, struct mapping **ret, size_t *ret_n)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    struct mapping *v = NULL;
    size_t n = 0, cap = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long start, end;
        char perms[5];
        int off = 0;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &off) == 3 && off > 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                struct mapping *nv = realloc(v, cap * sizeof(*v));
                if (!nv)
                    break;
                v = nv;
            }
            struct mapping *m = &v[n++];
            *m = (struct mapping){.start = start, .end = end};
            memcpy(m->perms, perms, sizeof(perms));
            snprintf(m->name, sizeof(m->name), "%.*s", (int)strcspn(line + off, "\n"), line + off);
        } else if (n > 0 && !field_kb(line, "Rss", &v[n - 1].rss) && !field_kb(line, "Pss", &v[n - 1].pss)) {
            field_kb(line, "Private_Dirty", &v[n - 1].private_dirty);
        }
    }
    fclose(f);
    *ret = v;
    *ret_n = n;
    return 0;
}

static bool anon_none(const struct mapping *m)
{
    return !m->name[0] && strcmp(m->perms, "---p") == 0;
}

/* What an anonymous rw mapping probably is: glibc reserves 64 MiB per malloc arena (HEAP_MAX_SIZE) and makes
 * the unused rest PROT_NONE; a pthread stack has a PROT_NONE guard page right below it. */
static void mapping_label(const struct mapping *v, size_t n, size_t i, bool full_path, char *buf, size_t size)
{
    const struct mapping *m = &v[i];
    long kb = (long)((m->end - m->start) / 1024);
    if (m->name[0]) {
        const char *slash = strrchr(m->name, '/');
        snprintf(buf, size, "%s", slash && m->name[0] == '/' && !full_path ? slash + 1 : m->name);
    } else if (i + 1 < n && anon_none(&v[i + 1]) && v[i + 1].start == m->end &&
               (v[i + 1].end - m->start) == 64ul << 20)
        snprintf(buf, size, "malloc arenas (64 MiB reserves)");
    else if (i > 0 && anon_none(&v[i - 1]) && v[i - 1].end == m->start &&
             v[i - 1].end - v[i - 1].start <= 65536)
        snprintf(buf, size, "thread stacks (%ld kB each)", kb);
    else
        snprintf(buf, size, "other anonymous");
}

static int group_cmp_dirty(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return (y->private_dirty > x->private_dirty) - (y->private_dirty < x->private_dirty);
}

static int group_cmp_rss(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return (y->rss > x->rss) - (y->rss < x->rss);
}

static void groups_print(struct group *g, size_t n, size_t max_rows, bool by_rss, int width)
{
    qsort(g, n, sizeof(*g), by_rss ? group_cmp_rss : group_cmp_dirty);
    printf("  %-*s %10s %9s %9s %5s\n", width, by_rss ? "mappings by Rss" : "mappings by Private_Dirty",
           "Priv_Dirty", "Rss", "Pss", "maps");
    for (size_t k = 0; k < n && k < max_rows; k++)
        printf("  %-*.*s %7ld kB %6ld kB %6ld kB %5u\n", width, width, g[k].label, g[k].private_dirty,
               g[k].rss, g[k].pss, g[k].count);
}

/* The mappings of pid in groups: a file's mappings under its name (full_path: its path), anonymous ones by
 * what they probably are (mapping_label). Mappings that hold nothing are left out. */
static int groups_read(pid_t pid, bool full_path, struct group **ret, size_t *ret_n)
{
    struct mapping *v = NULL;
    size_t n = 0, n_groups = 0;
    int r = mappings_read(pid, &v, &n);
    if (r < 0)
        return r;
    struct group *g = calloc(n ? n : 1, sizeof(*g));
    for (size_t i = 0; g && i < n; i++) {
        if (v[i].rss == 0 && v[i].private_dirty == 0)
            continue;
        char label[160];
        mapping_label(v, n, i, full_path, label, sizeof(label));
        size_t k = 0;
        while (k < n_groups && strcmp(g[k].label, label) != 0)
            k++;
        if (k == n_groups)
            snprintf(g[n_groups++].label, sizeof(g[0].label), "%s", label);
        g[k].rss += v[i].rss;
        g[k].pss += v[i].pss;
        g[k].private_dirty += v[i].private_dirty;
        g[k].count++;
    }
    free(v);
    if (!g)
        return -ENOMEM;
    *ret = g;
    *ret_n = n_groups;
    return 0;
}

void mem_breakdown_print(pid_t pid, size_t max_rows)
{
    struct group *g = NULL;
    size_t n = 0;
    if (groups_read(pid, false, &g, &n) == 0) {
        groups_print(g, n, max_rows, false, 44);
        groups_print(g, n, max_rows, true, 44);
    }
    free(g);
}

void mem_top_print(pid_t pid, size_t max_rows)
{
    struct group *g = NULL;
    size_t n = 0;
    int r = groups_read(pid, true, &g, &n);
    if (r < 0)
        fprintf(stderr, "bench_service: /proc/%d/smaps: %s\n", (int)pid, strerror(-r));
    else
        groups_print(g, n, max_rows, true, 56);
    free(g);
}

/* ---- memory sampler ---- */

struct mem_sampler {
    pid_t pid;
    int period_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stop;
    struct mem peak;
    unsigned reads;
};

static void *sampler_main(void *arg)
{
    struct mem_sampler *ms = arg;
    for (;;) {
        struct mem m = {0};
        bool ok = mem_read(ms->pid, &m) == 0;
        pthread_mutex_lock(&ms->mu);
        if (ok) {
            mem_max(&ms->peak, &m);
            ms->reads++;
        }
        bool stop = ms->stop;
        pthread_mutex_unlock(&ms->mu);
        if (stop)
            return NULL;
        usleep((useconds_t)ms->period_ms * 1000);
    }
}

int mem_sampler_start(pid_t pid, int period_ms, struct mem_sampler **ret)
{
    struct mem_sampler *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return -ENOMEM;
    ms->pid = pid;
    ms->period_ms = period_ms;
    pthread_mutex_init(&ms->mu, NULL);
    int r = pthread_create(&ms->thread, NULL, sampler_main, ms);
    if (r != 0) {
        pthread_mutex_destroy(&ms->mu);
        free(ms);
        return -r;
    }
    *ret = ms;
    return 0;
}

void mem_sampler_stop(struct mem_sampler *ms, struct mem *ret_peak, unsigned *ret_reads)
{
    pthread_mutex_lock(&ms->mu);
    ms->stop = true;
    pthread_mutex_unlock(&ms->mu);
    pthread_join(ms->thread, NULL);
    *ret_peak = ms->peak;
    *ret_reads = ms->reads;
    pthread_mutex_destroy(&ms->mu);
    free(ms);
}

/* ---- processes ---- */

int process_time_one(const char *const argv[], const char *log_path, int timeout_ms, uint64_t *ret_ns)
{
    pid_t pid;
    int status = 0;
    uint64_t t0 = bench_mono_ns();
    int r = harness_spawn(argv, log_path, &pid);
    if (r < 0)
        return r;
    r = bench_child_wait(pid, timeout_ms, &status);
    uint64_t t1 = bench_mono_ns();
    if (r < 0) {
        harness_proc_stop(pid);
        return r;
    }
    harness_proc_exited(pid);
    if (status != 0) {
        fprintf(stderr, "bench_service: %s exited with status %d\n", argv[0], status);
        harness_log_tail(log_path, 20);
        return -EIO;
    }
    *ret_ns = t1 - t0;
    return 0;
}

/* ---- NOTIFY_SOCKET ---- */

struct notify {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int notify_open(const char *dir, struct notify **ret)
{
    struct notify *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(n->path, sizeof(n->path), "%s/notify", dir) >= sizeof(n->path)) {
        free(n);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, n->path, sizeof(n->path));
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        if (n->fd >= 0)
            close(n->fd);
        free(n);
        return r;
    }
    *ret = n;
    return 0;
}

void notify_close(struct notify *n)
{
    if (n) {
        close(n->fd);
        unlink(n->path);
        free(n);
    }
}

static void notify_drain(struct notify *n)
{
    char buf[4096];
    while (recv(n->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

/* True when the datagram holds the line `want` (or a line starting with it, when prefix). */
static bool has_line(const char *msg, const char *want, bool prefix)
{
    size_t w = strlen(want);
    for (const char *p = msg; *p;) {
        size_t len = strcspn(p, "\n");
        if (prefix ? len >= w && strncmp(p, want, w) == 0 : len == w && strncmp(p, want, w) == 0)
            return true;
        p += len + (p[len] == '\n');
    }
    return false;
}

/* Reads datagrams until READY=1, noting when STATUS=connected came. */
static int notify_wait_ready(struct notify *n, pid_t pid, uint64_t t0, int timeout_ms, struct start_times *t)
{
    uint64_t until = t0 + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uint64_t now = bench_mono_ns();
        if (now >= until)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = n->fd, .events = POLLIN};
        int k = poll(&p, 1, (int)((until - now) / 1000000u) + 1);
        if (k < 0 && errno != EINTR)
            return -errno;
        if (k <= 0)
            continue;
        char buf[4096];
        ssize_t len = recv(n->fd, buf, sizeof(buf) - 1, 0);
        uint64_t at = bench_mono_ns();
        if (len <= 0)
            continue;
        buf[len] = '\0';
        if (!t->connected_ns && has_line(buf, "STATUS=connected", true))
            t->connected_ns = at - t0;
        if (has_line(buf, "READY=1", false)) {
            t->ready_ns = at - t0;
            return 0;
        }
        if (harness_proc_exited(pid) == 1)
            return -ECHILD;
    }
}

/* setenv() each "K=V" (set) or unsetenv() its name. */
int start_time_one(struct notify *n, const char *tagent, const char *root, const char *tcti,
                   const char *const *env, const char *log_path, int timeout_ms, struct start_times *ret)
{
    const char *argv[] = {tagent, "--root", root, "startService", NULL};
    struct start_times t = {0};
    char notify_env[300], tcti_env[300];
    const char *envp[32] = {notify_env, tcti_env};
    size_t k = 2;
    pid_t pid;
    int status = 0;

    /* the agent as world_agent_start() runs it (its TPM is the world's swtpm), plus NOTIFY_SOCKET */
    snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", n->path);
    snprintf(tcti_env, sizeof(tcti_env), "TAGENT_TCTI=%s", tcti);
    for (size_t i = 0; env && env[i] && k < sizeof(envp) / sizeof(envp[0]) - 1; i++)
        envp[k++] = env[i];
    envp[k] = NULL;
    notify_drain(n);
    uint64_t t0 = bench_mono_ns();
    int r = harness_spawn_env(argv, envp, log_path, &pid);
    if (r < 0)
        return r;
    r = notify_wait_ready(n, pid, t0, timeout_ms, &t);
    if (r < 0) {
        fprintf(stderr, "bench_service: no READY=1 from tagent startService within %d ms (%s)\n", timeout_ms,
                strerror(-r));
        harness_log_tail(log_path, 30);
        if (r != -ECHILD)
            harness_proc_stop(pid);
        return r;
    }
    uint64_t s0 = bench_mono_ns();
    r = harness_proc_signal(pid, SIGTERM);
    if (r == 0)
        r = bench_child_wait(pid, 15000, &status);
    t.stop_ns = bench_mono_ns() - s0;
    if (r < 0) {
        harness_proc_stop(pid);
        return r;
    }
    harness_proc_exited(pid);
    if (status != 0) {
        fprintf(stderr, "bench_service: tagent startService exited with status %d after SIGTERM\n", status);
        harness_log_tail(log_path, 30);
        return -EIO;
    }
    *ret = t;
    return 0;
}
