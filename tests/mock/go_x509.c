/* SPDX-License-Identifier: BSD-3-Clause */
/* Go's crypto/x509.ParseCertificate verdict; see go_x509.h. Error texts are Go's, word for word. */
#include "go_x509.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

/* ---- a DER reader with the rules of Go's cryptobyte.String ---- */

struct der {
    const uint8_t *p;
    size_t n;
};

enum {
    TAG_BOOLEAN = 0x01,
    TAG_INTEGER = 0x02,
    TAG_BIT_STRING = 0x03,
    TAG_OCTET_STRING = 0x04,
    TAG_OID = 0x06,
    TAG_UTF8STRING = 0x0c,
    TAG_NUMERICSTRING = 0x12,
    TAG_PRINTABLESTRING = 0x13,
    TAG_T61STRING = 0x14,
    TAG_IA5STRING = 0x16,
    TAG_UTCTIME = 0x17,
    TAG_GENERALIZEDTIME = 0x18,
    TAG_BMPSTRING = 0x1e,
    TAG_SEQUENCE = 0x30,
    TAG_SET = 0x31,
};
#define CTX(n)  ((uint8_t)(0x80 | (n)))        /* [n] primitive */
#define CTXC(n) ((uint8_t)(0x80 | 0x20 | (n))) /* [n] constructed */

static bool der_empty(const struct der *s)
{
    return s->n == 0;
}

/* One element: definite DER lengths only (minimal, at most 4 length octets), tag numbers below 31. When out
 * is s itself, s becomes the element, as Go's s.ReadASN1(&s, ...) does. */
static bool der_read_any(struct der *s, struct der *out, uint8_t *ret_tag, bool with_header)
{
    size_t hdr, len;

    if (s->n < 2 || (s->p[0] & 0x1f) == 0x1f)
        return false;
    if (!(s->p[1] & 0x80)) {
        hdr = 2;
        len = s->p[1];
    } else {
        size_t ll = s->p[1] & 0x7f;
        uint32_t v = 0;

        if (ll == 0 || ll > 4 || s->n < 2 + ll)
            return false;
        for (size_t i = 0; i < ll; i++)
            v = v << 8 | s->p[2 + i];
        if (v < 128 || (v >> ((ll - 1) * 8)) == 0) /* short form was possible; a leading zero octet */
            return false;
        hdr = 2 + ll;
        len = v;
    }
    if (len > s->n - hdr)
        return false;
    if (ret_tag)
        *ret_tag = s->p[0];
    struct der elem = {with_header ? s->p : s->p + hdr, with_header ? hdr + len : len};
    s->p += hdr + len;
    s->n -= hdr + len;
    *out = elem;
    return true;
}

static bool der_read(struct der *s, struct der *out, uint8_t tag)
{
    uint8_t t;
    return der_read_any(s, out, &t, false) && t == tag;
}

static bool der_read_element(struct der *s, struct der *out, uint8_t tag)
{
    uint8_t t;
    return der_read_any(s, out, &t, true) && t == tag;
}

static bool der_peek(const struct der *s, uint8_t tag)
{
    return s->n > 0 && s->p[0] == tag;
}

static bool der_read_optional(struct der *s, struct der *out, bool *ret_present, uint8_t tag)
{
    bool present = der_peek(s, tag);

    if (ret_present)
        *ret_present = present;
    return !present || der_read(s, out, tag);
}

static bool der_skip_optional(struct der *s, uint8_t tag)
{
    struct der unused;
    return !der_peek(s, tag) || der_read(s, &unused, tag);
}

static bool der_read_bool(struct der *s, bool *out)
{
    struct der v;

    if (!der_read(s, &v, TAG_BOOLEAN) || v.n != 1 || (v.p[0] != 0 && v.p[0] != 0xff))
        return false;
    *out = v.p[0] == 0xff;
    return true;
}

/* Go's checkASN1Integer: at least one octet, minimal. */
static bool int_minimal(const struct der *v)
{
    if (v->n == 0)
        return false;
    if (v->n == 1)
        return true;
    return !((v->p[0] == 0 && !(v->p[1] & 0x80)) || (v->p[0] == 0xff && (v->p[1] & 0x80)));
}

static bool der_read_bigint(struct der *s, struct der *out)
{
    return der_read(s, out, TAG_INTEGER) && int_minimal(out);
}

static bool der_read_int64(struct der *s, int64_t *out)
{
    struct der v;
    uint64_t u = 0;

    if (!der_read_bigint(s, &v) || v.n > 8)
        return false;
    for (size_t i = 0; i < v.n; i++)
        u = u << 8 | v.p[i];
    if (v.n < 8 && (v.p[0] & 0x80)) /* sign-extend */
        u |= ~(uint64_t)0 << (8 * v.n);
    *out = (int64_t)u;
    return true;
}

static int bigint_sign(const struct der *v)
{
    if (v->p[0] & 0x80)
        return -1;
    for (size_t i = 0; i < v->n; i++)
        if (v->p[i])
            return 1;
    return 0;
}

