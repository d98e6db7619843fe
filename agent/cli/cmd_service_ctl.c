/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent start`, `tagent stop` and `tagent restart` (spec section 2): the Go agent forwards them to systemd.
 * We do the same, spawning systemctl directly (no shell: nothing from the command line reaches one), stdio
 * passed through, and exit with systemctl's status.
 */
#include "cli.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* argv[0] from PATH, no shell; stdout and stderr to /dev/null when quiet (a question asked by exit status) */
static int spawn_wait(const char *const argv[], bool quiet, int *ret_exit)
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    int r = posix_spawn_file_actions_init(&fa);
    if (r != 0)
        return -r;
    if (quiet) {
        r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
            r = posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    }
    fflush(stdout);
    fflush(stderr);
    /* posix_spawnp searches PATH as a shell would, and reports a missing program as ENOENT */
    if (r == 0)
        r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return -r;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    *ret_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}

int cli_spawn_wait(const char *const argv[], int *ret_exit)
{
    return spawn_wait(argv, false, ret_exit);
}

int cli_spawn_wait_quiet(const char *const argv[], int *ret_exit)
{
    return spawn_wait(argv, true, ret_exit);
}

int cmd_service_ctl_run(struct tagent_cli *cli, int argc, char **argv)
{
    (void)cli;
    if (argc > 1) {
        log_error("%s: unexpected argument \"%s\"; usage: tagent %s", argv[0], argv[1], argv[0]);
        return TAGENT_EXIT_ERROR;
    }
    printf("Forwarding to \"systemctl %s tagent\"\n", argv[0]);
    const char *const args[] = {"systemctl", argv[0], "tagent.service", NULL};
    int status = 0;
    int r = cli_spawn_wait(args, &status);
    if (r == -ENOENT) {
        log_error("%s: systemctl was not found in PATH: this host does not run systemd; %s the service with "
                  "its own init system (the service is `tagent startService` as user tagent)",
                  argv[0], argv[0]);
        return TAGENT_EXIT_ERROR;
    }
    if (r < 0) {
        log_error("%s: cannot run systemctl: %s", argv[0], strerror(-r));
        return TAGENT_EXIT_ERROR;
    }
    return status;
}
