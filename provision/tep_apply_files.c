/* SPDX-License-Identifier: BSD-3-Clause */
/* config-apply's filesystem half (tep_apply_files.h): nothing here knows about TPMs or signatures. */
#include "tep_apply_files.h"
#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "provision.h"
#include "tepc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tep_upload_open(const char *root, struct tep_upload *ret, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_UPLOAD_DIR);
    if (!path)
        return -ENOMEM;
    /* O_NOFOLLOW on the last component only: the folder itself must not be a link somewhere else */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT
                               : error_set(ret_error, -errno, "cannot open the upload folder %s: %m", path);
    *ret = (struct tep_upload){.dirfd = fd, .path = TAKE_PTR(path)};
    return 0;
}

void tep_upload_close(struct tep_upload *u)
{
    if (u->dirfd >= 0)
        close(u->dirfd);
    free(u->path);
    *u = (struct tep_upload){.dirfd = -1};
}

static const char *file_kind(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device node";
    return "not a regular file";
}

/* Reads exactly len bytes and checks that nothing follows: the file must not have grown since fstat. */
static int read_exactly(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ESTALE; /* shrank */
        done += (size_t)n;
    }
    uint8_t extra;
    ssize_t n;
    while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
        ;
    return n < 0 ? -errno : n > 0 ? -ESTALE : 0;
}

enum tep_read_fault tep_container_read(const struct tep_upload *u, uint8_t **ret_buf, size_t *ret_len,
                                       char **ret_error)
{
    struct stat before, after;
    if (fstatat(u->dirfd, TEP_BLOB_NAME, &before, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return TEP_READ_ABSENT;
        error_set(ret_error, 0, "cannot stat the container: %m");
        return TEP_READ_TRANSIENT;
    }
    /* lstat first: a FIFO or a device is never opened (opening a FIFO would block the boot) */
    if (!S_ISREG(before.st_mode)) {
        error_set(ret_error, 0, "the container is %s, not a regular file", file_kind(before.st_mode));
        return TEP_READ_REJECT;
    }
    if ((uint64_t)before.st_size > TEPC_MAX_FILE) {
        error_set(ret_error, 0, "the container is %lld bytes, more than the largest TEPC v1 file (%llu)",
                  (long long)before.st_size, (unsigned long long)TEPC_MAX_FILE);
        return TEP_READ_REJECT;
    }

    /* Replaced between lstat and open (a link, another file, a changed size): not the verdict on a container
     * but a race; the container stays for the next boot, which sees what is really there. */
    _cleanup_close_ int fd =
        openat(u->dirfd, TEP_BLOB_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        error_set(ret_error, 0, "cannot open the container: %m");
        return TEP_READ_TRANSIENT;
    }
    if (fstat(fd, &after) < 0) {
        error_set(ret_error, 0, "cannot stat the open container: %m");
        return TEP_READ_TRANSIENT;
    }
    if (after.st_dev != before.st_dev || after.st_ino != before.st_ino || !S_ISREG(after.st_mode) ||
        after.st_size != before.st_size) {
        error_set(ret_error, 0, "the container changed while it was being opened");
        return TEP_READ_TRANSIENT;
    }

    size_t len = (size_t)after.st_size;
    _cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        error_set(ret_error, 0, "out of memory reading a container of %zu bytes", len);
        return TEP_READ_TRANSIENT;
    }
    int r = read_exactly(fd, buf, len);
    if (r < 0) {
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees buf; clang-tidy 14 misses it */
        if (r == -ESTALE)
            error_set(ret_error, 0, "the container changed size while it was being read");
        else
            error_set(ret_error, 0, "cannot read the container: %s", strerror(-r));
        return TEP_READ_TRANSIENT;
    }
    *ret_buf = TAKE_PTR(buf);
    *ret_len = len;
    return TEP_READ_OK;
}

/* ---- trees ---- */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    /* FTW_DP: a directory after its contents; everything else (files, links, FTW_SL) is unlinked, never
     * followed. A return other than 0 stops nftw and is its return value. */
    int r = type == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? errno : 0;
}

int tep_tree_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    /* path-based, at most 16 descriptors open however deep the tree is */
    int r = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    return r < 0 ? -errno : -r;
}

static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* A listing of the directory dirfd from its start, on a descriptor of its own (closedir closes that one,
 * not dirfd). NULL with errno set on failure. */
static DIR *dir_list(int dirfd)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    if (d)
        rewinddir(d); /* a duplicate shares the file offset: start from the beginning */
    return d;
}