/* Go's readBase128Int: at most 5 octets and below 2^31 (the same on every architecture). */
static bool base128(struct der *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; s->n > 0; i++) {
        if (i == 5 || v >= 1u << (31 - 7))
            return false;
        uint8_t b = s->p[0];
        s->p++;
        s->n--;
        v = v << 7 | (b & 0x7f);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Walks an OBJECT IDENTIFIER's contents component by component (the first octet makes two). */
struct oid_iter {
    struct der rest;
    unsigned pending; /* second component of the first octet */
    int state;        /* 0: first, 1: second pending, 2: rest */
};

static bool oid_next(struct oid_iter *it, unsigned *out, bool *ret_done)
{
    unsigned v;

    *ret_done = false;
    if (it->state == 1) {
        it->state = 2;
        *out = it->pending;
        return true;
    }
    if (der_empty(&it->rest)) {
        *ret_done = true;
        return it->state == 2;
    }
    if (!base128(&it->rest, &v))
        return false;
    if (it->state == 0) {
        it->state = 1;
        *out = v < 80 ? v / 40 : 2;
        it->pending = v < 80 ? v % 40 : v - 80;
        return true;
    }
    *out = v;
    return true;
}

static bool oid_valid(struct der content)
{
    struct oid_iter it = {content, 0, 0};
    unsigned v;
    bool done = false;

    if (content.n == 0)
        return false;
    while (!done)
        if (!oid_next(&it, &v, &done))
            return false;
    return true;
}

static bool der_read_oid(struct der *s, struct der *out)
{
    return der_read(s, out, TAG_OID) && oid_valid(*out);
}

/* Same components (Go compares ObjectIdentifier values and their String()s, not the octets). */
static bool oid_equal(struct der a, struct der b)
{
    struct oid_iter ia = {a, 0, 0}, ib = {b, 0, 0};
    bool da = false, db = false;
    unsigned va = 0, vb = 0;

    for (;;) {
        if (!oid_next(&ia, &va, &da) || !oid_next(&ib, &vb, &db))
            return false;
        if (da || db)
            return da && db;
        if (va != vb)
            return false;
    }
}

static bool oid_is(struct der oid, const unsigned *comps, size_t n)
{
    struct oid_iter it = {oid, 0, 0};
    bool done = false;
    unsigned v;

    for (size_t i = 0; i < n; i++)
        if (!oid_next(&it, &v, &done) || done || v != comps[i])
            return false;
    return oid_next(&it, &v, &done) && done;
}

static void oid_text(struct der oid, char *out, size_t cap)
{
    struct oid_iter it = {oid, 0, 0};
    bool done = false;
    size_t len = 0;
    unsigned v;

    out[0] = '\0';
    while (len + 12 < cap && oid_next(&it, &v, &done) && !done)
        len += (size_t)snprintf(out + len, cap - len, "%s%u", len ? "." : "", v);
}

/* Go's ReadASN1BitString: padding < 8, zero when there are no bits, and the padding bits themselves zero. */
static bool der_read_bitstring(struct der *s, struct der *ret_bytes, unsigned *ret_pad)
{
    struct der v;

    if (!der_read(s, &v, TAG_BIT_STRING) || v.n == 0)
        return false;
    unsigned pad = v.p[0];
    if (pad > 7 || (v.n == 1 && pad != 0) || (v.n > 1 && (v.p[v.n - 1] & ((1u << pad) - 1))))
        return false;
    ret_bytes->p = v.p + 1;
    ret_bytes->n = v.n - 1;
    *ret_pad = pad;
    return true;
}

/* ---- error text ---- */

struct ctx {
    char *err;
    size_t err_len;
    int go_minor;
};

__attribute__((format(printf, 2, 3))) static int go_failf(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    /* ap is started right above: clang-tidy 14's valist checker reports this without a path, a false alarm */
    vsnprintf(c->err, c->err_len, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    return -EBADMSG;
}

/* Most of Go's texts are fixed: a plain function for those. */
static int go_fail(struct ctx *c, const char *msg)
{
    snprintf(c->err, c->err_len, "%s", msg);
    return -EBADMSG;
}

/* Length of the UTF-8 sequence at p (0: invalid), as Go's decoder sees it. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *ret_rune)
{
    uint32_t r;
    size_t len;

    if (p[0] < 0x80) {
        *ret_rune = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        r = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        r = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        r = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        r = r << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && (r < 0x800 || (r >= 0xd800 && r <= 0xdfff))) ||
        (len == 4 && (r < 0x10000 || r > 0x10ffff)))
        return 0;
    *ret_rune = r;
    return len;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    uint32_t r;

    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_seq(p + i, n - i, &r)))
            return false;
    return true;
}

/* strconv.Quote for the bytes given. Non-ASCII runes count as printable except the C1 controls and a few
 * format and space characters (Go consults the full Unicode tables; these texts only name bad input). */
static const char *go_quote(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t len = 0;

#define PUT(...)                                                                                             \
    do {                                                                                                     \
        if (len < cap)                                                                                       \
            len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__);                                      \
    } while (0)
    PUT("\"");
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t r = 0;

        k = utf8_seq(p + i, n - i, &r);
        if (!k) {
            PUT("\\x%02x", p[i]);
            k = 1;
        } else if (r == '"' || r == '\\') {
            PUT("\\%c", (char)r);
        } else if (r >= 0x20 && r < 0x7f) {
            PUT("%c", (char)r);
        } else if (r < 0x80) {
            const char *esc = r == '\a'   ? "\\a"
                              : r == '\b' ? "\\b"
                              : r == '\f' ? "\\f"
                              : r == '\n' ? "\\n"
                              : r == '\r' ? "\\r"
                              : r == '\t' ? "\\t"
                              : r == '\v' ? "\\v"
                                          : NULL;
            if (esc)
                PUT("%s", esc);
            else
                PUT("\\x%02x", (unsigned)r);
        } else if ((r >= 0x80 && r <= 0xa0) || r == 0xad || r == 0x2028 || r == 0x2029 || r == 0xfeff) {
            PUT("\\u%04x", (unsigned)r);
        } else {
            PUT("%.*s", (int)k, (const char *)p + i);
        }
    }
    PUT("\"");
#undef PUT
    if (len >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
    return out;
}

/* ---- strings, names, times ---- */

static bool printable(uint8_t b) /* Go x509's isPrintable: PrintableString plus '*' and '&' */
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
           (b >= '\'' && b <= ')') || (b >= '+' && b <= '/') || b == ' ' || b == ':' || b == '=' ||
           b == '?' || b == '*' || b == '&';
}

static bool ia5(const uint8_t *p, size_t n) /* isIA5String: every rune ASCII, i.e. every octet */
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80)
            return false;
    return true;
}

/* parseASN1String; the value as UTF-8 (BMPString converted) into out when out is not NULL. */
static bool asn1_string(uint8_t tag, struct der v, char *out, size_t cap, char *why, size_t why_len)
{
    size_t len = 0;

    switch (tag) {
    case TAG_T61STRING: break;
    case TAG_PRINTABLESTRING:
        for (size_t i = 0; i < v.n; i++)
            if (!printable(v.p[i])) {
                snprintf(why, why_len, "invalid PrintableString");
                return false;
            }
        break;
    case TAG_UTF8STRING:
        if (!utf8_valid(v.p, v.n)) {
            snprintf(why, why_len, "invalid UTF-8 string");
            return false;
        }
        break;
    case TAG_BMPSTRING:
        if (v.n % 2) {
            snprintf(why, why_len, "invalid BMPString");
            return false;
        }
        if (v.n >= 2 && !v.p[v.n - 1] && !v.p[v.n - 2])
            v.n -= 2; /* a terminator */
        for (size_t i = 0; out && i + 1 < v.n; i += 2) {
            uint32_t r = (uint32_t)v.p[i] << 8 | v.p[i + 1];
            if (r >= 0xd800 && r < 0xdc00 && i + 3 < v.n) {
                uint32_t lo = (uint32_t)v.p[i + 2] << 8 | v.p[i + 3];
                if (lo >= 0xdc00 && lo < 0xe000) {
                    r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
                    i += 2;
                }
            }
            if (r >= 0xd800 && r < 0xe000)
                r = 0xfffd;
            char enc[5] = "";
            if (r < 0x80)
                enc[0] = (char)r;
            else if (r < 0x800)
                snprintf(enc, sizeof(enc), "%c%c", 0xc0 | r >> 6, 0x80 | (r & 0x3f));
            else if (r < 0x10000)
                snprintf(enc, sizeof(enc), "%c%c%c", 0xe0 | r >> 12, 0x80 | (r >> 6 & 0x3f),
                         0x80 | (r & 0x3f));
            else
                snprintf(enc, sizeof(enc), "%c%c%c%c", 0xf0 | r >> 18, 0x80 | (r >> 12 & 0x3f),
                         0x80 | (r >> 6 & 0x3f), 0x80 | (r & 0x3f));
            for (const char *e = enc; *e && len + 1 < cap; e++)
                out[len++] = *e;
        }
        if (out && cap)
            out[len < cap ? len : cap - 1] = '\0';
        return true;
    case TAG_IA5STRING:
        if (!ia5(v.p, v.n)) {
            snprintf(why, why_len, "invalid IA5String");
            return false;
        }
        break;
    case TAG_NUMERICSTRING:
        for (size_t i = 0; i < v.n; i++)
            if (!((v.p[i] >= '0' && v.p[i] <= '9') || v.p[i] == ' ')) {
                snprintf(why, why_len, "invalid NumericString");
                return false;
            }
        break;
    default: snprintf(why, why_len, "unsupported string type: %u", tag); return false;
    }
    if (out && cap) {
        len = v.n < cap - 1 ? v.n : cap - 1;
        memcpy(out, v.p, len);
        out[len] = '\0';
    }
    return true;
}

