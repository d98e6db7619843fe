/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The start-up report request (spec 3.7) from the service: `tagent async-report` in a child process (the
 * HTTPS stack stays out of the service), started once NATS is connected, started again every 5 minutes while
 * it exits with 75 (network or server trouble), never again after anything else.
 */
#include "clock.h"
#include "config.h"
#include "log.h"
#include "service_report.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define REPORT_RETRY_MS (5 * 60 * 1000)
#define EXIT_RETRY      75

extern char **environ;

/*
 * The child's environment, built here rather than inherited: ours minus every secret variable. main() has
 * already dropped those from environ; filtering again keeps a secret out of the child even if something
 * puts one back. The rest stays (TAGENT_TCTI, TAGENT_LOG_TARGET, JOURNAL_STREAM, proxy and sanitizer
 * settings): the child is this same program and should log and connect as the service does.
 * Returns a NULL-terminated array of pointers into environ (caller frees the array only), or NULL.
 */
static char **report_child_env(void)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **envp = calloc(n + 1, sizeof(*envp));
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (!config_env_entry_is_secret(*e))
            envp[k++] = *e;
    return envp;
}

static void report_spawn(struct service_report *rep, const char *root)
{
    /* the same binary: /proc/self/exe survives a package update replacing the file on disk */
    char *argv[] = {"tagent", "--root", (char *)root, "async-report", NULL};
    if (!root || !*root) {
        argv[1] = "async-report";
        argv[2] = NULL;
    }
    /* the service blocks SIGTERM/SIGINT/SIGHUP (it takes them with sigtimedwait): the child must not inherit
     * that, or service_report_stop() could not end it */
    posix_spawnattr_t attr;
    sigset_t none, stop;
    sigemptyset(&none);
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &stop);
    char **envp = report_child_env();
    int r = envp ? posix_spawn(&rep->pid, "/proc/self/exe", NULL, &attr, argv, envp) : ENOMEM;
    free(envp);
    posix_spawnattr_destroy(&attr);
    if (r != 0) {
        log_warning("async report: cannot start `tagent async-report`: %s; retrying in 5 minutes",
                    strerror(r));
        rep->pid = 0;
        rep->next_ms = monotonic_ms() + REPORT_RETRY_MS;
    }
}

void service_report_poll(struct service_report *rep, const char *root)
{
    if (rep->done)
        return;
    if (rep->pid > 0) {
        int status = 0;
        pid_t r = waitpid(rep->pid, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            return;
        rep->pid = 0;
        if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETRY)
            rep->next_ms = monotonic_ms() + REPORT_RETRY_MS;
        else {
            rep->done = true; /* requested, nothing to do, or refused: the child logged which */
            return;
        }
    }
    if (monotonic_ms() >= rep->next_ms)
        report_spawn(rep, root);
}

void service_report_stop(struct service_report *rep)
{
    if (rep->pid <= 0)
        return;
    kill(rep->pid, SIGTERM);
    int status;
    /* SIGTERM ends it at once; SIGKILL after 2 s all the same, so the service's stop stays bounded */
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(rep->pid, &status, WNOHANG);
        if (r == rep->pid || (r < 0 && errno != EINTR)) {
            rep->pid = 0;
            return;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
    }
    kill(rep->pid, SIGKILL);
    while (waitpid(rep->pid, &status, 0) < 0 && errno == EINTR)
        ;
    rep->pid = 0;
}
