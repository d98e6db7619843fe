/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IMA templates: their names, the file-hash algorithms they may name, and the template data exactly as the
 * kernel hashes it (security/integrity/ima/ima_crypto.c, ima_calc_field_array_hash):
 *   - ima-ng / ima-sig: each field as u32 length (little-endian, as the x86 kernel and ima_canonical_fmt
 *     write it) followed by its bytes: d-ng = "alg:" NUL digest, n-ng = name NUL, sig = the xattr value
 *     (possibly empty, but always present with its length);
 *   - ima: the 20-byte digest, then the name zero-padded to IMA_EVENT_NAME_LEN_MAX + 1 = 256 bytes, with
 *     no length fields.
 */
#include "ima_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const template_names[] = {
    [IMA_TEMPLATE_IMA] = "ima",
    [IMA_TEMPLATE_IMA_NG] = "ima-ng",
    [IMA_TEMPLATE_IMA_SIG] = "ima-sig",
};

const char *ima_template_name(enum ima_template kind)
{
    if ((size_t)kind >= sizeof(template_names) / sizeof(template_names[0]))
        return NULL;
    return template_names[kind];
}

int ima_template_from_name(const char *name, size_t len, enum ima_template *ret_kind)
{
    for (size_t i = 0; i < sizeof(template_names) / sizeof(template_names[0]); i++)
        if (strlen(template_names[i]) == len && memcmp(template_names[i], name, len) == 0) {
            *ret_kind = (enum ima_template)i;
            return 0;
        }
    return -EOPNOTSUPP;
}

/* The kernel's hash_algo_name[] entries and their digest sizes (crypto/hash_info.c), the only names IMA
 * prints as a file-hash algorithm ("sm3-256" is SM3's name before Linux 5.x). Any other name is not a
 * kernel-written entry, so it is refused rather than passed to HVS unchecked. */
static const struct {
    const char *name;
    size_t size;
} file_hash_algs[] = {
    {"md4", 16},         {"md5", 16},      {"sha1", 20},     {"rmd160", 20},   {"sha256", 32},
    {"sha384", 48},      {"sha512", 64},   {"sha224", 28},   {"rmd128", 16},   {"rmd256", 32},
    {"rmd320", 40},      {"wp256", 32},    {"wp384", 48},    {"wp512", 64},    {"tgr128", 16},
    {"tgr160", 20},      {"tgr192", 24},   {"sm3", 32},      {"sm3-256", 32},  {"streebog256", 32},
    {"streebog512", 64}, {"sha3-256", 32}, {"sha3-384", 48}, {"sha3-512", 64},
};

bool ima_hash_alg_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > 15)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

int ima_file_hash_check(const char *alg, size_t size, bool violation, char **ret_error)
{
    size_t known = 0;
    for (size_t i = 0; i < sizeof(file_hash_algs) / sizeof(file_hash_algs[0]); i++)
        if (strcmp(file_hash_algs[i].name, alg) == 0)
            known = file_hash_algs[i].size;
    if (known == 0)
        return ima_fail(ret_error, -EINVAL,
                        "file hash algorithm \"%s\" is not one the kernel names (md4 md5 sha1 sha224 sha256 "
                        "sha384 sha512 sha3-256 sha3-384 sha3-512 sm3 sm3-256 streebog256 streebog512 rmd128 "
                        "rmd160 rmd256 rmd320 wp256 wp384 wp512 tgr128 tgr160 tgr192)",
                        alg);
    if (size > sizeof(((struct ima_entry *)0)->file_hash))
        return ima_fail(ret_error, -EINVAL, "%s digest of %zu bytes is longer than any hash", alg, size);
    /* A violation records zeros; kernels before 5.x always wrote 20 of them whatever the algorithm. */
    if (violation)
        return 0;
    if (size == 0)
        return ima_fail(ret_error, -EINVAL, "%s digest is empty", alg);
    if (known != size)
        return ima_fail(ret_error, -EINVAL, "%s digest has %zu bytes, expected %zu", alg, size, known);
    return 0;
}

