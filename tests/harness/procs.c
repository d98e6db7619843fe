/* Child processes: fork+exec, a PID registry, and cleanup that never outlives the test. */
#include "harness.h"
#include "harness_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN  4096 /* bench_fleet: an agent and a swtpm per host, 1,000+ hosts */
#define STOP_GRACE_MS 5000

extern char **environ;

/* Plain array, not a list: the signal handler walks it, so it must never be mid-realloc. */
static volatile pid_t children[MAX_CHILDREN];
static volatile sig_atomic_t cleaning;
static int initialized;

int64_t harness_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int registry_add(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return 0;
        }
    }
    return -ENOSPC;
}

static int registry_find(pid_t pid)
{
    for (int i = 0; pid > 0 && i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            return i;
    return -1;
}

static void registry_remove(pid_t pid)
{
    int i = registry_find(pid);

    if (i >= 0)
        children[i] = 0;
}

/* Async-signal-safe: SIGTERM everyone, give them STOP_GRACE_MS together, SIGKILL the rest. */
static void stop_all_children(void)
{
    int64_t deadline;
    int left = 0;

    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGTERM);
            left++;
        }
    }
    deadline = harness_now_ms() + STOP_GRACE_MS;
    while (left > 0 && harness_now_ms() < deadline) {
        left = 0;
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (children[i] <= 0)
                continue;
            if (waitpid(children[i], NULL, WNOHANG) == 0)
                left++;
            else
                children[i] = 0;
        }
        if (left > 0)
            harness_sleep_ms(10);
    }
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

void harness_cleanup_all(void)
{
    if (cleaning)
        return;
    cleaning = 1;
    stop_all_children();
    harness_tmpdirs_remove_all();
    cleaning = 0;
}

static void on_fatal_signal(int sig)
{
    harness_cleanup_all();
    /* SA_RESETHAND restored the default action; die of the same signal so callers see it. */
    raise(sig);
}

static void on_exit_cleanup(void)
{
    harness_cleanup_all();
}

int harness_init(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGABRT};
    struct sigaction sa = {.sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND};

    if (initialized)
        return 0;
    if (atexit(on_exit_cleanup) != 0) {
        fprintf(stderr, "harness: atexit failed\n");
        return -ENOMEM;
    }
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (sigaction(sigs[i], &sa, NULL) < 0) {
            int r = -errno;
            fprintf(stderr, "harness: sigaction(%d): %s\n", sigs[i], strerror(errno));
            return r;
        }
    }
    initialized = 1;
    return 0;
}

/* Resolved before fork: execvp is not async-signal-safe and the test may have threads (cnats). */
int harness_find_program(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");

    if (strchr(name, '/')) {
        if ((size_t)snprintf(buf, size, "%s", name) >= size)
            return -ENAMETOOLONG;
        return access(buf, X_OK) == 0 ? 0 : -errno;
    }
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");

        if ((size_t)snprintf(buf, size, "%.*s/%s", (int)len, path, name) < size && access(buf, X_OK) == 0)
            return 0;
        path += len + (path[len] == ':');
    }
    return -ENOENT;
}

/* Between fork and exec: async-signal-safe calls only, and _exit so no atexit handler runs. */
static _Noreturn void child_exec(const char *prog, const char *const argv[], char *const envp[], int log_fd,
                                 pid_t parent)
{
    static const char msg[] = "harness: exec failed\n";
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int null_fd;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127); /* the test died before the death signal was armed */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored signals survive exec; the test (or cnats) may ignore SIGPIPE. */
    sigaction(SIGPIPE, &dfl, NULL);
    null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(127);
    /* Inherited sockets (a TCTI or NATS connection) would keep the test's peers half-open. */
    if (close_range(3, ~0U, 0) < 0)
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    execve(prog, (char *const *)argv, envp);
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(127);
    _exit(127);
}

/* Whether entry ("NAME=value", or a bare "NAME" in extra) names the variable of var ("NAME=..."). */
static bool env_same_name(const char *var, const char *entry)
{
    size_t len = strcspn(entry, "=");
    return strncmp(var, entry, len) == 0 && var[len] == '=';
}

/* environ with each "NAME=value" of extra replacing or adding NAME and each bare "NAME" removing it
 * (NULL-terminated, caller frees the array only: the strings are environ's or extra's). Built before fork:
 * the child may not allocate. */
static char **env_merge(const char *const *extra)
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (extra && extra[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof(char *));
    size_t n = 0;
    if (!envp)
        return NULL;
    for (size_t i = 0; i < n_env; i++) {
        bool replaced = false;
        for (size_t k = 0; k < n_extra && !replaced; k++)
            replaced = env_same_name(environ[i], extra[k]);
        if (!replaced)
            envp[n++] = environ[i];
    }
    for (size_t k = 0; k < n_extra; k++) {
        bool overridden = !strchr(extra[k], '='); /* a removal; and a later extra of the same name wins */
        for (size_t j = k + 1; j < n_extra && !overridden; j++)
            overridden = strncmp(extra[j], extra[k], strcspn(extra[k], "=") + 1) == 0;
        if (!overridden)
            envp[n++] = (char *)extra[k];
    }
    return envp;
}

