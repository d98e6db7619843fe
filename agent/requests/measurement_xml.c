/* SPDX-License-Identifier: BSD-3-Clause */
/* measure's Measurement XML, read with libexpat and mapped as the Go agent's encoding/xml maps it onto
 * ta.Measurement, then written as the Go-default JSON HVS expects; see measurement_xml.h. */
#include "measurement_xml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <expat.h>

#include "cleanup.h"
#include "cleanup_cjson.h"

#define NS_MAX_IN_SCOPE 64u /* namespace declarations in scope at once */
#define NS_XML_URI      "http://www.w3.org/XML/1998/namespace"

/* ---- growing string, for the character data expat hands over in pieces ---- */

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

/* The text collected so far ("" when none); the buffer then belongs to the caller. */
static char *sbuf_take(struct sbuf *b)
{
    char *s = b->s ? TAKE_PTR(b->s) : strdup("");
    b->len = b->cap = 0;
    return s;
}

/* ---- the reader: expat's events, kept as the root and its children ---- */

struct ns_binding {
    char *prefix; /* "" for the default namespace */
    char *uri;
    unsigned depth; /* of the element that declared it */
};

struct reader {
    XML_Parser parser;
    const char *doc; /* what expat reads: the input from its first '<' */
    size_t doc_len;
    size_t skipped;            /* bytes of text before doc, for positions in messages */
    unsigned depth;            /* elements open */
    bool closed;               /* the root's end tag was read: the document is complete */
    char *open[XML_MAX_DEPTH]; /* qualified names of the open elements, outermost first (for messages) */
    struct ns_binding ns[NS_MAX_IN_SCOPE];
    size_t n_ns;
    struct xml_elem root;
    struct sbuf text[2]; /* character data of the root and of its open child */
    int error;           /* the first failure: -EINVAL with message, or -ENOMEM */
    char *message;
};

static void reader_clear(struct reader *r)
{
    XML_ParserFree(r->parser); /* accepts NULL */
    for (unsigned i = 0; i < XML_MAX_DEPTH; i++)
        free(r->open[i]);
    for (size_t i = 0; i < r->n_ns; i++) {
        free(r->ns[i].prefix);
        free(r->ns[i].uri);
    }
    xml_elem_free(&r->root);
    free(r->text[0].s);
    free(r->text[1].s);
    free(r->message);
}

/* Records the first failure and stops expat; later events are ignored (expat may still deliver one, e.g. the
 * end of an empty-element tag). */
static void stop(struct reader *r, int error)
{
    if (!r->error)
        r->error = error;
    XML_StopParser(r->parser, XML_FALSE);
}

