/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Go's encoding/json.Unmarshal, reduced to its verdict (see go_unmarshal.h). Two passes as in Go: a syntax
 * check of the whole input, then a walk of the value against the target type that stops at the first
 * error Go would report.
 */
#include "go_unmarshal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GO_MAX_DEPTH 10000 /* Go's scanner limit */

struct cursor {
    const char *p, *end;
    char *err;
    size_t err_size;
    int depth;
};

static int fail(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct cursor *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_size, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Go quotes the offending character: 'x', or '\x01' style for control bytes. */
static int bad_char(struct cursor *c, const char *context)
{
    if (c->p >= c->end)
        return fail(c, "unexpected end of JSON input");
    unsigned char ch = (unsigned char)*c->p;
    if (ch < 0x20 || ch == '\'' || ch == '\\' || ch >= 0x7f)
        return fail(c, "invalid character '\\x%02x' %s", ch, context);
    return fail(c, "invalid character '%c' %s", ch, context);
}

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* ---- pass 1: syntax ---- */

static int scan_value(struct cursor *c);

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static int scan_string(struct cursor *c)
{
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return 0;
        }
        if (ch < 0x20)
            return bad_char(c, "in string literal");
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->end)
                break;
            if (strchr("\"\\/bfnrt", *c->p) && *c->p)
                c->p++;
            else if (*c->p == 'u') {
                c->p++;
                for (int i = 0; i < 4; i++, c->p++)
                    if (c->p >= c->end || !is_hex(*c->p))
                        return bad_char(c, "in \\u hexadecimal character escape");
            } else
                return bad_char(c, "in string escape code");
        } else
            c->p++;
    }
    return fail(c, "unexpected end of JSON input");
}

static int scan_digits(struct cursor *c, const char *context)
{
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return bad_char(c, context);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return 0;
}

static int scan_number(struct cursor *c)
{
    if (*c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (scan_digits(c, "in numeric literal") < 0)
        return -EINVAL;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (scan_digits(c, "after decimal point in numeric literal") < 0)
            return -EINVAL;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (scan_digits(c, "in exponent of numeric literal") < 0)
            return -EINVAL;
    }
    return 0;
}

static int scan_literal(struct cursor *c, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++, c->p++)
        if (c->p >= c->end || *c->p != word[i]) {
            char context[48];
            snprintf(context, sizeof(context), "in literal %s (expecting '%c')", word, word[i]);
            return bad_char(c, context);
        }
    return 0;
}

static int scan_container(struct cursor *c, char close)
{
    if (++c->depth > GO_MAX_DEPTH)
        return fail(c, "exceeded max depth");
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"')
                return bad_char(c, "looking for beginning of object key string");
            if (scan_string(c) < 0)
                return -EINVAL;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return bad_char(c, "after object key");
            c->p++;
        }
        if (scan_value(c) < 0)
            return -EINVAL;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            c->depth--;
            return 0;
        }
        return bad_char(c, close == '}' ? "after object key:value pair" : "after array element");
    }
}

static int scan_value(struct cursor *c)
{
    skip_ws(c);
    if (c->p >= c->end)
        return fail(c, "unexpected end of JSON input");
    switch (*c->p) {
    case '{': return scan_container(c, '}');
    case '[': return scan_container(c, ']');
    case '"': return scan_string(c);
    case 't': return scan_literal(c, "true");
    case 'f': return scan_literal(c, "false");
    case 'n': return scan_literal(c, "null");
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
            return scan_number(c);
        return bad_char(c, "looking for beginning of value");
    }
}

static int check_valid(struct cursor *c)
{
    if (scan_value(c) < 0)
        return -EINVAL;
    skip_ws(c);
    if (c->p < c->end)
        return bad_char(c, "after top-level value");
    return 0;
}

/* ---- pass 2: the value against the type (the input is valid JSON) ---- */

struct context {
    const char *struct_name; /* innermost struct type, "" when none */
    char path[256];          /* field path from the top, "a.b.c" */
};

static int type_error(struct cursor *c, const struct context *ctx, const char *what, const struct go_type *t)
{
    if (ctx->path[0])
        return fail(c, "json: cannot unmarshal %s into Go struct field %s.%s of type %s", what,
                    ctx->struct_name, ctx->path, t->name);
    return fail(c, "json: cannot unmarshal %s into Go value of type %s", what, t->name);
}

