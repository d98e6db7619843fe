/* SPDX-License-Identifier: BSD-3-Clause */
/* A small, bounded XML reader for tbootxm's flat documents, and measure's Measurement as JSON; see
 * measurement_xml.h. */
#include "measurement_xml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define XML_MAX_NS 64u /* namespace declarations in scope at once */

/* ---- growing string ---- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *p, size_t n)
{
    if (n >= SIZE_MAX - b->len)
        return -ENOMEM; /* len + n + 1 would wrap around */
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return -ENOMEM;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* p[0..n) as a NUL-terminated string (p need not be terminated: no strndup, which may read past n). */
static char *text_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* The text built so far ("" when none); the buffer then belongs to the caller. */
static char *sbuf_take(struct sbuf *b)
{
    char *s = b->s ? b->s : strdup("");
    memset(b, 0, sizeof(*b));
    return s;
}

/* ---- the reader ---- */

struct ns_binding {
    char *prefix; /* "" for the default namespace */
    char *uri;
    unsigned depth;
};

struct parser {
    const char *start, *p, *end;
    char **ret_message;
    struct ns_binding ns[XML_MAX_NS];
    size_t n_ns;
};

/* Sets *ps->ret_message to the message and where it happened; -ENOMEM when that could not be made, else 0. */
static int fail_message(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_message(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    char *what = NULL;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    if (what && asprintf(ps->ret_message, "%s (at byte %zu)", what, (size_t)(ps->p - ps->start)) < 0)
        *ps->ret_message = NULL;
    free(what);
    return *ps->ret_message ? 0 : -ENOMEM;
}

/* A parse error: -EINVAL with the message, or -ENOMEM. A macro so that the result is seen to be negative
 * where it is returned: clang's analyzer does not follow variadic calls, and would go on past every error. */
#define fail(ps, ...) (fail_message((ps), __VA_ARGS__) < 0 ? -ENOMEM : -EINVAL)

static bool at(const struct parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
}

/* Moves past the next lit (the end of a comment, PI or CDATA); what names the construct. */
static int skip_past(struct parser *ps, const char *lit, const char *what)
{
    const char *hit = memmem(ps->p, (size_t)(ps->end - ps->p), lit, strlen(lit));
    if (!hit)
        return fail(ps, "unterminated %s", what);
    ps->p = hit + strlen(lit);
    return 0;
}

static int utf8_put(unsigned cp, struct sbuf *out)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return sbuf_add(out, b, n);
}

static bool xml_char(unsigned long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* One reference at ps->p ('&'): the five predefined entities and &#N; / &#xH;. */
static int reference(struct parser *ps, struct sbuf *out)
{
    static const struct {
        const char *name, *text;
    } entities[] = {{"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"quot", "\""}, {"apos", "'"}};
    size_t window =
        (size_t)(ps->end - ps->p) < 40 ? (size_t)(ps->end - ps->p) : 40; /* room for leading zeros */
    const char *semi = memchr(ps->p, ';', window);
    if (!semi)
        return fail(ps, "'&' starts no entity or character reference (write &amp;)");
    const char *name = ps->p + 1;
    size_t n = (size_t)(semi - name);
    if (n >= 2 && name[0] == '#') {
        bool hex = name[1] == 'x';
        unsigned long cp = 0;
        size_t i = hex ? 2 : 1;
        if (i == n)
            return fail(ps, "empty character reference");
        for (; i < n; i++) {
            char c = name[i];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                return fail(ps, "malformed character reference");
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
            if (cp > 0x10ffff)
                return fail(ps, "character reference beyond U+10FFFF");
        }
        if (!xml_char(cp))
            return fail(ps, "character reference to U+%lX, which XML does not allow", cp);
        ps->p = semi + 1;
        return utf8_put((unsigned)cp, out);
    }
    for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
        if (strlen(entities[i].name) == n && memcmp(entities[i].name, name, n) == 0) {
            ps->p = semi + 1;
            return sbuf_add(out, entities[i].text, 1);
        }
    return fail(ps, "unknown entity &%.*s; (only lt, gt, amp, quot, apos and character references)", (int)n,
                name);
}

/* Character data up to stop (or the end), references resolved, appended to out. */
static int char_data(struct parser *ps, char stop, struct sbuf *out)
{
    int r = 0;
    while (r == 0 && ps->p < ps->end && *ps->p != stop) {
        if (*ps->p == '&') {
            r = reference(ps, out);
            continue;
        }
        if (*ps->p == '<')
            return fail(ps, "'<' inside an attribute value (write &lt;)");
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != stop && *ps->p != '&' && *ps->p != '<')
            ps->p++;
        if (!request_text_valid(run, (size_t)(ps->p - run))) {
            ps->p = run;
            return fail(ps, "invalid UTF-8 or a character XML does not allow");
        }
        r = sbuf_add(out, run, (size_t)(ps->p - run));
    }
    return r;
}