int harness_spawn(const char *const argv[], const char *log_path, pid_t *ret_pid)
{
    return harness_spawn_env(argv, NULL, log_path, ret_pid);
}

int harness_spawn_env(const char *const argv[], const char *const *env, const char *log_path, pid_t *ret_pid)
{
    char prog[PATH_MAX];
    pid_t parent = getpid(), pid;
    int log_fd, r;

    r = harness_init();
    if (r < 0)
        return r;
    r = harness_find_program(argv[0], prog, sizeof(prog));
    if (r < 0) {
        fprintf(stderr, "harness: %s not found in PATH: %s\n", argv[0], strerror(-r));
        return r;
    }
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        r = -errno;
        fprintf(stderr, "harness: open %s: %s\n", log_path, strerror(errno));
        return r;
    }
    char **envp = env_merge(env);
    if (!envp) {
        close(log_fd);
        return -ENOMEM;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child_exec(prog, argv, envp, log_fd, parent);
    r = pid < 0 ? -errno : 0;
    close(log_fd);
    free(envp);
    if (r < 0) {
        fprintf(stderr, "harness: fork for %s: %s\n", argv[0], strerror(-r));
        return r;
    }
    if (registry_add(pid) < 0) {
        fprintf(stderr, "harness: more than %d children; killing %s\n", MAX_CHILDREN, argv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -ENOSPC;
    }
    *ret_pid = pid;
    return 0;
}

int harness_proc_exited(pid_t pid)
{
    if (registry_find(pid) < 0)
        return -ESRCH;
    if (waitpid(pid, NULL, WNOHANG) == 0)
        return 0;
    registry_remove(pid);
    return 1;
}

int harness_proc_signal(pid_t pid, int sig)
{
    /* Never signal an unregistered PID: it may already belong to someone else. */
    if (registry_find(pid) < 0)
        return -ESRCH;
    return kill(pid, sig) < 0 ? -errno : 0;
}

static int wait_exit(pid_t pid, int timeout_ms, int *ret_status)
{
    int64_t deadline = harness_now_ms() + timeout_ms;

    for (;;) {
        pid_t r = waitpid(pid, ret_status, WNOHANG);

        if (r == pid)
            return 0;
        if (r < 0)
            return -errno;
        if (harness_now_ms() >= deadline)
            return -ETIMEDOUT;
        harness_sleep_ms(10);
    }
}

int harness_proc_kill(pid_t pid, int sig)
{
    int r = harness_proc_signal(pid, sig);

    if (r < 0)
        return r;
    if (sig != SIGKILL)
        kill(pid, SIGCONT); /* a stopped child would otherwise sit out the whole grace period */
    if (wait_exit(pid, STOP_GRACE_MS, NULL) < 0) {
        fprintf(stderr, "harness: pid %d survived signal %d for %d ms; SIGKILL\n", (int)pid, sig,
                STOP_GRACE_MS);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    registry_remove(pid);
    return 0;
}

int harness_proc_stop(pid_t pid)
{
    return harness_proc_kill(pid, SIGTERM);
}

int harness_run(const char *const argv[], const char *log_path, int timeout_ms)
{
    pid_t pid = 0;
    int status = 0, r;

    r = harness_spawn(argv, log_path, &pid);
    if (r < 0)
        return r;
    r = wait_exit(pid, timeout_ms, &status);
    if (r < 0) {
        fprintf(stderr, "harness: %s did not finish within %d ms\n", argv[0], timeout_ms);
        harness_proc_stop(pid);
        return r;
    }
    registry_remove(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "harness: %s failed (%s %d)\n", argv[0], WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -EIO;
    }
    return 0;
}

static pid_t stat_ppid(const char *pid_name)
{
    char path[64], buf[512], *paren;
    ssize_t n;
    int fd, ppid;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* comm may hold spaces and parentheses; fields resume after the last ')'. */
    paren = strrchr(buf, ')');
    if (!paren || sscanf(paren + 1, " %*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

int harness_count_children(void)
{
    pid_t self = getpid();
    struct dirent *de;
    int count = 0;
    DIR *d = opendir("/proc");

    if (!d) {
        int r = -errno;
        fprintf(stderr, "harness: opendir /proc: %s\n", strerror(errno));
        return r;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        if (stat_ppid(de->d_name) == self)
            count++;
    }
    closedir(d);
    return count;
}