/* Skips one (valid) value. */
static void skip_value(struct cursor *c)
{
    skip_ws(c);
    if (*c->p == '"') {
        scan_string(c);
        return;
    }
    if (*c->p == '{' || *c->p == '[') {
        int depth = 0;
        do {
            if (*c->p == '"') {
                scan_string(c);
                continue;
            }
            if (*c->p == '{' || *c->p == '[')
                depth++;
            else if (*c->p == '}' || *c->p == ']')
                depth--;
            c->p++;
        } while (depth > 0);
        return;
    }
    while (c->p < c->end && !strchr(",]} \t\r\n", *c->p))
        c->p++;
}

static int hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v * 16 + (unsigned)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    return (int)v;
}

static void put_utf8(char **o, unsigned cp)
{
    if (cp < 0x80)
        *(*o)++ = (char)cp;
    else if (cp < 0x800) {
        *(*o)++ = (char)(0xC0 | cp >> 6);
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *(*o)++ = (char)(0xE0 | cp >> 12);
        *(*o)++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *(*o)++ = (char)(0xF0 | cp >> 18);
        *(*o)++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *(*o)++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* The decoded text of the (valid) string at c->p, advancing past it (caller frees; NULL: out of memory).
 * Lone surrogates become U+FFFD as in Go. */
static char *read_string(struct cursor *c, size_t *ret_len)
{
    const char *start = c->p;
    scan_string(c);
    char *out = malloc((size_t)(c->p - start) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = start + 1; p < c->p - 1; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = (unsigned)hex4(p + 1);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p + 6 < c->p - 1 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = (unsigned)hex4(p + 3);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else
                    cp = 0xFFFD;
            } else if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD;
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = *p; break; /* " \ / */
        }
    }
    *o = '\0';
    *ret_len = (size_t)(o - out);
    return out;
}

static int decode_value(struct cursor *c, const struct go_type *t, struct context *ctx);

/* A number literal (text[0..len)) into t. */
static int decode_number(struct cursor *c, const char *text, size_t len, const struct go_type *t,
                         const struct context *ctx)
{
    char what[80];
    snprintf(what, sizeof(what), "number %.*s", (int)(len < 60 ? len : 60), text);
    if (t->kind == GO_ANY)
        return 0;
    if (t->kind != GO_INT)
        return type_error(c, ctx, "number", t);
    char buf[64];
    if (len >= sizeof(buf))
        return type_error(c, ctx, what, t);
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    (void)strtoimax(buf, &end, 10);
    if (errno == ERANGE || *end != '\0' || strchr(buf, '.') || strchr(buf, 'e') || strchr(buf, 'E'))
        return type_error(c, ctx, what, t);
    return 0;
}

/* A ",string" field: the value must be a string holding a literal of the field's type (or null). */
static int decode_quoted(struct cursor *c, const struct go_type *t, struct context *ctx)
{
    skip_ws(c);
    if (*c->p == 'n') {
        skip_value(c);
        return 0;
    }
    if (*c->p != '"') {
        skip_value(c);
        return fail(c, "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into %s",
                    t->name);
    }
    size_t len = 0;
    char *inner = read_string(c, &len);
    if (!inner)
        return fail(c, "out of memory");
    int r = -1; /* "", and anything that is not a literal of the field's type */
    bool is_bool = strcmp(inner, "true") == 0 || strcmp(inner, "false") == 0;
    if (strcmp(inner, "null") == 0 || (is_bool && t->kind == GO_BOOL))
        r = 0;
    else if ((inner[0] == '-' || (inner[0] >= '0' && inner[0] <= '9')) && t->kind == GO_INT)
        r = decode_number(c, inner, len, t, ctx); /* "1.5" into an int: a type error, as in Go */
    if (r == -1)
        r = fail(c, "json: invalid use of ,string struct tag, trying to unmarshal \"%s\" into %s", inner,
                 t->name);
    free(inner);
    return r;
}

static const struct go_field *field_find(const struct go_type *t, const char *key)
{
    for (size_t i = 0; i < t->n_fields; i++) /* an exact match wins over a case-folded one */
        if (strcmp(t->fields[i].json_name, key) == 0)
            return &t->fields[i];
    for (size_t i = 0; i < t->n_fields; i++)
        if (strcasecmp(t->fields[i].json_name, key) == 0)
            return &t->fields[i];
    return NULL;
}