/* A name: up to white space, '/', '>' or '='. Caller frees. */
static int read_name(struct parser *ps, char **ret)
{
    const char *s = ps->p;
    while (ps->p < ps->end && !is_space(*ps->p) && !strchr("/>=", *ps->p)) {
        if (strchr("<&\"'", *ps->p))
            return fail(ps, "'%c' inside a name", *ps->p);
        ps->p++;
    }
    if (ps->p == s)
        return fail(ps, "a name is missing");
    if (!request_text_valid(s, (size_t)(ps->p - s))) {
        ps->p = s;
        return fail(ps, "a name is not valid UTF-8");
    }
    return (*ret = text_dup(s, (size_t)(ps->p - s))) ? 0 : -ENOMEM;
}

/* The part after the first ':' when both sides are non-empty (Go's rule), else all of it. */
static const char *local_part(const char *qname)
{
    const char *c = strchr(qname, ':');
    return c && c != qname && c[1] ? c + 1 : qname;
}

/* name="value" or name='value' pairs up to '>' or "/>"; names are stored qualified here. */
static int attributes(struct parser *ps, struct xml_elem *e)
{
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unexpected end inside <%s>", e->name);
        if (*ps->p == '>' || at(ps, "/>"))
            return 0;
        if (e->n_attrs == XML_MAX_ATTRS)
            return fail(ps, "<%s> has more than %u attributes", e->name, XML_MAX_ATTRS);
        struct xml_attr *a = &e->attrs[e->n_attrs];
        int r = read_name(ps, &a->name);
        if (r < 0)
            return r;
        e->n_attrs++;
        for (size_t i = 0; i + 1 < e->n_attrs; i++)
            if (strcmp(e->attrs[i].name, a->name) == 0)
                return fail(ps, "attribute %s repeated in <%s>", a->name, e->name);
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=')
            return fail(ps, "attribute %s of <%s> has no '=' value", a->name, e->name);
        ps->p++;
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
            return fail(ps, "the value of attribute %s is not quoted", a->name);
        char quote = *ps->p++;
        struct sbuf v = {0};
        r = char_data(ps, quote, &v);
        if (r == 0 && ps->p >= ps->end)
            r = fail(ps, "the value of attribute %s is not closed", a->name);
        if (r < 0) {
            free(v.s);
            return r;
        }
        ps->p++;
        if (!(a->value = sbuf_take(&v)))
            return -ENOMEM;
    }
}

/* Pushes the xmlns / xmlns:p declarations of e. */
static int declare_namespaces(struct parser *ps, const struct xml_elem *e, unsigned depth)
{
    /* The analyzer loses track of strings stored at a variable index of ps->ns; pop_namespaces() frees them. */
    for (size_t i = 0; i < e->n_attrs; i++) { /* NOLINT(clang-analyzer-unix.Malloc) */
        const char *n = e->attrs[i].name;
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): attributes() counts a name once it is read */
        if (strcmp(n, "xmlns") != 0 && strncmp(n, "xmlns:", 6) != 0)
            continue;
        if (ps->n_ns == XML_MAX_NS)
            return fail(ps, "more than %u namespace declarations in scope", XML_MAX_NS);
        char *prefix = strdup(n[5] == ':' ? n + 6 : ""), *uri = strdup(e->attrs[i].value);
        if (!prefix || !uri) {
            free(prefix);
            free(uri);
            return -ENOMEM;
        }
        ps->ns[ps->n_ns++] = (struct ns_binding){.prefix = prefix, .uri = uri, .depth = depth};
    }
    return 0;
}

