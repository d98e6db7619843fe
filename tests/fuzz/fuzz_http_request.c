/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: HTTP mode's request path as far as tagent owns it (libmicrohttpd's own parsing is not ours):
 * the route of a method and path, the route's Content-Type rule, then the body decoder its handler runs
 * (quote and tag JSON with the unknown-field check, the Manifest XML) and the Measurement written back as
 * Go's xml.Marshal writes it. Input: "METHOD PATH\nCONTENT-TYPE\nBODY" (a missing line is an absent value).
 * Properties: no crash, leak or overread (the body is not NUL-terminated); a route is found only for an exact
 * path of the table, and a 405 names the route that has the path; a Manifest read from XML passes through the
 * XML writer and reads back to the same values; an accepted Measurement rewrite is itself an accepted
 * Measurement, unchanged by a second rewrite.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_routes.h"
#include "measurement_xml.h"
#include "request_decode.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The next line of data (without its '\n') as a C string; NULL when none is left. */
static char *line_take(const char **data, size_t *size)
{
    if (*size == 0)
        return NULL;
    const char *nl = memchr(*data, '\n', *size);
    size_t n = nl ? (size_t)(nl - *data) : *size;
    /* not strndup: data has no NUL, and strndup may read past n looking for one (ASan's strict checks) */
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, *data, n);
        s[n] = '\0';
    }
    *data += nl ? n + 1 : n;
    *size -= nl ? n + 1 : n;
    return s;
}

static void same_manifest(const struct manifest *a, const struct manifest *b)
{
    check(strcmp(a->label, b->label) == 0 && strcmp(a->uuid, b->uuid) == 0);
    check(strcmp(a->digest_alg, b->digest_alg) == 0 && a->n_entries == b->n_entries);
    for (size_t i = 0; i < a->n_entries; i++)
        check(a->entries[i].kind == b->entries[i].kind &&
              strcmp(a->entries[i].path, b->entries[i].path) == 0 &&
              strcmp(a->entries[i].include, b->entries[i].include) == 0);
}

static void fuzz_manifest(const char *body, size_t len)
{
    struct manifest m = {0}, back = {0};
    char *why = NULL, *xml = NULL;
    size_t xml_len = 0;
    if (request_manifest_xml_decode(body, len, &m, &why) == 0) {
        check(!why && m.n_entries <= MANIFEST_MAX_ENTRIES);
        free(why);
        why = NULL;
        (void)manifest_check(&m, &why);
        if (manifest_xml_write(&m, &xml, &xml_len) == 0 && m.xmlns[0] &&
            request_manifest_xml_decode(xml, xml_len, &back, NULL) == 0)
            same_manifest(&m, &back);
    }
    manifest_free(&m);
    manifest_free(&back);
    free(xml);
    free(why);
}

static void fuzz_measurement(const char *body, size_t len)
{
    char *once = NULL, *twice = NULL, *why = NULL;
    size_t once_len = 0, twice_len = 0;
    if (measurement_xml_rewrite(body, len, &once, &once_len, &why) == 0) {
        check(strlen(once) == once_len);
        check(measurement_xml_rewrite(once, once_len, &twice, &twice_len, NULL) == 0);
        check(twice_len == once_len && memcmp(once, twice, once_len) == 0);
    }
    free(once);
    free(twice);
    free(why);
}

static void fuzz_json(const struct http_route *route, const char *body, size_t len)
{
    static const char *const quote_fields[] = {"nonce", "pcrs", "pcrbanks", "ima_measure_enabled", NULL};
    char *why = NULL;
    /* HTTP mode's unknown-field check: a refusal always says which field */
    int r = request_fields_known(body, len, quote_fields, &why);
    check(r == 0 ? why == NULL : r == -ENOMEM || (why && *why));
    free(why);
    why = NULL;
    if (route->handler == &handler_quote) {
        struct request_quote q = {0};
        if (request_quote_decode(body, len, &q, &why) == 0)
            check(q.nonce && q.nonce_len >= 1 && q.pcr_mask != 0);
        request_quote_free(&q);
    } else {
        struct request_asset_tag t;
        if (request_asset_tag_decode(body, len, &t, &why) == 0)
            request_asset_tag_clear(&t);
    }
    free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char *request_line = line_take(&p, &size), *content_type = line_take(&p, &size);
    char *method = request_line ? request_line : strdup("");
    char *path = method ? strchr(method, ' ') : NULL;
    if (path)
        *path++ = '\0';
    /* the body without a NUL after it: an overread shows under ASan */
    char *body = malloc(size ? size : 1);
    if (method && body) {
        memcpy(body, p, size);
        const struct http_route *route = NULL;
        const char *why = NULL;
        int status = http_route_find(method, path ? path : "", &route);
        check(status == 0 || status == 404 || status == 405);
        check(status == 404 ? route == NULL : route && strcmp(route->path, path ? path : "") == 0);
        if (status == 0 && http_content_type_check(route, content_type, &why) == 0) {
            if (route->body == HTTP_BODY_JSON)
                fuzz_json(route, body, size);
            if (route->body == HTTP_BODY_XML) {
                fuzz_manifest(body, size);
                fuzz_measurement(body, size);
            }
        } else if (status == 0)
            check(why && *why);
    }
    free(body);
    free(content_type);
    free(method);
    return 0;
}
