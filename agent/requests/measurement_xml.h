/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tbootxm's two XML documents (private to agent/): the Manifest we hand to /opt/tbootxm/bin/measure (and
 * deploy to /opt/trustagent/var), and the Measurement it prints, which HVS wants as Go-default JSON
 * (spec 4.2). Pure functions: no I/O.
 *
 * The reader is libexpat underneath, with the Go agent's reading on top: the Go agent reads measure's output
 * with encoding/xml's Unmarshal into ta.Measurement, so where expat and encoding/xml part ways on a document,
 * this reader concludes what Go concludes unless that is dangerous or a test pins otherwise:
 * - Go's: text before the root is skipped (measure may print a complaint first) but must be XML text;
 *   nothing after the root's end tag is read; namespaces are resolved as Go resolves them (an undeclared
 *   prefix stays the "namespace", no error; "a:b:c" is all local name); attributes are matched by local name;
 *   an XML declaration of another version than 1.0 or another encoding than UTF-8 is refused (expat would
 *   convert Latin-1 or UTF-16; Unmarshal has no CharsetReader); line ends in text become "\n".
 * - Refused, though Go accepts them: DOCTYPE and every <! declaration (no DTD, so no entity expansion and no
 *   external entity, whatever the document says; parameter entities off too), repeated attributes (XML's
 *   rule; tested), character references to surrogates.
 * - expat's, unlike Go: a raw TAB/LF/CR in an attribute value becomes a space (XML's attribute-value
 *   normalisation; Go keeps it; as a character reference it survives in both); text between a declaration or
 *   comment and the root, and an <?xml ...?> that is not at the start, are errors (Go skips them). None of
 *   these occurs in the Measurement documents in HVS's own samples.
 * One root element whose children carry attributes and text is kept; deeper elements are checked and dropped,
 * as Unmarshal drops what it has no field for. Everything is bounded (size, depth, children, attributes,
 * namespace declarations).
 */
#ifndef TAGENT_MEASUREMENT_XML_H
#define TAGENT_MEASUREMENT_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "request_decode.h"

#define WML_MANIFEST_NS     "lib:wml:manifests:1.0"
#define WML_MEASUREMENTS_NS "lib:wml:measurements:1.0"

#define XML_MAX_BYTES    (4u << 20)
#define XML_MAX_DEPTH    16u
#define XML_MAX_CHILDREN 65536u
#define XML_MAX_ATTRS    32u

struct xml_attr {
    char *name; /* local part ("Path" of "p:Path") */
    char *value;
};

struct xml_elem {
    char *ns;   /* namespace URI the element's prefix (or the default namespace) resolves to; "" for none */
    char *name; /* local part */
    struct xml_attr *attrs;
    size_t n_attrs;
    char *text; /* the element's own character data (not its children's), entities and CDATA resolved */
    struct xml_elem *children; /* the root's children only */
    size_t n_children;
};

/* Parses the first root element of data[0..len) (see above). Every name, value and text is valid UTF-8 of XML
 * characters. Returns 0, -EINVAL with *ret_error (caller frees; ret_error may be NULL) saying what is wrong
 * and where, or -ENOMEM (*ret_error NULL). */
int xml_parse(const char *data, size_t len, struct xml_elem *ret_root, char **ret_error);
void xml_elem_free(struct xml_elem *e);
/* The value of the last attribute with this local name, or NULL. */
const char *xml_attr_get(const struct xml_elem *e, const char *name);

/* The Manifest XML the Go agent writes (xml.Marshal of its Manifest):
 *   <Manifest xmlns="lib:wml:manifests:1.0" Label=".." Uuid=".." DigestAlg=".."><Dir Exclude=".."
 *   FilterType=".." Include=".." Path=".." SearchType=".."></Dir><File Path=".."></File>...</Manifest>
 * Empty optional attributes are left out; attribute text is escaped as Go escapes it. Caller frees. */
int manifest_xml_write(const struct manifest *m, char **ret_xml, size_t *ret_len);

/* The Manifest XML HTTP mode receives -> the struct (as Go's xml.Unmarshal into ta.Manifest: root <Manifest>
 * in any namespace, Xmlns = that namespace, Dir/File/Symlink children in that order). 0, -EINVAL with
 * *ret_error, or -ENOMEM. */
int request_manifest_xml_decode(const char *data, size_t len, struct manifest *ret, char **ret_error);
/* Either Manifest decoder: request_manifest_decode (NATS, JSON) or request_manifest_xml_decode (HTTP). */
typedef int manifest_decode_fn(const char *data, size_t len, struct manifest *ret, char **ret_error);

/* measure's <Measurement> XML -> the bytes the Go agent's xml.Marshal of it writes (HTTP mode's reply):
 *   <Measurement xmlns=".." DigestAlg=".." Label=".." Uuid=".."><File Path=".." SearchType="..">hash</File>
 *   ...<Dir Include Exclude FilterType Path SearchType>..</Dir>...<Symlink ..>..</Symlink>
 *   <CumulativeHash>..</CumulativeHash></Measurement>
 * (one line; optional attributes left out when empty; children as measurement_xml_to_json() takes them).
 * 0, -EINVAL with *ret_error, or -ENOMEM. Caller frees *ret_xml. */
int measurement_xml_rewrite(const char *data, size_t len, char **ret_xml, size_t *ret_len, char **ret_error);

/* ` name="value"`, escaped as Go escapes it; optional (omitempty) attributes are left out when empty. */
void go_xml_attr(FILE *f, const char *name, const char *value, bool optional);

/* Writes s as Go's xml.EscapeText does (&, <, >, quotes, TAB, LF, CR as references). */
void go_xml_escape(FILE *f, const char *s);

/* measure's <Measurement> XML -> the Go-default JSON of taModel.Measurement:
 *   {"XMLName":{"Space":..,"Local":"Measurement"},"File":[{"Value","Path","SearchType"}]|null,
 *    "Dir":[{"Value","Include","Exclude","FilterType","Path","SearchType"}]|null,"Symlink":[..]|null,
 *    "CumulativeHash":..,"DigestAlg":..,"Label":..,"Uuid":..}
 * Children count only in the lib:wml:measurements:1.0 namespace (where measure puts them; Go's encoding/xml
 * would take them in any namespace: see add_items() in measurement_xml.c). Returns 0, -EINVAL with
 * *ret_error, or -ENOMEM. Caller frees *ret_json. */
int measurement_xml_to_json(const char *data, size_t len, char **ret_json, char **ret_error);

#endif