static void pop_namespaces(struct parser *ps, unsigned depth)
{
    while (ps->n_ns && ps->ns[ps->n_ns - 1].depth >= depth) {
        ps->n_ns--;
        free(ps->ns[ps->n_ns].prefix);
        free(ps->ns[ps->n_ns].uri);
    }
}

/* Splits e->name (qualified) into e->ns and the local part, as Go's decoder translates names: an unknown
 * prefix stays the "namespace", no prefix takes the default namespace. */
static int resolve_name(struct parser *ps, struct xml_elem *e)
{
    const char *local = local_part(e->name);
    size_t plen = local == e->name ? 0 : (size_t)(local - e->name - 1);
    const char *uri =
        plen == 3 && strncmp(e->name, "xml", 3) == 0 ? "http://www.w3.org/XML/1998/namespace" : NULL;
    for (size_t i = ps->n_ns; !uri && i-- > 0;)
        if (strlen(ps->ns[i].prefix) == plen && strncmp(ps->ns[i].prefix, e->name, plen) == 0)
            uri = ps->ns[i].uri;
    char *ns = uri ? strdup(uri) : text_dup(e->name, plen);
    char *name = strdup(local);
    if (!ns || !name) {
        free(ns);
        free(name);
        return -ENOMEM;
    }
    free(e->name);
    e->name = name;
    e->ns = ns;
    return 0;
}

static int element(struct parser *ps, struct xml_elem *e, unsigned depth);

/* One child element at ps->p ('<'): kept when the parent is the root, else parsed and dropped. */
static int child(struct parser *ps, struct xml_elem *parent, unsigned depth)
{
    if (depth + 1 >= XML_MAX_DEPTH)
        return fail(ps, "elements nested deeper than %u", XML_MAX_DEPTH);
    if (depth > 0) {
        struct xml_elem tmp = {0};
        int r = element(ps, &tmp, depth + 1);
        xml_elem_free(&tmp);
        return r;
    }
    if (parent->n_children == XML_MAX_CHILDREN)
        return fail(ps, "more than %u elements", XML_MAX_CHILDREN);
    if ((parent->n_children & (parent->n_children - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = parent->n_children ? parent->n_children * 2 : 1;
        struct xml_elem *c = realloc(parent->children, cap * sizeof(*c));
        if (!c)
            return -ENOMEM;
        parent->children = c;
    }
    struct xml_elem *c = &parent->children[parent->n_children++];
    memset(c, 0, sizeof(*c));
    return element(ps, c, depth + 1);
}

/* Content after the start tag, through the matching end tag; qname is the start tag's name. */
static int content(struct parser *ps, struct xml_elem *e, const char *qname, unsigned depth)
{
    struct sbuf text = {0};
    int r = 0;
    while (r == 0) {
        if (ps->p >= ps->end) {
            r = fail(ps, "unexpected end: <%s> is not closed", qname);
        } else if (*ps->p != '<') {
            r = char_data(ps, '<', &text);
        } else if (at(ps, "<![CDATA[")) {
            ps->p += 9;
            const char *s = ps->p;
            if ((r = skip_past(ps, "]]>", "CDATA section")) == 0) {
                size_t n = (size_t)(ps->p - 3 - s);
                r = request_text_valid(s, n)
                        ? sbuf_add(&text, s, n)
                        : fail(ps, "invalid UTF-8 or a character XML does not allow in CDATA");
            }
        } else if (at(ps, "<!--")) {
            r = skip_past(ps, "-->", "comment");
        } else if (at(ps, "<?")) {
            r = skip_past(ps, "?>", "processing instruction");
        } else if (at(ps, "<!")) {
            r = fail(ps, "<! declarations are not accepted inside <%s>", qname);
        } else if (at(ps, "</")) {
            size_t n = strlen(qname);
            ps->p += 2;
            if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, qname, n) != 0) {
                r = fail(ps, "the end tag does not match <%s>", qname);
                break;
            }
            ps->p += n;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != '>') {
                r = fail(ps, "the end tag of <%s> is malformed", qname);
                break;
            }
            ps->p++;
            break;
        } else {
            r = child(ps, e, depth);
        }
    }
    if (r < 0) {
        free(text.s);
        return r;
    }
    return (e->text = sbuf_take(&text)) ? 0 : -ENOMEM;
}