int tep_staging_clean(const struct tep_upload *u, char **ret_error)
{
    DIR *d = dir_list(u->dirfd);
    if (!d)
        return error_set(ret_error, -errno, "cannot list the upload folder %s: %m", u->path);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        /* staging directories, and temporary result files (tep_result_write) */
        if (strncmp(de->d_name, TEP_STAGING_PREFIX, strlen(TEP_STAGING_PREFIX)) != 0 &&
            strncmp(de->d_name, TEP_RESULT_TMP_PREFIX, strlen(TEP_RESULT_TMP_PREFIX)) != 0)
            continue;
        _cleanup_free_ char *path = join(u->path, de->d_name);
        r = path ? tep_tree_remove(path) : -ENOMEM;
        if (r < 0)
            error_set(ret_error, r, "cannot remove %s, which a crash left: %s", path ? path : "",
                      strerror(-r));
        else
            rewinddir(d); /* entries may move in the listing while we delete */
    }
    closedir(d);
    return r;
}

int tep_staging_create(const struct tep_upload *u, struct tep_staging *ret, char **ret_error)
{
    _cleanup_free_ char *path = join(u->path, TEP_STAGING_PREFIX "XXXXXX");
    if (!path)
        return -ENOMEM;
    /* mkdtemp: a name nobody else has, mode 0700 */
    if (!mkdtemp(path))
        return error_set(ret_error, -errno, "cannot create a staging directory in %s: %m", u->path);
    struct tep_staging s = {.name = strdup(strrchr(path, '/') + 1), .new_fd = -1};
    int r = s.name ? 0 : -ENOMEM;
    _cleanup_close_ int stage_fd =
        r == 0 ? openat(u->dirfd, s.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (r == 0 && stage_fd < 0)
        r = -errno;
    if (r == 0 && mkdirat(stage_fd, TEP_STAGING_NEW, 0700) < 0)
        r = -errno;
    if (r == 0 &&
        (s.new_fd = openat(stage_fd, TEP_STAGING_NEW, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        r = -errno;
    if (r < 0) {
        tep_staging_remove(u, &s);
        tep_tree_remove(path);
        return error_set(ret_error, r, "cannot set up the staging directory %s: %s", path, strerror(-r));
    }
    *ret = s;
    return 0;
}

int tep_staging_remove(const struct tep_upload *u, struct tep_staging *s)
{
    int r = 0;
    if (s->new_fd >= 0)
        close(s->new_fd);
    if (s->name) {
        _cleanup_free_ char *path = join(u->path, s->name);
        r = path ? tep_tree_remove(path) : -ENOMEM;
    }
    free(s->name);
    *s = (struct tep_staging){.new_fd = -1};
    return r;
}

/* ---- installing ---- */

static bool name_reserved(const char *name)
{
    return strncmp(name, TEP_BLOB_NAME, strlen(TEP_BLOB_NAME)) == 0 ||
           strncmp(name, TEP_STAGING_PREFIX, strlen(TEP_STAGING_PREFIX)) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The top-level entries of the staging directory, sorted (the order they are installed and reported in). */
static int staged_names(const struct tep_staging *s, char ***ret_names, size_t *ret_n)
{
    DIR *d = dir_list(s->new_fd);
    if (!d)
        return -errno;
    _cleanup_strv_free_ char **names = NULL;
    size_t n = 0;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char **bigger = realloc(names, (n + 2) * sizeof(*names));
        if (!bigger) {
            r = -ENOMEM;
            break;
        }
        names = bigger;
        names[n + 1] = NULL;
        if (!(names[n] = strdup(de->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (r < 0)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees names; clang-tidy 14 misses it */
        return r;
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    *ret_names = TAKE_PTR(names);
    *ret_n = n;
    return 0;
}

int tep_staging_check_names(const struct tep_staging *s, char **ret_error)
{
    _cleanup_strv_free_ char **names = NULL;
    size_t n = 0;
    int r = staged_names(s, &names, &n);
    if (r < 0)
        return error_set(ret_error, r, "cannot list the staging directory: %s", strerror(-r));
    for (size_t i = 0; i < n; i++)
        if (name_reserved(names[i]))
            return error_set(
                ret_error, -EPERM,
                "archive entry \"%s\": the name is reserved for the container, its result or staging",
                names[i]);
    return 0;
}

/* The file system cannot exchange (RENAME_EXCHANGE is EINVAL there): the old entry goes into the staging
 * directory's TEP_STAGING_OLD first, then the new one in. Between the two renames the name is absent. */
static int install_by_two_renames(const struct tep_upload *u, const struct tep_staging *s, const char *name)
{
    _cleanup_free_ char *old_dir = NULL;
    if (asprintf(&old_dir, "%s/" TEP_STAGING_OLD, s->name) < 0)
        return -ENOMEM;
    if (mkdirat(u->dirfd, old_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    _cleanup_close_ int old_fd = openat(u->dirfd, old_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (old_fd < 0)
        return -errno;
    if (renameat(u->dirfd, name, old_fd, name) < 0)
        return -errno;
    return renameat(s->new_fd, name, u->dirfd, name) < 0 ? -errno : 0;
}

/* One top-level entry into the upload folder. A file over a file (or a symlink, which rename replaces
 * without following): renameat, atomic. Anything involving a directory: exchanged with the old entry, which
 * lands in the staging directory and goes with it. Nothing there yet: a rename that refuses to replace. */
static int install_entry(const struct tep_upload *u, const struct tep_staging *s, const char *name)
{
    struct stat new_st, old_st;
    if (fstatat(s->new_fd, name, &new_st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (fstatat(u->dirfd, name, &old_st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            return -errno;
        return renameat2(s->new_fd, name, u->dirfd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
    }
    if (!S_ISDIR(new_st.st_mode) && !S_ISDIR(old_st.st_mode))
        return renameat(s->new_fd, name, u->dirfd, name) < 0 ? -errno : 0;
    if (renameat2(s->new_fd, name, u->dirfd, name, RENAME_EXCHANGE) == 0)
        return 0;
    return errno == EINVAL ? install_by_two_renames(u, s, name) : -errno;
}

/* "a.conf, dir/, z.txt" */
static int applied_list(const struct tep_upload *u, char **names, size_t n, char **ret)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 3;
    char *out = malloc(len), *p = out;
    if (!out)
        return -ENOMEM;
    *p = '\0';
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        bool dir = fstatat(u->dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        p += sprintf(p, "%s%s%s", i ? ", " : "", names[i], dir ? "/" : "");
    }
    *ret = out;
    return 0;
}

int tep_staging_install(const struct tep_upload *u, struct tep_staging *s, char **ret_applied,
                        char **ret_error)
{
    _cleanup_strv_free_ char **names = NULL;
    size_t n = 0;
    int r = staged_names(s, &names, &n);
    if (r < 0)
        return error_set(ret_error, r, "cannot list the staging directory: %s", strerror(-r));
    /* tepc_archive_extract fsynced every file and the staging directory: what is renamed is on disk */
    for (size_t i = 0; i < n; i++) {
        r = install_entry(u, s, names[i]);
        if (r < 0)
            return error_set(ret_error, r, "cannot move \"%s\" into %s: %s (entries before it are in place)",
                             names[i], u->path, strerror(-r));
    }
    if (fsync(u->dirfd) < 0)
        return error_set(ret_error, -errno, "cannot sync the upload folder %s: %m", u->path);
    r = applied_list(u, names, n, ret_applied);
    return r < 0 ? error_set(ret_error, r, "out of memory") : 0;
}

/* ---- the result and the container ---- */

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Not config_write_file_atomic(): that syncs the folder itself, and the caller syncs it once for the
 * result and the container's rename together (each sync of a directory is a journal commit). */
int tep_result_write(const struct tep_upload *u, const char *text, char **ret_error)
{
    _cleanup_free_ char *tmp = join(u->path, TEP_RESULT_TMP_PREFIX "XXXXXX");
    if (!tmp)
        return error_set(ret_error, -ENOMEM, "out of memory");
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return error_set(ret_error, -errno, "cannot create %s: %m", tmp);
    int r = write_all(fd, text, strlen(text));
    if (r == 0 && fchmod(fd, 0644) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0 && renameat(u->dirfd, strrchr(tmp, '/') + 1, u->dirfd, TEP_RESULT_NAME) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return error_set(ret_error, r, "cannot write %s/" TEP_RESULT_NAME ": %s", u->path, strerror(-r));
    }
    return 0;
}

int tep_container_set_aside(const struct tep_upload *u, const char *suffix, char **ret_error)
{
    _cleanup_free_ char *target = NULL;
    if (asprintf(&target, TEP_BLOB_NAME "%s", suffix) < 0)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (renameat(u->dirfd, TEP_BLOB_NAME, u->dirfd, target) < 0)
        return error_set(ret_error, -errno, "cannot rename the container to %s in %s: %m", target, u->path);
    return 0;
}

int tep_upload_sync(const struct tep_upload *u, char **ret_error)
{
    if (fsync(u->dirfd) < 0)
        return error_set(ret_error, -errno, "cannot sync the upload folder %s: %m", u->path);
    return 0;
}