static const unsigned OID_CN[] = {2, 5, 4, 3};

/* parseName + FillFromRDNSequence's CommonName (the last CN wins). */
static int parse_name(struct ctx *c, struct der raw, char *cn, size_t cn_cap)
{
    if (!der_read(&raw, &raw, TAG_SEQUENCE))
        return go_fail(c, "x509: invalid RDNSequence");
    cn[0] = '\0';
    while (!der_empty(&raw)) {
        struct der set;

        if (!der_read(&raw, &set, TAG_SET))
            return go_fail(c, "x509: invalid RDNSequence");
        while (!der_empty(&set)) {
            struct der atav, type, value;
            uint8_t tag;
            char why[64], text[256];

            if (!der_read(&set, &atav, TAG_SEQUENCE))
                return go_fail(c, "x509: invalid RDNSequence: invalid attribute");
            if (!der_read_oid(&atav, &type))
                return go_fail(c, "x509: invalid RDNSequence: invalid attribute type");
            if (!der_read_any(&atav, &value, &tag, false))
                return go_fail(c, "x509: invalid RDNSequence: invalid attribute value");
            if (!asn1_string(tag, value, text, sizeof(text), why, sizeof(why)))
                return go_failf(c, "x509: invalid RDNSequence: invalid attribute value: %s", why);
            if (oid_is(type, OID_CN, 4))
                snprintf(cn, cn_cap, "%s", text);
        }
    }
    return 0;
}

static bool digits(const uint8_t *p, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* time.Parse with layout 0601021504[05]Z0700 or 20060102150405Z0700, then the round trip Go's cryptobyte
 * demands (res.Format(layout) == text): so exactly the canonical text is accepted. */
static bool go_time(const uint8_t *p, size_t n, bool utc, bool with_seconds, int64_t *out)
{
    size_t ylen = utc ? 2 : 4, fixed = ylen + 8 + (with_seconds ? 2 : 0);
    int year, mon, day, hour, min, sec = 0, off = 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (n < fixed + 1 || !digits(p, ylen, &year) || !digits(p + ylen, 2, &mon) ||
        !digits(p + ylen + 2, 2, &day) || !digits(p + ylen + 4, 2, &hour) || !digits(p + ylen + 6, 2, &min) ||
        (with_seconds && !digits(p + ylen + 8, 2, &sec)))
        return false;
    if (utc)
        year += year >= 69 ? 1900 : 2000;
    if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] + (mon == 2 && leap(year)) || hour > 23 ||
        min > 59 || sec > 59)
        return false;
    const uint8_t *z = p + fixed;
    size_t zn = n - fixed;
    if (zn == 1 && z[0] == 'Z') {
        off = 0;
    } else {
        int hh, mm;
        if (zn != 5 || (z[0] != '+' && z[0] != '-') || !digits(z + 1, 2, &hh) || !digits(z + 3, 2, &mm) ||
            hh > 24 || mm > 59 || (hh == 0 && mm == 0))
            return false;
        off = (z[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    }
    if (utc && year >= 2050)
        year -= 100; /* RFC 5280: UTCTime 50-99 are 1950-1999 */
    *out = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - off;
    return true;
}

static int parse_time(struct ctx *c, struct der *s, int64_t *out)
{
    struct der v;

    if (der_peek(s, TAG_UTCTIME)) {
        if (!der_read(s, &v, TAG_UTCTIME) ||
            !(go_time(v.p, v.n, true, true, out) || go_time(v.p, v.n, true, false, out)))
            return go_fail(c, "x509: malformed UTCTime");
    } else if (der_peek(s, TAG_GENERALIZEDTIME)) {
        if (!der_read(s, &v, TAG_GENERALIZEDTIME) || !go_time(v.p, v.n, false, true, out))
            return go_fail(c, "x509: malformed GeneralizedTime");
    } else {
        return go_fail(c, "x509: unsupported time format");
    }
    return 0;
}

/* ---- algorithm identifiers and keys ---- */

struct algo_id {
    struct der oid;
    struct der params; /* whole element; n == 0 when absent */
};

static int parse_ai(struct ctx *c, struct der s, struct algo_id *ai)
{
    uint8_t tag;

    memset(ai, 0, sizeof(*ai));
    if (!der_read_oid(&s, &ai->oid))
        return go_fail(c, "x509: malformed OID");
    if (!der_empty(&s) && !der_read_any(&s, &ai->params, &tag, true))
        return go_fail(c, "x509: malformed parameters");
    return 0;
}

static const unsigned OID_RSA[] = {1, 2, 840, 113549, 1, 1, 1}, OID_DSA[] = {1, 2, 840, 10040, 4, 1},
                      OID_ECDSA[] = {1, 2, 840, 10045, 2, 1}, OID_ED25519[] = {1, 3, 101, 112};

static enum go_pubkey_algo pubkey_algo(struct der oid)
{
    return oid_is(oid, OID_RSA, 7)       ? GO_PUBKEY_RSA
           : oid_is(oid, OID_DSA, 6)     ? GO_PUBKEY_DSA
           : oid_is(oid, OID_ECDSA, 6)   ? GO_PUBKEY_ECDSA
           : oid_is(oid, OID_ED25519, 4) ? GO_PUBKEY_ED25519
                                         : GO_PUBKEY_UNKNOWN;
}

static int ec_curve_nid(struct der params)
{
    static const unsigned p224[] = {1, 3, 132, 0, 33}, p256[] = {1, 2, 840, 10045, 3, 1, 7},
                          p384[] = {1, 3, 132, 0, 34}, p521[] = {1, 3, 132, 0, 35};
    struct der oid;

    if (!der_read_oid(&params, &oid))
        return -1;
    return oid_is(oid, p224, 5)   ? NID_secp224r1
           : oid_is(oid, p256, 7) ? NID_X9_62_prime256v1
           : oid_is(oid, p384, 5) ? NID_secp384r1
           : oid_is(oid, p521, 5) ? NID_secp521r1
                                  : 0;
}

/* elliptic.Unmarshal: the uncompressed form only, a point on the curve with coordinates below p. */
static bool ec_point_ok(int nid, struct der key)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    bool ok = false;

    if (point) {
        size_t byte_len = ((size_t)EC_GROUP_get_degree(group) + 7) / 8;
        ok = key.n == 1 + 2 * byte_len && key.p[0] == 4 &&
             EC_POINT_oct2point(group, point, key.p, key.n, NULL) == 1 &&
             EC_POINT_is_on_curve(group, point, NULL) == 1;
    }
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ok;
}

