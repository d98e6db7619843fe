/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ascii_runtime_measurements: one entry per line, "PCR template-hash template-name field...", the fields
 * separated by single spaces exactly as the kernel prints them (ima_fs.c, ima_ascii_measurements_show):
 *   ima-ng   10 <template hash hex> ima-ng  <alg>:<hex> <name>
 *   ima-sig  10 <template hash hex> ima-sig <alg>:<hex> <name> [<signature hex>]
 *   ima      10 <template hash hex> ima     <hex> <name>
 * The template hash has the size of the list's algorithm (SHA-1 in the classic list).
 * The kernel prints the name as-is, so a name may hold spaces: the fields before it have fixed shapes and
 * the name is the rest of the line, except for ima-sig, whose last field is the signature (printed after a
 * space even when empty). Since the name can also end in something that looks like a signature, ima-sig
 * lines are read every plausible way and the reading whose template hash recomputes is kept.
 */
#include "hex.h"
#include "ima_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct span {
    const char *s;
    size_t n;
};

/* The text up to the next space (or the end); *ret_sep says whether a space ended it and was skipped. */
static struct span cut(const char **p, const char *end, bool *ret_sep)
{
    struct span f = {*p, 0};
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));
    f.n = (size_t)((sp ? sp : end) - *p);
    *p = sp ? sp + 1 : end;
    *ret_sep = sp != NULL;
    return f;
}

static int parse_pcr(struct span f, uint32_t *ret_pcr)
{
    uint32_t v = 0;
    if (f.n == 0 || f.n > 2)
        return -EINVAL;
    for (size_t i = 0; i < f.n; i++) {
        if (f.s[i] < '0' || f.s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint32_t)(f.s[i] - '0');
    }
    if (v >= EVENTLOG_PCRS)
        return -EINVAL;
    *ret_pcr = v;
    return 0;
}

static int set_path(struct ima_entry *e, struct span name, size_t max)
{
    if (name.n > max)
        return -E2BIG;
    char *path = ima_memdup_str(name.s, name.n);
    if (!path)
        return -ENOMEM;
    free(e->path);
    e->path = path;
    return 0;
}

/* "alg:hex" of ima-ng / ima-sig. */
static int parse_digest_ng(struct span f, struct ima_entry *e, char **ret_error)
{
    char shown[32];
    const char *colon = memchr(f.s, ':', f.n);
    if (!colon)
        return ima_fail(ret_error, -EINVAL, "file hash \"%s\" has no \"alg:\" prefix",
                        ima_printable(shown, sizeof(shown), f.s, f.n));
    size_t alg_len = (size_t)(colon - f.s);
    if (!ima_hash_alg_name_ok(f.s, alg_len))
        return ima_fail(ret_error, -EINVAL, "hash algorithm name \"%s\" is not valid",
                        ima_printable(shown, sizeof(shown), f.s, alg_len));
    memcpy(e->file_hash_alg, f.s, alg_len);
    e->file_hash_alg[alg_len] = '\0';

    size_t hex_len = f.n - alg_len - 1, n = 0;
    if (hex_len > 2 * sizeof(e->file_hash))
        return ima_fail(ret_error, -EINVAL, "%s digest is longer than any hash (%zu hex digits)",
                        e->file_hash_alg, hex_len);
    if (hex_decode(colon + 1, hex_len, e->file_hash, sizeof(e->file_hash), &n) < 0)
        return ima_fail(ret_error, -EINVAL, "%s digest is not hex", e->file_hash_alg);
    e->file_hash_len = (uint32_t)n;
    return ima_file_hash_check(e->file_hash_alg, n, e->violation, ret_error);
}

/* The "ima" template's digest: always 20 bytes (SHA-1 or zeros). */
static int parse_digest_old(struct span f, struct ima_entry *e, char **ret_error)
{
    size_t n = 0;
    if (f.n != 2 * IMA_DIGEST_SIZE || hex_decode(f.s, f.n, e->file_hash, sizeof(e->file_hash), &n) < 0)
        return ima_fail(ret_error, -EINVAL, "file hash is not 40 hex digits");
    strcpy(e->file_hash_alg, "sha1");
    e->file_hash_len = IMA_DIGEST_SIZE;
    return 0;
}

