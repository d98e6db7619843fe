/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * trustagent.env: KEY=VALUE lines, '#' comments, blank lines, optional `export `, optional single or double
 * quotes, CRLF line ends. Every malformed line gets its own diagnostic and is skipped; the caller decides
 * whether to go on (update-service-config does not: it writes nothing when any line is bad).
 * A diagnostic never repeats a value: a misplaced quote in BEARER_TOKEN must not print the token.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct env_parser {
    const char *name;
    struct config_env *env;
    struct config_diags *diags;
    size_t cap;
    bool failed;
};

__attribute__((format(printf, 4, 5))) static void env_error(struct env_parser *p, unsigned line,
                                                            const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_addv(p->diags, CONFIG_ERROR, p->name, line, key, fmt, ap);
    va_end(ap);
    p->failed = true;
}

static bool is_key_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not well-formed UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong 3/4-byte forms, surrogates and code points above U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
        (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* Rejects NUL, control bytes other than tab, and malformed UTF-8: the signs of a binary file. */
static bool line_is_text(struct env_parser *p, unsigned lineno, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || (c >= 0x20 && c != 0x7f && c < 0x80)) {
            i++;
            continue;
        }
        char col[48];
        if (c < 0x80) {
            snprintf(col, sizeof(col), "0x%02x at column %zu", c, i + 1);
            env_error(
                p, lineno, NULL,
                "contains the control byte %s; trustagent.env must be plain text (is this a binary file?)",
                col);
            return false;
        }
        size_t u = utf8_len((const unsigned char *)s + i, n - i);
        if (!u) {
            snprintf(col, sizeof(col), "%zu", i + 1);
            env_error(p, lineno, NULL, "is not valid UTF-8 at column %s; save the file as UTF-8 text", col);
            return false;
        }
        i += u;
    }
    return true;
}

