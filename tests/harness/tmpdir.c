/* Temp dirs (registered so a failing test still removes them) and small file helpers. */
#include "harness.h"
#include "harness_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TMPDIRS     32
#define TMPDIR_PATH_MAX 512
#define RM_DEPTH_MAX    16

/* Fixed storage: the signal handler reads it, so no malloc'ed strings here. */
static char tmpdirs[MAX_TMPDIRS][TMPDIR_PATH_MAX];

/* openat/getdents64/unlinkat only, because this also runs inside the fatal-signal handler. */
static int rm_tree_at(int parent_fd, const char *name, int depth)
{
    union {
        struct dirent64 align;
        char bytes[4096];
    } buf;
    int fd, progress;

    if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR || depth > RM_DEPTH_MAX)
        return -1;
    fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Rescan until a pass removes nothing: unlinking while reading may skip entries. */
    do {
        ssize_t n;

        progress = 0;
        lseek(fd, 0, SEEK_SET);
        while ((n = getdents64(fd, buf.bytes, sizeof(buf.bytes))) > 0) {
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *de = (struct dirent64 *)(buf.bytes + off);

                off += de->d_reclen;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                if (rm_tree_at(fd, de->d_name, depth + 1) == 0)
                    progress = 1;
            }
        }
    } while (progress);
    close(fd);
    return unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

void harness_tmpdirs_remove_all(void)
{
    for (int i = 0; i < MAX_TMPDIRS; i++) {
        if (tmpdirs[i][0]) {
            rm_tree_at(AT_FDCWD, tmpdirs[i], 0);
            tmpdirs[i][0] = '\0';
        }
    }
}

int harness_tmpdir_create(const char *tag, char **ret_path)
{
    const char *base = getenv("TMPDIR");
    char path[TMPDIR_PATH_MAX];
    int r, slot = -1;

    r = harness_init();
    if (r < 0)
        return r;
    for (int i = 0; i < MAX_TMPDIRS && slot < 0; i++)
        if (!tmpdirs[i][0])
            slot = i;
    if (slot < 0) {
        fprintf(stderr, "harness: more than %d temp dirs\n", MAX_TMPDIRS);
        return -ENOSPC;
    }
    if (!base || !*base)
        base = "/tmp";
    if ((size_t)snprintf(path, sizeof(path), "%s/tagent-%s-XXXXXX", base, tag) >= sizeof(path))
        return -ENAMETOOLONG;
    if (!mkdtemp(path)) {
        r = -errno;
        fprintf(stderr, "harness: mkdtemp %s: %s\n", path, strerror(errno));
        return r;
    }
    *ret_path = strdup(path);
    if (!*ret_path) {
        rmdir(path);
        return -ENOMEM;
    }
    memcpy(tmpdirs[slot], path, sizeof(path));
    return 0;
}

int harness_tmpdir_remove(const char *path)
{
    if (!path)
        return 0;
    if (rm_tree_at(AT_FDCWD, path, 0) < 0) {
        int r = -errno;
        fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
        return r;
    }
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (strcmp(tmpdirs[i], path) == 0)
            tmpdirs[i][0] = '\0';
    return 0;
}

int harness_path_join(const char *dir, const char *name, char **ret)
{
    if (asprintf(ret, "%s/%s", dir, name) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int harness_file_write(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text), done = 0;
    int fd, r = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        r = -errno;
        fprintf(stderr, "harness: open %s: %s\n", path, strerror(errno));
        return r;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            fprintf(stderr, "harness: write %s: %s\n", path, strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

bool harness_path_exists(const char *path)
{
    struct stat st;

    return path && lstat(path, &st) == 0;
}

void harness_log_tail(const char *path, int max_lines)
{
    char buf[8192];
    const char *start;
    size_t n;
    long size;
    FILE *f = fopen(path, "re");

    if (!f) {
        fprintf(stderr, "harness: no log %s: %s\n", path, strerror(errno));
        return;
    }
    /* The tail is what explains a failed start; 8 KiB is plenty for a few dozen lines. */
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    start = buf + n;
    for (int lines = 0; start > buf && lines < max_lines; start--)
        if (start[-1] == '\n' && ++lines == max_lines)
            break;
    fprintf(stderr, "---- last %d lines of %s ----\n%s\n---- end of %s ----\n", max_lines, path, start, path);
}

char *harness_file_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (!buf)
        abort();
    if (f) {
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
        fclose(f);
    }
    return buf;
}
