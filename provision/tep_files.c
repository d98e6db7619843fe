/* SPDX-License-Identifier: BSD-3-Clause */
/* The root-only TEP state files: the SRK's Name and the AES key's authValue (docs/tep-formats.md 1.2, 1.3).
 */
#include "tep_files.h"

#include "cleanup.h"
#include "config.h"
#include "error.h"
#include "hex.h"
#include "provision.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* dir, 0755 (an existing one set to 0755); not followed: a symlink planted there would send what is written
 * into it elsewhere. */
static int dir_0755_ensure(const char *dir, char **ret_error)
{
    struct stat st;
    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return error_set(ret_error, -errno, "creating %s: %m", dir);
    if (lstat(dir, &st) < 0)
        return error_set(ret_error, -errno, "%s: %m", dir);
    if (!S_ISDIR(st.st_mode))
        return error_set(ret_error, -ENOTDIR, "%s is not a directory (a symlink?); remove it", dir);
    if ((st.st_mode & 07777) != 0755 && chmod(dir, 0755) < 0)
        return error_set(ret_error, -errno, "making %s root-owned 0755: %m", dir);
    return 0;
}

int tep_state_dir_ensure(const char *root, char **ret_error)
{
    _cleanup_free_ char *etc = config_path(root, "/etc"), *dir = config_path(root, TEP_STATE_DIR);
    if (!etc || !dir)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = config_mkdir_p(etc, 0755);
    if (r < 0)
        return error_set(ret_error, r, "creating %s: %s", etc, strerror(-r));
    /* 0755: the service user reads srk.name (the SRK's Name is public; what matters is that only root can
     * change it); enc-key.auth keeps its own 0600. */
    return dir_0755_ensure(dir, ret_error);
}

int tep_subdir_ensure(const char *root, const char *abs, char **ret_error)
{
    _cleanup_free_ char *dir = config_path(root, abs);
    if (!dir)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = tep_state_dir_ensure(root, ret_error);
    return r < 0 ? r : dir_0755_ensure(dir, ret_error);
}

int tep_srk_name_store(const char *root, const uint8_t *name, size_t len, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_SRK_NAME_FILE);
    char hex[2 * TPM_NAME_MAX + 2];
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (len == 0 || len > TPM_NAME_MAX)
        return error_set(ret_error, -EINVAL, "a Name of %zu bytes", len);
    hex_encode(name, len, hex);
    hex[2 * len] = '\n';
    int r = config_write_file_atomic(path, hex, 2 * len + 1, 0644);
    return r < 0 ? error_set(ret_error, r, "writing %s: %s", path, strerror(-r)) : 0;
}

int tep_srk_name_load(const char *root, uint8_t ret_name[TPM_NAME_MAX], size_t *ret_len, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_SRK_NAME_FILE), *text = NULL;
    size_t len = 0;
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = config_read_file(path, 4 * TPM_NAME_MAX, &text, &len);
    if (r < 0)
        return error_set(ret_error, r, "reading %s: %s (written by `tagent provision-device`)", path,
                         strerror(-r));
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    r = hex_decode(text, len, ret_name, TPM_NAME_MAX, ret_len);
    if (r == 0 && *ret_len < 2)
        r = -EINVAL;
    return r < 0 ? error_set(ret_error, -EBADMSG,
                             "%s does not hold a Name in hex; run `tagent "
                             "provision-device --force`",
                             path)
                 : 0;
}

int tep_srk_pin(const char *root, tpm_t *tpm, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_SRK_NAME_FILE);
    uint8_t name[TPM_NAME_MAX];
    size_t len = 0;
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    int r = tep_srk_name_load(root, name, &len, ret_error);
    if (r == 0 && (r = tpm_set_srk_name(tpm, name, len)) < 0)
        r = error_set(ret_error, r, "the SRK Name in %s is not usable: %s", path, strerror(-r));
    return r;
}

int tep_enc_auth_store(const char *root, const struct tpm_auth *auth, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_ENC_AUTH_FILE);
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    if (auth->len != TEP_ENC_AUTH_LEN)
        return error_set(ret_error, -EINVAL, "an authValue of %zu bytes", auth->len);
    /* Written from the caller's buffer: config_write_file_atomic() keeps no copy; the temp file is 0600
     * from its creation. */
    int r = config_write_file_atomic(path, auth->bytes, auth->len, 0600);
    return r < 0 ? error_set(ret_error, r, "writing %s: %s", path, strerror(-r)) : 0;
}

int tep_enc_auth_load(const char *root, struct tpm_auth *ret_auth, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, TEP_ENC_AUTH_FILE);
    struct stat st;
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    memset(ret_auth, 0, sizeof(*ret_auth));
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0)
        return error_set(ret_error, -errno,
                         "reading %s: %m; without it the AES key at 0x8100a000 cannot be used: run `tagent "
                         "provision-device --force` with the owner's key files",
                         path);
    if (fstat(fd, &st) < 0)
        return error_set(ret_error, -errno, "%s: %m", path);
    if (!S_ISREG(st.st_mode) || st.st_size != TEP_ENC_AUTH_LEN)
        return error_set(ret_error, -EBADMSG, "%s is not a %d-byte file", path, TEP_ENC_AUTH_LEN);
    /* read(2) straight into the caller's struct: no stdio buffer holds a copy. */
    ssize_t n = read(fd, ret_auth->bytes, TEP_ENC_AUTH_LEN);
    if (n != TEP_ENC_AUTH_LEN) {
        int r = n < 0 ? -errno : -EIO;
        tpm_auth_clear(ret_auth);
        return error_set(ret_error, r, "reading %s: %s", path, n < 0 ? strerror(-r) : "short read");
    }
    ret_auth->len = TEP_ENC_AUTH_LEN;
    return 0;
}
