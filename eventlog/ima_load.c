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

/* The kernel's hash_algo_name of each bank a per-bank list may be for; "sm3_256" is accepted beside the
 * kernel's "sm3" for files named after the TCG name. */
static const struct {
    const char *suffix;
    uint16_t alg;
} list_suffixes[] = {
    {"_sha1", EVENTLOG_ALG_SHA1},     {"_sha256", EVENTLOG_ALG_SHA256}, {"_sha384", EVENTLOG_ALG_SHA384},
    {"_sha512", EVENTLOG_ALG_SHA512}, {"_sm3", EVENTLOG_ALG_SM3_256},   {"_sm3_256", EVENTLOG_ALG_SM3_256},
};

uint16_t ima_alg_from_file_name(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof(list_suffixes) / sizeof(list_suffixes[0]); i++) {
        size_t k = strlen(list_suffixes[i].suffix);
        if (n > k && strcmp(path + n - k, list_suffixes[i].suffix) == 0 && path[n - k - 1] != '/')
            return list_suffixes[i].alg;
    }
    return 0;
}

/* The template-hash sizes a list without a name suffix may have, and the bank each stands for (32 bytes is
 * SHA-256: SM3 lists are recognised by name only). */
static const struct {
    size_t size;
    uint16_t alg;
} content_sizes[] = {
    {20, EVENTLOG_ALG_SHA1}, {32, EVENTLOG_ALG_SHA256}, {48, EVENTLOG_ALG_SHA384}, {64, EVENTLOG_ALG_SHA512}};

/* Ascii: the width of the first entry's template hash (the second field of the first non-empty line). */
static uint16_t ascii_alg(const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len && text[pos] == '\n')
        pos++;
    const char *nl = memchr(text + pos, '\n', len - pos);
    const char *end = nl ? nl : text + len;
    const char *sp = memchr(text + pos, ' ', (size_t)(end - (text + pos)));
    if (!sp)
        return EVENTLOG_ALG_SHA1;
    const char *field = sp + 1;
    size_t width = 0;
    while (field + width < end && field[width] != ' ')
        width++;
    for (size_t i = 0; i < sizeof(content_sizes) / sizeof(content_sizes[0]); i++)
        if (width == 2 * content_sizes[i].size)
            return content_sizes[i].alg;
    return EVENTLOG_ALG_SHA1;
}

/* Binary: the sizes for which the first record's template name is one IMA writes; SHA-1 unless exactly one
 * fits (then the parser's message about the name length says which size it assumed). */
static uint16_t binary_alg(const uint8_t *buf, size_t len)
{
    uint16_t found = 0;
    size_t matches = 0;
    for (size_t i = 0; i < sizeof(content_sizes) / sizeof(content_sizes[0]); i++) {
        size_t at = 4 + content_sizes[i].size;
        if (len < at + 4)
            continue;
        uint32_t n = (uint32_t)buf[at] | (uint32_t)buf[at + 1] << 8 | (uint32_t)buf[at + 2] << 16 |
                     (uint32_t)buf[at + 3] << 24;
        enum ima_template kind;
        if (n >= 1 && n <= IMA_TEMPLATE_NAME_MAX && len >= at + 4 + n &&
            ima_template_from_name((const char *)buf + at + 4, n, &kind) == 0) {
            found = content_sizes[i].alg;
            matches++;
        }
    }
    return matches == 1 ? found : EVENTLOG_ALG_SHA1;
}

/* The algorithm of a list read from path: the name's suffix, else the content's shape. */
static uint16_t list_alg(const char *path, const uint8_t *buf, size_t len, bool binary)
{
    uint16_t alg = ima_alg_from_file_name(path);
    if (alg)
        return alg;
    return binary ? binary_alg(buf, len) : ascii_alg((const char *)buf, len);
}

int ima_load_alg(const char *path, size_t max_len, uint16_t alg, struct ima_log **ret_log, char **ret_error)
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
    bool binary = looks_binary(buf, len);
    if (alg == 0)
        alg = list_alg(path, buf, len, binary);
    r = binary ? ima_parse_binary(buf, len, alg, ret_log, &msg)
               : ima_parse_ascii((const char *)buf, len, alg, ret_log, &msg);
    free(buf);
    if (r < 0)
        ima_set_error(ret_error, "%s: %s", path, msg ? msg : "out of memory");
    free(msg);
    return r;
}

int ima_load(const char *path, size_t max_len, struct ima_log **ret_log, char **ret_error)
{
    return ima_load_alg(path, max_len, 0, ret_log, ret_error);
}

/* The Go agent reads only the container path, so IMA-enabled quotes fail on bare metal: read the kernel's
 * own file first. */
const char *const ima_system_paths[IMA_SYSTEM_PATHS] = {"/sys/kernel/security/ima/ascii_runtime_measurements",
                                                        "/opt/ima/ascii_runtime_measurements"};

const char *const ima_bank_list_names[IMA_BANK_LIST_NAMES] = {
    "ascii_runtime_measurements_sha1",    "ascii_runtime_measurements_sha256",
    "ascii_runtime_measurements_sha384",  "ascii_runtime_measurements_sha512",
    "ascii_runtime_measurements_sm3",     "binary_runtime_measurements_sha1",
    "binary_runtime_measurements_sha256", "binary_runtime_measurements_sha384",
    "binary_runtime_measurements_sha512", "binary_runtime_measurements_sm3",
};

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
