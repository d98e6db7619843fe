/* SPDX-License-Identifier: BSD-3-Clause */
/* The journal's native protocol (sd_wire.h): one datagram of fields, or a sealed memfd when it is too large.
 */
#include "sd_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A field name journald keeps: A-Z, 0-9, '_', not starting with '_' (those are journald's own fields). */
static bool field_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 64 || name[0] == '_')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return false;
    return true;
}

/* A field's encoded length: "KEY=value\n", or "KEY\n" + 8-byte length + value + "\n" for a value with a
 * newline. */
static bool field_binary(const char *field, size_t len, size_t key_len)
{
    return memchr(field + key_len + 1, '\n', len - key_len - 1) != NULL;
}

static size_t field_size(const char *field, size_t len, size_t key_len)
{
    return field_binary(field, len, key_len) ? len + 8 + 1 : len + 1;
}

/* Writes the field at w (field_size() bytes); returns the end. */
static char *field_write(char *w, const char *field, size_t len, size_t key_len)
{
    const char *value = field + key_len + 1;
    size_t value_len = len - key_len - 1;
    bool binary = field_binary(field, len, key_len);
    memcpy(w, field, key_len);
    w += key_len;
    if (binary) {
        *w++ = '\n';
        for (int b = 0; b < 8; b++) /* little-endian, whatever the host */
            *w++ = (char)(((uint64_t)value_len >> (8 * b)) & 0xff);
    } else
        *w++ = '=';
    memcpy(w, value, value_len);
    w[value_len] = '\n';
    return w + value_len + 1;
}

/* The whole entry in one buffer; -EINVAL for a field without '=' or with a name journald would drop. */
static int entry_encode(const struct iovec *fields, size_t n, char **ret_buf, size_t *ret_len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i].iov_base;
        const char *eq = memchr(f, '=', fields[i].iov_len);
        if (!eq || !field_name_valid(f, (size_t)(eq - f)))
            return -EINVAL;
        total += field_size(f, fields[i].iov_len, (size_t)(eq - f));
    }
    char *buf = malloc(total ? total : 1);
    if (!buf)
        return -ENOMEM;
    char *w = buf;
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i].iov_base;
        size_t key_len = (size_t)((const char *)memchr(f, '=', fields[i].iov_len) - f);
        w = field_write(w, f, fields[i].iov_len, key_len);
    }
    *ret_buf = buf;
    *ret_len = (size_t)(w - buf);
    return 0;
}

/* Too large for one datagram: the entry in a sealed memfd, the descriptor passed with SCM_RIGHTS (journald
 * reads only sealed memfds, so nobody can change the entry under it). */
static int send_as_memfd(int sock, const struct sockaddr_un *addr, socklen_t addr_len, const char *buf,
                         size_t len)
{
    int mfd = memfd_create("tagent-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return -errno;
    int r = 0;
    for (size_t off = 0; off < len && r == 0;) {
        ssize_t w = write(mfd, buf + off, len - off);
        if (w < 0 && errno != EINTR)
            r = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (r == 0 && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        r = -errno;
    if (r == 0) {
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } control = {0};
        struct msghdr msg = {.msg_name = (void *)addr,
                             .msg_namelen = addr_len,
                             .msg_control = &control,
                             .msg_controllen = sizeof(control)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &mfd, sizeof(int));
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
            r = -errno;
    }
    close(mfd);
    return r;
}

int journal_sendv_to(const char *socket_path, const struct iovec *fields, size_t n)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t path_len = strlen(socket_path);
    if (path_len >= sizeof(addr.sun_path))
        return -EINVAL;
    memcpy(addr.sun_path, socket_path, path_len + 1);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);

    char *buf = NULL;
    size_t len = 0;
    int r = entry_encode(fields, n, &buf, &len);
    if (r < 0)
        return r;
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        r = -errno;
    else if (sendto(sock, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) < 0) {
        r = -errno;
        if (r == -EMSGSIZE || r == -ENOBUFS)
            r = send_as_memfd(sock, &addr, addr_len, buf, len);
    }
    if (sock >= 0)
        close(sock);
    explicit_bzero(buf, len); /* log lines are redacted already; still, no copies left behind */
    free(buf);
    return r;
}

int journal_sendv(const struct iovec *fields, size_t n)
{
    return journal_sendv_to(JOURNAL_SOCKET, fields, n);
}
