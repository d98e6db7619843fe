/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: every NATS request decoder (agent/requests/request_decode.c) and measure's XML reader
 * (agent/requests/measurement_xml.c) on the same bytes. Properties: no crash, leak or overread (the input is
 * not NUL-terminated); what a decoder accepts is within its documented bounds; a decoded Manifest written as
 * XML reads back to the same values; an accepted Measurement becomes valid JSON, the same with junk after its
 * root element, and any Measurement reads the same after a line of text (as Go's decoder reads them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "go_json.h"
#include "measurement_xml.h"
#include "request_decode.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void fuzz_quote(const char *data, size_t size)
{
    struct request_quote q = {0};
    char *msg = NULL;
    if (request_quote_decode(data, size, &q, &msg) == 0) {
        check(q.nonce && q.nonce_len >= 1 && q.nonce_len <= REQUEST_NONCE_MAX);
        check(q.pcr_mask != 0 && q.pcr_mask >> 24 == 0 && q.n_banks <= 3);
        check(!msg);
    }
    request_quote_free(&q);
    free(msg);
}

static void fuzz_asset_tag(const char *data, size_t size)
{
    struct request_asset_tag t;
    char *msg = NULL;
    if (request_asset_tag_decode(data, size, &t, &msg) == 0) {
        size_t n = strlen(t.hardware_uuid);
        check((n == 0 || request_uuid_valid(t.hardware_uuid)) && !msg);
        request_asset_tag_clear(&t);
    }
    free(msg);
}

static bool same_attr(const struct xml_elem *e, const char *name, const char *want, bool optional)
{
    const char *v = xml_attr_get(e, name);
    return v ? strcmp(v, want) == 0 : optional && !want[0];
}

/* The XML we would hand to measure or deploy reads back to exactly what was decoded. */
static void round_trip(const struct manifest *m)
{
    char *xml = NULL, *msg = NULL;
    size_t len = 0;
    struct xml_elem root = {0};
    if (manifest_xml_write(m, &xml, &len) < 0)
        return;
    check(xml_parse(xml, len, &root, &msg) == 0);
    check(strcmp(root.name, "Manifest") == 0 && same_attr(&root, "Label", m->label, false) &&
          same_attr(&root, "Uuid", m->uuid, false) && same_attr(&root, "DigestAlg", m->digest_alg, false) &&
          same_attr(&root, "xmlns", m->xmlns[0] ? m->xmlns : WML_MANIFEST_NS, false));
    check(root.n_children == m->n_entries);
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        const struct xml_elem *c = &root.children[i];
        check(same_attr(c, "Path", e->path, false) && same_attr(c, "SearchType", e->search_type, true) &&
              same_attr(c, "Include", e->include, true) && same_attr(c, "Exclude", e->exclude, true) &&
              same_attr(c, "FilterType", e->filter_type, true));
    }
    xml_elem_free(&root);
    free(xml);
}

static void fuzz_manifest(const char *data, size_t size)
{
    struct manifest m = {0};
    char *msg = NULL;
    if (request_manifest_decode(data, size, &m, &msg) == 0) {
        if (manifest_check(&m, &msg) == 0)
            check(request_uuid_valid(m.uuid) && m.label[0]);
        round_trip(&m);
    }
    manifest_free(&m);
    free(msg);
}

/* measurement_xml_to_json() of prefix + data + suffix, not NUL-terminated (as libFuzzer's input): its result,
 * and the JSON when it succeeds. */
static int measurement_framed(const char *prefix, const char *data, size_t size, const char *suffix,
                              char **ret_json)
{
    size_t np = strlen(prefix), ns = strlen(suffix);
    char *buf = malloc(np + size + ns + 1), *msg = NULL;
    check(buf != NULL);
    memcpy(buf, prefix, np); /* NOLINT(bugprone-not-null-terminated-result): unterminated on purpose */
    memcpy(buf + np, data, size);
    memcpy(buf + np + size, suffix, ns); /* NOLINT(bugprone-not-null-terminated-result): as above */
    int r = measurement_xml_to_json(buf, np + size + ns, ret_json, &msg);
    free(msg);
    free(buf);
    return r;
}

static void fuzz_measurement(const char *data, size_t size)
{
    char *json = NULL, *msg = NULL, *again = NULL;
    int r = measurement_xml_to_json(data, size, &json, &msg);
    if (r == 0) {
        cJSON *j = cJSON_Parse(json);
        check(cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "CumulativeHash"));
        cJSON_Delete(j);
        /* nothing after the root's end tag is read */
        check(measurement_framed("", data, size, "</x>&<", &again) == 0 && strcmp(again, json) == 0);
        free(again);
        again = NULL;
    }
    /* a line of text before the document (measure's complaints) changes nothing */
    if (size > 0 && data[0] == '<' && size < (1u << 16)) {
        int r2 = measurement_framed("Invalid log file specified\n", data, size, "", &again);
        check(r2 == r && (r < 0 || strcmp(again, json) == 0));
    }
    free(again);
    free(json);
    free(msg);
}

/* cJSON's printing of any JSON value, given Go's escapes, holds no raw '<', '>' or '&' and reads back as the
 * same value: printed again, the same text. (Not cJSON_Compare: it mismatches objects with duplicate keys.)
 */
static void fuzz_go_json(const char *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength(data, size);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL, *go = text ? go_json_html_escape(text) : NULL;
    if (go) {
        check(!strpbrk(go, "<>&"));
        cJSON *back = cJSON_Parse(go);
        char *again = back ? cJSON_PrintUnformatted(back) : NULL;
        check(again && strcmp(again, text) == 0);
        free(again);
        cJSON_Delete(back);
    }
    free(go);
    free(text);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_quote(text, size);
    fuzz_asset_tag(text, size);
    fuzz_manifest(text, size);
    fuzz_measurement(text, size);
    fuzz_go_json(text, size);
    return 0;
}
