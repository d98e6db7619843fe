/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Safe extraction of a container's payload (docs/tep-formats.md 3, step 7). Nothing here follows a link or
 * trusts a name: every path is walked component by component from the caller's directory fd with openat and
 * O_NOFOLLOW, files are created with O_EXCL, and only regular files and directories exist in the result. The
 * limits count decompressed file bytes as they are read, so a compressed bomb stops at the limit without
 * writing past it.
 */
#include "cleanup.h"
#include "tepc.h"
#include "tepc_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* on the stack: config-apply may run on a worker thread's smaller stack */
#define CHUNK (16 * 1024)

static void archive_read_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}

struct extract {
    struct archive *a;
    const struct tepc_extract_limits *limits;
    uint32_t entries;
    uint64_t total;
};

/* Splits a relative name into its components in place: "." and empty components (a trailing "/") are dropped;
 * an absolute name, a ".." component or nothing left is refused. */
static int name_split(char *name, char **comps, size_t max, size_t *ret_n)
{
    size_t n = 0;
    if (name[0] == '/')
        return -EPERM;
    for (char *save = NULL, *c = strtok_r(name, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, "..") == 0)
            return -EPERM;
        if (strcmp(c, ".") == 0)
            continue;
        if (n == max || strlen(c) > NAME_MAX)
            return -ENAMETOOLONG;
        comps[n++] = c;
    }
    *ret_n = n;
    return 0;
}

/* Opens (creating with 0700 when absent) the directory comp under dirfd, never through a link. A new
 * directory's entry is made durable in its parent (the caller fsyncs the top directory itself). */
static int dir_open(int dirfd, const char *comp)
{
    bool created = mkdirat(dirfd, comp, 0700) == 0;
    if (!created && errno != EEXIST)
        return -errno;
    int fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (created && fsync(dirfd) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static int file_write(struct extract *x, int dirfd, const char *comp, const char *name, mode_t mode,
                      char **ret_error)
{
    _cleanup_close_ int fd = openat(dirfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    uint8_t buf[CHUNK];
    uint64_t size = 0;

    if (fd < 0)
        return error_set(ret_error, errno == EEXIST ? -EPERM : -errno, "entry \"%s\": cannot create it: %s%s",
                         name, strerror(errno), errno == EEXIST ? " (the archive names it twice)" : "");
    for (;;) {
        la_ssize_t n = archive_read_data(x->a, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0)
            return error_set(ret_error, -EBADMSG, "entry \"%s\": %s", name, archive_error_string(x->a));
        /* checked before writing: nothing past a limit reaches the disk */
        if (size + (uint64_t)n > x->limits->max_entry)
            return error_set(ret_error, -EFBIG, "entry \"%s\" has more than %" PRIu64 " bytes", name,
                             x->limits->max_entry);
        if (x->total + (uint64_t)n > x->limits->max_total)
            return error_set(ret_error, -EFBIG, "the archive holds more than %" PRIu64 " bytes (at \"%s\")",
                             x->limits->max_total, name);
        for (la_ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return error_set(ret_error, -errno, "entry \"%s\": write: %s", name, strerror(errno));
            off += w;
        }
        size += (uint64_t)n;
        x->total += (uint64_t)n;
    }
    if (fsync(fd) < 0)
        return error_set(ret_error, -errno, "entry \"%s\": fsync: %s", name, strerror(errno));
    return 0;
}

/* What an entry is: only regular files (not hard links) and directories pass. */
static int entry_type_check(struct archive_entry *e, const char *name,
                            const struct tepc_extract_limits *limits, char **ret_error)
{
    mode_t type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e))
        return error_set(ret_error, -EPERM,
                         "entry \"%s\" is a hard link; only files and directories are "
                         "accepted",
                         name);
    if (archive_entry_symlink(e) || type == AE_IFLNK)
        return error_set(ret_error, -EPERM,
                         "entry \"%s\" is a symlink; only files and directories are "
                         "accepted",
                         name);
    if (type != AE_IFREG && type != AE_IFDIR) {
        const char *what = type == AE_IFCHR    ? "a character device"
                           : type == AE_IFBLK  ? "a block device"
                           : type == AE_IFIFO  ? "a FIFO"
                           : type == AE_IFSOCK ? "a socket"
                                               : "of an unknown type";
        return error_set(ret_error, -EPERM, "entry \"%s\" is %s; only files and directories are accepted",
                         name, what);
    }
    /* a directory's data would be skipped by decompressing it, uncounted */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) != 0 && type == AE_IFDIR)
        return error_set(ret_error, -EPERM, "directory entry \"%s\" claims %" PRId64 " bytes of data", name,
                         (int64_t)archive_entry_size(e));
    if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > limits->max_entry)
        return error_set(ret_error, -EFBIG, "entry \"%s\" has %" PRId64 " bytes, more than %" PRIu64, name,
                         (int64_t)archive_entry_size(e), limits->max_entry);
    return 0;
}

