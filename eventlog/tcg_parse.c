/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCG PC Client event log parsing: the first record is a TCG_PCR_EVENT (SHA1 format); if it is the
 * "Spec ID Event03" the rest are crypto-agile TCG_PCR_EVENT2 records whose digest sizes the Spec ID event
 * lists, otherwise every record is a TCG_PCR_EVENT. No length is trusted: each is checked against what is
 * left of the buffer and against the limits before it is used.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV_NO_ACTION 0x3

struct cursor {
    const uint8_t *p;
    size_t left;
    size_t off;
};

static bool take(struct cursor *c, size_t n, const uint8_t **ret)
{
    if (n > c->left)
        return false;
    *ret = c->p;
    c->p += n;
    c->left -= n;
    c->off += n;
    return true;
}

static bool take_u32(struct cursor *c, uint32_t *ret)
{
    const uint8_t *p;
    if (!take(c, 4, &p))
        return false;
    *ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return true;
}

static bool take_u16(struct cursor *c, uint16_t *ret)
{
    const uint8_t *p;
    if (!take(c, 2, &p))
        return false;
    *ret = (uint16_t)(p[0] | p[1] << 8);
    return true;
}

/* Where the padding at the end of the buffer starts: the longest suffix that is all 0x00 or all 0xff (the
 * ACPI log area is LAML bytes long, the events fill only its start). Found once, so that asking "is the rest
 * padding?" before every record costs nothing, however many records there are. */
static size_t padding_start(const uint8_t *p, size_t len)
{
    size_t zeros = len, ones = len;
    while (zeros > 0 && p[zeros - 1] == 0x00)
        zeros--;
    while (ones > 0 && p[ones - 1] == 0xff)
        ones--;
    return zeros < ones ? zeros : ones;
}

static int push_offset(struct eventlog *log, size_t *cap, size_t offset)
{
    if (log->n_events == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        uint32_t *o = realloc(log->offsets, ncap * sizeof(*o));
        if (!o)
            return -ENOMEM;
        log->offsets = o;
        *cap = ncap;
    }
    log->offsets[log->n_events++] = (uint32_t)offset; /* max_log is below 4 GiB */
    return 0;
}

/* The end of the Spec ID Event03 body: vendorInfoSize (u8), then that many bytes, then nothing. Bytes left
 * over would be a body that is not the structure the PFP defines (no corpus log has any). */
static int parse_vendor_info(struct cursor *c, uint32_t len, char **ret_error)
{
    const uint8_t *size, *info;
    if (!take(c, 1, &size))
        return eventlog_fail(ret_error, -EBADMSG,
                             "the Spec ID event (%u bytes of data) ends before its vendorInfoSize byte", len);
    if (!take(c, *size, &info))
        return eventlog_fail(
            ret_error, -EBADMSG,
            "the Spec ID event's vendorInfoSize is %u but only %zu bytes of its data are left", *size,
            c->left);
    if (c->left > 0)
        return eventlog_fail(ret_error, -EBADMSG,
                             "the Spec ID event has %zu bytes after its vendorInfo (its data size is %u)",
                             c->left, len);
    return 0;
}

/* The Spec ID Event03 body: algorithm table with the digest size of every algorithm the log uses. */
static int parse_spec_id(struct eventlog *log, const uint8_t *data, uint32_t len, char **ret_error)
{
    struct cursor c = {data, len, 0};
    const uint8_t *skip;
    uint32_t n;
    if (!take(&c, 16 + 4 + 4, &skip) || !take_u32(&c, &n))
        return eventlog_fail(ret_error, -EBADMSG, "the Spec ID event is too short (%u bytes)", len);
    if (n == 0 || n > EVENTLOG_MAX_BANKS)
        return eventlog_fail(ret_error, -EBADMSG,
                             "the Spec ID event lists %u algorithms; 1 to %d are possible", n,
                             EVENTLOG_MAX_BANKS);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t alg, size;
        if (!take_u16(&c, &alg) || !take_u16(&c, &size))
            return eventlog_fail(ret_error, -EBADMSG, "the Spec ID event's algorithm table is cut off");
        if (size == 0 || size > EVENTLOG_MAX_DIGEST)
            return eventlog_fail(ret_error, -EBADMSG,
                                 "the Spec ID event gives algorithm 0x%04x a digest size of %u", alg, size);
        size_t known = eventlog_alg_size(alg);
        if (known && known != size)
            return eventlog_fail(ret_error, -EBADMSG,
                                 "the Spec ID event gives %s a digest size of %u instead of %zu",
                                 eventlog_alg_name(alg), size, known);
        log->algs[i].alg = alg;
        log->algs[i].size = size;
    }
    log->n_algs = n;
    return parse_vendor_info(&c, len, ret_error);
}

