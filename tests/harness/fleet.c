/* SPDX-License-Identifier: BSD-3-Clause */
/* Many hosts cloned from one provisioned world (see fleet.h). */
#include "fleet.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvs_verify.h"

#define DEFAULT_WAVE     16
#define DEFAULT_JOBS     4
#define DEFAULT_READY_MS 60000
#define SETUP_TIMEOUT_MS 60000
#define NOTIFY_POLL_MS   100
#define NOTIFY_RCVBUF    (4 << 20)
#define POLL_CHILDREN_MS 5

/* ---- the notify listener: READY=1 and STATUS= of every agent ---- */

/* The server index whose URL ends in the same ":port" as url; -1 when none does. */
static int server_of_url(const fleet_t *f, const char *url)
{
    const char *colon = strrchr(url, ':');
    for (size_t i = 0; colon && i < f->w->n_nats; i++) {
        const char *own = strrchr(f->w->nats[i]->url, ':');
        if (own && atoi(own + 1) == atoi(colon + 1))
            return (int)i;
    }
    return -1;
}

/* One datagram from host h: each line a KEY=VALUE as sd_notify sends them. */
static void notify_apply(fleet_t *f, struct fleet_host *h, char *msg)
{
    int64_t now = world_now_ms();
    for (char *save = NULL, *line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "READY=1") == 0)
            h->ready = true;
        else if (strncmp(line, "STATUS=connected to ", 20) == 0) {
            h->server = server_of_url(f, line + 20);
            h->connected_ms = now;
            h->connects++;
        } else if (strncmp(line, "STATUS=disconnected", 19) == 0) {
            h->server = -1;
            h->disconnect_ms = now;
        }
    }
}

static void *notify_main(void *closure)
{
    fleet_t *f = closure;
    while (f->notify_running) {
        struct pollfd p = {.fd = f->notify_fd, .events = POLLIN};
        if (poll(&p, 1, NOTIFY_POLL_MS) != 1)
            continue;
        char msg[1024];
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg) - 1};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
        ssize_t got = recvmsg(f->notify_fd, &mh, MSG_DONTWAIT);
        if (got <= 0)
            continue;
        msg[got] = '\0';
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS)
            continue;
        struct ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        pthread_mutex_lock(&f->mu);
        if (cred.pid > 0 && (size_t)cred.pid < f->pid_max && f->by_pid[cred.pid])
            notify_apply(f, &f->hosts[f->by_pid[cred.pid] - 1], msg);
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

static size_t read_pid_max(void)
{
    char *text = harness_file_slurp("/proc/sys/kernel/pid_max");
    long v = atol(text);
    free(text);
    return v > 0 ? (size_t)v + 1 : 4194305;
}

/* dir/notify.sock with SO_PASSCRED (the kernel tells us each sender's PID) and a large receive buffer (a
 * thousand agents say "connected" within the same second after a server dies). */
static int notify_open(fleet_t *f)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int one = 1, rcvbuf = NOTIFY_RCVBUF;
    int len = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", f->dir);
    if (len <= 0 || (size_t)len >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    f->pid_max = read_pid_max();
    f->by_pid = calloc(f->pid_max, sizeof(*f->by_pid));
    f->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!f->by_pid || f->notify_fd < 0 || bind(f->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(f->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
        fprintf(stderr, "fleet: notify socket %s: %s\n", sa.sun_path, strerror(errno));
        return -EIO;
    }
    setsockopt(f->notify_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)); /* best effort */
    f->notify_running = true;
    if (pthread_create(&f->notify_thread, NULL, notify_main, f) != 0) {
        f->notify_running = false;
        return -EAGAIN;
    }
    return 0;
}

/* ---- children N at a time ---- */

/* 1 with *ret_status when pid exited (reaped and unregistered), 0 while it runs. */
static int child_done(pid_t pid, int *ret_status)
{
    siginfo_t info = {0};
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0)
        return 0;
    *ret_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    harness_proc_exited(pid);
    return 1;
}

typedef int (*spawn_fn)(fleet_t *f, size_t i, pid_t *ret_pid);