static int parse_public_key(struct ctx *c, const struct algo_id *ai, struct der bits, unsigned pad,
                            struct go_x509_cert *cert)
{
    static const uint8_t null_params[] = {0x05, 0x00};
    uint8_t *aligned = NULL;
    struct der key = bits;
    int r = 0;

    /* BitString.RightAlign */
    if (pad && bits.n) {
        aligned = malloc(bits.n);
        if (!aligned)
            return -ENOMEM;
        aligned[0] = bits.p[0] >> pad;
        for (size_t i = 1; i < bits.n; i++)
            aligned[i] = (uint8_t)(bits.p[i - 1] << (8 - pad) | bits.p[i] >> pad);
        key.p = aligned;
    }
    switch (cert->pubkey_algo) {
    case GO_PUBKEY_RSA: {
        struct der seq = {0}, n_int = {0};
        int64_t e = 0;

        if (ai->params.n != 2 || memcmp(ai->params.p, null_params, 2) != 0)
            r = go_fail(c, "x509: RSA key missing NULL parameters");
        else if (!der_read(&key, &seq, TAG_SEQUENCE))
            r = go_fail(c, "x509: invalid RSA public key");
        else if (!der_read_bigint(&seq, &n_int))
            r = go_fail(c, "x509: invalid RSA modulus");
        else if (!der_read_int64(&seq, &e))
            r = go_fail(c, "x509: invalid RSA public exponent");
        else if (bigint_sign(&n_int) <= 0)
            r = go_fail(c, "x509: RSA modulus is not a positive number");
        else if (e <= 0)
            r = go_fail(c, "x509: RSA public exponent is not a positive number");
        if (r == 0 && !aligned) {
            cert->rsa_n = n_int.p;
            cert->rsa_n_len = n_int.n;
        }
        cert->rsa_e = e;
        break;
    }
    case GO_PUBKEY_ECDSA: {
        int nid = ec_curve_nid(ai->params);

        if (nid < 0)
            r = go_fail(c, "x509: invalid ECDSA parameters");
        else if (nid == 0)
            r = go_fail(c, "x509: unsupported elliptic curve");
        else if (!ec_point_ok(nid, key))
            r = go_fail(c, "x509: failed to unmarshal elliptic curve point");
        break;
    }
    case GO_PUBKEY_ED25519:
        if (ai->params.n != 0)
            r = go_fail(c, "x509: Ed25519 key encoded with illegal parameters");
        else if (key.n != 32)
            r = go_fail(c, "x509: wrong Ed25519 public key size");
        break;
    case GO_PUBKEY_DSA: {
        struct der y, params = ai->params, p, q, g;

        if (!der_read_bigint(&key, &y))
            r = go_fail(c, "x509: invalid DSA public key");
        else if (!der_read(&params, &params, TAG_SEQUENCE) || !der_read_bigint(&params, &p) ||
                 !der_read_bigint(&params, &q) || !der_read_bigint(&params, &g))
            r = go_fail(c, "x509: invalid DSA parameters");
        else if (bigint_sign(&y) <= 0 || bigint_sign(&p) <= 0 || bigint_sign(&q) <= 0 || bigint_sign(&g) <= 0)
            r = go_fail(c, "x509: zero or negative DSA parameter");
        break;
    }
    case GO_PUBKEY_UNKNOWN: break; /* Go keeps a nil key and no error */
    }
    free(aligned);
    return r;
}

/* ---- names in SANs and name constraints ---- */

/* domainToReverseLabels: no empty label (no trailing dot), label octets 33..126; "" is fine. Go splits from
 * the right and stops when nothing is left, so one leading dot (an empty leftmost label) goes unnoticed. */
static bool domain_ok(const uint8_t *p, size_t n)
{
    size_t label = 0;

    if (n && p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (label == 0 && i > 0)
                return false;
            label = 0;
            continue;
        }
        if (p[i] < 33 || p[i] > 126)
            return false;
        label++;
    }
    return true;
}

/* parseRFC2821Mailbox, as far as its verdict. */
static bool mailbox_ok(const uint8_t *p, size_t n)
{
    size_t i = 0, local = 0;
    bool first_dot = false, last_dot = false, two_dots = false;
    uint8_t prev = 0;

    if (n == 0)
        return false;
    if (p[0] == '"') {
        for (i = 1;; i++) {
            if (i >= n)
                return false;
            uint8_t ch = p[i];
            if (ch == '"') {
                i++;
                break;
            }
            if (ch == '\\') {
                if (++i >= n)
                    return false;
                ch = p[i];
                if (!(ch == 11 || ch == 12 || (ch >= 1 && ch <= 9) || (ch >= 14 && ch <= 127)))
                    return false;
                continue;
            }
            if (!(ch == 11 || ch == 12 || ch == 32 || ch == 33 || ch == 127 || (ch >= 1 && ch <= 8) ||
                  (ch >= 14 && ch <= 31) || (ch >= 35 && ch <= 91) || (ch >= 93 && ch <= 126)))
                return false;
        }
    } else {
        while (i < n) {
            uint8_t ch = p[i];
            if (ch == '\\') {
                if (++i >= n)
                    return false;
            } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                         strchr("!#$%&'*+-/=?^_`{|}~.", ch)) ||
                       ch == 0) {
                break;
            }
            uint8_t got = p[i++];
            if (local == 0)
                first_dot = got == '.';
            two_dots |= prev == '.' && got == '.' && local > 0;
            last_dot = got == '.';
            prev = got;
            local++;
        }
        if (local == 0 || first_dot || last_dot || two_dots)
            return false;
    }
    if (i >= n || p[i] != '@')
        return false;
    return domain_ok(p + i + 1, n - i - 1);
}

/* ---- net/url.Parse, as far as its verdict and error text (for SAN URIs) ---- */

