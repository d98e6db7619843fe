/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Secrets stay out of cores and environments (issue 12, item 6):
 *   - a tagent process is undumpable. Checked as the kernel shows it: the /proc/PID files of a dumpable
 *     process belong to its uid, of an undumpable one to root. The test runs as root, so tagent runs here as
 *     nobody (a dumpable run would leave the files nobody's); the check fails on a tagent that does not call
 *     PR_SET_DUMPABLE. RLIMIT_CORE 0 shows in /proc/PID/limits;
 *   - secret variables given in the environment are not in /proc/PID/environ: not for the service, and not
 *     for `setup`, which still reads them (they move to the heap);
 *   - the async-report child the service starts gets an environment without them, not even their names.
 *     The child is held up by stopping the mock control plane (its HTTPS request to HVS then hangs), so its
 *     /proc/PID/environ can be read while it runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "world.h"

#define HOST_ID "edge-secrets"
#define TOKEN   "BearerSekrit0123456789"
#define PASSWD  "ServicePassw0rdSekrit"

static const char *tagent_bin, *corpora;
static world_t *w; /* freed by the group teardown, also when an assertion fails */

static const char *const secret_env[] = {"BEARER_TOKEN=" TOKEN, "SERVICE_PASSWORD=" PASSWD, NULL};

/* The bytes of /proc/<pid>/<file> (NUL-separated for environ), or NULL. */
static char *proc_read(pid_t pid, const char *file, size_t *ret_len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (buf)
        buf[len] = '\0';
    *ret_len = len;
    return buf;
}

static bool contains(const char *buf, size_t len, const char *needle)
{
    return memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* NULL when /proc/<pid>/environ holds no secret, else what is wrong (the caller stops its processes first).
 */
static const char *environ_problem(pid_t pid, bool names_too)
{
    size_t len = 0;
    char *env = proc_read(pid, "environ", &len);
    const char *problem = NULL;
    if (!env)
        problem = "/proc/PID/environ cannot be read";
    else if (contains(env, len, TOKEN) || contains(env, len, PASSWD))
        problem = "a secret value is in /proc/PID/environ";
    else if (names_too && (contains(env, len, "BEARER_TOKEN=") || contains(env, len, "SERVICE_PASSWORD=")))
        problem = "a secret variable was passed in its environment";
    free(env);
    return problem;
}

/* The owner of /proc/<pid>/environ once the process runs tagent's main(): waits up to 5 s for its command
 * line to hold word (the exec happened: before it, the forked child that changed its uid is undumpable too,
 * which would make the check pass for any binary), then for the owner to become root (main() makes the
 * process undumpable a moment after exec). */
static uid_t proc_owner_settled(pid_t pid, const char *word)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    struct stat st = {.st_uid = (uid_t)-1};
    bool execed = false;
    for (int i = 0; i < 500; i++) {
        if (!execed) {
            size_t len = 0;
            char *cmdline = proc_read(pid, "cmdline", &len);
            execed = cmdline && contains(cmdline, len, word);
            free(cmdline);
        }
        if (execed && stat(path, &st) == 0 && st.st_uid == 0)
            break;
        usleep(10 * 1000);
    }
    return execed ? st.st_uid : (uid_t)-1;
}

/* `tagent eventlog --file FIFO` as nobody blocks opening the FIFO: long enough to look at it. */
static void test_undumpable(void **state)
{
    (void)state;
    char dir[] = "/tmp/tagent-secrets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    char fifo[64];
    snprintf(fifo, sizeof(fifo), "%s/log", dir);
    assert_int_equal(mkfifo(fifo, 0666), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(126);
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        char *argv[] = {(char *)tagent_bin, "eventlog", "--file", fifo, NULL};
        char *envp[] = {"PATH=/usr/bin:/bin", "BEARER_TOKEN=" TOKEN, "SERVICE_PASSWORD=" PASSWD, NULL};
        execve(tagent_bin, argv, envp);
        _exit(127);
    }
    uid_t owner = proc_owner_settled(pid, "eventlog");
    size_t len = 0;
    char *limits = proc_read(pid, "limits", &len);
    bool core0 = limits && strstr(limits, "Max core file size        0                    0");
    const char *problem = environ_problem(pid, false);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    unlink(fifo);
    rmdir(dir);
    if (problem)
        fail_msg("eventlog as nobody: %s", problem);
    if (owner != 0)
        fail_msg("/proc/PID/environ of `tagent eventlog` run as nobody belongs to uid %u: it is dumpable",
                 (unsigned)owner);
    if (!core0)
        fail_msg("/proc/PID/limits of `tagent eventlog` does not show a core size limit of 0:\n%s",
                 limits ? limits : "(unreadable)");
    free(limits);
}

/* `tagent setup` reads BEARER_TOKEN from the environment; /proc/PID/environ does not show it all the same. */
static void test_setup_environ(void **state)
{
    (void)state;
    char dir[] = "/tmp/tagent-secrets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof(fifo), "%s/trustagent.env", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *argv[] = {tagent_bin, "--root", dir, "setup", "download-api-token", "-f", fifo, NULL};
    const char *envp[] = {"PATH=/usr/bin:/bin", "BEARER_TOKEN=" TOKEN, "SERVICE_PASSWORD=" PASSWD, NULL};
    pid_t pid;
    assert_int_equal(harness_spawn_env(argv, envp, "/dev/null", &pid), 0);
    uid_t owner = proc_owner_settled(pid, "download-api-token");
    usleep(200 * 1000); /* past main(): blocked opening the FIFO */
    const char *problem = environ_problem(pid, false);
    harness_proc_kill(pid, SIGKILL);
    unlink(fifo);
    rmdir(dir);
    if (problem)
        fail_msg("setup: %s", problem);
    assert_int_equal(owner, 0);
}

/* The service, and the async-report child it starts once connected. */
static void test_service_environ(void **state)
{
    (void)state;
    const struct world_opts o = {.tagent_bin = tagent_bin, .corpora = corpora, .host_id = HOST_ID};
    assert_int_equal(world_start(&o, &w), 0);
    /* HVS stops answering: the child's request hangs (its own timeout ends it later) */
    assert_int_equal(harness_proc_signal(w->mock->pid, SIGSTOP), 0);
    assert_int_equal(world_agent_start(w, secret_env, 40000), 0);
    const char *problem = environ_problem(w->agent, false);
    if (problem)
        fail_msg("startService: %s", problem);
    size_t len = 0;
    char *limits = proc_read(w->agent, "limits", &len);
    assert_non_null(limits);
    assert_non_null(strstr(limits, "Max core file size        0                    0"));
    free(limits);

    pid_t child = 0;
    for (int i = 0; i < 1000 && !child; i++) {
        DIR *d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d)) && !child;) {
            pid_t p = (pid_t)atoi(e->d_name);
            char *stat = p > 0 ? proc_read(p, "stat", &len) : NULL;
            const char *close_paren = stat ? strrchr(stat, ')') : NULL;
            int ppid = 0;
            if (close_paren && sscanf(close_paren, ") %*c %d", &ppid) == 1 && ppid == w->agent)
                child = p;
            free(stat);
        }
        if (d)
            closedir(d);
        if (!child)
            usleep(10 * 1000);
    }
    if (!child)
        fail_msg("no async-report child of the service within 10 s");
    problem = environ_problem(child, true);
    assert_int_equal(harness_proc_signal(w->mock->pid, SIGCONT), 0);
    if (problem)
        fail_msg("the async-report child: %s", problem);
    assert_int_equal(world_agent_stop(w), 0);
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(w);
    w = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TAGENT_BIN CORPORA\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    corpora = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undumpable),
        cmocka_unit_test(test_setup_environ),
        cmocka_unit_test(test_service_environ),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
