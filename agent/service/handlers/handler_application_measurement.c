/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * application-measurement-request (NATS): a Manifest (Go-default JSON) -> tbootxm's `measure '<manifest xml>'
 * /` -> its <Measurement> XML as Go-default JSON (spec 4.1, 4.2). POST /v2/host/application-measurement
 * (HTTP): the Manifest as XML in, the Measurement as the Go agent's xml.Marshal writes it out.
 *
 * As the Go agent: measure is refused when it is a symbolic link, gets WML_LOG_FILE=/var/log/trustagent/
 * wml.log (created first: measure fails when it is missing), and its exit status and XML must be good.
 * Unlike it: no shell, a minimal environment, and bounded output and time (killed after MEASURE_TIMEOUT_MS,
 * so HVS gets an answer within the service deadline instead of waiting out its 10 s).
 */
#include "cleanup.h"
#include "clock.h"
#include "config.h"
#include "handler.h"
#include "measurement_xml.h"
#include "request_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUBJECT            "application-measurement-request"
#define MEASURE_PATH       "/opt/tbootxm/bin/measure"
#define WML_LOG_DIR        "/var/log/trustagent"
#define WML_LOG_PATH       WML_LOG_DIR "/wml.log"
#define MEASURE_TIMEOUT_MS 5000
#define MEASURE_ARG_MAX    (128u * 1024u - 1u) /* Linux MAX_ARG_STRLEN, less the NUL: one argv string */

struct measure_result {
    char *out; /* stdout, NUL-terminated */
    size_t len;
    int status;      /* the exit status; -signal when a signal ended it */
    const char *why; /* set when it did not run to completion: killed for time or size */
};

static int stop(struct measure_result *res, const char *why)
{
    res->why = why;
    return -1;
}

/* measure and whatever it started share its process group (POSIX_SPAWN_SETPGROUP): kill them all. */
static int kill_and_reap(pid_t pid)
{
    int st;
    kill(-pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return -SIGKILL;
}

/* Waits for the exit until the deadline; -1 when it had to be killed. */
static int reap(pid_t pid, int64_t deadline, struct measure_result *res)
{
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
        if (w < 0 && errno != EINTR) {
            stop(res, "could not be waited for");
            return kill_and_reap(pid);
        }
        if (monotonic_ms() >= deadline) {
            res->why = "did not exit in time";
            return kill_and_reap(pid);
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
    }
}

/* Reads fd to EOF into res->out, at most XML_MAX_BYTES, until the deadline. 0, or -1 with res->why. */
static int collect(int fd, int64_t deadline, struct measure_result *res)
{
    size_t cap = 0;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return stop(res, "did not finish in time");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR)
            return stop(res, "could not be read");
        if (n <= 0)
            continue;
        if (res->len + 4096 + 1 > cap) {
            size_t want = cap ? cap * 2 : 16384;
            char *b = realloc(res->out, want);
            if (!b)
                return stop(res, "could not be read (out of memory)");
            res->out = b;
            cap = want;
        }
        ssize_t got = read(fd, res->out + res->len, 4096);
        if (got < 0 && errno != EINTR && errno != EAGAIN)
            return stop(res, "could not be read");
        if (got == 0)
            return 0;
        if (got > 0 && (res->len += (size_t)got) > XML_MAX_BYTES)
            return stop(res, "printed more than the largest Measurement accepted");
        res->out[res->len] = '\0';
    }
}

/* Runs exe manifest_xml root with WML_LOG_FILE=log_path, stdout captured, stdin/stderr on /dev/null. */
static int measure_run(const char *exe, const char *manifest_xml, const char *root, const char *log_path,
                       struct measure_result *res)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    char *env_log = service_strdupf("WML_LOG_FILE=%s", log_path);
    const char *level = getenv("WML_LOG_LEVEL");
    char *env_level = level ? service_strdupf("WML_LOG_LEVEL=%s", level) : NULL;
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", env_log, env_level, NULL};
    char *argv[] = {(char *)exe, (char *)manifest_xml, (char *)root, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid = -1;
    int r = -ENOMEM;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* the service blocks SIGTERM/SIGINT and ignores SIGPIPE: measure gets neither */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (env_log && (!level || env_level))
        r = -posix_spawn(&pid, exe, &fa, &attr, argv, envp);
    close(fds[1]);
    if (r == 0) {
        int64_t deadline = monotonic_ms() + MEASURE_TIMEOUT_MS;
        res->status = collect(fds[0], deadline, res) < 0 ? kill_and_reap(pid) : reap(pid, deadline, res);
    }
    close(fds[0]);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env_log);
    free(env_level);
    return r;
}

/* measure fails when its log file is missing (it realpath()s it): create it as the Go agent does. */
static int wml_log_ensure(const char *root, char **ret_path)
{
    char *dir = config_path(root, WML_LOG_DIR), *path = config_path(root, WML_LOG_PATH);
    int r = dir && path ? config_mkdir_p(dir, 0740) : -ENOMEM;
    if (r == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            r = -errno;
        else
            close(fd);
    }
    free(dir);
    if (r < 0) {
        free(path);
        return r;
    }
    *ret_path = path;
    return 0;
}

/* UNSUPPORTED when tbootxm is absent; FAILED when measure is a symlink or not a regular file. */
static int measure_check(const char *exe, int *ret_code, char **ret_message)
{
    struct stat st;
    if (lstat(exe, &st) < 0) {
        int r = -errno;
        if (r == -ENOENT || r == -ENOTDIR)
            return service_fail(-EOPNOTSUPP, ret_code, ret_message, SERVICE_ERR_UNSUPPORTED,
                                SUBJECT ": tbootxm is not installed (%s not found); application measurements "
                                        "need tbootxm's measure tool",
                                MEASURE_PATH);
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": %s: %s", MEASURE_PATH,
                            strerror(-r));
    }
    if (S_ISLNK(st.st_mode))
        return service_fail(-EPERM, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": refusing to run %s: it is a symbolic link (reinstall tbootxm)",
                            MEASURE_PATH);
    if (!S_ISREG(st.st_mode))
        return service_fail(-EPERM, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": %s is not a regular file (reinstall tbootxm)", MEASURE_PATH);
    return 0;
}

/* What measure's run says when it did not print a Measurement: killed, or its exit status. */
static int measure_outcome(const struct measure_result *res, int *ret_code, char **ret_message)
{
    if (res->why)
        return service_fail(-EIO, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": %s %s and was killed (see %s)", MEASURE_PATH, res->why, WML_LOG_PATH);
    if (res->status != 0)
        return service_fail(-EIO, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": %s %s %d (see %s)",
                            MEASURE_PATH, res->status > 0 ? "exited with status" : "was killed by signal",
                            res->status > 0 ? res->status : -res->status, WML_LOG_PATH);
    return 0;
}

/* The request's Manifest (decode: the transport's form) measured: measure's stdout in *ret_out. */
static int measure_manifest(struct service_ctx *ctx, manifest_decode_fn *decode, const char *data, size_t len,
                            struct measure_result *res, int *ret_code, char **ret_message)
{
    _cleanup_(manifest_free) struct manifest m = {0};
    _cleanup_free_ char *why = NULL, *xml = NULL, *exe = NULL, *root = NULL, *log_path = NULL;
    size_t xml_len = 0;
    int r = decode(data, len, &m, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            SUBJECT ": %s", why ? why : "out of memory");
    if (!(exe = config_path(ctx->root, MEASURE_PATH)) || !(root = config_path(ctx->root, "/")) ||
        manifest_xml_write(&m, &xml, &xml_len) < 0)
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": out of memory");
    if ((r = measure_check(exe, ret_code, ret_message)) < 0)
        return r;
    if (xml_len > MEASURE_ARG_MAX)
        return service_fail(-E2BIG, ret_code, ret_message, SERVICE_ERR_REQUEST,
                            SUBJECT
                            ": the manifest is %zu bytes as XML; measure takes it as one argument, which "
                            "holds at most %u",
                            xml_len, MEASURE_ARG_MAX);
    if ((r = wml_log_ensure(ctx->root, &log_path)) < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": creating %s: %s",
                            WML_LOG_PATH, strerror(-r));
    r = measure_run(exe, xml, root, log_path, res);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": starting %s: %s",
                            MEASURE_PATH, strerror(-r));
    return measure_outcome(res, ret_code, ret_message);
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    struct measure_result res = {.status = -1};
    int r = measure_manifest(ctx, request_manifest_decode, data, len, &res, ret_code, ret_message);
    _cleanup_free_ char *out = res.out, *why = NULL; /* freed however this ends */
    if (r < 0)
        return r;
    r = measurement_xml_to_json(out ? out : "", res.len, ret_reply, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": %s printed no usable Measurement: %s", MEASURE_PATH,
                            why ? why : "out of memory");
    return 0;
}

/* The Go agent sets no Content-Type: Go's server sniffs "<Measurement ..." as text/plain; charset=utf-8. */
static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    struct measure_result res = {.status = -1};
    int r = measure_manifest(ctx, request_manifest_xml_decode, data, len, &res, ret_code, ret_message);
    _cleanup_free_ char *out = res.out, *why = NULL;
    if (r < 0)
        return r;
    r = measurement_xml_rewrite(out ? out : "", res.len, &ret->data, &ret->len, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": %s printed no usable Measurement: %s", MEASURE_PATH,
                            why ? why : "out of memory");
    ret->content_type = "text/plain; charset=utf-8";
    return 0;
}

const struct service_handler handler_application_measurement = {
    .suffix = SUBJECT, .run = run, .error_form = SERVICE_ERROR_JSON_STRING, .run_http = run_http};
