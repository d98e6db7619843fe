/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The status socket: a Unix stream socket that writes the service's status JSON to whoever connects, then
 * closes. One client at a time with a short send timeout, so a stuck reader cannot hold the service.
 */
#include "config.h"
#include "service_status.h"
#include "status_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_TIMEOUT 1 /* seconds a client may take to read the document */

struct status_socket {
    int fd;
    int stop_fd; /* an eventfd: status_socket_stop() wakes the thread through it, so it need not poll */
    char *path;
    pthread_t thread;
};

/* "<what> <path>: <strerror>[; <hint>]" into *ret_error. */
static int status_error(int r, char **ret_error, const char *what, const char *path, const char *hint)
{
    char *text = NULL;
    if (asprintf(&text, "%s %s: %s%s%s", what, path, strerror(-r), hint ? "; " : "", hint ? hint : "") < 0)
        text = NULL;
    *ret_error = text;
    return r;
}

static int fill_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* 0 when a live process accepts on path (another tagent); -errno otherwise. */
static int socket_answers(const char *path)
{
    struct sockaddr_un sa;
    int r = fill_address(path, &sa);
    if (r < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
    close(fd);
    return r;
}

/* The socket's directory, like mkdir -p (a test's root prefix may be fresh). */
static int make_parent_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    *strrchr(dir, '/') = '\0';
    int r = config_mkdir_p(dir, 0755);
    free(dir);
    return r;
}

static void serve_one(int fd)
{
    struct timeval tv = {.tv_sec = SEND_TIMEOUT};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char *json = service_status_json();
    const char *p = json ? json : "{}";
    size_t left = strlen(p);
    while (left > 0) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    free(json);
}

static void *socket_main(void *arg)
{
    struct status_socket *s = arg;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->stop_fd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL; /* cannot happen with two valid descriptors; never spin */
        }
        if (pfd[1].revents)
            return NULL;
        if (!pfd[0].revents)
            continue;
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            serve_one(c);
            close(c);
        }
    }
}

int status_socket_start(const char *root, status_socket_t **ret_sock, char **ret_error)
{
    struct status_socket *s = calloc(1, sizeof(*s));
    struct sockaddr_un sa;
    int r;
    if (!s)
        return -ENOMEM;
    s->fd = -1;
    if ((s->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        r = -errno;
        status_error(r, ret_error, "cannot create the stop event of the status socket", "(eventfd)", NULL);
        free(s);
        return r;
    }
    if (!(s->path = config_path(root, STATUS_SOCKET_PATH))) {
        r = -ENOMEM;
        goto fail;
    }
    if ((r = fill_address(s->path, &sa)) < 0) {
        status_error(r, ret_error, "status socket", s->path, "use a shorter --root");
        goto fail;
    }
    if ((r = make_parent_dir(s->path)) < 0) {
        status_error(r, ret_error, "cannot create the directory of the status socket", s->path,
                     "systemd creates it with RuntimeDirectory=tagent; without systemd, create it for the "
                     "tagent user");
        goto fail;
    }
    if (socket_answers(s->path) == 0) {
        r = -EADDRINUSE;
        status_error(r, ret_error, "status socket", s->path,
                     "another tagent startService already answers on it: stop that one first");
        goto fail;
    }
    unlink(s->path); /* a stale socket from a process that did not clean up */
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* World-connectable (0666), decided for issue 12: the document holds no secret (host id, NATS server URL,
     * counts, error texts, which never carry a secret), systemd already shows the same STATUS= lines to every
     * user in `systemctl status`, and `tagent status` should work for a monitoring user without a group. The
     * socket reads nothing from its client, so a client can only take a turn: one at a time, SEND_TIMEOUT
     * each, on a thread that serves no NATS request. */
    mode_t old = umask(0111);
    r = s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->fd, 8) < 0 ? -errno : 0;
    umask(old);
    if (r < 0) {
        status_error(r, ret_error, "status socket", s->path, NULL);
        goto fail;
    }
    if ((r = -pthread_create(&s->thread, NULL, socket_main, s)) < 0) {
        status_error(r, ret_error, "cannot start the thread of the status socket", s->path, NULL);
        unlink(s->path);
        goto fail;
    }
    *ret_sock = s;
    return 0;
fail:
    if (s->fd >= 0)
        close(s->fd);
    close(s->stop_fd);
    free(s->path);
    free(s);
    return r;
}

void status_socket_stop(status_socket_t *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    /* an eventfd write fails only when its counter would overflow, never for the first one */
    ssize_t w = write(s->stop_fd, &one, sizeof(one));
    (void)w;
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->stop_fd);
    unlink(s->path);
    free(s->path);
    free(s);
}
