/* SPDX-License-Identifier: BSD-3-Clause */
/* Paths under the root prefix, and the one way the agent writes a file: atomically. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int config_root_resolve(const char *explicit_root, char **ret_root, char **ret_error)
{
    const char *root = explicit_root;
    if (!root || !*root)
        root = getenv("TAGENT_ROOT");
    if (!root || !*root)
        root = "/";

    char *abs = realpath(root, NULL);
    if (!abs) {
        int r = -errno;
        if (ret_error)
            *ret_error = strdup(r == -ENOENT ? "the root directory does not exist"
                                             : "the root directory cannot be resolved");
        return r;
    }
    struct stat st;
    if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(abs);
        if (ret_error)
            *ret_error = strdup("the root prefix is not a directory");
        return -ENOTDIR;
    }
    if (strcmp(abs, "/") == 0)
        abs[0] = '\0'; /* so that root + "/etc/..." never starts with "//" */
    *ret_root = abs;
    return 0;
}

char *config_path(const char *root, const char *abs)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s", root ? root : "", abs) < 0)
        return NULL;
    return out;
}

int config_mkdir_p(const char *path, mode_t mode)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    int r = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            r = -errno;
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    return r;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_parent_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    /* No slash: the current directory (not written into dir: "" has no room for "."). */
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int config_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return -ENOMEM;

    /* mkstemp creates 0600, so a secret is never readable by others, not even for a moment. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    int r = fd < 0 ? -errno : 0;
    if (r == 0)
        r = write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r == 0)
        r = fsync_parent_dir(path);
    else if (fd >= 0)
        unlink(tmp);
    free(tmp);
    return r;
}

/* Grows *buf (holding len bytes, *size allocated) to at least need bytes, doubling, wiping what it moves out
 * of (a file may hold secrets). */
static int read_buf_grow(char **buf, size_t *size, size_t len, size_t need)
{
    size_t n = *size ? *size : 4096;
    while (n < need)
        n *= 2;
    char *grown = malloc(n);
    if (!grown)
        return -ENOMEM;
    if (*buf) {
        memcpy(grown, *buf, len);
        explicit_bzero(*buf, *size);
        free(*buf);
    }
    *buf = grown;
    *size = n;
    return 0;
}

int config_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;

    int r = 0;
    char *buf = NULL;
    size_t len = 0, size = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = -EFBIG;
        goto out;
    }
    /* The buffer is sized by the file, not by max: a caller that keeps the text (the service keeps the
     * measure log) would otherwise hold max bytes for a file of a few KiB. securityfs and procfs files say
     * size 0, so the buffer grows as the reads need. Reading up to max+1 catches a file that grows. */
    for (size_t want = (size_t)st.st_size + 2;;) {
        if (size < want && (r = read_buf_grow(&buf, &size, len, want < max + 2 ? want : max + 2)) < 0)
            goto out;
        ssize_t n = read(fd, buf + len, (size < max + 2 ? size : max + 2) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto out;
        }
        want = len + 2; /* room for one more byte: end of file, or more to read */
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    buf = NULL;
out:
    if (buf) {
        explicit_bzero(buf, size); /* the file may have held secrets */
        free(buf);
    }
    close(fd);
    return r;
}
