/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The deterministic payload of docs/tep-formats.md 2.1: a gzip'ed tar of a directory with entries in name
 * order, owner 0:0, mode 0644/0755 and one mtime, and a gzip header without a timestamp, so the same tree
 * and parameters give the same bytes. What the device would refuse (anything but files and directories, the
 * default extraction limits) is refused here, where the owner can fix it.
 */
#include "cleanup.h"
#include "tepc.h"
#include "tepc_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct outbuf {
    uint8_t *data;
    size_t len, cap;
};

struct create {
    struct archive *a;
    struct tepc_extract_limits limits;
    uint32_t entries;
    uint64_t total;
    uint64_t mtime;
    char **ret_error;
};

static void archive_write_freep(struct archive **a)
{
    if (*a)
        archive_write_free(*a);
}

static void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static la_ssize_t out_write(struct archive *a, void *user, const void *buf, size_t n)
{
    struct outbuf *o = user;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, buf, n);
    o->len += n;
    return (la_ssize_t)n;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dirfd other than "." and "..", sorted; *ret_names is a NULL-terminated strv. */
static int dir_names(int dirfd, const char *path, char ***ret_names, char **ret_error)
{
    int fd = dup(dirfd);
    if (fd < 0)
        return error_set(ret_error, -errno, "\"%s\": %s", path, strerror(errno));
    _cleanup_(closedirp) DIR *d = fdopendir(fd);
    _cleanup_strv_free_ char **names = NULL;
    size_t n = 0;

    if (!d) {
        close(fd);
        return error_set(ret_error, -errno, "\"%s\": %s", path, strerror(errno));
    }
    for (struct dirent *de; (errno = 0, de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char **v = realloc(names, (n + 2) * sizeof(*names));
        if (!v)
            return error_set(ret_error, -ENOMEM, "out of memory");
        names = v;
        names[n + 1] = NULL;
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees names; clang-tidy 14 misses it */
            return error_set(ret_error, -ENOMEM, "out of memory");
        }
        n++;
    }
    if (errno)
        return error_set(ret_error, -errno, "reading \"%s\": %s", path, strerror(errno));
    if (names)
        qsort(names, n, sizeof(*names), name_cmp);
    else if (!(names = calloc(1, sizeof(*names))))
        return error_set(ret_error, -ENOMEM, "out of memory");
    *ret_names = TAKE_PTR(names);
    return 0;
}

static int header_write(struct create *c, const char *name, mode_t type, mode_t perm, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    int r = 0;
    if (!e)
        return error_set(c->ret_error, -ENOMEM, "out of memory");
    if (++c->entries > c->limits.max_entries)
        r = error_set(c->ret_error, -EFBIG, "more than %" PRIu32 " entries: the device would refuse them",
                      c->limits.max_entries);
    if (r == 0) {
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, (time_t)c->mtime, 0);
        archive_entry_set_size(e, (la_int64_t)size);
        if (archive_write_header(c->a, e) != ARCHIVE_OK)
            r = error_set(c->ret_error, -EIO, "\"%s\": %s", name, archive_error_string(c->a));
    }
    archive_entry_free(e);
    return r;
}

