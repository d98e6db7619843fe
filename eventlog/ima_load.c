/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading an IMA log file, bounded, and handing it to the parser its content calls for. */
#include "ima_internal.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMA_DEFAULT_MAX_LEN ((size_t)64 << 20)

/* securityfs files report size 0, so read until EOF; one byte past max_len is enough to know it is too big.
 */
static int read_bounded(int fd, size_t max_len, uint8_t **ret_buf, size_t *ret_len)
{
    size_t cap = 0, len = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (len == cap) {
            if (cap > max_len) {
                free(buf);
                return -EFBIG;
            }
            size_t grown_cap = cap ? cap * 2 : 1 << 16;
            if (grown_cap > max_len + 1)
                grown_cap = max_len + 1;
            uint8_t *grown = realloc(buf, grown_cap);
            if (!grown) {
                free(buf);
                return -ENOMEM;
            }
            buf = grown;
            cap = grown_cap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int r = -errno;
            free(buf);
            return r;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

/* A binary record starts with a little-endian PCR index below 24: its upper three bytes are zero. No ascii
 * line holds a NUL. */
static bool looks_binary(const uint8_t *buf, size_t len)
{
    return len > 0 && memchr(buf, '\0', len < 4 ? len : 4) != NULL;
}

int ima_load(const char *path, size_t max_len, struct ima_log **ret_log, char **ret_error)
{
    if (max_len == 0)
        max_len = IMA_DEFAULT_MAX_LEN;
    if (max_len > SIZE_MAX / 2)
        max_len = SIZE_MAX / 2; /* so that max_len + 1 below cannot wrap */
    uint8_t *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ima_fail(ret_error, -errno, "%s: cannot open: %s", path, strerror(errno));
    int r = read_bounded(fd, max_len, &buf, &len);
    close(fd);
    if (r == -EFBIG)
        return ima_fail(ret_error, r, "%s: larger than the IMA log limit of %zu bytes", path, max_len);
    if (r < 0)
        return ima_fail(ret_error, r, "%s: cannot read: %s", path, strerror(-r));

    char *msg = NULL;
    r = looks_binary(buf, len) ? ima_parse_binary(buf, len, ret_log, &msg)
                               : ima_parse_ascii((const char *)buf, len, ret_log, &msg);
    free(buf);
    if (r < 0)
        ima_set_error(ret_error, "%s: %s", path, msg ? msg : "out of memory");
    free(msg);
    return r;
}

/* The Go agent reads only the container path, so IMA-enabled quotes fail on bare metal: read the kernel's
 * own file first. */
const char *const ima_system_paths[IMA_SYSTEM_PATHS] = {"/sys/kernel/security/ima/ascii_runtime_measurements",
                                                        "/opt/ima/ascii_runtime_measurements"};

int ima_load_system(const char *root, size_t max_len, struct ima_log **ret_log, char **ret_source,
                    char **ret_error)
{
    const char *const *paths = ima_system_paths;
    int r = -ENOENT;
    for (size_t i = 0; i < IMA_SYSTEM_PATHS && r == -ENOENT; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s%s", root ? root : "", paths[i]) < 0)
            return ima_fail(ret_error, -ENOMEM, "out of memory");
        if (access(path, F_OK) == 0) {
            r = ima_load(path, max_len, ret_log, ret_error);
            if (r == 0 && ret_source) {
                *ret_source = path;
                path = NULL;
            }
        }
        free(path);
    }
    if (r == -ENOENT && ret_error && !*ret_error)
        ima_set_error(ret_error, "no IMA log: neither %s nor %s exists (is IMA enabled in the kernel?)",
                      paths[0], paths[1]);
    return r;
}
