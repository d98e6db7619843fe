/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Manifest as HTTP mode receives it (POST /v2/deploy/manifest, /v2/host/application-measurement): XML,
 * read as the Go agent's xml.Unmarshal into ta.Manifest reads it (see measurement_xml.h for the reader):
 * the root must be <Manifest> (in any namespace), its Label/Uuid/DigestAlg attributes and its Dir, File and
 * Symlink children are kept, in that order (the struct's), whatever else it holds is ignored.
 */
#include "cleanup.h"
#include "measurement_xml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"Dir", "File", "Symlink"};

/* A copy of e's attribute name ("" when absent), at most MANIFEST_MAX_STRING bytes. */
static int attr_copy(const struct xml_elem *e, const char *name, char **ret, char **ret_error)
{
    const char *v = xml_attr_get(e, name);
    if (v && strlen(v) > MANIFEST_MAX_STRING)
        return request_invalid(ret_error, "<%s %s=\"...\"> is %zu bytes; at most %u are accepted", e->name,
                               name, strlen(v), MANIFEST_MAX_STRING);
    return (*ret = strdup(v ? v : "")) ? 0 : -ENOMEM;
}

static int entry_read(const struct xml_elem *c, enum manifest_kind kind, struct manifest_entry *e,
                      char **ret_error)
{
    int r;
    e->kind = kind;
    if ((r = attr_copy(c, "Path", &e->path, ret_error)) < 0 ||
        (r = attr_copy(c, "SearchType", &e->search_type, ret_error)) < 0)
        return r;
    if (kind != MANIFEST_DIR)
        return (e->include = strdup("")) && (e->exclude = strdup("")) && (e->filter_type = strdup(""))
                   ? 0
                   : -ENOMEM;
    if ((r = attr_copy(c, "Include", &e->include, ret_error)) < 0 ||
        (r = attr_copy(c, "Exclude", &e->exclude, ret_error)) < 0)
        return r;
    return attr_copy(c, "FilterType", &e->filter_type, ret_error);
}

/* The Dirs, then the Files, then the Symlinks. */
static int entries_read(const struct xml_elem *root, struct manifest *m, char **ret_error)
{
    size_t total = 0;
    for (size_t i = 0; i < root->n_children; i++)
        for (int k = 0; k < 3; k++)
            total += strcmp(root->children[i].name, kind_names[k]) == 0;
    if (total > MANIFEST_MAX_ENTRIES)
        return request_invalid(ret_error, "the manifest has %zu entries; at most %u are accepted", total,
                               MANIFEST_MAX_ENTRIES);
    if (total == 0)
        return 0;
    if (!(m->entries = calloc(total, sizeof(*m->entries))))
        return -ENOMEM;
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < root->n_children; i++) {
            if (strcmp(root->children[i].name, kind_names[k]) != 0)
                continue;
            int r =
                entry_read(&root->children[i], (enum manifest_kind)k, &m->entries[m->n_entries++], ret_error);
            if (r < 0)
                return r;
        }
    return 0;
}

int request_manifest_xml_decode(const char *data, size_t len, struct manifest *ret, char **ret_error)
{
    _cleanup_(xml_elem_free) struct xml_elem root = {0};
    struct manifest m = {0};
    int r = xml_parse(data, len, &root, ret_error);
    if (r < 0)
        return r;
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): xml_parse() returns 0 only with root named */
    if (strcmp(root.name, "Manifest") != 0)
        return request_invalid(ret_error, "the root element is <%s>, not <Manifest>", root.name);
    /* Go's Xmlns field is the xmlns attribute: the namespace the root is in */
    if (!(m.xmlns = strdup(root.ns)))
        r = -ENOMEM;
    if (r == 0 && (r = attr_copy(&root, "Label", &m.label, ret_error)) == 0 &&
        (r = attr_copy(&root, "Uuid", &m.uuid, ret_error)) == 0 &&
        (r = attr_copy(&root, "DigestAlg", &m.digest_alg, ret_error)) == 0)
        r = entries_read(&root, &m, ret_error);
    if (r < 0) {
        manifest_free(&m);
        return r;
    }
    *ret = m;
    return 0;
}