static bool is_hex(uint8_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static unsigned unhex(uint8_t ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

enum url_mode { URL_PATH, URL_HOST, URL_ZONE, URL_USERPASS, URL_FRAGMENT };

static bool url_should_escape(uint8_t ch, enum url_mode mode)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return false;
    if ((mode == URL_HOST || mode == URL_ZONE) && ch && strchr("!$&'()*+,;=:[]<>\"", ch))
        return false;
    if (ch && strchr("-_.~", ch))
        return false;
    if (ch && strchr("$&+,/:;=?@", ch)) {
        switch (mode) {
        case URL_PATH: return ch == '?';
        case URL_USERPASS: return ch == '@' || ch == '/' || ch == '?' || ch == ':';
        case URL_FRAGMENT: return false;
        default: break;
        }
    }
    if (mode == URL_FRAGMENT && ch && strchr("!()*", ch))
        return false;
    return true;
}

/* unescape(); appends the result to out (when not NULL). false with the inner error text. */
static bool url_unescape(const uint8_t *s, size_t n, enum url_mode mode, uint8_t *out, size_t *out_len,
                         char *why, size_t why_len)
{
    char q[64];

    for (size_t i = 0; i < n;) {
        if (s[i] == '%') {
            if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
                snprintf(why, why_len, "invalid URL escape %s",
                         go_quote(s + i, n - i < 3 ? n - i : 3, q, sizeof(q)));
                return false;
            }
            uint8_t v = (uint8_t)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            bool pct25 = s[i + 1] == '2' && s[i + 2] == '5';
            if ((mode == URL_HOST && unhex(s[i + 1]) < 8 && !pct25) ||
                (mode == URL_ZONE && !pct25 && v != ' ' && url_should_escape(v, URL_HOST))) {
                snprintf(why, why_len, "invalid URL escape %s", go_quote(s + i, 3, q, sizeof(q)));
                return false;
            }
            if (out)
                out[(*out_len)++] = v;
            i += 3;
            continue;
        }
        if ((mode == URL_HOST || mode == URL_ZONE) && s[i] < 0x80 && url_should_escape(s[i], mode)) {
            snprintf(why, why_len, "invalid character %s in host name", go_quote(s + i, 1, q, sizeof(q)));
            return false;
        }
        if (out)
            out[(*out_len)++] = s[i];
        i++;
    }
    return true;
}

static bool port_ok(const uint8_t *p, size_t n) /* validOptionalPort */
{
    if (n == 0)
        return true;
    if (p[0] != ':')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static const uint8_t *mem_rchr(const uint8_t *p, size_t n, uint8_t ch)
{
    while (n--)
        if (p[n] == ch)
            return p + n;
    return NULL;
}

/* parseHost; host (unescaped) into out, which has room for n octets. */
static bool url_host(const uint8_t *h, size_t n, uint8_t *out, size_t *out_len, char *why, size_t why_len)
{
    char q[128];

    *out_len = 0;
    if (n && h[0] == '[') {
        const uint8_t *close = mem_rchr(h, n, ']');
        if (!close) {
            snprintf(why, why_len, "missing ']' in host");
            return false;
        }
        size_t i = (size_t)(close - h);
        if (!port_ok(h + i + 1, n - i - 1)) {
            snprintf(why, why_len, "invalid port %s after host",
                     go_quote(h + i + 1, n - i - 1, q, sizeof(q)));
            return false;
        }
        for (size_t z = 0; z + 3 <= i; z++)
            if (h[z] == '%' && h[z + 1] == '2' && h[z + 2] == '5')
                return url_unescape(h, z, URL_HOST, out, out_len, why, why_len) &&
                       url_unescape(h + z, i - z, URL_ZONE, out, out_len, why, why_len) &&
                       url_unescape(h + i, n - i, URL_HOST, out, out_len, why, why_len);
    } else {
        const uint8_t *colon = mem_rchr(h, n, ':');
        if (colon && !port_ok(colon, n - (size_t)(colon - h))) {
            snprintf(why, why_len, "invalid port %s after host",
                     go_quote(colon, n - (size_t)(colon - h), q, sizeof(q)));
            return false;
        }
    }
    return url_unescape(h, n, URL_HOST, out, out_len, why, why_len);
}

static bool userinfo_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
              (p[i] && strchr("-._:~!$&'()*+,;=%@", p[i]))))
            return false;
    return true;
}

/* parse(rawURL, viaRequest=false): the host (unescaped) into host/host_len (0 when none). */
static bool url_parse_part(const uint8_t *u, size_t n, uint8_t *host, size_t *host_len, char *why,
                           size_t why_len)
{
    size_t i, scheme = 0;

    *host_len = 0;
    for (i = 0; i < n; i++)
        if (u[i] < 0x20 || u[i] == 0x7f) {
            snprintf(why, why_len, "net/url: invalid control character in URL");
            return false;
        }
    if (n == 1 && u[0] == '*')
        return true;
    /* getScheme */
    const uint8_t *rest = u;
    size_t rest_n = n;
    for (i = 0; i < n; i++) {
        uint8_t ch = u[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
            continue;
        if ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.') {
            if (i == 0)
                break;
            continue;
        }
        if (ch == ':') {
            if (i == 0) {
                snprintf(why, why_len, "missing protocol scheme");
                return false;
            }
            scheme = i;
            rest = u + i + 1;
            rest_n = n - i - 1;
        }
        break;
    }
    /* the query: "?" at the very end alone forces an empty one, else everything after the first '?' */
    const uint8_t *qm = memchr(rest, '?', rest_n);
    if (qm)
        rest_n = (size_t)(qm - rest);
    if (rest_n == 0 || rest[0] != '/') {
        if (scheme)
            return true; /* opaque */
        const uint8_t *slash = memchr(rest, '/', rest_n);
        size_t seg = slash ? (size_t)(slash - rest) : rest_n;
        if (memchr(rest, ':', seg)) {
            snprintf(why, why_len, "first path segment in URL cannot contain colon");
            return false;
        }
    }
    bool triple = rest_n >= 3 && rest[0] == '/' && rest[1] == '/' && rest[2] == '/';
    if ((scheme || !triple) && rest_n >= 2 && rest[0] == '/' && rest[1] == '/') {
        const uint8_t *auth = rest + 2;
        const uint8_t *slash = memchr(auth, '/', rest_n - 2);
        size_t auth_n = slash ? (size_t)(slash - auth) : rest_n - 2;
        const uint8_t *at = mem_rchr(auth, auth_n, '@');
        size_t host_off = at ? (size_t)(at - auth) + 1 : 0;

        if (!url_host(auth + host_off, auth_n - host_off, host, host_len, why, why_len))
            return false;
        if (at) {
            size_t ui = (size_t)(at - auth);
            if (!userinfo_ok(auth, ui)) {
                snprintf(why, why_len, "net/url: invalid userinfo");
                return false;
            }
            const uint8_t *colon = memchr(auth, ':', ui);
            size_t user_n = colon ? (size_t)(colon - auth) : ui;
            if (!url_unescape(auth, user_n, URL_USERPASS, NULL, NULL, why, why_len) ||
                (colon && !url_unescape(colon + 1, ui - user_n - 1, URL_USERPASS, NULL, NULL, why, why_len)))
                return false;
        }
        /* the path is what follows the authority, up to the query */
        const uint8_t *end = rest + rest_n;
        rest = slash ? slash : end;
        rest_n = (size_t)(end - rest);
    }
    return url_unescape(rest, rest_n, URL_PATH, NULL, NULL, why, why_len);
}