int ima_hash_init(struct ima_hash *h, uint16_t alg, char **ret_error)
{
    size_t size = eventlog_alg_size(alg);
    *h = (struct ima_hash){.alg = alg, .size = (uint16_t)size};
    if (size == 0 || size > EVENTLOG_MAX_DIGEST || !digest_supported(alg))
        return ima_fail(ret_error, -EOPNOTSUPP, "template-hash algorithm 0x%04x (%s) cannot be computed here",
                        alg, eventlog_alg_name(alg) ? eventlog_alg_name(alg) : "unknown");
    return 0;
}

static uint8_t *put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

static uint8_t *put_field(uint8_t *p, const void *a, size_t alen, const void *b, size_t blen)
{
    p = put_u32le(p, (uint32_t)(alen + blen));
    if (alen)
        memcpy(p, a, alen);
    if (blen)
        memcpy(p + alen, b, blen);
    return p + alen + blen;
}

static int old_template_data(const struct ima_entry *e, uint8_t **ret_data, size_t *ret_len)
{
    size_t name_len = strlen(e->path);
    if (e->file_hash_len != IMA_DIGEST_SIZE || name_len > IMA_OLD_NAME_MAX)
        return -EINVAL;
    size_t len = IMA_DIGEST_SIZE + IMA_OLD_NAME_MAX + 1;
    uint8_t *data = calloc(1, len);
    if (!data)
        return -ENOMEM;
    memcpy(data, e->file_hash, IMA_DIGEST_SIZE);
    memcpy(data + IMA_DIGEST_SIZE, e->path, name_len);
    *ret_data = data;
    *ret_len = len;
    return 0;
}

int ima_template_data(const struct ima_entry *e, uint8_t **ret_data, size_t *ret_len)
{
    if (e->template_kind == IMA_TEMPLATE_IMA)
        return old_template_data(e, ret_data, ret_len);

    /* "alg" ":" NUL: the d-ng prefix. */
    char prefix[sizeof(e->file_hash_alg) + 2];
    int plen = snprintf(prefix, sizeof(prefix), "%s:", e->file_hash_alg);
    if (plen < 0 || (size_t)plen >= sizeof(prefix) - 1 || e->file_hash_len > sizeof(e->file_hash))
        return -EINVAL;
    size_t prefix_len = (size_t)plen + 1;
    size_t name_len = strlen(e->path) + 1;
    if (name_len > IMA_MAX_PATH + 1 || e->signature_len > IMA_MAX_SIG)
        return -EINVAL;
    bool sig = e->template_kind == IMA_TEMPLATE_IMA_SIG;
    size_t len = 4 + prefix_len + e->file_hash_len + 4 + name_len + (sig ? 4 + (size_t)e->signature_len : 0);

    uint8_t *data = malloc(len);
    if (!data)
        return -ENOMEM;
    uint8_t *p = put_field(data, prefix, prefix_len, e->file_hash, e->file_hash_len);
    p = put_field(p, e->path, name_len, NULL, 0);
    if (sig)
        put_field(p, e->signature, e->signature_len, NULL, 0);
    *ret_data = data;
    *ret_len = len;
    return 0;
}

int ima_entry_check(struct ima_entry *e, const struct ima_hash *h)
{
    static const uint8_t zero[EVENTLOG_MAX_DIGEST];
    e->template_hash_alg = h->alg;
    e->template_hash_size = h->size;
    e->violation = memcmp(e->template_hash, zero, h->size) == 0;
    if (e->violation) {
        e->template_hash_ok = true;
        return 0;
    }
    uint8_t *data = NULL, md[DIGEST_MAX_SIZE];
    size_t len = 0;
    int r = ima_template_data(e, &data, &len);
    if (r < 0)
        return r;
    if (digest_buf(h->alg, data, len, md) != h->size)
        r = -EIO;
    else
        e->template_hash_ok = memcmp(md, e->template_hash, h->size) == 0;
    free(data);
    return r;
}