/* A refusal: the message and where (a byte offset in the caller's input, as messages have always said). */
static void fail_at(struct reader *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(struct reader *r, size_t at, const char *fmt, ...)
{
    va_list ap;
    _cleanup_free_ char *what = NULL;
    if (r->error)
        return;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    if (what && asprintf(&r->message, "%s (at byte %zu)", what, r->skipped + at) < 0)
        r->message = NULL;
    stop(r, r->message ? -EINVAL : -ENOMEM);
}

/* Where expat is now (the start of the event a handler runs for, or the byte an error was found at). */
static size_t position(const struct reader *r)
{
    XML_Index i = XML_GetCurrentByteIndex(r->parser);
    return i < 0 || (size_t)i > r->doc_len ? r->doc_len : (size_t)i;
}

#define fail(r, ...) fail_at((r), position(r), __VA_ARGS__)

/* Go's split of a qualified name (encoding/xml nsname): prefix and local part at the one ':' when both are
 * non-empty; a name with no ':', an empty side or more than one ':' is all local part. *ret_plen is the
 * prefix's length (0 for none). */
static const char *local_part(const char *qname, size_t *ret_plen)
{
    const char *c = strchr(qname, ':');
    bool split = c && c != qname && c[1] && !strchr(c + 1, ':');
    *ret_plen = split ? (size_t)(c - qname) : 0;
    return split ? c + 1 : qname;
}

/* Pushes the xmlns="u" and xmlns:p="u" declarations among atts, as Go's decoder reads them. */
static int ns_declare(struct reader *r, const XML_Char **atts)
{
    for (size_t i = 0; atts[i]; i += 2) {
        size_t plen;
        const char *local = local_part(atts[i], &plen);
        bool prefixed = plen == 5 && strncmp(atts[i], "xmlns", 5) == 0;
        bool dflt = !plen && !strcmp(local, "xmlns");
        if (!prefixed && !dflt)
            continue;
        if (r->n_ns == NS_MAX_IN_SCOPE) {
            fail(r, "more than %u namespace declarations in scope", NS_MAX_IN_SCOPE);
            return -EINVAL;
        }
        /* counted first, so that reader_clear() frees a half-made one */
        struct ns_binding *b = &r->ns[r->n_ns++];
        *b = (struct ns_binding){
            .prefix = strdup(prefixed ? local : ""), .uri = strdup(atts[i + 1]), .depth = r->depth};
        if (!b->prefix || !b->uri)
            return -ENOMEM;
    }
    return 0;
}

/* Drops the declarations of the element at depth, which is ending. */
static void ns_pop(struct reader *r, unsigned depth)
{
    while (r->n_ns && r->ns[r->n_ns - 1].depth >= depth) {
        r->n_ns--;
        free(r->ns[r->n_ns].prefix);
        free(r->ns[r->n_ns].uri);
    }
}

/* The element name's namespace as Go's decoder translates it (encoding/xml translate): xml: is the XML
 * namespace, a declared prefix its URI, no prefix the default namespace (or none), an undeclared prefix stays
 * the "namespace" itself (expat's namespace mode would refuse it; Go does not). Caller frees. */
static char *ns_resolve(const struct reader *r, const char *qname, size_t plen, const char *local)
{
    if ((plen == 5 && strncmp(qname, "xmlns", 5) == 0) || (!plen && !strcmp(local, "xmlns")))
        return strndup(qname, plen);
    if (plen == 3 && strncmp(qname, "xml", 3) == 0)
        return strdup(NS_XML_URI);
    for (size_t i = r->n_ns; i-- > 0;)
        if (strlen(r->ns[i].prefix) == plen && strncmp(r->ns[i].prefix, qname, plen) == 0)
            return strdup(r->ns[i].uri);
    return strndup(qname, plen);
}

/* Fills e from a start tag: resolved name, attributes by local part (Go matches attribute fields by the local
 * name alone, so p:Path fills Path). */
static int elem_fill(struct reader *r, struct xml_elem *e, const char *qname, const XML_Char **atts, size_t n)
{
    size_t plen;
    const char *local = local_part(qname, &plen);
    if (!(e->ns = ns_resolve(r, qname, plen, local)) || !(e->name = strdup(local)) ||
        !(e->attrs = calloc(n ? n : 1, sizeof(*e->attrs))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        /* counted first, so that xml_elem_free() frees a half-filled one */
        struct xml_attr *a = &e->attrs[e->n_attrs++];
        size_t alen;
        if (!(a->name = strdup(local_part(atts[2 * i], &alen))) || !(a->value = strdup(atts[2 * i + 1])))
            return -ENOMEM;
    }
    return 0;
}

/* The root (depth 1) or a new child of it (depth 2). */
static int elem_keep(struct reader *r, const char *qname, const XML_Char **atts, size_t n_attrs)
{
    struct xml_elem *root = &r->root;
    if (r->depth == 1)
        return elem_fill(r, root, qname, atts, n_attrs);
    if (root->n_children == XML_MAX_CHILDREN) {
        fail(r, "more than %u elements", XML_MAX_CHILDREN);
        return -EINVAL;
    }
    if ((root->n_children & (root->n_children - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = root->n_children ? root->n_children * 2 : 1;
        struct xml_elem *c = realloc(root->children, cap * sizeof(*c));
        if (!c)
            return -ENOMEM;
        root->children = c;
    }
    struct xml_elem *c = &root->children[root->n_children++];
    memset(c, 0, sizeof(*c));
    return elem_fill(r, c, qname, atts, n_attrs);
}

static void XMLCALL on_start(void *user, const XML_Char *qname, const XML_Char **atts)
{
    struct reader *r = user;
    size_t n_attrs = 0;
    if (r->error || r->closed)
        return;
    while (atts[2 * n_attrs])
        n_attrs++;
    int e = 0;
    if (r->depth == XML_MAX_DEPTH)
        fail(r, "elements nested deeper than %u", XML_MAX_DEPTH);
    else if (n_attrs > XML_MAX_ATTRS)
        fail(r, "<%s> has more than %u attributes", qname, XML_MAX_ATTRS);
    else if (!(r->open[r->depth] = strdup(qname)))
        e = -ENOMEM;
    if (r->error || e < 0)
        goto out;
    r->depth++;
    e = ns_declare(r, atts);
    if (e == 0 && r->depth <= 2)
        e = elem_keep(r, qname, atts, n_attrs);
out:
    if (e < 0)
        stop(r, e);
}

static void XMLCALL on_end(void *user, const XML_Char *qname)
{
    struct reader *r = user;
    if (r->error || r->closed)
        return;
    if (r->depth <= 2) {
        struct xml_elem *e = r->depth == 1 ? &r->root : &r->root.children[r->root.n_children - 1];
        if (!(e->text = sbuf_take(&r->text[r->depth - 1]))) {
            stop(r, -ENOMEM);
            return;
        }
    }
    ns_pop(r, r->depth);
    r->depth--;
    free(TAKE_PTR(r->open[r->depth]));
    /* Go's Unmarshal reads no further than the root's end tag: whatever follows is not looked at */
    if (r->depth == 0) {
        r->closed = true;
        XML_StopParser(r->parser, XML_FALSE);
    }
}

/* Character data, CDATA sections and resolved references: the element's own text, as Go's ",chardata" and
 * string fields collect it (text inside grandchildren is not the child's). */
static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct reader *r = user;
    if (!r->error && !r->closed && (r->depth == 1 || r->depth == 2) &&
        sbuf_add(&r->text[r->depth - 1], s, (size_t)len) < 0)
        stop(r, -ENOMEM);
}

/* Go's decoder refuses an XML declaration of another version than 1.0 and, with no CharsetReader (Unmarshal
 * has none), of another encoding than UTF-8; expat would convert Latin-1 or UTF-16. */
static void XMLCALL on_xml_decl(void *user, const XML_Char *version, const XML_Char *encoding, int standalone)
{
    struct reader *r = user;
    if (version && strcmp(version, "1.0") != 0)
        fail(r, "XML version %s: only 1.0 is accepted", version);
    else if (encoding && strcasecmp(encoding, "utf-8") != 0)
        fail(r, "the document declares encoding %s: only UTF-8 is accepted", encoding);
}

/* No DTD: no entity declarations, so no entity expansion to abuse and no external entity to fetch. Go's
 * decoder skips a DOCTYPE (and expands none of its entities); refusing it loses nothing measure writes. */
static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    fail((struct reader *)user, "DOCTYPE and other <! declarations are not accepted");
}

/* ---- expat's errors in the words these messages have always used ---- */

static bool starts(const struct reader *r, size_t at, const char *lit)
{
    size_t n = strlen(lit);
    return r->doc_len - at >= n && memcmp(r->doc + at, lit, n) == 0;
}

/* The length of the run at at up to one of the bytes in stops (or the end: the input has no NUL). */
static size_t run_until(const struct reader *r, size_t at, const char *stops)
{
    size_t n = 0;
    while (at + n < r->doc_len && r->doc[at + n] && !strchr(stops, r->doc[at + n]))
        n++;
    return n;
}

/* The innermost open element's qualified name ("" before the root). */
static const char *innermost(const struct reader *r)
{
    return r->depth ? r->open[r->depth - 1] : "";
}

/* True when at is inside a tag: no '>' after the last '<' before it (an attribute value cannot hold a '<'; a
 * '>' in one only makes this say "outside"). */
static bool in_tag(const struct reader *r, size_t at)
{
    const char *lt = memrchr(r->doc, '<', at);
    return lt && !memchr(lt, '>', at - (size_t)(lt - r->doc));
}

/* expat could not take the '<' at at. */
static void describe_lt(struct reader *r, size_t at)
{
    if (in_tag(r, at))
        fail_at(r, at, "'<' inside an attribute value or a start tag (write &lt;)");
    else if (!r->depth)
        fail_at(r, at,
                "text after a declaration or comment before the root element (only text before the "
                "first '<' is skipped)");
    else
        fail_at(r, at, "%s", XML_ErrorString(XML_ERROR_INVALID_TOKEN));
}

/* True when at comes after a '=' and white space only: where an attribute's quoted value belongs. */
static bool after_equals(const struct reader *r, size_t at)
{
    const char *d = r->doc;
    while (at > 0 && (d[at - 1] == ' ' || d[at - 1] == '\t' || d[at - 1] == '\r' || d[at - 1] == '\n'))
        at--;
    return at > 0 && d[at - 1] == '=';
}

/* A <! declaration (DOCTYPE, ENTITY, ELEMENT, ...) at at: none is accepted (see on_doctype). */
static void describe_declaration(struct reader *r, size_t at)
{
    if (r->depth)
        fail_at(r, at, "<! declarations are not accepted inside <%s>", innermost(r));
    else
        fail_at(r, at, "DOCTYPE and other <! declarations are not accepted");
}

/* expat's "not well-formed (invalid token)" names the byte it could not take, at: say what is wrong there. */
static void describe_bad_token(struct reader *r, size_t at)
{
    const char *d = r->doc;
    char c = at < r->doc_len ? d[at] : '\0', prev = at ? d[at - 1] : '\0';
    if (prev == '&')
        fail_at(r, at - 1, "'&' starts no entity or character reference (write &amp;)");
    else if (at >= 2 && d[at - 2] == '<' && prev == '!')
        describe_declaration(r, at - 2);
    else if (prev == '<' && c == '/' && !r->depth)
        fail_at(r, at - 1, "an end tag before any element");
    else if (prev == '<')
        fail_at(r, at - 1, "'<' starts no element, end tag, comment or CDATA section (write &lt;)");
    else if (c == '<')
        describe_lt(r, at);
    else if (c == '>' && at >= 2 && d[at - 2] == ']' && prev == ']')
        fail_at(r, at - 2, "\"]]>\" outside a CDATA section (write ]]&gt;)");
    else if (after_equals(r, at))
        fail_at(r, at, "an attribute value is not quoted");
    else if ((unsigned char)c >= 0x80 || (unsigned char)c < 0x20)
        fail_at(r, at, "invalid UTF-8 or a character XML does not allow");
    else
        fail_at(r, at, "%s", XML_ErrorString(XML_ERROR_INVALID_TOKEN));
}

/* &#N; or &#xH; at at, which expat found to be no XML character. Its value is read with strtoul from a
 * NUL-terminated copy of the digits up to the ';' expat saw, leading zeros left out; more digits than the
 * copy holds are far beyond U+10FFFF. */
static void describe_char_ref(struct reader *r, size_t at)
{
    bool hex = starts(r, at, "&#x");
    size_t from = at + (hex ? 3 : 2), n = run_until(r, from, ";");
    char digits[16] = "";
    unsigned long cp = ULONG_MAX;
    while (n > 1 && r->doc[from] == '0') {
        from++;
        n--;
    }
    if (n < sizeof(digits)) {
        memcpy(digits, r->doc + from, n);
        cp = strtoul(digits, NULL, hex ? 16 : 10);
    }
    if (cp > 0x10ffff)
        fail_at(r, at, "character reference beyond U+10FFFF");
    else
        fail_at(r, at, "character reference to U+%lX, which XML does not allow", cp);
}

/* Two attributes of one start tag have the same name; at is the second one. The tag starts at the last '<'
 * before it (a '<' inside an attribute value is an error expat would have stopped at). */
static void describe_duplicate(struct reader *r, size_t at)
{
    const char *lt = memrchr(r->doc, '<', at);
    size_t tag = lt ? (size_t)(lt - r->doc) + 1 : at;
    fail_at(r, at, "attribute %.*s repeated in <%.*s>", (int)run_until(r, at, "= \t\r\n"), r->doc + at,
            (int)run_until(r, tag, " \t\r\n/>"), r->doc + tag);
}

/* The input ended before the document did (expat: no element, an unclosed token or a partial character). */
static void describe_early_end(struct reader *r, size_t at, enum XML_Error code)
{
    if (starts(r, at, "<!--"))
        fail_at(r, at, "unterminated comment");
    else if (starts(r, at, "<?"))
        fail_at(r, at, "unterminated processing instruction");
    else if (r->depth)
        fail_at(r, at, "unexpected end: <%s> is not closed", innermost(r));
    else if (code == XML_ERROR_NO_ELEMENTS)
        fail_at(r, at, "no XML element");
    else
        fail_at(r, at, "unexpected end inside the markup that starts here");
}

/* XML_Parse failed on its own (not through a handler): translate its error code. */
static void describe_error(struct reader *r)
{
    enum XML_Error code = XML_GetErrorCode(r->parser);
    size_t at = position(r);
    int n;
    switch (code) {
    case XML_ERROR_NO_MEMORY: stop(r, -ENOMEM); break;
    case XML_ERROR_INVALID_TOKEN: describe_bad_token(r, at); break;
    case XML_ERROR_BAD_CHAR_REF: describe_char_ref(r, at); break;
    case XML_ERROR_TAG_MISMATCH: fail_at(r, at, "the end tag does not match <%s>", innermost(r)); break;
    case XML_ERROR_DUPLICATE_ATTRIBUTE: describe_duplicate(r, at); break;
    case XML_ERROR_UNDEFINED_ENTITY:
        n = (int)run_until(r, at, ";");
        fail_at(r, at, "unknown entity %.*s; (only lt, gt, amp, quot, apos and character references)", n,
                r->doc + at);
        break;
    case XML_ERROR_UNCLOSED_CDATA_SECTION: fail_at(r, at, "unterminated CDATA section"); break;
    case XML_ERROR_NO_ELEMENTS:
    case XML_ERROR_UNCLOSED_TOKEN:
    case XML_ERROR_PARTIAL_CHAR: describe_early_end(r, at, code); break;
    case XML_ERROR_SYNTAX: /* before the root; a declaration there is the likely reason */
        if (starts(r, at, "<!") && !starts(r, at, "<!--"))
            describe_declaration(r, at);
        else
            fail_at(r, at, "%s", XML_ErrorString(code));
        break;
    default: fail_at(r, at, "%s", XML_ErrorString(code));
    }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(XML_Parser, XML_ParserFree)

/* Go's decoder reads text before the root element as character data, and refuses there what it refuses in an
 * element's text: invalid UTF-8, characters XML does not allow, a bare '&', an unknown entity, "]]>". expat
 * checks s[0..n) the same way as the content of a stand-in element. (A UTF-8 BOM is such text.) */
static int leading_text_check(const char *s, size_t n, char **ret_error)
{
    if (n == 0)
        return 0;
    _cleanup_(XML_ParserFreep) XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return -ENOMEM;
    if (XML_Parse(p, "<t>", 3, XML_FALSE) == XML_STATUS_OK &&
        XML_Parse(p, s, (int)n, XML_FALSE) == XML_STATUS_OK &&
        XML_Parse(p, "</t>", 4, XML_TRUE) == XML_STATUS_OK)
        return 0;
    enum XML_Error code = XML_GetErrorCode(p);
    XML_Index i = XML_GetCurrentByteIndex(p) - 3; /* in s, past "<t>" */
    size_t at = i < 0 ? 0 : (size_t)i > n ? n : (size_t)i;
    if (code == XML_ERROR_NO_MEMORY)
        return -ENOMEM;
    return request_invalid(ret_error, "the text before the first element is not XML text: %s (at byte %zu)",
                           XML_ErrorString(code), at);
}

int xml_parse(const char *data, size_t len, struct xml_elem *ret_root, char **ret_error)
{
    _cleanup_(reader_clear) struct reader r = {0};
    if (len > XML_MAX_BYTES)
        return request_invalid(ret_error, "the XML is %zu bytes; at most %u are accepted", len,
                               XML_MAX_BYTES);
    /* Go's decoder reads past character data before the root element (measure may print a line of complaint
     * before its XML); expat would call it a syntax error. So expat gets the input from its first '<'. */
    const char *lt = memchr(data, '<', len);
    if (!lt)
        return request_invalid(ret_error, "no XML element (at byte %zu)", len);
    r.skipped = (size_t)(lt - data);
    r.doc = lt;
    r.doc_len = len - r.skipped;
    int e = leading_text_check(data, r.skipped, ret_error);
    if (e < 0)
        return e;
    /* UTF-8 always, whatever the document declares (on_xml_decl refuses other declarations); namespaces are
     * Go's business here (ns_resolve), not expat's; no parameter entities, no DTD (on_doctype). */
    if (!(r.parser = XML_ParserCreate("UTF-8")))
        return -ENOMEM;
    XML_SetUserData(r.parser, &r);
    XML_SetElementHandler(r.parser, on_start, on_end);
    XML_SetCharacterDataHandler(r.parser, on_text);
    XML_SetXmlDeclHandler(r.parser, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(r.parser, on_doctype);
    XML_SetParamEntityParsing(r.parser, XML_PARAM_ENTITY_PARSING_NEVER);
    /* at most XML_MAX_BYTES, so the length fits expat's int */
    if (XML_Parse(r.parser, r.doc, (int)r.doc_len, XML_TRUE) == XML_STATUS_OK && !r.closed && !r.error)
        fail_at(&r, r.doc_len, "no XML element"); /* not reached: expat fails a document without a root */
    else if (!r.closed && !r.error)
        describe_error(&r);
    if (r.error) {
        if (ret_error)
            *ret_error = TAKE_PTR(r.message);
        return r.error;
    }
    *ret_root = r.root;
    r.root = (struct xml_elem){0};
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
    _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "Value", c->text);
    if (dir)
        ok = ok && cJSON_AddStringToObject(o, "Include", attr_or_empty(c, "Include")) &&
             cJSON_AddStringToObject(o, "Exclude", attr_or_empty(c, "Exclude")) &&
             cJSON_AddStringToObject(o, "FilterType", attr_or_empty(c, "FilterType"));
    ok = ok && cJSON_AddStringToObject(o, "Path", attr_or_empty(c, "Path")) &&
         cJSON_AddStringToObject(o, "SearchType", attr_or_empty(c, "SearchType"));
    return ok ? TAKE_PTR(o) : NULL;
}

/* The children named name in the measurements namespace, as an array; null when none (a nil Go slice).
 * The namespace test is this reader's own, not Go's: ta.Measurement's tags name no namespace, so Go's
 * encoding/xml takes such children in any namespace. measure puts every child in the measurements namespace,
 * where the two agree; the tests pin this reader's choice. */
static bool add_items(cJSON *o, const struct xml_elem *root, const char *name)
{
    _cleanup_(cJSON_Deletep) cJSON *list = NULL;
    for (size_t i = 0; i < root->n_children; i++) {
        const struct xml_elem *c = &root->children[i];
        if (strcmp(c->ns, WML_MEASUREMENTS_NS) != 0 || strcmp(c->name, name) != 0)
            continue;
        if (!list && !(list = cJSON_CreateArray()))
            return false;
        _cleanup_(cJSON_Deletep) cJSON *item = measurement_item(c, strcmp(name, "Dir") == 0);
        if (!item || !cJSON_AddItemToArray(list, item))
            return false;
        TAKE_PTR(item);
    }
    if (!list)
        return cJSON_AddNullToObject(o, name) != NULL;
    if (!cJSON_AddItemToObject(o, name, list))
        return false;
    TAKE_PTR(list);
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

/* ---- Measurement -> Go's xml.Marshal of it ---- */

static void put_items(FILE *f, const struct xml_elem *root, const char *name)
{
    bool dir = strcmp(name, "Dir") == 0;
    for (size_t i = 0; i < root->n_children; i++) {
        const struct xml_elem *c = &root->children[i];
        if (strcmp(c->ns, WML_MEASUREMENTS_NS) != 0 || strcmp(c->name, name) != 0)
            continue;
        fprintf(f, "<%s", name);
        if (dir) {
            go_xml_attr(f, "Include", attr_or_empty(c, "Include"), true);
            go_xml_attr(f, "Exclude", attr_or_empty(c, "Exclude"), true);
            go_xml_attr(f, "FilterType", attr_or_empty(c, "FilterType"), true);
        }
        go_xml_attr(f, "Path", attr_or_empty(c, "Path"), false);
        go_xml_attr(f, "SearchType", attr_or_empty(c, "SearchType"), true);
        fputc('>', f);
        go_xml_escape(f, c->text);
        fprintf(f, "</%s>", name);
    }
}

int measurement_xml_rewrite(const char *data, size_t len, char **ret_xml, size_t *ret_len, char **ret_error)
{
    _cleanup_(xml_elem_free) struct xml_elem root = {0};
    _cleanup_free_ char *buf = NULL;
    size_t n = 0;
    int r = xml_parse(data, len, &root, ret_error);
    if (r < 0)
        return r;
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): xml_parse() returns 0 only with root named */
    if (strcmp(root.name, "Measurement") != 0)
        return request_invalid(ret_error, "the root element is <%s>, not <Measurement>", root.name);
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return -ENOMEM;
    fputs("<Measurement", f);
    /* the XMLName Unmarshal filled in carries the namespace, which Marshal writes back as xmlns */
    if (root.ns[0])
        go_xml_attr(f, "xmlns", root.ns, false);
    go_xml_attr(f, "DigestAlg", attr_or_empty(&root, "DigestAlg"), true);
    go_xml_attr(f, "Label", attr_or_empty(&root, "Label"), true);
    go_xml_attr(f, "Uuid", attr_or_empty(&root, "Uuid"), true);
    fputc('>', f);
    put_items(f, &root, "File");
    put_items(f, &root, "Dir");
    put_items(f, &root, "Symlink");
    fputs("<CumulativeHash>", f);
    go_xml_escape(f, cumulative_hash(&root));
    fputs("</CumulativeHash></Measurement>", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed)
        return -ENOMEM;
    *ret_xml = TAKE_PTR(buf);
    *ret_len = n;
    return 0;
}

int measurement_xml_to_json(const char *data, size_t len, char **ret_json, char **ret_error)
{
    _cleanup_(xml_elem_free) struct xml_elem root = {0};
    _cleanup_(cJSON_Deletep) cJSON *o = NULL;
    cJSON *name = NULL;
    int r = xml_parse(data, len, &root, ret_error);
    if (r < 0)
        return r;
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): xml_parse() returns 0 only with root named */
    if (strcmp(root.name, "Measurement") != 0)
        return request_invalid(ret_error, "the root element is <%s>, not <Measurement>", root.name);
    if (!(o = cJSON_CreateObject()) || !(name = cJSON_AddObjectToObject(o, "XMLName")) ||
        !cJSON_AddStringToObject(name, "Space", root.ns) ||
        !cJSON_AddStringToObject(name, "Local", root.name) || !add_items(o, &root, "File") ||
        !add_items(o, &root, "Dir") || !add_items(o, &root, "Symlink") ||
        !cJSON_AddStringToObject(o, "CumulativeHash", cumulative_hash(&root)) ||
        !cJSON_AddStringToObject(o, "DigestAlg", attr_or_empty(&root, "DigestAlg")) ||
        !cJSON_AddStringToObject(o, "Label", attr_or_empty(&root, "Label")) ||
        !cJSON_AddStringToObject(o, "Uuid", attr_or_empty(&root, "Uuid")))
        return -ENOMEM;
    char *json = cJSON_PrintUnformatted(o);
    if (!json)
        return -ENOMEM;
    *ret_json = json;
    return 0;
}