static int alg_size(const struct eventlog *log, uint16_t alg)
{
    for (uint32_t i = 0; i < log->n_algs; i++)
        if (log->algs[i].alg == alg)
            return log->algs[i].size;
    return -1;
}

/* The event data whose size was just read: within the limit and within what is left. */
static int take_event_data(struct cursor *c, const struct eventlog_limits *lim, struct eventlog_event *ev,
                           size_t index, size_t start, char **ret_error)
{
    if (ev->data_len > lim->max_event)
        return eventlog_fail(ret_error, -EFBIG,
                             "event %zu at offset 0x%zx has %u bytes of data; the limit is %zu", index, start,
                             ev->data_len, lim->max_event);
    if (!take(c, ev->data_len, &ev->data))
        return eventlog_fail(
            ret_error, -EBADMSG,
            "event %zu at offset 0x%zx: its %u bytes of data run past the end of the log (%zu left)", index,
            start, ev->data_len, c->left);
    return 0;
}

/* A TCG_PCR_EVENT (SHA1 format). */
static int parse_sha1_event(struct cursor *c, const struct eventlog_limits *lim, struct eventlog_event *ev,
                            size_t index, char **ret_error)
{
    const uint8_t *digest;
    size_t start = c->off;
    if (!take_u32(c, &ev->pcr) || !take_u32(c, &ev->type) || !take(c, 20, &digest) ||
        !take_u32(c, &ev->data_len))
        return eventlog_fail(ret_error, -EBADMSG, "event %zu at offset 0x%zx is cut off in its header", index,
                             start);
    ev->n_digests = 1;
    ev->digests[0] = (struct eventlog_digest){EVENTLOG_ALG_SHA1, 20, digest};
    ev->offset = start;
    return take_event_data(c, lim, ev, index, start, ret_error);
}

/* A TCG_PCR_EVENT2 (crypto-agile). */
static int parse_agile_event(const struct eventlog *log, struct cursor *c, const struct eventlog_limits *lim,
                             struct eventlog_event *ev, size_t index, char **ret_error)
{
    size_t start = c->off;
    if (!take_u32(c, &ev->pcr) || !take_u32(c, &ev->type) || !take_u32(c, &ev->n_digests))
        return eventlog_fail(ret_error, -EBADMSG, "event %zu at offset 0x%zx is cut off in its header", index,
                             start);
    ev->offset = start;
    if (ev->n_digests == 0 || ev->n_digests > log->n_algs)
        return eventlog_fail(ret_error, -EBADMSG,
                             "event %zu at offset 0x%zx has %u digests; the Spec ID event allows 1 to %u",
                             index, start, ev->n_digests, log->n_algs);
    for (uint32_t i = 0; i < ev->n_digests; i++) {
        uint16_t alg;
        if (!take_u16(c, &alg))
            return eventlog_fail(ret_error, -EBADMSG, "event %zu at offset 0x%zx is cut off in its digests",
                                 index, start);
        int size = alg_size(log, alg);
        if (size < 0)
            return eventlog_fail(
                ret_error, -EBADMSG,
                "event %zu at offset 0x%zx has a digest of algorithm 0x%04x, which the Spec ID event does "
                "not list",
                index, start, alg);
        ev->digests[i].alg = alg;
        ev->digests[i].size = (uint16_t)size;
        if (!take(c, (size_t)size, &ev->digests[i].value))
            return eventlog_fail(ret_error, -EBADMSG, "event %zu at offset 0x%zx is cut off in its digests",
                                 index, start);
    }
    if (!take_u32(c, &ev->data_len))
        return eventlog_fail(ret_error, -EBADMSG, "event %zu at offset 0x%zx is cut off before its data size",
                             index, start);
    return take_event_data(c, lim, ev, index, start, ret_error);
}