/* spawn(i) for every host, at most jobs running at once; 0 when every one exited with status 0. */
static int run_jobs(fleet_t *f, unsigned jobs, spawn_fn spawn, const char *what)
{
    pid_t *running = calloc(jobs, sizeof(*running));
    size_t *host = calloc(jobs, sizeof(*host)), next = 0, done = 0;
    int r = running && host ? 0 : -ENOMEM;
    while (r == 0 && done < f->n) {
        for (unsigned j = 0; j < jobs && next < f->n; j++)
            if (!running[j]) {
                host[j] = next;
                if ((r = spawn(f, next++, &running[j])) < 0)
                    break;
            }
        for (unsigned j = 0; r == 0 && j < jobs; j++) {
            int status = 0;
            if (!running[j] || child_done(running[j], &status) == 0)
                continue;
            running[j] = 0;
            done++;
            if (status != 0) {
                harness_log_tail(f->hosts[host[j]].log, 30);
                fprintf(stderr, "fleet: %s for %s exited with status %d\n", what, f->hosts[host[j]].id,
                        status);
                r = -EIO;
            }
        }
        usleep(POLL_CHILDREN_MS * 1000);
    }
    for (unsigned j = 0; running && j < jobs; j++)
        if (running[j])
            harness_proc_stop(running[j]);
    free(running);
    free(host);
    return r;
}

/* ---- cloning ---- */

static int shell(const char *cmd)
{
    int st = system(cmd);
    if (st != 0) {
        fprintf(stderr, "fleet: `%s` failed (status %#x)\n", cmd, st);
        return -EIO;
    }
    return 0;
}

/* dir/h<i>/state (the seed's stopped swtpm state) and dir/h<i>/root (the seed's provisioned root). */
static int clone_host(fleet_t *f, size_t i)
{
    struct fleet_host *h = &f->hosts[i];
    char cmd[2048];
    snprintf(h->id, sizeof(h->id), "fleet-h%zu", i);
    snprintf(h->dir, sizeof(h->dir), "%s/h%zu", f->dir, i);
    snprintf(h->root, sizeof(h->root), "%s/root", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/agent.log", h->dir);
    h->server = -1;
    if (mkdir(h->dir, 0700) < 0) {
        fprintf(stderr, "fleet: mkdir %s: %s\n", h->dir, strerror(errno));
        return -errno;
    }
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s/state' && cp -a '%s' '%s'", f->w->tpm->state_dir, h->dir,
             f->w->root, h->root);
    return shell(cmd);
}

/* The seed's setup env with this host's TA_HOST_ID and TAGENT_TCTI, at h->dir/ta.env. */
static int host_env(fleet_t *f, const struct fleet_host *h, char *path, size_t size)
{
    char seed[600];
    snprintf(seed, sizeof(seed), "%s/ta.env", f->w->dir);
    snprintf(path, size, "%s/ta.env", h->dir);
    char *text = harness_file_slurp(seed), *out = calloc(1, strlen(text) + 512);
    if (!out)
        abort();
    size_t len = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, "TA_HOST_ID=", 11) != 0 && strncmp(line, "TAGENT_TCTI=", 12) != 0)
            len += (size_t)sprintf(out + len, "%s\n", line);
    sprintf(out + len, "TA_HOST_ID=%s\nTAGENT_TCTI=%s\n", h->id, h->tpm->tcti);
    int r = harness_file_write(path, out, 0600);
    free(text);
    free(out);
    return r;
}

/* `tagent setup update-service-config download-credential --force` in the clone's root: config.yml takes the
 * new host id and AAS mints the .creds for it, as on a host installed with that TA_HOST_ID. */
static int spawn_credential(fleet_t *f, size_t i, pid_t *ret_pid)
{
    struct fleet_host *h = &f->hosts[i];
    char env[600];
    int r = host_env(f, h, env, sizeof(env));
    const char *argv[] = {f->w->tagent_bin,      "--root",  h->root, "setup", "update-service-config",
                          "download-credential", "--force", "-f",    env,     NULL};
    return r < 0 ? r : harness_spawn(argv, h->log, ret_pid);
}

/* ---- agents ---- */

static int agent_spawn(fleet_t *f, struct fleet_host *h, const struct fleet_opts *o)
{
    char tcti[300], notify[600];
    const char *envp[24] = {tcti, notify, "TAGENT_LOG_TARGET=stderr", WORLD_AGENT_ENV_UNSET};
    size_t n = 5;
    snprintf(tcti, sizeof(tcti), "TAGENT_TCTI=%s", h->tpm->tcti);
    snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s/notify.sock", f->dir);
    for (size_t i = 0; o->env && o->env[i] && n < sizeof(envp) / sizeof(envp[0]) - 1; i++)
        envp[n++] = o->env[i];
    envp[n] = NULL;
    const char *argv[] = {f->w->tagent_bin, "--root", h->root, "startService", NULL};
    /* the listener must know the PID before the agent's first datagram can arrive */
    pthread_mutex_lock(&f->mu);
    int r = harness_spawn_env(argv, envp, h->log, &h->agent);
    if (r == 0 && (size_t)h->agent < f->pid_max)
        f->by_pid[h->agent] = (int)(h - f->hosts) + 1;
    pthread_mutex_unlock(&f->mu);
    return r;
}

