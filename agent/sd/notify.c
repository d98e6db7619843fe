/* SPDX-License-Identifier: BSD-3-Clause */
/* sd_notify's protocol (sd_wire.h): one datagram to $NOTIFY_SOCKET. */
#include "sd_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* $NOTIFY_SOCKET as a socket address: an absolute path, or '@name' for the abstract namespace. */
static int notify_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len)
{
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(ret->sun_path))
        return -EINVAL;
    memset(ret, 0, sizeof(*ret));
    ret->sun_family = AF_UNIX;
    memcpy(ret->sun_path, path, len);
    if (path[0] == '@')
        ret->sun_path[0] = '\0'; /* abstract: the name is the bytes after the NUL, no terminator */
    *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    return 0;
}

int notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un addr;
    socklen_t addr_len;
    if (notify_address(path, &addr, &addr_len) < 0)
        return -EINVAL;

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
    int r = n < 0 ? -errno : 1;
    close(fd);
    return r;
}

int notify_sendf(const char *fmt, ...)
{
    char buf[1024]; /* STATUS= lines are one sentence; a longer one is cut, never dropped */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return notify_send(buf);
}

int notify_watchdog_usec(uint64_t *ret_usec)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (!usec)
        return 0;
    if (pid) { /* the watchdog is meant for another process of the unit (a parent that exec'd us is fine) */
        char *end;
        errno = 0;
        long long p = strtoll(pid, &end, 10);
        if (errno || *end || end == pid)
            return -EINVAL;
        if (p != (long long)getpid())
            return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno || *end || end == usec || usec[0] == '-' || v == 0)
        return -EINVAL;
    *ret_usec = (uint64_t)v;
    return 1;
}
