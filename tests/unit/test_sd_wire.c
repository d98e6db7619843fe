/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * agent/sd/: systemd's notify and journal datagrams as systemd reads them. A socket of ours stands in for
 * systemd (PID 1's notify socket, journald's /run/systemd/journal/socket) and decodes what arrives by the
 * documented format: for the journal, "KEY=value\n" or "KEY\n" + 64-bit LE length + value + "\n", and a
 * sealed memfd passed with SCM_RIGHTS for an entry too large for a datagram. (The log's fallback to stderr
 * when no journald takes a line: test_log.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sd_wire.h"

struct listener {
    int fd;
    char path[108];
};

/* A datagram socket bound at a fresh path (or in the abstract namespace when abstract), 2 s receive timeout.
 */
static void listener_open(struct listener *l, bool abstract)
{
    static unsigned seq;
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(l->fd >= 0);
    int one = 1;
    assert_int_equal(setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    struct timeval tv = {.tv_sec = 2};
    assert_int_equal(setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    snprintf(l->path, sizeof(l->path), "%s/tagent-sd-%d-%u", abstract ? "@" : "/tmp", (int)getpid(), seq++);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(l->path);
    memcpy(a.sun_path, l->path, len);
    if (abstract)
        a.sun_path[0] = '\0';
    else
        unlink(l->path);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + !abstract);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&a, alen), 0);
}

static void listener_close(struct listener *l)
{
    close(l->fd);
    if (l->path[0] == '/')
        unlink(l->path);
}

/* One datagram: its bytes (NUL-added) in buf, or, when it carries a descriptor, the descriptor's content. */
static ssize_t listener_recv(struct listener *l, char *buf, size_t size, bool *ret_had_fd)
{
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {buf, size - 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
    *ret_had_fd = false;
    ssize_t n = recvmsg(l->fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        *ret_had_fd = true;
        /* journald accepts only a memfd sealed against every change */
        int seals = fcntl(fd, F_GET_SEALS);
        assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
                         F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
        n = pread(fd, buf, size - 1, 0);
        close(fd);
    }
    buf[n] = '\0';
    return n;
}

static void test_notify_path_and_abstract(void **state)
{
    for (int abstract = 0; abstract < 2; abstract++) {
        struct listener l;
        listener_open(&l, abstract);
        setenv("NOTIFY_SOCKET", l.path, 1);
        assert_int_equal(notify_send("READY=1"), 1);
        assert_int_equal(notify_sendf("STATUS=connected to %s", "tls://127.0.0.1:4222"), 1);
        char buf[256];
        bool fd;
        assert_int_equal(listener_recv(&l, buf, sizeof(buf), &fd), 7);
        assert_string_equal(buf, "READY=1");
        listener_recv(&l, buf, sizeof(buf), &fd);
        assert_string_equal(buf, "STATUS=connected to tls://127.0.0.1:4222");
        listener_close(&l);
    }
    /* not under systemd: nothing sent, not an error */
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_send("READY=1"), 0);
    /* a relative path is not a notify socket systemd hands out */
    setenv("NOTIFY_SOCKET", "relative/sock", 1);
    assert_int_equal(notify_send("READY=1"), -EINVAL);
    /* gone (systemd restarted): the error, not a crash */
    setenv("NOTIFY_SOCKET", "/tmp/tagent-sd-no-such-socket", 1);
    assert_int_equal(notify_send("READY=1"), -ENOENT);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_env(void **state)
{
    uint64_t usec = 0;
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(notify_watchdog_usec(&usec), 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    assert_int_equal(notify_watchdog_usec(&usec), 1);
    assert_int_equal(usec, 20000000);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(notify_watchdog_usec(&usec), 1);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    assert_int_equal(notify_watchdog_usec(&usec), 0);
    unsetenv("WATCHDOG_PID");
    const char *bad[] = {"", "0", "-5", "12x", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("WATCHDOG_USEC", bad[i], 1);
        assert_int_equal(notify_watchdog_usec(&usec), -EINVAL);
    }
    unsetenv("WATCHDOG_USEC");
}

#define IOV(s) ((struct iovec){(void *)(s), strlen(s)})

static void test_journal_fields(void **state)
{
    struct listener l;
    listener_open(&l, false);
    const char *multi = "MESSAGE=line one\nline two";
    struct iovec f[] = {IOV("PRIORITY=3"), IOV(multi), IOV("TAGENT_HOST=h1")};
    assert_int_equal(journal_sendv_to(l.path, f, 3), 0);

    char buf[512];
    bool fd;
    ssize_t n = listener_recv(&l, buf, sizeof(buf), &fd);
    assert_false(fd);
    /* PRIORITY=3\n MESSAGE\n <le64 17> line one\nline two\n TAGENT_HOST=h1\n */
    static const char want_head[] = "PRIORITY=3\nMESSAGE\n";
    size_t head = sizeof(want_head) - 1;
    assert_memory_equal(buf, want_head, head);
    static const uint8_t le17[8] = {17, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(buf + head, le17, 8);
    assert_memory_equal(buf + head + 8, "line one\nline two\n", 18);
    assert_string_equal(buf + head + 8 + 18, "TAGENT_HOST=h1\n");
    assert_int_equal(n, (ssize_t)(head + 8 + 18 + strlen("TAGENT_HOST=h1\n")));

    /* names journald drops are refused, nothing is sent */
    const char *bad[] = {"_PID=1", "lower=x", "NOEQUALS", "=value", "SP ACE=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iovec b[] = {IOV("PRIORITY=6"), IOV(bad[i])};
        assert_int_equal(journal_sendv_to(l.path, b, 2), -EINVAL);
    }
    listener_close(&l);
    /* no journald */
    assert_int_equal(journal_sendv_to("/tmp/tagent-sd-no-such-journal", f, 3), -ENOENT);
}

/* An entry larger than a datagram may be goes as a sealed memfd, whole. */
static void test_journal_large_entry_as_memfd(void **state)
{
    struct listener l;
    listener_open(&l, false);
    size_t big = 4u << 20;
    char *msg = malloc(big + 1);
    assert_non_null(msg);
    memcpy(msg, "MESSAGE=", 8);
    for (size_t i = 8; i < big; i++)
        msg[i] = (char)('a' + i % 26);
    msg[big] = '\0';
    struct iovec f[] = {IOV("PRIORITY=6"), {msg, big}};
    assert_int_equal(journal_sendv_to(l.path, f, 2), 0);

    char *buf = malloc(big + 64);
    assert_non_null(buf);
    bool fd;
    ssize_t n = listener_recv(&l, buf, big + 64, &fd);
    assert_true(fd);
    assert_int_equal(n, (ssize_t)(strlen("PRIORITY=6\n") + big + 1));
    assert_memory_equal(buf, "PRIORITY=6\n", 11);
    assert_memory_equal(buf + 11, msg, big);
    assert_int_equal(buf[n - 1], '\n');
    free(buf);
    free(msg);
    listener_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_path_and_abstract),
        cmocka_unit_test(test_watchdog_env),
        cmocka_unit_test(test_journal_fields),
        cmocka_unit_test(test_journal_large_entry_as_memfd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