static bool host_ready(fleet_t *f, const struct fleet_host *h)
{
    pthread_mutex_lock(&f->mu);
    bool ready = h->ready;
    pthread_mutex_unlock(&f->mu);
    return ready;
}

/* Every agent up to READY=1, at most o->start_wave of them starting at once. */
static int agents_start(fleet_t *f, const struct fleet_opts *o)
{
    unsigned wave = o->start_wave ? o->start_wave : DEFAULT_WAVE;
    int timeout = o->ready_timeout_ms ? o->ready_timeout_ms : DEFAULT_READY_MS;
    int64_t *spawned = calloc(f->n, sizeof(*spawned));
    size_t next = 0, ready_from = 0, starting = 0;
    int r = spawned ? 0 : -ENOMEM;
    while (r == 0 && ready_from < f->n) {
        while (r == 0 && next < f->n && starting < wave) {
            spawned[next] = world_now_ms();
            r = agent_spawn(f, &f->hosts[next++], o);
            starting++;
        }
        starting = 0;
        for (size_t i = ready_from; r == 0 && i < next; i++) {
            struct fleet_host *h = &f->hosts[i];
            if (host_ready(f, h)) {
                if (i == ready_from)
                    ready_from++;
                continue;
            }
            starting++;
            if (harness_proc_exited(h->agent) == 1 || world_now_ms() - spawned[i] > timeout) {
                harness_log_tail(h->log, 40);
                fprintf(stderr, "fleet: the agent of %s did not send READY=1 within %d ms\n", h->id, timeout);
                r = -ETIMEDOUT;
            }
        }
        usleep(POLL_CHILDREN_MS * 1000);
    }
    free(spawned);
    return r;
}

/* The seed's AIK certificate (PEM) in base64: the quote reply's Aik field on every host. */
static int read_aik(fleet_t *f)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/etc/trustagent/aik.pem", f->w->root);
    char *pem = harness_file_slurp(path);
    char *b64 = pem[0] ? hvs_b64_encode((const uint8_t *)pem, strlen(pem)) : NULL;
    int r = b64 && strlen(b64) < sizeof(f->aik_b64) ? 0 : -EIO;
    if (r == 0)
        snprintf(f->aik_b64, sizeof(f->aik_b64), "%s", b64);
    else
        fprintf(stderr, "fleet: cannot read the AIK certificate %s\n", path);
    free(b64);
    free(pem);
    return r;
}

static int fleet_clone_all(fleet_t *f, const struct fleet_opts *o)
{
    int64_t t = world_now_ms();
    int r = swtpm_stop(f->w->tpm); /* its state on disk is complete once it exited */
    for (size_t i = 0; r == 0 && i < f->n; i++)
        r = clone_host(f, i);
    f->times.clone = world_now_ms() - t;
    t = world_now_ms();
    for (size_t i = 0; r == 0 && i < f->n; i++)
        r = swtpm_start_dir(f->hosts[i].dir, &f->hosts[i].tpm);
    f->times.swtpm = world_now_ms() - t;
    t = world_now_ms();
    if (r == 0)
        r = run_jobs(f, o->setup_jobs ? o->setup_jobs : DEFAULT_JOBS, spawn_credential,
                     "tagent setup update-service-config download-credential");
    f->times.credentials = world_now_ms() - t;
    return r;
}

int fleet_start(const struct fleet_opts *o, fleet_t **ret_fleet)
{
    fleet_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    f->notify_fd = -1;
    f->n = o->n;
    int64_t t0 = world_now_ms();
    struct world_opts wo = {
        .tagent_bin = o->tagent_bin, .corpora = o->corpora, .host_id = "fleet-seed", .n_nats = 3};
    f->hosts = calloc(o->n, sizeof(*f->hosts));
    int r = f->hosts && o->n ? world_start(&wo, &f->w) : -EINVAL;
    f->times.world = world_now_ms() - t0;
    if (r == 0)
        r = harness_tmpdir_create("fleet", &f->dir);
    if (r == 0)
        r = read_aik(f);
    if (r == 0)
        r = notify_open(f);
    if (r == 0) {
        fprintf(stderr, "fleet: world up in %" PRId64 " ms; cloning %zu hosts\n", f->times.world, f->n);
        r = fleet_clone_all(f, o);
    }
    int64_t t = world_now_ms();
    if (r == 0) {
        fprintf(stderr, "fleet: %zu roots, swtpms and credentials ready; starting the agents\n", f->n);
        r = agents_start(f, o);
    }
    f->times.agents = world_now_ms() - t;
    f->times.total = world_now_ms() - t0;
    if (r < 0) {
        fleet_free(f);
        return r;
    }
    *ret_fleet = f;
    return 0;
}