/* x509's SAN URI check: url.Parse, then a non-empty host must be a valid domain. */
static int san_uri(struct ctx *c, struct der v)
{
    char why[256], q1[300], q2[300];
    uint8_t *host = malloc(v.n + 1);
    size_t host_len = 0;
    const uint8_t *hash = memchr(v.p, '#', v.n);
    size_t part = hash ? (size_t)(hash - v.p) : v.n;
    int r = 0;

    if (!host)
        return -ENOMEM;
    if (!url_parse_part(v.p, part, host, &host_len, why, sizeof(why)))
        r = go_failf(c, "x509: cannot parse URI %s: parse %s: %s", go_quote(v.p, v.n, q1, sizeof(q1)),
                     go_quote(v.p, part, q2, sizeof(q2)), why);
    else if (hash && !url_unescape(hash + 1, v.n - part - 1, URL_FRAGMENT, NULL, NULL, why, sizeof(why)))
        r = go_failf(c, "x509: cannot parse URI %s: parse %s: %s", go_quote(v.p, v.n, q1, sizeof(q1)),
                     go_quote(v.p, v.n, q2, sizeof(q2)), why);
    else if (host_len && !domain_ok(host, host_len))
        r = go_failf(c, "x509: cannot parse URI %s: invalid domain", go_quote(v.p, v.n, q1, sizeof(q1)));
    free(host);
    return r;
}

/* ---- extensions ---- */

struct ext {
    struct der oid, value;
    bool critical;
};

static int ext_key_usage(struct ctx *c, struct der v, struct go_x509_cert *cert)
{
    struct der bits;
    unsigned pad;

    if (!der_read_bitstring(&v, &bits, &pad))
        return go_fail(c, "x509: invalid key usage");
    cert->key_usage = 0;
    for (size_t i = 0; i < 9; i++)
        if (i / 8 < bits.n && i < bits.n * 8 - pad && (bits.p[i / 8] >> (7 - i % 8) & 1))
            cert->key_usage |= 1u << i;
    return 0;
}

static int ext_basic_constraints(struct ctx *c, struct der v, struct go_x509_cert *cert)
{
    bool is_ca = false;
    int64_t path = -1;

    if (!der_read(&v, &v, TAG_SEQUENCE))
        return go_fail(c, "x509: invalid basic constraints a");
    if (der_peek(&v, TAG_BOOLEAN) && !der_read_bool(&v, &is_ca))
        return go_fail(c, "x509: invalid basic constraints b");
    if (!der_empty(&v) && der_peek(&v, TAG_INTEGER) && !der_read_int64(&v, &path))
        return go_fail(c, "x509: invalid basic constraints c");
    cert->basic_constraints_valid = true;
    cert->is_ca = is_ca;
    cert->max_path_len = path < -1 ? -2 : path > 1000000 ? 1000000 : (int)path; /* only the tests read it */
    return 0;
}

/* Returns 1 when it found no name Go knows (the extension is then "unhandled"). */
static int ext_san(struct ctx *c, struct der v, struct go_x509_cert *cert)
{
    size_t dns = 0, email = 0, ip = 0, uri = 0;

    if (!der_read(&v, &v, TAG_SEQUENCE))
        return go_fail(c, "x509: invalid subject alternative names");
    while (!der_empty(&v)) {
        struct der name;
        uint8_t tag;
        int r;

        if (!der_read_any(&v, &name, &tag, false))
            return go_fail(c, "x509: invalid subject alternative name");
        switch (tag ^ 0x80) {
        case 1:
            if (!ia5(name.p, name.n))
                return go_fail(c, "x509: SAN rfc822Name is malformed");
            email++;
            break;
        case 2:
            if (!ia5(name.p, name.n))
                return go_fail(c, "x509: SAN dNSName is malformed");
            dns++;
            break;
        case 6:
            if (!ia5(name.p, name.n))
                return go_fail(c, "x509: SAN uniformResourceIdentifier is malformed");
            if ((r = san_uri(c, name)) < 0)
                return r;
            uri++;
            break;
        case 7:
            if (name.n != 4 && name.n != 16)
                return go_failf(c, "x509: cannot parse IP address of length %zu", name.n);
            ip++;
            break;
        default: break;
        }
    }
    cert->n_dns_names = dns;
    cert->n_emails = email;
    cert->n_ips = ip;
    cert->n_uris = uri;
    return dns + email + ip + uri == 0;
}

static bool ip_mask_ok(const uint8_t *m, size_t n)
{
    bool zero = false;

    for (size_t i = 0; i < n; i++) {
        if (zero) {
            if (m[i])
                return false;
            continue;
        }
        switch (m[i]) {
        case 0x00:
        case 0x80:
        case 0xc0:
        case 0xe0:
        case 0xf0:
        case 0xf8:
        case 0xfc:
        case 0xfe: zero = true; break;
        case 0xff: break;
        default: return false;
        }
    }
    return true;
}