/* An element at ps->p ('<'). */
static int element(struct parser *ps, struct xml_elem *e, unsigned depth)
{
    ps->p++;
    int r = read_name(ps, &e->name);
    if (r == 0 && !(e->attrs = calloc(XML_MAX_ATTRS, sizeof(*e->attrs))))
        r = -ENOMEM;
    if (r == 0)
        r = attributes(ps, e);
    if (r == 0)
        r = declare_namespaces(ps, e, depth);
    char *qname = r == 0 ? strdup(e->name) : NULL;
    if (r == 0 && !qname)
        r = -ENOMEM;
    if (r == 0)
        r = resolve_name(ps, e);
    for (size_t i = 0; r == 0 && i < e->n_attrs; i++) {
        char *local = strdup(local_part(e->attrs[i].name));
        if (!local) {
            r = -ENOMEM;
            break;
        }
        free(e->attrs[i].name);
        e->attrs[i].name = local;
    }
    if (r == 0 && at(ps, "/>")) {
        ps->p += 2;
        if (!(e->text = strdup("")))
            r = -ENOMEM;
    } else if (r == 0) {
        ps->p++; /* '>' */
        r = content(ps, e, qname, depth);
    }
    pop_namespaces(ps, depth);
    free(qname);
    return r;
}

int xml_parse(const char *data, size_t len, struct xml_elem *ret_root, char **ret_message)
{
    struct parser ps = {.start = data, .p = data, .end = data + len, .ret_message = ret_message};
    struct xml_elem root = {0};
    int r;
    *ret_message = NULL;
    if (len > XML_MAX_BYTES)
        return request_invalid(ret_message, "the XML is %zu bytes; at most %u are accepted", len,
                               XML_MAX_BYTES);
    if (at(&ps, "\xef\xbb\xbf"))
        ps.p += 3;
    for (;;) {
        const char *lt = memchr(ps.p, '<', (size_t)(ps.end - ps.p));
        if (!lt) {
            ps.p = ps.end;
            return fail(&ps, "no XML element");
        }
        ps.p = lt;
        if (at(&ps, "<?"))
            r = skip_past(&ps, "?>", "processing instruction");
        else if (at(&ps, "<!--"))
            r = skip_past(&ps, "-->", "comment");
        else if (at(&ps, "<!"))
            r = fail(&ps, "DOCTYPE and other <! declarations are not accepted");
        else if (at(&ps, "</"))
            r = fail(&ps, "an end tag before any element");
        else
            break;
        if (r < 0)
            return r;
    }
    r = element(&ps, &root, 0);
    pop_namespaces(&ps, 0);
    if (r < 0) {
        xml_elem_free(&root);
        return r;
    }
    *ret_root = root;
    return 0;
}

void xml_elem_free(struct xml_elem *e)
{
    for (size_t i = 0; i < e->n_children; i++)
        xml_elem_free(&e->children[i]);
    free(e->children);
    for (size_t i = 0; e->attrs && i < e->n_attrs; i++) {
        free(e->attrs[i].name);
        free(e->attrs[i].value);
    }
    free(e->attrs);
    free(e->ns);
    free(e->name);
    free(e->text);
    memset(e, 0, sizeof(*e));
}

