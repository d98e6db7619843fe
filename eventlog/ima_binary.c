/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * binary_runtime_measurements (ima_fs.c, ima_measurements_show), little-endian:
 *   u32 pcr, u8 template_hash[the list's digest size: 20 in the classic list], u32 name_len,
 *   char name[name_len] (no NUL), then
 *   ima-ng / ima-sig: u32 data_len and the template data: u32 len + "alg:" NUL digest, u32 len + path NUL,
 *                     (ima-sig) u32 len + signature;
 *   ima:              u8 digest[20], u32 len + path (no NUL, no data_len).
 * Every length is checked against what is left, and each field must fill its container exactly.
 */
#include "ima_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A record's fixed header: PCR index, template hash, template name length. Fewer bytes than this after the
 * last record cannot start one (tpm2-tss' test log ends in one stray newline). */
#define RECORD_HEADER(hash_size) (4 + (size_t)(hash_size) + 4)

struct cursor {
    const uint8_t *p;
    size_t left;
    size_t off; /* in the whole log, for messages */
};

static int take(struct cursor *c, size_t n, const uint8_t **ret, const char *what, char **ret_error)
{
    if (n > c->left)
        return ima_fail(ret_error, -EINVAL, "cut off at offset %zu: %s needs %zu bytes, %zu left", c->off,
                        what, n, c->left);
    *ret = c->p;
    c->p += n;
    c->left -= n;
    c->off += n;
    return 0;
}

static int take_u32(struct cursor *c, uint32_t *ret, const char *what, char **ret_error)
{
    const uint8_t *p = NULL;
    int r = take(c, 4, &p, what, ret_error);
    if (r == 0)
        *ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return r;
}

/* A u32 length within [min, max] followed by that many bytes. */
static int take_field(struct cursor *c, uint32_t min, uint32_t max, const uint8_t **ret, uint32_t *ret_len,
                      const char *what, char **ret_error)
{
    size_t at = c->off;
    uint32_t len = 0;
    int r = take_u32(c, &len, what, ret_error);
    if (r < 0)
        return r;
    if (len < min || len > max)
        return ima_fail(ret_error, -EINVAL, "%s length %u at offset %zu is not %u to %u", what, len, at, min,
                        max);
    r = take(c, len, ret, what, ret_error);
    if (r == 0)
        *ret_len = len;
    return r;
}

static int set_path(struct ima_entry *e, const uint8_t *name, size_t len, size_t at, char **ret_error)
{
    if (len && memchr(name, '\0', len))
        return ima_fail(ret_error, -EINVAL, "file name at offset %zu contains a NUL byte", at);
    e->path = ima_memdup_str(name, len);
    return e->path ? 0 : ima_fail(ret_error, -ENOMEM, "out of memory");
}

/* d-ng: "alg" ":" NUL digest. */
static int parse_digest_ng(const uint8_t *f, uint32_t len, size_t at, struct ima_entry *e, char **ret_error)
{
    const uint8_t *nul =
        memchr(f, '\0', len < sizeof(e->file_hash_alg) + 1 ? len : sizeof(e->file_hash_alg) + 1);
    size_t alg_len = nul ? (size_t)(nul - f) - 1 : 0;
    if (!nul || nul == f || nul[-1] != ':' || !ima_hash_alg_name_ok((const char *)f, alg_len))
        return ima_fail(ret_error, -EINVAL, "file hash at offset %zu does not start with \"alg:\" and a NUL",
                        at);
    memcpy(e->file_hash_alg, f, alg_len);
    e->file_hash_alg[alg_len] = '\0';
    size_t digest_len = len - alg_len - 2;
    int r = ima_file_hash_check(e->file_hash_alg, digest_len, e->violation, ret_error);
    if (r < 0)
        return r;
    memcpy(e->file_hash, nul + 1, digest_len);
    e->file_hash_len = (uint32_t)digest_len;
    return 0;
}

static int parse_data_ng(struct cursor *c, struct ima_entry *e, char **ret_error)
{
    const uint8_t *f = NULL;
    uint32_t len = 0;
    size_t at = c->off + 4;
    int r = take_field(c, 3, sizeof(e->file_hash_alg) + 1 + sizeof(e->file_hash), &f, &len, "file hash",
                       ret_error);
    if (r < 0 || (r = parse_digest_ng(f, len, at, e, ret_error)) < 0)
        return r;

    at = c->off + 4;
    r = take_field(c, 1, IMA_MAX_PATH + 1, &f, &len, "file name", ret_error);
    if (r < 0)
        return r;
    if (f[len - 1] != '\0')
        return ima_fail(ret_error, -EINVAL, "file name at offset %zu does not end in a NUL", at);
    if ((r = set_path(e, f, len - 1, at, ret_error)) < 0)
        return r;

    if (e->template_kind != IMA_TEMPLATE_IMA_SIG)
        return 0;
    r = take_field(c, 0, IMA_MAX_SIG, &f, &len, "signature", ret_error);
    if (r < 0 || len == 0)
        return r;
    e->signature = malloc(len);
    if (!e->signature)
        return ima_fail(ret_error, -ENOMEM, "out of memory");
    memcpy(e->signature, f, len);
    e->signature_len = len;
    return 0;
}

/* ima-ng / ima-sig: the template data with its own length, which the fields must fill exactly. */
static int parse_template_data(struct cursor *c, struct ima_entry *e, char **ret_error)
{
    const uint8_t *data = NULL;
    uint32_t len = 0;
    size_t at = c->off + 4;
    int r = take_field(c, 0, IMA_MAX_TEMPLATE_DATA, &data, &len, "template data", ret_error);
    if (r < 0)
        return r;
    struct cursor d = {data, len, at};
    if ((r = parse_data_ng(&d, e, ret_error)) < 0)
        return r;
    if (d.left)
        return ima_fail(ret_error, -EINVAL, "template data has %zu bytes after its last field, at offset %zu",
                        d.left, d.off);
    return 0;
}

/* The old "ima" template: a bare 20-byte digest and a length-prefixed name without NUL. */
static int parse_data_old(struct cursor *c, struct ima_entry *e, char **ret_error)
{
    const uint8_t *f = NULL;
    uint32_t len = 0;
    int r = take(c, IMA_DIGEST_SIZE, &f, "file hash", ret_error);
    if (r < 0)
        return r;
    memcpy(e->file_hash, f, IMA_DIGEST_SIZE);
    e->file_hash_len = IMA_DIGEST_SIZE;
    strcpy(e->file_hash_alg, "sha1");
    size_t at = c->off + 4;
    r = take_field(c, 0, IMA_OLD_NAME_MAX, &f, &len, "file name", ret_error);
    return r < 0 ? r : set_path(e, f, len, at, ret_error);
}

/* The template name's length. Out of range it is most often a template hash of another size than assumed
 * (a sha256 list read as sha1 puts hash bytes there), so the message says which size was assumed. */
static int take_name_len(struct cursor *c, const struct ima_hash *h, uint32_t *ret_len, char **ret_error)
{
    size_t at = c->off;
    int r = take_u32(c, ret_len, "template name", ret_error);
    if (r == 0 && (*ret_len < 1 || *ret_len > IMA_TEMPLATE_NAME_MAX))
        return ima_fail(
            ret_error, -EINVAL,
            "template name length %u at offset %zu is not 1 to %d: is this a binary list of another "
            "bank (template hash size %u, %s, assumed)?",
            *ret_len, at, IMA_TEMPLATE_NAME_MAX, h->size, eventlog_alg_name(h->alg));
    return r;
}

static int parse_record(struct cursor *c, const struct ima_hash *h, struct ima_entry *e, char **ret_error)
{
    static const uint8_t zero[EVENTLOG_MAX_DIGEST];
    const uint8_t *f = NULL;
    uint32_t len = 0;

    int r = take_u32(c, &e->pcr, "PCR index", ret_error);
    if (r < 0)
        return r;
    if (e->pcr >= EVENTLOG_PCRS)
        return ima_fail(ret_error, -EINVAL, "PCR index %u is not 0 to %d", e->pcr, EVENTLOG_PCRS - 1);
    if ((r = take(c, h->size, &f, "template hash", ret_error)) < 0)
        return r;
    memcpy(e->template_hash, f, h->size);
    e->violation = memcmp(e->template_hash, zero, h->size) == 0;

    if ((r = take_name_len(c, h, &len, ret_error)) < 0 ||
        (r = take(c, len, &f, "template name", ret_error)) < 0)
        return r;
    if (ima_template_from_name((const char *)f, len, &e->template_kind) < 0) {
        char shown[IMA_TEMPLATE_NAME_MAX + 1];
        return ima_fail(ret_error, -EINVAL, "template \"%s\" is not ima, ima-ng or ima-sig",
                        ima_printable(shown, sizeof(shown), (const char *)f, len));
    }

    r = e->template_kind == IMA_TEMPLATE_IMA ? parse_data_old(c, e, ret_error)
                                             : parse_template_data(c, e, ret_error);
    if (r < 0)
        return r;
    r = ima_entry_check(e, h);
    return r < 0 ? ima_fail(ret_error, r, "cannot recompute the template hash") : 0;
}

int ima_parse_binary(const uint8_t *buf, size_t len, uint16_t alg, struct ima_log **ret_log, char **ret_error)
{
    struct ima_entry e = {0};
    struct cursor c = {buf, len, 0};
    struct ima_hash h;
    if (!buf && len)
        return ima_fail(ret_error, -EINVAL, "no buffer");
    int r = ima_hash_init(&h, alg, ret_error);
    if (r < 0)
        return r;
    _cleanup_(ima_log_freep) struct ima_log *log = calloc(1, sizeof(*log));
    if (!log)
        return ima_fail(ret_error, -ENOMEM, "out of memory");
    log->template_hash_alg = alg;

    while (r == 0 && c.left > 0) {
        if (c.left < RECORD_HEADER(h.size)) {
            log->trailing_bytes = c.left;
            break;
        }
        size_t start = c.off;
        if ((r = parse_record(&c, &h, &e, ret_error)) < 0)
            r = eventlog_error_prefix(ret_error, r, "record %zu at offset %zu", log->n_entries + 1, start);
        else
            r = ima_log_append(log, &e, ret_error);
        ima_entry_clear(&e);
    }
    if (r == 0)
        *ret_log = TAKE_PTR(log);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees log; clang-tidy 14 does not model it */
    return r;
}
