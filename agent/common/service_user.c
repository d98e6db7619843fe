/* SPDX-License-Identifier: BSD-3-Clause */
#include "service_user.h"

#include "config.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHOWN_MAX_DEPTH 16 /* the install tree is 3 levels deep; deeper means something is wrong */

int service_user_lookup(const char *root, uid_t *ret_uid, gid_t *ret_gid)
{
    struct passwd *pw = NULL;
    if (!*root) {
        errno = 0;
        pw = getpwnam(TAGENT_SERVICE_USER);
        if (!pw)
            return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
        *ret_uid = pw->pw_uid;
        *ret_gid = pw->pw_gid;
        return 0;
    }
    char *path = config_path(root, "/etc/passwd");
    FILE *f = path ? fopen(path, "re") : NULL;
    int r = !path ? -ENOMEM : !f ? -errno : -ENOENT;
    while (f && (pw = fgetpwent(f)))
        if (strcmp(pw->pw_name, TAGENT_SERVICE_USER) == 0) {
            *ret_uid = pw->pw_uid;
            *ret_gid = pw->pw_gid;
            r = 0;
            break;
        }
    if (f)
        fclose(f);
    free(path);
    return r;
}

/* Recursively chowns the open directory dir_fd and everything in it. Closes dir_fd. Counts changed
 * entries. */
static int chown_tree(const char *who, int dir_fd, const char *path, uid_t uid, gid_t gid, int depth,
                      unsigned *count)
{
    if (depth > CHOWN_MAX_DEPTH) {
        log_error("%s: %s is nested more than %d directories deep; not changing its owner (remove it?)", who,
                  path, CHOWN_MAX_DEPTH);
        close(dir_fd);
        return -ELOOP;
    }
    /* Failure is told by d, not by errno, so that the loop below can never see a NULL d. */
    DIR *d = fchown(dir_fd, uid, gid) == 0 ? fdopendir(dir_fd) : NULL;
    int r = d ? 0 : -(errno ? errno : EIO);
    if (!d) {
        log_error("%s: cannot chown %s: %s", who, path, strerror(-r));
        close(dir_fd);
        return r;
    }
    ++*count;
    struct dirent *e;
    while (r == 0 && (errno = 0, e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        bool reported = false;
        char *child = NULL;
        if (asprintf(&child, "%s/%s", path, e->d_name) < 0) {
            child = NULL;
            r = -ENOMEM;
            /* NOLINTNEXTLINE(bugprone-branch-clone): two different calls failing, handled alike (errno). */
        } else if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = -errno;
        } else if (S_ISDIR(st.st_mode)) {
            /* O_NOFOLLOW: a directory swapped for a link since fstatat() fails here instead of being followed
             */
            int fd = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                r = -errno;
            } else {
                r = chown_tree(who, fd, child, uid, gid, depth + 1, count);
                reported = true;
            }
        } else if (fchownat(dir_fd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
            r = -errno;
        } else {
            ++*count;
        }
        if (r < 0 && !reported)
            log_error("%s: cannot chown %s: %s", who, child ? child : path, strerror(-r));
        free(child);
    }
    if (r == 0 && errno) {
        r = -errno;
        log_error("%s: cannot list %s: %s", who, path, strerror(-r));
    }
    closedir(d);
    return r;
}

int service_user_chown_dir(const char *who, const char *root, const char *abs, uid_t uid, gid_t gid)
{
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    unsigned count = 0;
    /* root+abs itself may be a link: only root can make one in /etc, /opt or /var/log */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 ? -errno : chown_tree(who, fd, path, uid, gid, 0, &count);
    if (r == 0)
        log_info("%s: %s: %u entries now owned by %s", who, path, count, TAGENT_SERVICE_USER);
    else if (r == -ENOENT && fd < 0) {
        log_notice("%s: %s does not exist; nothing to chown there", who, path);
        r = 0;
    } else if (fd < 0)
        log_error("%s: cannot open %s: %s", who, path, strerror(-r));
    free(path);
    return r;
}

int service_user_hand_over_config(const char *who, const char *root)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    int r = service_user_lookup(root, &uid, &gid);
    if (r == -ENOENT) {
        log_notice(
            "%s: there is no user %s in %s/etc/passwd (a development tree?); %s stays owned by whoever "
            "ran setup; on a host, run `systemd-sysusers` with dist/sysusers.d/tagent.conf first",
            who, TAGENT_SERVICE_USER, root, TAGENT_CONFIG_DIR);
        return 0;
    }
    if (r < 0) {
        log_error("%s: cannot look up user %s: %s", who, TAGENT_SERVICE_USER, strerror(-r));
        return r;
    }
    return service_user_chown_dir(who, root, TAGENT_CONFIG_DIR, uid, gid);
}
