/* SPDX-License-Identifier: BSD-3-Clause */
/* Go's encoding/xml.Unmarshal into ta.TpmQuoteResponse (see go_xml.h). */
#include "go_xml.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 10000 /* Go 1.19+'s maxUnmarshalDepth */

enum tok { T_EOF, T_START, T_END, T_TEXT, T_OTHER, T_ERR };

struct name {
    char *space, *local;
};

struct xr {
    const unsigned char *p, *end;
    int line;
    bool failed;
    char *err;
    size_t err_size;
    char *buf; /* the last token's text (T_TEXT) */
    size_t len, cap;
    struct name *stack; /* open elements */
    size_t depth, stack_cap;
    bool pending_end; /* <x/> gives a start and then an end */
    struct name last; /* the name of the last T_START or T_END */
};

static int fail(struct xr *x, bool syntax, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct xr *x, bool syntax, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!x->failed) {
        if (syntax)
            snprintf(x->err, x->err_size, "XML syntax error on line %d: %s", x->line, msg);
        else
            snprintf(x->err, x->err_size, "%s", msg);
    }
    x->failed = true;
    return T_ERR;
}

static int getc_(struct xr *x)
{
    if (x->p >= x->end)
        return -1;
    int c = *x->p++;
    x->line += c == '\n';
    return c;
}

/* mustgetc: EOF here is a syntax error. */
static int mustgetc(struct xr *x)
{
    int c = getc_(x);
    if (c < 0)
        fail(x, true, "unexpected EOF");
    return c;
}

static void ungetc_(struct xr *x)
{
    x->p--;
    x->line -= *x->p == '\n';
}