static int recompute_failed(char **ret_error, int r)
{
    return ima_fail(ret_error, r, r == -ENOMEM ? "out of memory" : "cannot recompute the template hash");
}

/* One way of reading the tail of an ima-sig line. */
struct sig_reading {
    struct span name;
    struct span sig; /* n == 0: no signature */
};

/* The readings of "<name> [<sig>]" (rest = the text after the digest field's space), most likely first:
 *  - a trailing space: the kernel's form for an empty signature field;
 *  - a last word in hex: the kernel's form with a signature;
 *  - the whole rest as the name: logs whose trailing space was trimmed (the ISecL test data). */
static size_t sig_readings(struct span rest, struct sig_reading out[3])
{
    size_t n = 0;
    if (rest.n > 0 && rest.s[rest.n - 1] == ' ')
        out[n++] = (struct sig_reading){.name = {rest.s, rest.n - 1}};
    const char *sp = memrchr(rest.s, ' ', rest.n);
    if (sp && sp + 1 < rest.s + rest.n) {
        struct span sig = {sp + 1, (size_t)(rest.s + rest.n - (sp + 1))};
        if (sig.n % 2 == 0 && sig.n <= 2 * IMA_MAX_SIG && hex_is_digits(sig.s, sig.n))
            out[n++] = (struct sig_reading){.name = {rest.s, (size_t)(sp - rest.s)}, .sig = sig};
    }
    out[n++] = (struct sig_reading){.name = rest};
    return n;
}

static int apply_sig_reading(struct ima_entry *e, const struct sig_reading *rd)
{
    size_t n = 0;
    int r = set_path(e, rd->name, IMA_MAX_PATH);
    if (r < 0)
        return r;
    free(e->signature);
    e->signature = NULL;
    e->signature_len = 0;
    if (rd->sig.n == 0)
        return 0;
    e->signature = malloc(rd->sig.n / 2);
    if (!e->signature)
        return -ENOMEM;
    r = hex_decode(rd->sig.s, rd->sig.n, e->signature, rd->sig.n / 2, &n);
    e->signature_len = (uint32_t)n;
    return r;
}

static int parse_sig_tail(struct span rest, const struct ima_hash *h, struct ima_entry *e, char **ret_error)
{
    struct sig_reading rd[3];
    size_t n = sig_readings(rest, rd);
    int first_ok = -1;
    for (size_t i = 0; i < n; i++) {
        if (rd[i].name.n > IMA_MAX_PATH)
            continue;
        int r = apply_sig_reading(e, &rd[i]);
        if (r == 0)
            r = ima_entry_check(e, h);
        if (r == -ENOMEM)
            return ima_fail(ret_error, r, "out of memory");
        if (r < 0)
            continue;
        if (e->template_hash_ok && !e->violation)
            return 0;
        if (first_ok < 0)
            first_ok = (int)i;
    }
    if (first_ok < 0)
        return ima_fail(ret_error, -EINVAL, "file name is longer than %d bytes", IMA_MAX_PATH);
    int r = apply_sig_reading(e, &rd[first_ok]);
    if (r == 0)
        r = ima_entry_check(e, h);
    return r < 0 ? recompute_failed(ret_error, r) : 0;
}

static int parse_tail(struct span rest, const struct ima_hash *h, struct ima_entry *e, char **ret_error)
{
    int r;
    switch (e->template_kind) {
    case IMA_TEMPLATE_IMA_SIG: return parse_sig_tail(rest, h, e, ret_error);
    case IMA_TEMPLATE_IMA: r = set_path(e, rest, IMA_OLD_NAME_MAX); break;
    default: r = set_path(e, rest, IMA_MAX_PATH); break;
    }
    if (r == -E2BIG)
        return ima_fail(ret_error, -EINVAL, "file name is longer than %d bytes",
                        e->template_kind == IMA_TEMPLATE_IMA ? IMA_OLD_NAME_MAX : IMA_MAX_PATH);
    if (r == 0)
        r = ima_entry_check(e, h);
    return r < 0 ? recompute_failed(ret_error, r) : 0;
}