static int decode_object(struct cursor *c, const struct go_type *t, struct context *ctx)
{
    c->p++; /* { */
    for (;;) {
        skip_ws(c);
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        size_t klen = 0;
        char *key = read_string(c, &klen);
        if (!key)
            return fail(c, "out of memory");
        skip_ws(c);
        c->p++; /* : */
        const struct go_field *f = t->kind == GO_STRUCT ? field_find(t, key) : NULL;
        int r = 0;
        if (t->kind == GO_ANY || !f)
            skip_value(c); /* unknown keys are ignored */
        else {
            struct context inner = *ctx;
            inner.struct_name = t->name[0] && strchr(t->name, '.') ? strchr(t->name, '.') + 1 : t->name;
            size_t n =
                strlen(ctx->path); /* the path was cut at 255 bytes: a deeper one only loses its tail */
            if (n && n + 1 < sizeof(inner.path))
                inner.path[n++] = '.';
            inner.path[n] = '\0';
            strncat(inner.path, f->json_name, sizeof(inner.path) - n - 1);
            r = f->quoted ? decode_quoted(c, f->type, &inner) : decode_value(c, f->type, &inner);
        }
        free(key);
        if (r < 0)
            return r;
    }
}

static int decode_array(struct cursor *c, const struct go_type *t, struct context *ctx)
{
    c->p++; /* [ */
    for (;;) {
        skip_ws(c);
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        int r = t->kind == GO_ANY ? (skip_value(c), 0) : decode_value(c, t->elem, ctx);
        if (r < 0)
            return r;
    }
}

static int decode_value(struct cursor *c, const struct go_type *t, struct context *ctx)
{
    skip_ws(c);
    char first = *c->p;
    if (t->kind == GO_PTR && first != 'n')
        return decode_value(c, t->elem, ctx);
    if (first == 'n' || t->kind == GO_ANY) { /* null: no-op */
        skip_value(c);
        return 0;
    }
    switch (first) {
    case '{':
        if (t->kind != GO_STRUCT) {
            skip_value(c);
            return type_error(c, ctx, "object", t);
        }
        return decode_object(c, t, ctx);
    case '[':
        if (t->kind != GO_SLICE) {
            skip_value(c);
            return type_error(c, ctx, "array", t);
        }
        return decode_array(c, t, ctx);
    case '"': {
        if (t->kind != GO_STRING && t->kind != GO_BYTES) {
            skip_value(c);
            return type_error(c, ctx, "string", t);
        }
        size_t len = 0;
        char *s = read_string(c, &len);
        if (!s)
            return fail(c, "out of memory");
        int r = 0;
        if (t->kind == GO_BYTES && !go_base64_std_valid(s, len, c->err, c->err_size))
            r = -EINVAL;
        free(s);
        return r;
    }
    case 't':
    case 'f': skip_value(c); return t->kind == GO_BOOL ? 0 : type_error(c, ctx, "bool", t);
    default: {
        const char *start = c->p;
        skip_value(c);
        return decode_number(c, start, (size_t)(c->p - start), t, ctx);
    }
    }
}

int go_unmarshal(const char *data, size_t len, const struct go_type *type, char *err, size_t err_size)
{
    struct cursor c = {.p = data, .end = data + len, .err = err, .err_size = err_size};
    if (err_size)
        err[0] = '\0';
    if (check_valid(&c) < 0)
        return -EINVAL;
    c.p = data;
    struct context ctx = {.struct_name = ""};
    return decode_value(&c, type, &ctx);
}

bool go_base64_std_valid(const char *s, size_t len, char *err, size_t err_size)
{
    size_t n = 0, pad = 0, bad = SIZE_MAX;
    for (size_t i = 0; i < len && bad == SIZE_MAX; i++) {
        char ch = s[i];
        if (ch == '\r' || ch == '\n')
            continue;
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                     ch == '+' || ch == '/';
        if (ch == '=') {
            /* padding only in the last one or two places of a quantum */
            if (n % 4 < 2)
                bad = i;
            pad++, n++;
        } else if (!alpha || pad)
            bad = i;
        else
            n++;
    }
    if (bad == SIZE_MAX && n % 4 != 0)
        bad = len;
    if (bad != SIZE_MAX) {
        snprintf(err, err_size, "illegal base64 data at input byte %zu", bad);
        return false;
    }
    return true;
}

