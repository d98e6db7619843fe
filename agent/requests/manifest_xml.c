/* SPDX-License-Identifier: BSD-3-Clause */
/* The Manifest XML handed to tbootxm's measure and deployed to /opt/trustagent/var: the bytes Go's
 * xml.Marshal writes for the agent's Manifest struct. See measurement_xml.h. */
#include "measurement_xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* Go's xml.EscapeText (attribute and element text alike): quotes as &#34; / &#39;, and tab/LF/CR as
 * character references so they survive attribute-value normalisation. */
static const struct {
    char c;
    const char *ref;
} escapes[] = {{'"', "&#34;"}, {'\'', "&#39;"}, {'&', "&amp;"},  {'<', "&lt;"},
               {'>', "&gt;"},  {'\t', "&#x9;"}, {'\n', "&#xA;"}, {'\r', "&#xD;"}};

void go_xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *ref = NULL;
        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]) && !ref; i++)
            if (escapes[i].c == *s)
                ref = escapes[i].ref;
        if (ref)
            fputs(ref, f);
        else
            fputc(*s, f);
    }
}

void go_xml_attr(FILE *f, const char *name, const char *value, bool optional)
{
    if (optional && !value[0])
        return;
    fprintf(f, " %s=\"", name);
    go_xml_escape(f, value);
    fputc('"', f);
}

static void put_entry(FILE *f, const struct manifest_entry *e)
{
    static const char *const tags[] = {"Dir", "File", "Symlink"};
    const char *tag = tags[e->kind];
    fprintf(f, "<%s", tag);
    if (e->kind == MANIFEST_DIR) {
        go_xml_attr(f, "Exclude", e->exclude, true);
        go_xml_attr(f, "FilterType", e->filter_type, true);
        go_xml_attr(f, "Include", e->include, true);
    }
    go_xml_attr(f, "Path", e->path, false);
    go_xml_attr(f, "SearchType", e->search_type, true);
    fprintf(f, "></%s>", tag);
}

int manifest_xml_write(const struct manifest *m, char **ret_xml, size_t *ret_len)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    fputs("<Manifest", f);
    go_xml_attr(f, "xmlns", m->xmlns[0] ? m->xmlns : WML_MANIFEST_NS, false);
    go_xml_attr(f, "Label", m->label, false);
    go_xml_attr(f, "Uuid", m->uuid, false);
    go_xml_attr(f, "DigestAlg", m->digest_alg, false);
    fputc('>', f);
    /* Go writes the Dirs, then the Files, then the Symlinks (its struct order): so does the decoder */
    for (size_t i = 0; i < m->n_entries; i++)
        put_entry(f, &m->entries[i]);
    fputs("</Manifest>", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed)
        return -ENOMEM;
    *ret_xml = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}