static bool buf_put(struct xr *x, const void *data, size_t n)
{
    if (x->len + n + 1 > x->cap) {
        size_t cap = (x->len + n + 1) * 2;
        char *b = realloc(x->buf, cap);
        if (!b)
            return false;
        x->buf = b;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return true;
}

static bool buf_byte(struct xr *x, int c)
{
    char b = (char)c;
    return buf_put(x, &b, 1);
}

static bool is_name_byte(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '.' || c == '-';
}

/* Decodes one UTF-8 rune; *size 1 with -1 for invalid UTF-8 (Go's RuneError, size 1). */
static long utf8_rune(const unsigned char *s, size_t n, size_t *size)
{
    *size = 1;
    if (s[0] < 0x80)
        return s[0];
    int need = s[0] >= 0xf0 && s[0] <= 0xf4 ? 3 : s[0] >= 0xe0 ? 2 : s[0] >= 0xc2 ? 1 : -1;
    if (need < 0 || (size_t)need >= n || (s[0] >= 0xf0 && s[0] > 0xf4))
        return -1;
    long r = s[0] & (0x3f >> need);
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        r = (r << 6) | (s[i] & 0x3f);
    }
    static const long min[] = {0, 0x80, 0x800, 0x10000};
    if (r < min[need] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        return -1;
    *size = (size_t)need + 1;
    return r;
}

static bool in_char_range(long r)
{
    return r == 0x09 || r == 0x0a || r == 0x0d || (r >= 0x20 && r <= 0xd7ff) ||
           (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= 0x10ffff);
}

/* Go's text(): every rune of the decoded text valid UTF-8 and an XML Char. */
static bool chars_valid(struct xr *x, const unsigned char *s, size_t n)
{
    for (size_t i = 0, size; i < n; i += size) {
        long r = utf8_rune(s + i, n - i, &size);
        if (r < 0)
            return fail(x, true, "invalid UTF-8"), false;
        if (!in_char_range(r))
            return fail(x, true, "illegal character code U+%04lX", r), false;
    }
    return true;
}

/* string(rune(n)) for a char reference: out of range and surrogates become U+FFFD, as Go converts them. */
static size_t utf8_encode(unsigned long r, char out[4])
{
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    if (r < 0x80)
        return out[0] = (char)r, 1;
    if (r < 0x800)
        return out[0] = (char)(0xc0 | (r >> 6)), out[1] = (char)(0x80 | (r & 0x3f)), 2;
    if (r < 0x10000) {
        out[0] = (char)(0xe0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        out[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    out[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

/* After '&' (not in CDATA): the entity's text into the buffer, or Go's "invalid character entity". */
static bool entity(struct xr *x)
{
    size_t before = x->len;
    char text[8];
    size_t text_len = 0;
    bool have = false;
    int c = mustgetc(x);
    if (c < 0 || !buf_byte(x, '&'))
        return false;
    if (c == '#') {
        int base = 10;
        buf_byte(x, c);
        if ((c = mustgetc(x)) < 0)
            return false;
        if (c == 'x') {
            base = 16;
            buf_byte(x, c);
            if ((c = mustgetc(x)) < 0)
                return false;
        }
        size_t start = x->len;
        while ((c >= '0' && c <= '9') || (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
            buf_byte(x, c);
            if ((c = mustgetc(x)) < 0)
                return false;
        }
        if (c != ';')
            ungetc_(x);
        else {
            char *end = NULL;
            errno = 0;
            unsigned long long n = x->len > start ? strtoull(x->buf + start, &end, base) : 0;
            bool ok = x->len > start && errno == 0 && n <= 0x10ffff;
            buf_byte(x, ';');
            if (ok) {
                text_len = utf8_encode((unsigned long)n, text);
                have = true;
            }
        }
    } else {
        ungetc_(x);
        while ((c = mustgetc(x)) >= 0 && (is_name_byte(c) || c >= 0x80))
            buf_byte(x, c);
        if (c < 0)
            return false;
        if (c != ';')
            ungetc_(x);
        else {
            static const struct {
                const char *name, *text;
            } known[] = {{"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"apos", "'"}, {"quot", "\""}};
            const char *name = x->buf + before + 1;
            for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && !have; i++)
                if (strcmp(name, known[i].name) == 0) {
                    text_len = strlen(known[i].text);
                    memcpy(text, known[i].text, text_len);
                    have = true;
                }
            buf_byte(x, ';');
        }
    }
    if (have) {
        x->len = before;
        return buf_put(x, text, text_len);
    }
    const char *ent = x->buf + before;
    fail(x, true, "invalid character entity %s%s", ent, ent[strlen(ent) - 1] != ';' ? " (no semicolon)" : "");
    return false;
}

/* Go's text(quote, cdata): character data up to '<' (quote < 0), the closing quote, or "]]>" (cdata), with
 * entities decoded (not in CDATA), \r\n and \r made \n, then checked rune by rune. Into the buffer. */
static bool text(struct xr *x, int quote, bool cdata)
{
    int b0 = 0, b1 = 0;
    x->len = 0;
    if (!buf_put(x, "", 0))
        return fail(x, false, "out of memory"), false;
    for (;;) {
        int c = getc_(x);
        if (c < 0 && cdata)
            return fail(x, true, "unexpected EOF in CDATA section"), false;
        if (c < 0)
            break;
        if (b0 == ']' && b1 == ']' && c == '>') {
            if (cdata) {
                x->len -= 2;
                break;
            }
            return fail(x, true, "unescaped ]]> not in CDATA section"), false;
        }
        if (c == '<' && !cdata) {
            if (quote >= 0)
                return fail(x, true, "unescaped < inside quoted string"), false;
            ungetc_(x);
            break;
        }
        if (quote >= 0 && c == quote)
            break;
        if (c == '&' && !cdata) {
            if (!entity(x))
                return false;
            b0 = b1 = 0;
            continue;
        }
        bool ok = c == '\r' ? buf_byte(x, '\n') : (b1 == '\r' && c == '\n') ? true : buf_byte(x, c);
        if (!ok)
            return fail(x, false, "out of memory"), false;
        b0 = b1;
        b1 = c;
    }
    /* x->buf keeps what buf_put allocated; go_xml_quote_response frees it. The analyzer loses track of a
     * realloc stored into a field of the caller's struct. */
    return chars_valid(x, (const unsigned char *)x->buf, x->len); /* NOLINT(clang-analyzer-unix.Malloc) */
}

static void space(struct xr *x)
{
    int c;
    while ((c = getc_(x)) == ' ' || c == '\r' || c == '\n' || c == '\t')
        ;
    if (c >= 0)
        ungetc_(x);
}

/* Go's name(): a name starting with a letter, '_' or ':' (or any non-ASCII byte: Go checks the Unicode
 * tables; this accepts them all). Into *ret (malloc'ed). */
static bool read_name(struct xr *x, char **ret)
{
    const unsigned char *start = x->p;
    int c = getc_(x);
    if (c < 0 || !(is_name_byte(c) || c >= 0x80)) {
        if (c >= 0)
            ungetc_(x);
        return false;
    }
    while ((c = getc_(x)) >= 0 && (is_name_byte(c) || c >= 0x80))
        ;
    if (c >= 0)
        ungetc_(x);
    if (!((start[0] >= 'A' && start[0] <= 'Z') || (start[0] >= 'a' && start[0] <= 'z') || start[0] == '_' ||
          start[0] == ':' || start[0] >= 0x80)) {
        fail(x, true, "invalid XML name: %.*s", (int)(x->p - start), (const char *)start);
        return false;
    }
    *ret = strndup((const char *)start, (size_t)(x->p - start));
    return *ret != NULL;
}

/* Go's nsname(): "p:l" is space p, local l; no colon, or one at either end, is all local. */
static bool read_nsname(struct xr *x, struct name *ret)
{
    char *s = NULL;
    if (!read_name(x, &s))
        return false;
    char *colon = strchr(s, ':');
    if (colon && colon > s && colon[1]) {
        *colon = '\0';
        ret->space = s;
        ret->local = strdup(colon + 1);
        return ret->local != NULL;
    }
    ret->space = strdup("");
    ret->local = s;
    return ret->space != NULL;
}

static void name_free(struct name *n)
{
    free(n->space);
    free(n->local);
    *n = (struct name){0};
}

/* The value of param="..." in a <?xml ...?> body ("" when absent), as Go's procInst reads it. */
static void proc_param(const char *content, const char *param, char *out, size_t size)
{
    out[0] = '\0';
    for (const char *p = content; (p = strstr(p, param)); p++) {
        if (p > content && !strchr(" \t\r\n", p[-1]))
            continue;
        const char *v = p + strlen(param);
        while (*v && strchr(" \t\r\n", *v))
            v++;
        if (*v++ != '=')
            continue;
        while (*v && strchr(" \t\r\n", *v))
            v++;
        char q = *v;
        const char *close = (q == '"' || q == '\'') ? strchr(v + 1, q) : NULL;
        if (close)
            snprintf(out, size, "%.*s", (int)(close - v - 1), v + 1);
        return;
    }
}

/* <?target ...?>: the xml declaration's version and encoding are checked as Go checks them. */
static int proc_inst(struct xr *x)
{
    char *target = NULL;
    if (!read_name(x, &target))
        return x->failed ? T_ERR : fail(x, true, "expected target name after <?");
    x->len = 0;
    int b0 = 0, c;
    while ((c = mustgetc(x)) >= 0 && !(b0 == '?' && c == '>')) {
        buf_byte(x, c);
        b0 = c;
    }
    int r = T_OTHER;
    if (c >= 0 && strcmp(target, "xml") == 0) {
        char ver[64], enc[64];
        x->buf[x->len - 1] = '\0'; /* drop the '?' */
        proc_param(x->buf, "version", ver, sizeof(ver));
        proc_param(x->buf, "encoding", enc, sizeof(enc));
        if (ver[0] && strcmp(ver, "1.0") != 0)
            r = fail(x, false, "xml: unsupported version \"%s\"; only version 1.0 is supported", ver);
        else if (enc[0] && strcasecmp(enc, "utf-8") != 0)
            r = fail(x, false, "xml: encoding \"%s\" declared but Decoder.CharsetReader is nil", enc);
    }
    free(target);
    return c < 0 ? T_ERR : r;
}

/* <!-- -->, <![CDATA[ ]]> or a directive (<!DOCTYPE ...>, skipped with its quotes and nested <>). */
static int bang(struct xr *x)
{
    int c = mustgetc(x);
    if (c < 0)
        return T_ERR;
    if (c == '-') {
        if ((c = mustgetc(x)) < 0)
            return T_ERR;
        if (c != '-')
            return fail(x, true, "invalid sequence <!- not part of <!--");
        int b0 = 0, b1 = 0;
        for (;;) {
            if ((c = mustgetc(x)) < 0)
                return T_ERR;
            if (b0 == '-' && b1 == '-') {
                if (c != '>')
                    return fail(x, true, "invalid sequence \"--\" not allowed in comments");
                return T_OTHER;
            }
            b0 = b1;
            b1 = c;
        }
    }
    if (c == '[') {
        static const char cdata[] = "CDATA[";
        for (size_t i = 0; i < 6; i++)
            if ((c = mustgetc(x)) < 0)
                return T_ERR;
            else if (c != cdata[i])
                return fail(x, true, "invalid <![ sequence");
        return text(x, -1, true) ? T_TEXT : T_ERR;
    }
    int depth = 0, quote = 0;
    for (ungetc_(x);;) {
        if ((c = mustgetc(x)) < 0)
            return T_ERR;
        if (quote) {
            quote = c == quote ? 0 : quote;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '<') {
            depth++;
        } else if (c == '>') {
            if (depth-- == 0)
                return T_OTHER;
        }
    }
}

static int end_tag(struct xr *x)
{
    struct name n = {0};
    if (!read_nsname(x, &n))
        return x->failed ? T_ERR : fail(x, true, "expected element name after </");
    space(x);
    int c = mustgetc(x);
    if (c != '>') {
        if (c >= 0)
            fail(x, true, "invalid characters between </%s and >", n.local);
        name_free(&n);
        return T_ERR;
    }
    name_free(&x->last);
    x->last = n;
    return T_END;
}

/* Attributes up to '>' or "/>"; their values are read (and checked) but not kept. */
static int attributes(struct xr *x, bool *ret_empty)
{
    for (;;) {
        space(x);
        int c = mustgetc(x);
        if (c < 0)
            return T_ERR;
        if (c == '/') {
            if ((c = mustgetc(x)) != '>')
                return c < 0 ? T_ERR : fail(x, true, "expected /> in element");
            *ret_empty = true;
            return T_START;
        }
        if (c == '>')
            return T_START;
        ungetc_(x);
        struct name a = {0};
        if (!read_nsname(x, &a))
            return x->failed ? T_ERR : fail(x, true, "expected attribute name in element");
        name_free(&a);
        space(x);
        if ((c = mustgetc(x)) != '=')
            return c < 0 ? T_ERR : fail(x, true, "attribute name without = in element");
        space(x);
        if ((c = mustgetc(x)) < 0)
            return T_ERR;
        if (c != '"' && c != '\'')
            return fail(x, true, "unquoted or missing attribute value in element");
        if (!text(x, c, false))
            return T_ERR;
    }
}

static int start_tag(struct xr *x)
{
    struct name n = {0};
    bool empty = false;
    if (!read_nsname(x, &n))
        return x->failed ? T_ERR : fail(x, true, "expected element name after <");
    int r = attributes(x, &empty);
    if (r != T_START) {
        name_free(&n);
        return r;
    }
    name_free(&x->last);
    x->last = n;
    x->pending_end = empty;
    return T_START;
}

/* Go's rawToken. */
static int raw_token(struct xr *x)
{
    if (x->pending_end) {
        x->pending_end = false;
        return T_END; /* x->last is still the element's name */
    }
    int c = getc_(x);
    if (c < 0)
        return T_EOF;
    if (c != '<') {
        ungetc_(x);
        return text(x, -1, false) ? T_TEXT : T_ERR;
    }
    if ((c = mustgetc(x)) < 0)
        return T_ERR;
    if (c == '/')
        return end_tag(x);
    if (c == '?')
        return proc_inst(x);
    if (c == '!')
        return bang(x);
    ungetc_(x);
    return start_tag(x);
}

static bool push(struct xr *x, const struct name *n)
{
    if (x->depth == x->stack_cap) {
        size_t cap = x->stack_cap ? x->stack_cap * 2 : 16;
        struct name *s = realloc(x->stack, cap * sizeof(*s));
        if (!s)
            return false;
        x->stack = s;
        x->stack_cap = cap;
    }
    x->stack[x->depth].space = strdup(n->space);
    x->stack[x->depth].local = strdup(n->local);
    x->depth++;
    return x->stack[x->depth - 1].space && x->stack[x->depth - 1].local;
}

/* Go's Token: raw tokens with start and end tags matched. */
static int token(struct xr *x)
{
    int t = raw_token(x);
    if (t == T_EOF && x->depth > 0)
        return fail(x, true, "unexpected EOF");
    if (t == T_START && !push(x, &x->last))
        return fail(x, false, "out of memory");
    if (t == T_END) {
        if (x->depth == 0)
            return fail(x, true, "unexpected end element </%s>", x->last.local);
        struct name *open = &x->stack[x->depth - 1];
        if (strcmp(open->local, x->last.local) != 0)
            return fail(x, true, "element <%s> closed by </%s>", open->local, x->last.local);
        if (strcmp(open->space, x->last.space) != 0)
            return fail(x, true, "element <%s> in space %s closed by </%s> in space %s", open->local,
                        open->space, x->last.local, x->last.space);
        x->depth--;
        name_free(open);
    }
    return t;
}

/* Go's Skip: everything up to the end of the element just started. */
static bool skip(struct xr *x)
{
    for (size_t depth = 1; depth > 0;) {
        int t = token(x);
        if (t == T_ERR)
            return false;
        depth += t == T_START;
        depth -= t == T_END;
        if (x->depth > MAX_DEPTH)
            return fail(x, false, "exceeded max depth"), false;
    }
    return true;
}

/* A scalar field: its direct character data (nested elements skipped), malloc'ed into *ret. */
static bool scalar_text(struct xr *x, char **ret)
{
    char *acc = strdup("");
    size_t len = 0;
    for (;;) {
        int t = token(x);
        if (t == T_ERR || (t == T_START && !skip(x)))
            break;
        if (t == T_END) {
            *ret = acc;
            return true;
        }
        if (t == T_TEXT && acc) {
            char *n = realloc(acc, len + x->len + 1);
            if (!n)
                break;
            acc = n;
            memcpy(acc + len, x->buf, x->len + 1);
            len += x->len;
        }
        if (!acc)
            return fail(x, false, "out of memory"), false;
    }
    free(acc);
    return false;
}

/* strings.TrimSpace for ASCII input (Go also trims Unicode spaces; the fields here are ASCII). */
static char *trim(char *s)
{
    while (*s && strchr(" \t\n\v\f\r", *s))
        s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\n\v\f\r", s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* copyValue into an int (64 bits): empty is 0, else strconv.ParseInt(TrimSpace(s), 10, 64). */
static bool parse_int(struct xr *x, char *s, double *ret)
{
    if (!*s)
        return *ret = 0, true;
    char *t = trim(s), *end = NULL;
    bool syntax = !*t || !strchr("+-0123456789", t[0]) || ((t[0] == '+' || t[0] == '-') && !t[1]);
    for (const char *p = t + (t[0] == '+' || t[0] == '-'); *p && !syntax; p++)
        syntax = *p < '0' || *p > '9';
    if (syntax)
        return fail(x, false, "strconv.ParseInt: parsing \"%s\": invalid syntax", t), false;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno == ERANGE)
        return fail(x, false, "strconv.ParseInt: parsing \"%s\": value out of range", t), false;
    *ret = (double)v;
    return true;
}

/* copyValue into a bool: empty is false, else strconv.ParseBool(TrimSpace(s)). */
static bool parse_bool(struct xr *x, char *s, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    if (!*s)
        return *ret = false, true;
    char *t = trim(s);
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(t, yes[i]) == 0)
            return *ret = true, true;
        if (strcmp(t, no[i]) == 0)
            return *ret = false, true;
    }
    return fail(x, false, "strconv.ParseBool: parsing \"%s\": invalid syntax", t), false;
}

enum kind { K_INT, K_STRING, K_BOOL, K_LIST };

static const struct field {
    const char *xml, *go;
    enum kind kind;
} fields[] = {
    {"timestamp", "TimeStamp", K_INT},
    {"errorCode", "ErrorCode", K_INT},
    {"errorMessage", "ErrorMessage", K_STRING},
    {"aik", "Aik", K_STRING},
    {"quote", "Quote", K_STRING},
    {"eventLog", "EventLog", K_STRING},
    {"imaLogs", "ImaLogs", K_STRING},
    {"tcbMeasurements", "TcbMeasurements", K_LIST},
    {"selectedPcrBanks", "SelectedPcrBanks", K_LIST},
    {"isTagProvisioned", "IsTagProvisioned", K_BOOL},
    {"assetTag", "AssetTag", K_STRING},
};

static cJSON *xml_name(const char *local)
{
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "Space", "");
    cJSON_AddStringToObject(n, "Local", local);
    return n;
}

/* The zero TpmQuoteResponse in the NATS JSON form. */
static cJSON *zero_response(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "XMLName", xml_name(""));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct field *f = &fields[i];
        if (f->kind == K_LIST) {
            cJSON *inner = cJSON_CreateObject();
            cJSON_AddItemToObject(inner, "XMLName", xml_name(""));
            cJSON_AddNullToObject(inner, f->go);
            cJSON_AddItemToObject(o, f->go, inner);
        } else if (f->kind == K_INT)
            cJSON_AddNumberToObject(o, f->go, 0);
        else if (f->kind == K_BOOL)
            cJSON_AddFalseToObject(o, f->go);
        else
            cJSON_AddStringToObject(o, f->go, "");
    }
    return o;
}

/* The next child element of the element being read (character data and the like skipped): 1 with its name
 * in x->last, 0 at the element's end, -1 on an error. */
static int next_child(struct xr *x)
{
    for (;;) {
        int t = token(x);
        if (t == T_ERR)
            return -1;
        if (t == T_END)
            return 0;
        if (t == T_START)
            return 1;
    }
}

/* The struct field of a list (<tcbMeasurements> holding <tcbMeasurements> strings): appends to its slice. */
static bool list_field(struct xr *x, cJSON *inner, const char *xml, const char *go)
{
    int c;
    cJSON_ReplaceItemInObjectCaseSensitive(inner, "XMLName", xml_name(xml));
    while ((c = next_child(x)) == 1) {
        if (strcmp(x->last.local, xml) != 0) {
            if (!skip(x))
                return false;
            continue;
        }
        char *s = NULL;
        if (!scalar_text(x, &s))
            return false;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(inner, go);
        if (!cJSON_IsArray(arr)) {
            arr = cJSON_CreateArray();
            cJSON_ReplaceItemInObjectCaseSensitive(inner, go, arr);
        }
        cJSON_AddItemToArray(arr, cJSON_CreateString(s));
        free(s);
    }
    return c == 0;
}

static bool one_field(struct xr *x, cJSON *o, const struct field *f)
{
    if (f->kind == K_LIST)
        return list_field(x, cJSON_GetObjectItemCaseSensitive(o, f->go), f->xml, f->go);
    char *s = NULL;
    double n = 0;
    bool b = false, ok = scalar_text(x, &s);
    if (ok && f->kind == K_INT && (ok = parse_int(x, s, &n)))
        cJSON_ReplaceItemInObjectCaseSensitive(o, f->go, cJSON_CreateNumber(n));
    else if (ok && f->kind == K_BOOL && (ok = parse_bool(x, s, &b)))
        cJSON_ReplaceItemInObjectCaseSensitive(o, f->go, cJSON_CreateBool(b));
    else if (ok && f->kind == K_STRING)
        cJSON_ReplaceItemInObjectCaseSensitive(o, f->go, cJSON_CreateString(s));
    free(s);
    return ok;
}

/* The root's children, up to its end. */
static bool root_fields(struct xr *x, cJSON *o)
{
    int c;
    while ((c = next_child(x)) == 1) {
        const struct field *f = NULL;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !f; i++)
            if (strcmp(fields[i].xml, x->last.local) == 0)
                f = &fields[i];
        if (!(f ? one_field(x, o, f) : skip(x)))
            return false;
    }
    return c == 0;
}

int go_xml_quote_response(const char *data, size_t len, cJSON **ret, char *err, size_t err_size)
{
    struct xr x = {.p = (const unsigned char *)data,
                   .end = (const unsigned char *)data + len,
                   .line = 1,
                   .err = err,
                   .err_size = err_size};
    cJSON *o = zero_response();
    int t = T_ERR;
    err[0] = '\0';
    x.cap = 256;
    x.buf = malloc(x.cap); /* the token buffer grows from here (buf_put) */
    if (!x.buf)
        fail(&x, false, "out of memory");
    while (!x.failed && ((t = token(&x)) == T_TEXT || t == T_OTHER))
        ; /* Unmarshal looks for the first start element */
    if (t == T_EOF)
        fail(&x, false, "EOF");
    else if (t == T_START && strcmp(x.last.local, "tpm_quote_response") != 0)
        fail(&x, false, "expected element type <tpm_quote_response> but have <%s>", x.last.local);
    else if (t == T_START) {
        cJSON_ReplaceItemInObjectCaseSensitive(o, "XMLName", xml_name("tpm_quote_response"));
        root_fields(&x, o);
    }
    for (size_t i = 0; i < x.depth; i++)
        name_free(&x.stack[i]);
    free(x.stack);
    free(x.buf);
    name_free(&x.last);
    if (x.failed || !o) {
        cJSON_Delete(o);
        return o ? -EINVAL : -ENOMEM;
    }
    *ret = o;
    return 0;
}