static bool is_ip_literal(const uint8_t *p, size_t n) /* net.ParseIP != nil */
{
    char text[64];
    uint8_t buf[16];

    if (n >= sizeof(text))
        return false;
    memcpy(text, p, n);
    text[n] = '\0';
    return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

static int subtrees(struct ctx *c, struct der s, bool *unhandled)
{
    char q[300], e[300];

    while (!der_empty(&s)) {
        struct der seq, value;
        uint8_t tag;

        if (!der_read(&s, &seq, TAG_SEQUENCE) || !der_read_any(&seq, &value, &tag, false))
            return go_fail(c, "x509: invalid NameConstraints extension");
        const uint8_t *d = value.p;
        size_t dn = value.n;
        switch (tag) {
        case CTX(2): /* dNSName */
        case CTX(1): /* rfc822Name */
        case CTX(6): /* URI */
            if (!ia5(value.p, value.n))
                return go_failf(c,
                                "x509: invalid constraint value: x509: %s cannot be encoded as an IA5String",
                                go_quote(value.p, value.n, q, sizeof(q)));
            go_quote(value.p, value.n, q, sizeof(q));
            if (tag == CTX(1) && memchr(value.p, '@', value.n)) {
                if (!mailbox_ok(value.p, value.n))
                    return go_failf(c, "x509: failed to parse rfc822Name constraint %s", q);
                break;
            }
            if (tag == CTX(6) && is_ip_literal(value.p, value.n))
                return go_failf(c, "x509: failed to parse URI constraint %s: cannot be IP address", q);
            if (dn && d[0] == '.') {
                d++;
                dn--;
            }
            if (!domain_ok(d, dn))
                return go_failf(c, "x509: failed to parse %s constraint %s",
                                tag == CTX(2)   ? "dnsName"
                                : tag == CTX(1) ? "rfc822Name"
                                                : "URI",
                                q);
            break;
        case CTX(7): /* iPAddress: address and mask */
            if (value.n != 8 && value.n != 32)
                return go_failf(c, "x509: IP constraint contained value of length %zu", value.n);
            if (!ip_mask_ok(value.p + value.n / 2, value.n / 2)) {
                for (size_t i = 0; i < value.n / 2; i++)
                    sprintf(e + 2 * i, "%02x", value.p[value.n / 2 + i]);
                return go_failf(c, "x509: IP constraint contained invalid mask %s", e);
            }
            break;
        default: *unhandled = true; break;
        }
    }
    return 0;
}

/* Returns 1 when a subtree had a name form Go does not handle. */
static int ext_name_constraints(struct ctx *c, struct der v)
{
    struct der top, permitted = {0}, excluded = {0};
    bool have_p = false, have_e = false, unhandled = false;
    int r;

    if (!der_read(&v, &top, TAG_SEQUENCE) || !der_empty(&v) ||
        !der_read_optional(&top, &permitted, &have_p, CTXC(0)) ||
        !der_read_optional(&top, &excluded, &have_e, CTXC(1)) || !der_empty(&top))
        return go_fail(c, "x509: invalid NameConstraints extension");
    if ((!have_p && !have_e) || (permitted.n == 0 && excluded.n == 0))
        return go_fail(c, "x509: empty name constraints extension");
    if ((r = subtrees(c, permitted, &unhandled)) < 0 || (r = subtrees(c, excluded, &unhandled)) < 0)
        return r;
    return unhandled;
}

static int ext_crl_dp(struct ctx *c, struct der v)
{
    if (!der_read(&v, &v, TAG_SEQUENCE))
        return go_fail(c, "x509: invalid CRL distribution points");
    while (!der_empty(&v)) {
        struct der dp, name = {0}, uri;
        bool present = false;

        if (!der_read(&v, &dp, TAG_SEQUENCE) || !der_read_optional(&dp, &name, &present, CTXC(0)))
            return go_fail(c, "x509: invalid CRL distribution point");
        if (!present)
            continue;
        if (!der_read(&name, &name, CTXC(0)))
            return go_fail(c, "x509: invalid CRL distribution point");
        while (!der_empty(&name) && der_peek(&name, CTX(6)))
            if (!der_read(&name, &uri, CTX(6)))
                return go_fail(c, "x509: invalid CRL distribution point");
    }
    return 0;
}

static int ext_oid_seq(struct ctx *c, struct der v, bool policies)
{
    const char *msg = policies ? "x509: invalid certificate policies" : "x509: invalid extended key usages";

    if (!der_read(&v, &v, TAG_SEQUENCE))
        return go_failf(c, "%s", msg);
    while (!der_empty(&v)) {
        struct der item = v, oid;

        if (policies && !der_read(&v, &item, TAG_SEQUENCE))
            return go_failf(c, "%s", msg);
        if (!der_read_oid(policies ? &item : &v, &oid))
            return go_failf(c, "%s", msg);
    }
    return 0;
}

static int ext_aia(struct ctx *c, struct der v)
{
    if (!der_read(&v, &v, TAG_SEQUENCE))
        return go_fail(c, "x509: invalid authority info access");
    while (!der_empty(&v)) {
        struct der ad, method, loc;

        if (!der_read(&v, &ad, TAG_SEQUENCE) || !der_read_oid(&ad, &method))
            return go_fail(c, "x509: invalid authority info access");
        if (!der_peek(&ad, CTX(6)))
            continue;
        if (!der_read(&ad, &loc, CTX(6)))
            return go_fail(c, "x509: invalid authority info access");
    }
    return 0;
}

/* processExtensions: each extension in order; a value that does not decode is the certificate's error. */
static int process_extensions(struct ctx *c, const struct ext *exts, size_t n, struct go_x509_cert *cert)
{
    static const unsigned ce[] = {2, 5, 29}, aia[] = {1, 3, 6, 1, 5, 5, 7, 1, 1};

    for (size_t i = 0; i < n; i++) {
        const struct ext *e = &exts[i];
        struct der v = e->value, inner;
        int unhandled = 0;
        unsigned last = 0;
        bool ce_ext = false;

        for (unsigned k = 0; k < 64 && !ce_ext; k++) {
            const unsigned comps[] = {ce[0], ce[1], ce[2], k};
            if (oid_is(e->oid, comps, 4)) {
                ce_ext = true;
                last = k;
            }
        }
        if (ce_ext) {
            switch (last) {
            case 15: unhandled = ext_key_usage(c, v, cert); break;
            case 19: unhandled = ext_basic_constraints(c, v, cert); break;
            case 17: unhandled = ext_san(c, v, cert); break;
            case 30: unhandled = ext_name_constraints(c, v); break;
            case 31: unhandled = ext_crl_dp(c, v); break;
            case 35:
                if (!der_read(&v, &inner, TAG_SEQUENCE))
                    return go_fail(c, "x509: invalid authority key identifier");
                if (der_peek(&inner, CTX(0))) {
                    if (!der_read(&inner, &inner, CTX(0)))
                        return go_fail(c, "x509: invalid authority key identifier");
                    cert->authority_key_id = inner.p;
                    cert->authority_key_id_len = inner.n;
                }
                break;
            case 37: unhandled = ext_oid_seq(c, v, false); break;
            case 14:
                if (!der_read(&v, &inner, TAG_OCTET_STRING))
                    return go_fail(c, "x509: invalid subject key identifier");
                cert->subject_key_id = inner.p;
                cert->subject_key_id_len = inner.n;
                break;
            case 32: unhandled = ext_oid_seq(c, v, true); break;
            default: unhandled = 1; break;
            }
            if (unhandled < 0)
                return unhandled;
        } else if (oid_is(e->oid, aia, 9)) {
            int r = ext_aia(c, v);
            if (r < 0)
                return r;
        } else {
            unhandled = 1;
        }
        if (e->critical && unhandled) {
            if (cert->n_unhandled_critical++ == 0)
                oid_text(e->oid, cert->first_unhandled_critical, sizeof(cert->first_unhandled_critical));
        }
    }
    return 0;
}

/* parseExtension */
static int parse_extension(struct ctx *c, struct der s, struct ext *e)
{
    memset(e, 0, sizeof(*e));
    if (!der_read_oid(&s, &e->oid))
        return go_fail(c, "x509: malformed extension OID field");
    if (der_peek(&s, TAG_BOOLEAN) && !der_read_bool(&s, &e->critical))
        return go_fail(c, "x509: malformed extension critical field");
    if (!der_read(&s, &e->value, TAG_OCTET_STRING))
        return go_fail(c, "x509: malformed extension value field");
    return 0;
}

static int parse_extensions(struct ctx *c, struct der tbs, struct go_x509_cert *cert)
{
    struct der exts;
    struct ext *list = NULL;
    size_t n = 0, cap = 0;
    bool present = false;
    int r = 0;

    if (!der_read_optional(&tbs, &exts, &present, CTXC(3)))
        return go_fail(c, "x509: malformed extensions");
    if (!present)
        return 0;
    if (!der_read(&exts, &exts, TAG_SEQUENCE))
        return go_fail(c, "x509: malformed extensions");
    while (!der_empty(&exts)) {
        struct der one;

        if (!der_read(&exts, &one, TAG_SEQUENCE)) {
            r = go_fail(c, "x509: malformed extension");
            goto out;
        }
        if (n == cap) {
            struct ext *bigger = realloc(list, (cap ? 2 * cap : 8) * sizeof(*list));
            if (!bigger) {
                r = -ENOMEM;
                goto out;
            }
            list = bigger;
            cap = cap ? 2 * cap : 8;
        }
        if ((r = parse_extension(c, one, &list[n])) < 0)
            goto out;
        /* Go 1.19 (CL 383215) refuses a repeated OID; 1.18 keeps both and processes them in order. */
        for (size_t i = 0; c->go_minor >= 19 && i < n; i++)
            if (oid_equal(list[i].oid, list[n].oid)) {
                r = go_fail(c, "x509: certificate contains duplicate extensions");
                goto out;
            }
        n++;
    }
    cert->n_extensions = n;
    r = process_extensions(c, list, n, cert);
out:
    free(list);
    return r;
}

int go_x509_parse(const uint8_t *der, size_t len, int go_minor, struct go_x509_cert *ret, char *err,
                  size_t err_len)
{
    struct ctx c = {err, err_len, go_minor};
    struct go_x509_cert cert = {.max_path_len = -1};
    struct der input = {der, len}, tbs, sig_ai, outer_ai, issuer, validity, subject, spki, pk_ai, bits,
               serial;
    struct algo_id ai, key_ai;
    unsigned pad;
    int64_t version = 0;
    int r;

    if (err_len)
        err[0] = '\0';
    if (!der_read_element(&input, &input, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed certificate");
    size_t raw_len = input.n;
    if (!der_read(&input, &input, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed certificate");
    if (!der_read_element(&input, &tbs, TAG_SEQUENCE) || !der_read(&tbs, &tbs, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed tbs certificate");

    /* version: [0] EXPLICIT INTEGER DEFAULT 0, nothing else inside the [0] */
    struct der vbox = {0};
    bool have_version = false;
    if (!der_read_optional(&tbs, &vbox, &have_version, CTXC(0)) ||
        (have_version && (!der_read_int64(&vbox, &version) || !der_empty(&vbox))))
        return go_fail(&c, "x509: malformed version");
    if (version < 0)
        return go_fail(&c, "x509: malformed version");
    if (version + 1 > 3)
        return go_fail(&c, "x509: invalid version");
    cert.version = (int)version + 1;

    if (!der_read_bigint(&tbs,
                         &serial)) /* negative serial numbers are accepted (Go's own comment says why) */
        return go_fail(&c, "x509: malformed serial number");
    cert.serial = serial.p;
    cert.serial_len = serial.n;

    if (!der_read(&tbs, &sig_ai, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed signature algorithm identifier");
    if (!der_read(&input, &outer_ai, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed algorithm identifier");
    if (outer_ai.n != sig_ai.n || memcmp(outer_ai.p, sig_ai.p, sig_ai.n) != 0)
        return go_fail(&c, "x509: inner and outer signature algorithm identifiers don't match");
    if ((r = parse_ai(&c, sig_ai, &ai)) < 0)
        return r;
    oid_text(ai.oid, cert.sig_oid, sizeof(cert.sig_oid));

    if (!der_read_element(&tbs, &issuer, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed issuer");
    cert.raw_issuer = issuer.p;
    cert.raw_issuer_len = issuer.n;
    if ((r = parse_name(&c, issuer, cert.issuer_cn, sizeof(cert.issuer_cn))) < 0)
        return r;

    if (!der_read(&tbs, &validity, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed validity");
    if ((r = parse_time(&c, &validity, &cert.not_before)) < 0 ||
        (r = parse_time(&c, &validity, &cert.not_after)) < 0)
        return r;

    if (!der_read_element(&tbs, &subject, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed issuer"); /* sic: Go says issuer here too */
    cert.raw_subject = subject.p;
    cert.raw_subject_len = subject.n;
    if ((r = parse_name(&c, subject, cert.subject_cn, sizeof(cert.subject_cn))) < 0)
        return r;

    if (!der_read_element(&tbs, &spki, TAG_SEQUENCE) || !der_read(&spki, &spki, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed spki");
    if (!der_read(&spki, &pk_ai, TAG_SEQUENCE))
        return go_fail(&c, "x509: malformed public key algorithm identifier");
    if ((r = parse_ai(&c, pk_ai, &key_ai)) < 0)
        return r;
    cert.pubkey_algo = pubkey_algo(key_ai.oid);
    if (!der_read_bitstring(&spki, &bits, &pad))
        return go_fail(&c, "x509: malformed subjectPublicKey");
    if ((r = parse_public_key(&c, &key_ai, bits, pad, &cert)) < 0)
        return r;

    if (cert.version > 1) {
        if (!der_skip_optional(&tbs, CTX(1)))
            return go_fail(&c, "x509: malformed issuerUniqueID");
        if (!der_skip_optional(&tbs, CTX(2)))
            return go_fail(&c, "x509: malformed subjectUniqueID");
        if (cert.version == 3 && (r = parse_extensions(&c, tbs, &cert)) < 0)
            return r;
    }

    struct der sig_bits;
    if (!der_read_bitstring(&input, &sig_bits, &pad))
        return go_fail(&c, "x509: malformed signature");
    if (raw_len != len)
        return go_fail(&c, "x509: trailing data");
    if (ret)
        *ret = cert;
    return 0;
}

int go_x509_hvs_aik(const uint8_t *pem, size_t pem_len, X509 **ret_cert, char *why, size_t why_len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    long der_len = 0;
    struct go_x509_cert cert = {0};
    X509 *x = NULL;
    char err[256];
    int r = -EBADMSG;

    if (!bio || PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
        /* pem.Decode found no block: HVS dereferences the nil block and panics */
        snprintf(why, why_len, "Aik is not PEM (HVS's connector panics on a nil PEM block)");
        goto out;
    }
    if (go_x509_parse(der, (size_t)der_len, GO_X509_HVS, &cert, err, sizeof(err)) < 0) {
        snprintf(why, why_len, "x509.ParseCertificate: %s", err);
        goto out;
    }
    if (cert.pubkey_algo != GO_PUBKEY_RSA) {
        snprintf(why, why_len, "AIK certificate key is not RSA");
        goto out;
    }
    if (cert.n_unhandled_critical) {
        snprintf(
            why, why_len,
            "x509: unhandled critical extension (%s; HVS's aik-certificate-trusted rule runs x509.Verify)",
            cert.first_unhandled_critical);
        goto out;
    }
    p = der;
    x = d2i_X509(NULL, &p, der_len);
    if (!x || p != der + der_len) {
        snprintf(why, why_len,
                 "Go parses the AIK certificate but OpenSSL cannot (needed for the signature check)");
        goto out;
    }
    *ret_cert = x;
    x = NULL;
    r = 0;
out:
    X509_free(x);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return r;
}