static uint32_t peek_u32(const struct cursor *c)
{
    return (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
}

/* The record number in the file, as errors name it: the Spec ID event is record 0 of a crypto-agile log; a
 * SHA1-format log has no header, its first event is record 0. */
static size_t record_number(const struct eventlog *log)
{
    return log->n_events + (log->format == EVENTLOG_FORMAT_CRYPTO_AGILE);
}

static int parse_record(const struct eventlog *log, struct cursor *c, const struct eventlog_limits *lim,
                        struct eventlog_event *ev, char **ret_error)
{
    size_t index = record_number(log);
    return log->format == EVENTLOG_FORMAT_CRYPTO_AGILE ? parse_agile_event(log, c, lim, ev, index, ret_error)
                                                       : parse_sha1_event(c, lim, ev, index, ret_error);
}

/* A PCR index no event may have. One corrupted byte must not silently drop every later event (a "stop at the
 * first PCR index > 23" rule would), so this fails the whole log: a replay from a prefix would not match the
 * TPM anyway, and an error says where the log went wrong. */
static int bad_pcr_index(const struct eventlog *log, const struct cursor *c, uint32_t pcr, char **ret_error)
{
    return eventlog_fail(
        ret_error, -EBADMSG,
        "event %zu at offset 0x%zx: PCR index %u is not 0..23 (only a final EV_NO_ACTION may "
        "name PCR 0xffffffff); the log is corrupt from here",
        record_number(log), c->off, pcr);
}

/* The record naming PCR 0xffffffff (Windows ends its logs with one): an EV_NO_ACTION, parsed in full, which
 * ends the log: only padding may follow. It is no event (eventlog_event() gives events of PCRs 0..23 only);
 * eventlog_final_record() reads it. */
static int parse_final_record(struct eventlog *log, struct cursor *c, const struct eventlog_limits *lim,
                              size_t pad_start, char **ret_error)
{
    struct eventlog_event ev = {0};
    size_t start = c->off;
    int r = parse_record(log, c, lim, &ev, ret_error);
    if (r < 0)
        return r;
    if (ev.type != EV_NO_ACTION)
        return eventlog_fail(ret_error, -EBADMSG,
                             "event %zu at offset 0x%zx names PCR 0xffffffff but is of type 0x%x, not "
                             "EV_NO_ACTION; the log is corrupt from here",
                             record_number(log), start, ev.type);
    if (c->off < pad_start)
        return eventlog_fail(ret_error, -EBADMSG,
                             "event %zu at offset 0x%zx is the final EV_NO_ACTION (PCR 0xffffffff), but the "
                             "%zu bytes after it at offset 0x%zx are not padding (all 0x00 or all 0xff)",
                             record_number(log), start, c->left, c->off);
    log->has_final = true;
    log->final_offset = start;
    return 0;
}

/* Records until the buffer ends or only padding is left, or up to the final PCR 0xffffffff record. */
static int parse_events(struct eventlog *log, struct cursor *c, const struct eventlog_limits *lim,
                        size_t *cap, char **ret_error)
{
    size_t pad_start = padding_start(log->buf, log->len);
    int r = 0;
    while (r == 0 && c->off < pad_start && !log->has_final) {
        uint32_t pcr = c->left >= 4 ? peek_u32(c) : 0; /* fewer than 4 bytes: the record is cut off */
        if (pcr == UINT32_MAX) {
            r = parse_final_record(log, c, lim, pad_start, ret_error);
            continue;
        }
        if (pcr >= EVENTLOG_PCRS)
            return bad_pcr_index(log, c, pcr, ret_error);
        struct eventlog_event ev = {0};
        r = parse_record(log, c, lim, &ev, ret_error);
        if (r == 0 && push_offset(log, cap, ev.offset) < 0)
            return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    }
    log->end = c->off;
    log->trailing_bytes = c->left > 0;
    return r;
}

/* Parses buf, which the new log takes over (freed on failure too). */
static int parse_owned(uint8_t *buf, size_t len, const struct eventlog_limits *lim, struct eventlog **ret_log,
                       char **ret_error)
{
    struct eventlog *log = calloc(1, sizeof(*log));
    if (!log) {
        free(buf);
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    }
    log->buf = buf;
    log->len = len;

    struct cursor c = {log->buf, len, 0};
    struct eventlog_event first = {0};
    size_t cap = 0;
    int r = parse_sha1_event(&c, lim, &first, 0, ret_error);
    static const char spec_id[] = "Spec ID Event03";
    if (r == 0 && first.type == EV_NO_ACTION && first.data_len >= sizeof(spec_id) &&
        memcmp(first.data, spec_id, sizeof(spec_id)) == 0) {
        log->format = EVENTLOG_FORMAT_CRYPTO_AGILE;
        r = parse_spec_id(log, first.data, first.data_len, ret_error);
    } else if (r == 0 && first.pcr >= EVENTLOG_PCRS) {
        r = eventlog_fail(ret_error, -EBADMSG, "this is not a TCG event log: its first record names PCR %u",
                          first.pcr);
    } else if (r == 0) {
        /* SHA1 format: the first record is an ordinary event (a TCG 1.2 "Spec ID Event00" is EV_NO_ACTION
         * and replays to nothing). */
        log->format = EVENTLOG_FORMAT_SHA1;
        log->n_algs = 1;
        log->algs[0].alg = EVENTLOG_ALG_SHA1;
        log->algs[0].size = 20;
        if ((r = push_offset(log, &cap, 0)) < 0)
            eventlog_set_error(ret_error, "out of memory");
    }
    if (r == 0)
        r = parse_events(log, &c, lim, &cap, ret_error);
    if (r < 0) {
        eventlog_free(log);
        return r;
    }
    *ret_log = log;
    return 0;
}

static struct eventlog_limits limits_or_default(const struct eventlog_limits *limits)
{
    struct eventlog_limits lim = limits ? *limits : EVENTLOG_LIMITS_DEFAULT;
    if (lim.max_log > UINT32_MAX)
        lim.max_log = UINT32_MAX; /* event offsets are kept in 32 bits */
    return lim;
}

int eventlog_parse(const uint8_t *buf, size_t len, const struct eventlog_limits *limits,
                   struct eventlog **ret_log, char **ret_error)
{
    struct eventlog_limits lim = limits_or_default(limits);
    if (ret_error)
        *ret_error = NULL;
    if (len == 0)
        return eventlog_fail(ret_error, -ENODATA, "the event log is empty");
    if (len > lim.max_log)
        return eventlog_fail(ret_error, -EFBIG, "the event log is %zu bytes; the limit is %zu", len,
                             lim.max_log);
    uint8_t *copy = malloc(len);
    if (!copy)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    memcpy(copy, buf, len);
    return parse_owned(copy, len, &lim, ret_log, ret_error);
}

/* The record at off of a parsed log. Parsing already checked it: decoding it again cannot fail. */
static void decode_at(const struct eventlog *log, size_t off, struct eventlog_event *ret)
{
    struct eventlog_limits lim = {.max_log = log->len, .max_event = log->len};
    struct cursor c = {log->buf + off, log->len - off, off};
    memset(ret, 0, sizeof(*ret));
    if (log->format == EVENTLOG_FORMAT_CRYPTO_AGILE)
        parse_agile_event(log, &c, &lim, ret, 0, NULL);
    else
        parse_sha1_event(&c, &lim, ret, 0, NULL);
}

void eventlog_event(const struct eventlog *log, size_t i, struct eventlog_event *ret)
{
    decode_at(log, log->offsets[i], ret);
}

bool eventlog_final_record(const struct eventlog *log, struct eventlog_event *ret)
{
    if (log->has_final)
        decode_at(log, log->final_offset, ret);
    else
        memset(ret, 0, sizeof(*ret));
    return log->has_final;
}

void eventlog_free(struct eventlog *log)
{
    if (!log)
        return;
    free(log->offsets);
    free(log->buf);
    free(log);
}

int eventlog_load(const char *path, const struct eventlog_limits *limits, struct eventlog **ret_log,
                  char **ret_error)
{
    struct eventlog_limits lim = limits_or_default(limits);
    if (ret_error)
        *ret_error = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return eventlog_fail(ret_error, -errno, "%s: cannot open: %s", path, strerror(errno));

    /* A regular file's size is known: allocate it once. securityfs reports 0 for binary_bios_measurements:
     * read until EOF, growing, never past the limit. */
    struct stat st;
    size_t cap =
        fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
    if (cap > lim.max_log + 1)
        cap = lim.max_log + 1;
    size_t len = 0;
    uint8_t *buf = malloc(cap);
    int r = buf ? 0 : -ENOMEM;
    while (r == 0) {
        if (len == cap) {
            if (cap > lim.max_log) {
                r = eventlog_fail(ret_error, -EFBIG, "%s: larger than the event log limit of %zu bytes", path,
                                  lim.max_log);
                break;
            }
            uint8_t *b = realloc(buf, cap * 2);
            if (!b) {
                r = -ENOMEM;
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = eventlog_fail(ret_error, -errno, "%s: read error: %s", path, strerror(errno));
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (r == 0 && len == 0)
        r = eventlog_fail(ret_error, -ENODATA, "%s: the event log is empty", path);
    if (r < 0) {
        if (r == -ENOMEM)
            eventlog_set_error(ret_error, "out of memory");
        free(buf);
        return r;
    }
    r = parse_owned(buf, len, &lim, ret_log, ret_error);
    return r < 0 ? eventlog_error_prefix(ret_error, r, "%s", path) : r;
}
