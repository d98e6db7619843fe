/* SPDX-License-Identifier: BSD-3-Clause */
/* File input and output for tagent-admin: key files created exclusively with their final mode, containers
 * replaced atomically. */
#include "admin.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

int admin_file_read(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len, char **ret_error)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return error_set(ret_error, -errno, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return error_set(ret_error, -EINVAL, "%s is not a regular file", path);
    if ((uint64_t)st.st_size > max)
        return error_set(ret_error, -EFBIG, "%s has %lld bytes, more than the %zu expected", path,
                         (long long)st.st_size, max);
    size_t len = (size_t)st.st_size;
    /* OpenSSL's allocator, so that OPENSSL_clear_free (secrets) and OPENSSL_free both fit */
    uint8_t *buf = OPENSSL_malloc(len ? len : 1);
    if (!buf)
        return error_set(ret_error, -ENOMEM, "out of memory reading %s", path);
    for (size_t off = 0; off < len;) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int r = n < 0 ? -errno : -EIO;
            OPENSSL_clear_free(buf, len);
            return error_set(ret_error, r, "cannot read %s: %s", path, n < 0 ? strerror(-r) : "it shrank");
        }
        off += (size_t)n;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int admin_file_bio(const char *path, size_t max, BIO **ret_bio, char **ret_error)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = admin_file_read(path, max, &buf, &len, ret_error);
    if (r < 0)
        return r;
    /* a copy in the BIO's own buffer, which BUF_MEM_free wipes: the file may hold a private key */
    BIO *bio = BIO_new(BIO_s_mem());
    bool ok = bio && (len == 0 || BIO_write(bio, buf, (int)len) == (int)len);
    OPENSSL_clear_free(buf, len);
    if (!ok) {
        BIO_free(bio);
        return error_set(ret_error, -ENOMEM, "out of memory reading %s", path);
    }
    *ret_bio = bio;
    return 0;
}

static int fd_write_all(int fd, const void *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    return fsync(fd) < 0 ? -errno : 0;
}

int admin_file_create(const char *path, const void *data, size_t len, int mode, char **ret_error)
{
    /* the mode is given at creation: the file is never readable by others, not even for a moment */
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    int r;

    if (fd < 0)
        return error_set(ret_error, -errno, "cannot create %s: %s%s", path, strerror(errno),
                         errno == EEXIST ? " (refusing to overwrite it: move it away or choose another -o)"
                                         : "");
    if ((r = fd_write_all(fd, data, len)) < 0) {
        unlink(path);
        return error_set(ret_error, r, "cannot write %s: %s", path, strerror(-r));
    }
    return 0;
}

/* Writes a temporary file beside path with mode and puts it in place: rename(2) when replace is set, else
 * link(2), which fails with EEXIST rather than replacing anything. Either way a reader sees the whole file or
 * none of it. */
static int file_install(const char *path, const void *data, size_t len, int mode, bool replace,
                        char **ret_error)
{
    _cleanup_free_ char *tmp = NULL;
    char dircopy[PATH_MAX];
    int r;

    if ((size_t)snprintf(dircopy, sizeof(dircopy), "%s", path) >= sizeof(dircopy))
        return error_set(ret_error, -ENAMETOOLONG, "%s: the path is too long", path);
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return error_set(ret_error, -errno, "cannot create a temporary file beside %s: %s", path,
                         strerror(errno));
    r = fchmod(fd, (mode_t)mode) < 0 ? -errno : fd_write_all(fd, data, len);
    if (r >= 0 && (replace ? rename(tmp, path) : link(tmp, path)) < 0)
        r = -errno;
    if (r < 0 || !replace)
        unlink(tmp);
    if (r == -EEXIST)
        return error_set(ret_error, r, "%s exists; refusing to overwrite it (move it away first)", path);
    if (r < 0)
        return error_set(ret_error, r, "cannot write %s: %s", path, strerror(-r));
    /* the rename or link itself is durable once the directory is */
    _cleanup_close_ int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        return error_set(ret_error, -errno, "wrote %s, but cannot fsync its directory: %s", path,
                         strerror(errno));
    return 0;
}

int admin_file_replace(const char *path, const void *data, size_t len, int mode, char **ret_error)
{
    return file_install(path, data, len, mode, true, ret_error);
}

int admin_file_install_new(const char *path, const void *data, size_t len, int mode, char **ret_error)
{
    return file_install(path, data, len, mode, false, ret_error);
}