void fleet_free(fleet_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->hosts && i < f->n; i++) /* SIGTERM to all first: they exit side by side */
        if (f->hosts[i].agent)
            harness_proc_signal(f->hosts[i].agent, SIGTERM);
    for (size_t i = 0; f->hosts && i < f->n; i++) {
        if (f->hosts[i].agent && harness_proc_exited(f->hosts[i].agent) == 0)
            harness_proc_stop(f->hosts[i].agent);
        swtpm_free(f->hosts[i].tpm);
    }
    if (f->notify_running) {
        f->notify_running = false;
        pthread_join(f->notify_thread, NULL);
    }
    if (f->notify_fd >= 0)
        close(f->notify_fd);
    world_free(f->w);
    if (f->dir)
        harness_tmpdir_remove(f->dir);
    free(f->dir);
    free(f->by_pid);
    free(f->hosts);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- faults ---- */

size_t fleet_hosts_on(fleet_t *f, int server)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++)
        n += f->hosts[i].server == server;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fleet_kill_server(fleet_t *f, size_t server, int64_t *ret_kill_ms)
{
    if (server >= f->w->n_nats || !f->w->nats[server]->pid)
        return -EINVAL;
    int r = natsd_kill(f->w->nats[server]);
    *ret_kill_ms = world_now_ms();
    return r;
}

int fleet_wait_reconnected(fleet_t *f, size_t server, const size_t *on_server, size_t n_on, int64_t kill_ms,
                           int timeout_ms, int64_t *ret_storm_ms, size_t *ret_left)
{
    for (int64_t until = kill_ms + timeout_ms;; usleep(20 * 1000)) {
        size_t left = 0;
        int64_t last = kill_ms;
        pthread_mutex_lock(&f->mu);
        for (size_t k = 0; k < n_on; k++) {
            const struct fleet_host *h = &f->hosts[on_server[k]];
            if (h->server < 0 || h->server == (int)server || h->connected_ms < kill_ms)
                left++;
            else if (h->connected_ms > last)
                last = h->connected_ms;
        }
        pthread_mutex_unlock(&f->mu);
        *ret_storm_ms = last - kill_ms;
        *ret_left = left;
        if (left == 0)
            return 0;
        if (world_now_ms() > until)
            return -ETIMEDOUT;
    }
}

long fleet_server_connections(fleet_t *f)
{
    long total = 0;
    for (size_t i = 0; i < f->w->n_nats; i++) {
        char *body = NULL;
        if (!f->w->nats[i]->pid)
            continue;
        if (natsd_monitor_get(f->w->nats[i], "/varz", &body) < 0)
            return -1;
        const char *p = strstr(body, "\"connections\":");
        total += p ? atol(p + strlen("\"connections\":")) : 0;
        free(body);
    }
    return total;
}

/* ---- memory ---- */

static int smaps_add(pid_t pid, struct fleet_mem *m)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -errno;
    char line[256];
    unsigned long long kb;
    while (fgets(line, sizeof(line), fp)) {
        if (sscanf(line, "Rss: %llu kB", &kb) == 1)
            m->rss_kb += kb;
        else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
            m->pss_kb += kb;
    }
    fclose(fp);
    m->n++;
    return 0;
}

int fleet_memory(fleet_t *f, struct fleet_mem *ret_agents, struct fleet_mem *ret_tpms)
{
    *ret_agents = (struct fleet_mem){0};
    *ret_tpms = (struct fleet_mem){0};
    int r = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->hosts[i].agent && smaps_add(f->hosts[i].agent, ret_agents) < 0)
            r = -ESRCH;
        if (f->hosts[i].tpm && f->hosts[i].tpm->pid && smaps_add(f->hosts[i].tpm->pid, ret_tpms) < 0)
            r = -ESRCH;
    }
    return r;
}

/* utime + stime of pid in ms; 0 when it cannot be read. */
static double proc_cpu_ms(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *text = harness_file_slurp(path), *p = strrchr(text, ')'); /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        ut = st = 0;
    free(text);
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

void fleet_cpu_ms(fleet_t *f, double *ret_agents_ms, double *ret_tpms_ms)
{
    *ret_agents_ms = *ret_tpms_ms = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->hosts[i].agent)
            *ret_agents_ms += proc_cpu_ms(f->hosts[i].agent);
        if (f->hosts[i].tpm && f->hosts[i].tpm->pid)
            *ret_tpms_ms += proc_cpu_ms(f->hosts[i].tpm->pid);
    }
}

double fleet_servers_cpu_ms(fleet_t *f)
{
    double ms = 0;
    for (size_t i = 0; i < f->w->n_nats; i++)
        if (f->w->nats[i]->pid)
            ms += proc_cpu_ms(f->w->nats[i]->pid);
    return ms;
}