static int entry_extract(struct extract *x, struct archive_entry *e, int dirfd, char **ret_error)
{
    const char *name = archive_entry_pathname(e);
    char *comps[PATH_MAX / 2];
    size_t n = 0;
    int r;

    if (!name || !name[0])
        return error_set(ret_error, -EPERM, "entry %" PRIu32 " has no name", x->entries);
    if ((r = entry_type_check(e, name, x->limits, ret_error)) < 0)
        return r;
    char copy[PATH_MAX];
    if ((size_t)snprintf(copy, sizeof(copy), "%s", name) >= sizeof(copy) ||
        name_split(copy, comps, sizeof(comps) / sizeof(comps[0]), &n) < 0)
        return error_set(ret_error, -EPERM,
                         "entry \"%s\": the name must be relative, without a \"..\" component and shorter "
                         "than PATH_MAX",
                         name);
    bool is_dir = archive_entry_filetype(e) == AE_IFDIR;
    if (n == 0 && is_dir)
        return 0; /* "." or "./": the extraction directory itself */
    if (n == 0)
        return error_set(ret_error, -EPERM, "entry \"%s\" names no file", name);

    _cleanup_close_ int cur = -1;
    for (size_t i = 0; i + 1 < n || (is_dir && i < n); i++) {
        int fd = dir_open(cur >= 0 ? cur : dirfd, comps[i]);
        if (fd < 0)
            return error_set(ret_error, -EPERM, "entry \"%s\": directory \"%s\": %s", name, comps[i],
                             strerror(-fd));
        closep(&cur);
        cur = fd;
    }
    if (is_dir)
        return 0;
    /* Root's alone, whatever the archive says: a configuration carries secrets (trustagent.env holds
     * BEARER_TOKEN and TPM_OWNER_SECRET) and everything that reads it (config-apply, luks, setup) is root. */
    mode_t mode = (archive_entry_perm(e) & 0111) ? 0700 : 0600;
    if ((r = file_write(x, cur >= 0 ? cur : dirfd, comps[n - 1], name, mode, ret_error)) < 0)
        return r;
    /* the file's entry in a subdirectory; the top directory is fsynced once, at the end */
    if (cur >= 0 && fsync(cur) < 0)
        return error_set(ret_error, -errno, "entry \"%s\": fsync of its directory: %s", name,
                         strerror(errno));
    return 0;
}

static int archive_open(const uint8_t *tgz, size_t len, struct archive **ret, char **ret_error)
{
    struct archive *a = archive_read_new();
    if (!a)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open_memory(a, tgz, len) != ARCHIVE_OK) {
        int r = error_set(ret_error, -EBADMSG, "the payload is not a gzip'ed tar: %s",
                          archive_error_string(a) ? archive_error_string(a) : "unreadable");
        archive_read_free(a);
        return r;
    }
    *ret = a;
    return 0;
}

int tepc_archive_extract(const uint8_t *tgz, size_t len, int dirfd, const struct tepc_extract_limits *limits,
                         char **ret_error)
{
    _cleanup_(archive_read_freep) struct archive *a = NULL;
    struct extract x = {.limits = limits};
    struct archive_entry *e;
    int r, ar;

    if (!tgz || dirfd < 0 || !limits)
        return error_set(ret_error, -EINVAL, "no payload or no directory to extract into");
    if ((r = archive_open(tgz, len, &a, ret_error)) < 0)
        return r;
    x.a = a;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP)
            return error_set(ret_error, -EBADMSG, "the payload is a tar but not gzip'ed");
        if (++x.entries > limits->max_entries)
            return error_set(ret_error, -EFBIG, "the archive has more than %" PRIu32 " entries",
                             limits->max_entries);
        if ((r = entry_extract(&x, e, dirfd, ret_error)) < 0)
            return r;
    }
    if (ar != ARCHIVE_EOF)
        return error_set(ret_error, -EBADMSG, "the payload is not a well-formed gzip'ed tar: %s",
                         archive_error_string(a) ? archive_error_string(a) : "read error");
    if (fsync(dirfd) < 0)
        return error_set(ret_error, -errno, "fsync of the extraction directory: %s", strerror(errno));
    return 0;
}