/* ---- HVS v5.1's types (pkg/model/ta) ---- */

#define FIELDS(a) a, sizeof(a) / sizeof((a)[0])

static const struct go_type t_string = {GO_STRING, "string", NULL, 0, NULL};
static const struct go_type t_bool = {GO_BOOL, "bool", NULL, 0, NULL};
static const struct go_type t_int = {GO_INT, "int", NULL, 0, NULL};
static const struct go_type t_int64 = {GO_INT, "int64", NULL, 0, NULL};
static const struct go_type t_strings = {GO_SLICE, "[]string", NULL, 0, &t_string};

static const struct go_field xml_name_fields[] = {{"Space", &t_string, false}, {"Local", &t_string, false}};
static const struct go_type t_xml_name = {GO_STRUCT, "xml.Name", FIELDS(xml_name_fields), NULL};

static const struct go_field tcb_fields[] = {{"XMLName", &t_xml_name, false},
                                             {"TcbMeasurements", &t_strings, false}};
static const struct go_type t_tcb = {GO_STRUCT,
                                     "struct { XMLName xml.Name \"xml:\\\"tcbMeasurements\\\"\"; "
                                     "TcbMeasurements []string \"xml:\\\"tcbMeasurements\\\"\" }",
                                     FIELDS(tcb_fields), NULL};
static const struct go_field banks_fields[] = {{"XMLName", &t_xml_name, false},
                                               {"SelectedPcrBanks", &t_strings, false}};
static const struct go_type t_banks = {GO_STRUCT,
                                       "struct { XMLName xml.Name \"xml:\\\"selectedPcrBanks\\\"\"; "
                                       "SelectedPcrBanks []string \"xml:\\\"selectedPcrBanks\\\"\" }",
                                       FIELDS(banks_fields), NULL};

static const struct go_field quote_fields[] = {
    {"XMLName", &t_xml_name, false},
    {"TimeStamp", &t_int64, false},
    {"ErrorCode", &t_int, false},
    {"ErrorMessage", &t_string, false},
    {"Aik", &t_string, false},
    {"Quote", &t_string, false},
    {"EventLog", &t_string, false},
    {"ImaLogs", &t_string, false},
    {"TcbMeasurements", &t_tcb, false},
    {"SelectedPcrBanks", &t_banks, false},
    {"IsTagProvisioned", &t_bool, false},
    {"AssetTag", &t_string, false},
};
const struct go_type go_type_tpm_quote_response = {GO_STRUCT, "ta.TpmQuoteResponse", FIELDS(quote_fields),
                                                   NULL};

/* HardwareFeature's Enabled (",string") is promoted into TPM, CBNT and UEFI, which embed it. */
static const struct go_field feature_fields[] = {{"enabled", &t_bool, true}};
static const struct go_type t_feature = {GO_STRUCT, "ta.HardwareFeature", FIELDS(feature_fields), NULL};
static const struct go_type t_feature_ptr = {GO_PTR, "*ta.HardwareFeature", NULL, 0, &t_feature};

static const struct go_field tpm_meta_fields[] = {{"tpm_version", &t_string, false}};
static const struct go_type t_tpm_meta = {
    GO_STRUCT, "struct { TPMVersion string \"json:\\\"tpm_version\\\"\" }", FIELDS(tpm_meta_fields), NULL};
static const struct go_field tpm_fields[] = {{"enabled", &t_bool, true}, {"meta", &t_tpm_meta, false}};
static const struct go_type t_tpm = {GO_STRUCT, "ta.TPM", FIELDS(tpm_fields), NULL};
static const struct go_type t_tpm_ptr = {GO_PTR, "*ta.TPM", NULL, 0, &t_tpm};

static const struct go_field cbnt_meta_fields[] = {{"profile", &t_string, false}, {"msr", &t_string, false}};
static const struct go_type t_cbnt_meta = {GO_STRUCT,
                                           "struct { Profile string \"json:\\\"profile\\\"\"; MSR string "
                                           "\"json:\\\"msr\\\"\" }",
                                           FIELDS(cbnt_meta_fields), NULL};