static int file_add(struct create *c, int dirfd, const char *comp, const char *name)
{
    _cleanup_close_ int fd = openat(dirfd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    uint8_t buf[16 * 1024];
    struct stat st;
    int r;

    if (fd < 0 || fstat(fd, &st) < 0)
        return error_set(c->ret_error, -errno, "\"%s\": %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return error_set(c->ret_error, -EPERM, "\"%s\" changed while it was read", name);
    if ((uint64_t)st.st_size > c->limits.max_entry || c->total + (uint64_t)st.st_size > c->limits.max_total)
        return error_set(c->ret_error, -EFBIG,
                         "\"%s\" (%lld bytes) exceeds the device's limits (%" PRIu64 " per file, %" PRIu64
                         " in all)",
                         name, (long long)st.st_size, c->limits.max_entry, c->limits.max_total);
    if ((r = header_write(c, name, AE_IFREG, (st.st_mode & 0111) ? 0755 : 0644, (uint64_t)st.st_size)) < 0)
        return r;
    /* exactly st_size bytes: the header already promised them */
    for (uint64_t left = (uint64_t)st.st_size; left > 0;) {
        ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return error_set(c->ret_error, n < 0 ? -errno : -EIO, "\"%s\": %s", name,
                             n < 0 ? strerror(errno) : "shrank while it was read");
        if (archive_write_data(c->a, buf, (size_t)n) != n)
            return error_set(c->ret_error, -EIO, "\"%s\": %s", name, archive_error_string(c->a));
        left -= (uint64_t)n;
    }
    c->total += (uint64_t)st.st_size;
    return 0;
}

static int tree_add(struct create *c, int dirfd, const char *prefix);

static int entry_add(struct create *c, int dirfd, const char *comp, const char *prefix)
{
    _cleanup_free_ char *name = NULL;
    struct stat st;

    if (asprintf(&name, "%s%s", prefix, comp) < 0)
        return error_set(c->ret_error, -ENOMEM, "out of memory");
    if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return error_set(c->ret_error, -errno, "\"%s\": %s", name, strerror(errno));
    if (S_ISREG(st.st_mode))
        return file_add(c, dirfd, comp, name);
    if (!S_ISDIR(st.st_mode))
        return error_set(c->ret_error, -EPERM,
                         "\"%s\" is not a regular file or directory (%s); the device "
                         "accepts only those",
                         name, S_ISLNK(st.st_mode) ? "a symlink" : "a special file");
    int r = header_write(c, name, AE_IFDIR, 0755, 0);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return error_set(c->ret_error, -errno, "\"%s\": %s", name, strerror(errno));
    _cleanup_free_ char *sub = NULL;
    if (asprintf(&sub, "%s/", name) < 0)
        return error_set(c->ret_error, -ENOMEM, "out of memory");
    return tree_add(c, fd, sub);
}

static int tree_add(struct create *c, int dirfd, const char *prefix)
{
    _cleanup_strv_free_ char **names = NULL;
    int r = dir_names(dirfd, prefix[0] ? prefix : ".", &names, c->ret_error);
    for (char **n = names; r >= 0 && n && *n; n++)
        r = entry_add(c, dirfd, *n, prefix);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees names; clang-tidy 14 does not model it */
    return r;
}

static int writer_new(struct outbuf *o, struct archive **ret, char **ret_error)
{
    _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
    if (!a)
        return error_set(ret_error, -ENOMEM, "out of memory");
    /* ustar where it suffices, pax for long names; no timestamp in the gzip header; the gzip stream is not
     * padded to tar's 10240-byte blocks (that padding would follow the gzip trailer as garbage) */
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, o, NULL, out_write, NULL) != ARCHIVE_OK)
        return error_set(ret_error, -EIO, "cannot set up the tar writer: %s", archive_error_string(a));
    *ret = TAKE_PTR(a);
    return 0;
}

int tepc_archive_create(const char *dir, uint64_t mtime, uint8_t **ret_tgz, size_t *ret_len, char **ret_error)
{
    _cleanup_(archive_write_freep) struct archive *a = NULL;
    struct outbuf o = {0};
    struct create c = {.limits = TEPC_EXTRACT_LIMITS_DEFAULT, .mtime = mtime, .ret_error = ret_error};
    int r;

    _cleanup_close_ int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0)
        return error_set(ret_error, dir ? -errno : -EINVAL, "\"%s\": %s", dir ? dir : "",
                         dir ? strerror(errno) : "no directory");
    if ((r = writer_new(&o, &a, ret_error)) < 0) {
        free(o.data);
        return r;
    }
    c.a = a;
    r = tree_add(&c, fd, "");
    if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
        r = error_set(ret_error, -EIO, "finishing the archive: %s", archive_error_string(a));
    if (r < 0) {
        /* freeing the writer still flushes into o: free it first */
        archive_write_free(TAKE_PTR(a));
        free(o.data);
        return r;
    }
    *ret_tgz = o.data;
    *ret_len = o.len;
    return 0;
}