/* n bytes of a buffer that is not NUL-terminated, as a string (strndup would scan for a NUL). */
static char *copy_n(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int env_append(struct env_parser *p, char *key, char *value, unsigned line)
{
    struct config_env *env = p->env;
    if (env->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct config_env_entry *e = realloc(env->entries, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        env->entries = e;
        p->cap = cap;
    }
    env->entries[env->n++] = (struct config_env_entry){.key = key, .value = value, .line = line};
    return 0;
}

/* A key shown in a message: printable, at most 40 characters. Keys are never secrets. */
static void key_for_message(const char *k, size_t n, char out[static 48])
{
    size_t w = 0;
    for (size_t i = 0; i < n && w < 40; i++)
        out[w++] = (k[i] >= 0x20 && k[i] < 0x7f) ? k[i] : '?';
    if (n > 40) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = '\0';
}

/* Parses a quoted value starting at the opening quote s[0]. Double quotes take \" \\ \$ \` escapes as a
 * shell does; single quotes are literal. Returns the allocated value or NULL (error already reported). */
static char *parse_quoted(struct env_parser *p, unsigned lineno, const char *key, const char *s, size_t n)
{
    char q = s[0];
    char *out = malloc(n);
    if (!out)
        return NULL;
    size_t w = 0, i = 1;
    bool closed = false;
    for (; i < n; i++) {
        if (s[i] == q) {
            closed = true;
            i++;
            break;
        }
        if (q == '"' && s[i] == '\\' && i + 1 < n && strchr("\"\\$`", s[i + 1]))
            i++;
        out[w++] = s[i];
    }
    out[w] = '\0';

    const char *what = q == '"' ? "a double quote (\")" : "a single quote (')";
    if (!closed) {
        env_error(p, lineno, key, "the value opens %s that is not closed on the same line", what);
        goto fail;
    }
    for (; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
        ;
    if (i < n && s[i] != '#') {
        env_error(p, lineno, key,
                  "unexpected text after the closing quote; quote the whole value or nothing");
        goto fail;
    }
    return out;
fail:
    explicit_bzero(out, n);
    free(out);
    return NULL;
}

static const struct config_env_entry *env_find_n(const struct config_env *env, const char *key, size_t n)
{
    for (size_t i = 0; i < env->n; i++)
        if (strlen(env->entries[i].key) == n && memcmp(env->entries[i].key, key, n) == 0)
            return &env->entries[i];
    return NULL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* s[0..*n) without its leading blanks. */
static const char *skip_blanks(const char *s, size_t *n)
{
    while (*n && is_blank(*s))
        s++, (*n)--;
    return s;
}

/* s[0..*n) without `export ` in front (the shell form some files keep). */
static const char *skip_export(const char *s, size_t *n)
{
    if (*n > 7 && memcmp(s, "export", 6) == 0 && is_blank(s[6])) {
        s += 7, *n -= 7;
        s = skip_blanks(s, n);
    }
    return s;
}

/* The key of a KEY=VALUE line: 0 with its length (blanks before '=' not counted), the offset of the '=' and a
 * printable copy for messages; -EINVAL when there is none or it is not a valid name (diagnosed). */
static int line_key(struct env_parser *p, unsigned lineno, const char *s, size_t n, size_t *ret_klen,
                    size_t *ret_eq, char ret_shown[static 48])
{
    const char *eq = memchr(s, '=', n);
    if (!eq) {
        env_error(p, lineno, NULL, "expected KEY=VALUE but the line has no '='");
        return -EINVAL;
    }
    size_t klen = (size_t)(eq - s);
    while (klen && is_blank(s[klen - 1]))
        klen--;
    key_for_message(s, klen, ret_shown);
    if (klen == 0) {
        env_error(p, lineno, NULL, "the line starts with '=': a key is missing before it");
        return -EINVAL;
    }
    bool key_ok = is_key_start(s[0]);
    for (size_t i = 1; i < klen && key_ok; i++)
        key_ok = is_key_char(s[i]);
    if (!key_ok) {
        env_error(p, lineno, NULL,
                  "\"%s\" is not a valid key: use letters, digits and '_', not starting with a digit "
                  "(for example HVS_URL)",
                  ret_shown);
        return -EINVAL;
    }
    *ret_klen = klen;
    *ret_eq = (size_t)(eq - s);
    return 0;
}

/* Whether the key (klen bytes at s) may be added: 0 yes, -EEXIST when it is set already (diagnosed), 1 when
 * the file holds more keys than any trustagent.env (diagnosed: stop reading). */
static int key_admissible(struct env_parser *p, unsigned lineno, const char *key, const char *s, size_t klen)
{
    if (p->env->n == CONFIG_ENV_MAX_KEYS) {
        env_error(p, lineno, key, "more than %u keys: this is not a trustagent.env; the rest is not read",
                  CONFIG_ENV_MAX_KEYS);
        return 1;
    }
    const struct config_env_entry *prev = env_find_n(p->env, s, klen);
    if (prev) {
        char first[32];
        snprintf(first, sizeof(first), "%u", prev->line);
        env_error(p, lineno, key, "is set again (first on line %s); keep only one of the two lines", first);
        return -EEXIST;
    }
    return 0;
}

/* Adds the key (klen bytes at s) with the value at v (vn bytes, quoted or bare). 0, also when the value was
 * malformed (diagnosed, nothing added), or -ENOMEM. */
static int line_store(struct env_parser *p, unsigned lineno, const char *key, const char *s, size_t klen,
                      const char *v, size_t vn)
{
    char *value = (vn && (*v == '"' || *v == '\'')) ? parse_quoted(p, lineno, key, v, vn) : copy_n(v, vn);
    if (!value)
        return p->failed ? 0 : -ENOMEM;
    char *k = copy_n(s, klen);
    if (!k || env_append(p, k, value, lineno) < 0) {
        free(k);
        config_secret_free(value);
        return -ENOMEM;
    }
    return 0;
}

/* One line. Returns 0 to go on (problems are diagnostics), 1 to stop reading the file, -ENOMEM. */
static int parse_line(struct env_parser *p, unsigned lineno, const char *s, size_t n)
{
    if (!line_is_text(p, lineno, s, n))
        return 0;
    s = skip_blanks(s, &n);
    while (n && is_blank(s[n - 1]))
        n--;
    if (n == 0 || *s == '#')
        return 0;
    s = skip_export(s, &n);

    size_t klen, eq;
    char key[48]; /* for messages: valid keys are printable; long ones were cut, which is fine there */
    if (line_key(p, lineno, s, n, &klen, &eq, key) < 0)
        return 0;

    size_t vn = n - eq - 1;
    const char *v = skip_blanks(s + eq + 1, &vn);
    if (vn > CONFIG_ENV_MAX_VALUE) {
        char size[64];
        snprintf(size, sizeof(size), "%zu bytes; the limit is %u", vn, CONFIG_ENV_MAX_VALUE);
        env_error(p, lineno, key, "the value is %s bytes", size);
        return 0;
    }
    int r = key_admissible(p, lineno, key, s, klen);
    if (r != 0)
        return r > 0 ? 1 : 0;
    return line_store(p, lineno, key, s, klen, v, vn);
}

int config_env_parse(const char *buf, size_t len, const char *name, struct config_env *ret_env,
                     struct config_diags *diags)
{
    struct config_env env = {.name = strdup(name ? name : "trustagent.env")};
    struct env_parser p = {.name = env.name, .env = &env, .diags = diags};
    if (!env.name)
        return -ENOMEM;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        config_diag_add(diags, CONFIG_WARNING, p.name, 1, NULL,
                        "the file starts with a UTF-8 byte-order mark (BOM); it was ignored, but save the "
                        "file without one: the Go agent's installer would read the first key wrongly");
        buf += 3, len -= 3;
    }

    int r = 0;
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len && r == 0;) { /* r > 0: stop reading */
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - pos;
        if (n && buf[pos + n - 1] == '\r')
            n--; /* CRLF */
        r = parse_line(&p, ++lineno, buf + pos, n);
        pos = end + 1;
    }
    if (r > 0)
        r = 0; /* parse_line stopped early and said why */
    if (r < 0) {
        config_env_free(&env);
        return r;
    }
    *ret_env = env;
    return p.failed ? -EINVAL : 0;
}

int config_env_load(const char *path, struct config_env *ret_env, struct config_diags *diags)
{
    char *buf = NULL;
    size_t len = 0;
    int r = config_read_file(path, CONFIG_ENV_MAX_FILE, &buf, &len);
    if (r == -EFBIG)
        config_diag_add(diags, CONFIG_ERROR, path, 0, NULL,
                        "is larger than %u bytes; this is not a trustagent.env", CONFIG_ENV_MAX_FILE);
    else if (r == -EINVAL)
        config_diag_add(diags, CONFIG_ERROR, path, 0, NULL, "is not a regular file");
    else if (r < 0)
        config_diag_add(diags, CONFIG_ERROR, path, 0, NULL, "cannot be read: %s", strerror(-r));
    if (r < 0)
        return r;

    r = config_env_parse(buf, len, path, ret_env, diags);
    explicit_bzero(buf, len);
    free(buf);
    return r;
}

const struct config_env_entry *config_env_find(const struct config_env *env, const char *key)
{
    return env ? env_find_n(env, key, strlen(key)) : NULL;
}

void config_env_free(struct config_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->n; i++) {
        free(env->entries[i].key);
        config_secret_free(env->entries[i].value);
    }
    free(env->entries);
    free(env->name);
    *env = (struct config_env){0};
}