static const struct go_field cbnt_fields[] = {{"enabled", &t_bool, true}, {"meta", &t_cbnt_meta, false}};
static const struct go_type t_cbnt = {GO_STRUCT, "ta.CBNT", FIELDS(cbnt_fields), NULL};
static const struct go_type t_cbnt_ptr = {GO_PTR, "*ta.CBNT", NULL, 0, &t_cbnt};

static const struct go_field uefi_meta_fields[] = {{"secure_boot_enabled", &t_bool, false}};
static const struct go_type t_uefi_meta = {
    GO_STRUCT, "struct { SecureBootEnabled bool \"json:\\\"secure_boot_enabled\\\"\" }",
    FIELDS(uefi_meta_fields), NULL};
static const struct go_field uefi_fields[] = {{"enabled", &t_bool, true}, {"meta", &t_uefi_meta, false}};
static const struct go_type t_uefi = {GO_STRUCT, "ta.UEFI", FIELDS(uefi_fields), NULL};
static const struct go_type t_uefi_ptr = {GO_PTR, "*ta.UEFI", NULL, 0, &t_uefi};

static const struct go_field features_fields[] = {
    {"TXT", &t_feature_ptr, false}, {"TPM", &t_tpm_ptr, false},     {"CBNT", &t_cbnt_ptr, false},
    {"UEFI", &t_uefi_ptr, false},   {"PFR", &t_feature_ptr, false}, {"BMC", &t_feature_ptr, false},
};
static const struct go_type t_features = {GO_STRUCT, "ta.HardwareFeatures", FIELDS(features_fields), NULL};

static const struct go_field host_info_fields[] = {
    {"os_name", &t_string, false},
    {"os_version", &t_string, false},
    {"os_type", &t_string, false},
    {"bios_version", &t_string, false},
    {"vmm_name", &t_string, false},
    {"vmm_version", &t_string, false},
    {"processor_info", &t_string, false},
    {"host_name", &t_string, false},
    {"bios_name", &t_string, false},
    {"hardware_uuid", &t_string, false},
    {"process_flags", &t_string, false},
    {"no_of_sockets", &t_int, true},
    {"tboot_installed", &t_bool, true},
    {"is_docker_env", &t_bool, true},
    {"hardware_features", &t_features, false},
    {"installed_components", &t_strings, false},
};
const struct go_type go_type_host_info = {GO_STRUCT, "ta.HostInfo", FIELDS(host_info_fields), NULL};

static const struct go_field file_fields[] = {
    {"Value", &t_string, false}, {"Path", &t_string, false}, {"SearchType", &t_string, false}};
static const struct go_type t_file = {GO_STRUCT, "ta.FileMeasurementType", FIELDS(file_fields), NULL};
static const struct go_type t_files = {GO_SLICE, "[]ta.FileMeasurementType", NULL, 0, &t_file};
static const struct go_field dir_fields[] = {{"Value", &t_string, false},   {"Include", &t_string, false},
                                             {"Exclude", &t_string, false}, {"FilterType", &t_string, false},
                                             {"Path", &t_string, false},    {"SearchType", &t_string, false}};
static const struct go_type t_dir = {GO_STRUCT, "ta.DirectoryMeasurementType", FIELDS(dir_fields), NULL};
static const struct go_type t_dirs = {GO_SLICE, "[]ta.DirectoryMeasurementType", NULL, 0, &t_dir};
static const struct go_type t_symlink = {GO_STRUCT, "ta.SymlinkMeasurementType", FIELDS(file_fields), NULL};
static const struct go_type t_symlinks = {GO_SLICE, "[]ta.SymlinkMeasurementType", NULL, 0, &t_symlink};

static const struct go_field measurement_fields[] = {
    {"XMLName", &t_xml_name, false},
    {"File", &t_files, false},
    {"Dir", &t_dirs, false},
    {"Symlink", &t_symlinks, false},
    {"CumulativeHash", &t_string, false},
    {"DigestAlg", &t_string, false},
    {"Label", &t_string, false},
    {"Uuid", &t_string, false},
};
const struct go_type go_type_measurement = {GO_STRUCT, "ta.Measurement", FIELDS(measurement_fields), NULL};