const char *xml_attr_get(const struct xml_elem *e, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < e->n_attrs; i++)
        if (strcmp(e->attrs[i].name, name) == 0)
            v = e->attrs[i].value;
    return v;
}

/* ---- Measurement -> JSON ---- */

static const char *attr_or_empty(const struct xml_elem *e, const char *name)
{
    const char *v = xml_attr_get(e, name);
    return v ? v : "";
}

/* One File/Dir/Symlink measurement object, its fields in Go's struct order. */
static cJSON *measurement_item(const struct xml_elem *c, bool dir)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "Value", c->text);
    if (dir)
        ok = ok && cJSON_AddStringToObject(o, "Include", attr_or_empty(c, "Include")) &&
             cJSON_AddStringToObject(o, "Exclude", attr_or_empty(c, "Exclude")) &&
             cJSON_AddStringToObject(o, "FilterType", attr_or_empty(c, "FilterType"));
    ok = ok && cJSON_AddStringToObject(o, "Path", attr_or_empty(c, "Path")) &&
         cJSON_AddStringToObject(o, "SearchType", attr_or_empty(c, "SearchType"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The children named name in the measurements namespace, as an array; null when none (a nil Go slice). */
static bool add_items(cJSON *o, const struct xml_elem *root, const char *name)
{
    cJSON *list = NULL;
    for (size_t i = 0; i < root->n_children; i++) {
        const struct xml_elem *c = &root->children[i];
        if (strcmp(c->ns, WML_MEASUREMENTS_NS) != 0 || strcmp(c->name, name) != 0)
            continue;
        if (!list && !(list = cJSON_CreateArray()))
            return false;
        cJSON *item = measurement_item(c, strcmp(name, "Dir") == 0);
        if (!item || !cJSON_AddItemToArray(list, item)) {
            cJSON_Delete(item);
            cJSON_Delete(list);
            return false;
        }
    }
    if (!list)
        return cJSON_AddNullToObject(o, name) != NULL;
    if (!cJSON_AddItemToObject(o, name, list)) {
        cJSON_Delete(list);
        return false;
    }
    return true;
}

/* Go keeps the last CumulativeHash when there are several. */
static const char *cumulative_hash(const struct xml_elem *root)
{
    const char *h = "";
    for (size_t i = 0; i < root->n_children; i++)
        if (strcmp(root->children[i].ns, WML_MEASUREMENTS_NS) == 0 &&
            strcmp(root->children[i].name, "CumulativeHash") == 0)
            h = root->children[i].text;
    return h;
}

int measurement_xml_to_json(const char *data, size_t len, char **ret_json, char **ret_message)
{
    struct xml_elem root = {0};
    cJSON *o = NULL, *name = NULL;
    int r = xml_parse(data, len, &root, ret_message);
    if (r < 0)
        return r;
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): xml_parse() returns 0 only with root named */
    if (strcmp(root.name, "Measurement") != 0) {
        r = request_invalid(ret_message, "the root element is <%s>, not <Measurement>", root.name);
        goto out;
    }
    r = -ENOMEM;
    if (!(o = cJSON_CreateObject()) || !(name = cJSON_AddObjectToObject(o, "XMLName")) ||
        !cJSON_AddStringToObject(name, "Space", root.ns) ||
        !cJSON_AddStringToObject(name, "Local", root.name) || !add_items(o, &root, "File") ||
        !add_items(o, &root, "Dir") || !add_items(o, &root, "Symlink") ||
        !cJSON_AddStringToObject(o, "CumulativeHash", cumulative_hash(&root)) ||
        !cJSON_AddStringToObject(o, "DigestAlg", attr_or_empty(&root, "DigestAlg")) ||
        !cJSON_AddStringToObject(o, "Label", attr_or_empty(&root, "Label")) ||
        !cJSON_AddStringToObject(o, "Uuid", attr_or_empty(&root, "Uuid")))
        goto out;
    if ((*ret_json = cJSON_PrintUnformatted(o)))
        r = 0;
out:
    cJSON_Delete(o);
    xml_elem_free(&root);
    return r;
}