/* The template hash: exactly twice the list's digest size in hex digits. */
static int parse_template_hash(struct span f, bool sep, const struct ima_hash *h, struct ima_entry *e,
                               char **ret_error)
{
    static const uint8_t zero[EVENTLOG_MAX_DIGEST];
    size_t n = 0;
    if (!sep || f.n != 2u * h->size || !hex_is_digits(f.s, f.n))
        return ima_fail(
            ret_error, -EINVAL,
            "template hash is not %u hex digits (%zu found): a %s list's template hash has %u bytes%s",
            2u * h->size, f.n, eventlog_alg_name(h->alg), h->size,
            sep && f.n != 2u * h->size && hex_is_digits(f.s, f.n) ? " (a list of another bank?)" : "");
    if (hex_decode(f.s, f.n, e->template_hash, sizeof(e->template_hash), &n) < 0 || n != h->size)
        return ima_fail(ret_error, -EINVAL, "template hash is not hex");
    e->violation = memcmp(e->template_hash, zero, h->size) == 0;
    return 0;
}

/* Fills e from one line (no newline). Messages do not repeat the line number: the caller adds it. */
static int parse_line(const char *line, size_t len, const struct ima_hash *h, struct ima_entry *e,
                      char **ret_error)
{
    const char *p = line, *end = line + len;
    bool sep = false;
    char shown[32];

    struct span f = cut(&p, end, &sep);
    if (!sep || parse_pcr(f, &e->pcr) < 0)
        return ima_fail(ret_error, -EINVAL, "PCR index \"%s\" is not a number from 0 to %d",
                        ima_printable(shown, sizeof(shown), f.s, f.n), EVENTLOG_PCRS - 1);
    f = cut(&p, end, &sep);
    int r = parse_template_hash(f, sep, h, e, ret_error);
    if (r < 0)
        return r;

    f = cut(&p, end, &sep);
    if (ima_template_from_name(f.s, f.n, &e->template_kind) < 0)
        return ima_fail(ret_error, -EINVAL, "template \"%s\" is not ima, ima-ng or ima-sig",
                        ima_printable(shown, sizeof(shown), f.s, f.n));
    if (!sep)
        return ima_fail(ret_error, -EINVAL, "no file hash after the template name");

    f = cut(&p, end, &sep);
    r = e->template_kind == IMA_TEMPLATE_IMA ? parse_digest_old(f, e, ret_error)
                                             : parse_digest_ng(f, e, ret_error);
    if (r < 0)
        return r;
    if (!sep)
        return ima_fail(ret_error, -EINVAL, "no file name after the file hash");
    return parse_tail((struct span){p, (size_t)(end - p)}, h, e, ret_error);
}

int ima_parse_ascii(const char *text, size_t len, uint16_t alg, struct ima_log **ret_log, char **ret_error)
{
    struct ima_entry e = {0};
    struct ima_hash h;
    size_t pos = 0, lineno = 0;
    if (!text && len)
        return ima_fail(ret_error, -EINVAL, "no buffer");
    int r = ima_hash_init(&h, alg, ret_error);
    if (r < 0)
        return r;
    _cleanup_(ima_log_freep) struct ima_log *log = calloc(1, sizeof(*log));
    if (!log)
        return ima_fail(ret_error, -ENOMEM, "out of memory");
    log->template_hash_alg = alg;

    while (r == 0 && pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - line) : len - pos;
        lineno++;
        pos += line_len + (nl ? 1 : 0);
        if (nl == line)
            continue; /* an empty line holds no entry */
        if (line_len > IMA_MAX_LINE)
            r = ima_fail(ret_error, -EINVAL, "line %zu: longer than %d bytes", lineno, IMA_MAX_LINE);
        else if (memchr(line, '\0', line_len))
            r = ima_fail(ret_error, -EINVAL, "line %zu: contains a NUL byte", lineno);
        else if ((r = parse_line(line, line_len, &h, &e, ret_error)) < 0)
            r = eventlog_error_prefix(ret_error, r, "line %zu", lineno);
        else
            r = ima_log_append(log, &e, ret_error);
        ima_entry_clear(&e);
    }
    if (r == 0)
        *ret_log = TAKE_PTR(log);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees log; clang-tidy 14 does not model it */
    return r;
}
