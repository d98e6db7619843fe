/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The filesystem half of `tagent config-apply` (docs/tep-formats.md section 3): the upload folder, reading
 * the container without following links, the staging directory, the renames into place, the result file
 * and moving the container aside. Internal to provision/ (tep_config_apply.c and its tests).
 *
 * Everything works relative to the upload folder's directory descriptor, so a path component replaced
 * by a symlink after the folder was opened cannot redirect a write.
 */
#ifndef TAGENT_TEP_APPLY_FILES_H
#define TAGENT_TEP_APPLY_FILES_H

#include <stddef.h>
#include <stdint.h>

#define TEP_BLOB_NAME         "tep_user_config_data.bin"
#define TEP_APPLIED_SUFFIX    ".applied"
#define TEP_REJECTED_SUFFIX   ".rejected"
#define TEP_FAILED_SUFFIX     ".failed" /* a refused authorization: not tried again at every boot */
#define TEP_RESULT_NAME       TEP_BLOB_NAME ".result"
#define TEP_RESULT_TMP_PREFIX TEP_RESULT_NAME ".tmp." /* tep_result_write()'s temporary files */
#define TEP_STAGING_PREFIX    ".tep-staging-"
#define TEP_STAGING_NEW       "new" /* the archive is extracted here */
#define TEP_STAGING_OLD       "old" /* displaced entries, when the file system cannot exchange */

/* The upload folder, opened once. */
struct tep_upload {
    int dirfd;
    char *path; /* <root>/home/update/upload/mnt */
};

/* Opens <root>/TEP_UPLOAD_DIR. -ENOENT when it does not exist (nothing to apply). */
int tep_upload_open(const char *root, struct tep_upload *ret, char **ret_error);
void tep_upload_close(struct tep_upload *u);

/* How reading the container went wrong: whose fault it is decides what happens to the file. */
enum tep_read_fault {
    TEP_READ_OK,
    TEP_READ_ABSENT,    /* no container */
    TEP_READ_REJECT,    /* not a regular file, or too large: the container's fault */
    TEP_READ_TRANSIENT, /* an I/O error, or the file changed while it was opened: try again next boot */
};

/* lstat (regular, not a symlink, at most TEPC_MAX_FILE), then open with O_NOFOLLOW and fstat again (same
 * inode, still regular, same size), then read it whole. Caller frees *ret_buf. */
enum tep_read_fault tep_container_read(const struct tep_upload *u, uint8_t **ret_buf, size_t *ret_len,
                                       char **ret_error);

/* Removes every TEP_STAGING_PREFIX* and TEP_RESULT_TMP_PREFIX* entry a crash may have left. */
int tep_staging_clean(const struct tep_upload *u, char **ret_error);

/* A fresh staging directory in the upload folder (same file system, so renames out of it are atomic):
 * TEP_STAGING_PREFIX + random, 0700, holding an empty TEP_STAGING_NEW. *ret_new_fd is that directory. */
struct tep_staging {
    char *name; /* relative to the upload folder */
    int new_fd; /* TEP_STAGING_NEW, where the archive goes */
};
int tep_staging_create(const struct tep_upload *u, struct tep_staging *ret, char **ret_error);
/* Closes and removes the staging directory with whatever is left in it; safe on a zeroed one. */
int tep_staging_remove(const struct tep_upload *u, struct tep_staging *s);

/* A top-level name the archive may not use: the container's own names and the staging prefix, so a
 * configuration cannot overwrite the container, its result file or the staging directory. */
int tep_staging_check_names(const struct tep_staging *s, char **ret_error);

/* Renames each top-level entry of the staging directory into the upload folder, then fsyncs the folder.
 * *ret_applied: the entries, sorted, separated by ", ", directories with a trailing "/" (caller frees). */
int tep_staging_install(const struct tep_upload *u, struct tep_staging *s, char **ret_applied,
                        char **ret_error);

/* Writes TEP_RESULT_NAME atomically (temporary file, fsync, rename), mode 0644. The rename reaches the disk
 * with the next tep_upload_sync(). */
int tep_result_write(const struct tep_upload *u, const char *text, char **ret_error);

/* Renames the container to TEP_BLOB_NAME + suffix (replacing an older one); durable after
 * tep_upload_sync(). */
int tep_container_set_aside(const struct tep_upload *u, const char *suffix, char **ret_error);

/* fsync of the upload folder: the renames in it are on disk. */
int tep_upload_sync(const struct tep_upload *u, char **ret_error);

/* Removes path and, for a directory, everything below it, without following symlinks or crossing into
 * another file system. Absent is fine. */
int tep_tree_remove(const char *path);

#endif
