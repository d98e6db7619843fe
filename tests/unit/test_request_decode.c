/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NATS request decoders (agent/requests/request_decode.c), tbootxm's XML (agent/requests/manifest_xml.c,
 * agent/requests/measurement_xml.c), and the deploy-manifest and application-measurement-request handlers run
 * against a temp root with fake `measure` programs. Decoders: valid, invalid, boundary (nonce 64/65 bytes,
 * tag 47/48/49 bytes), Go's key matching (case-insensitive, last wins, unknown ignored), and size bounds.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config.h"
#include "measurement_xml.h"
#include "request_decode.h"
#include "handler.h"

#define UUID4 "7a9ac586-40f9-43b2-976b-26667431efca"

/* ---- helpers ---- */

static char *b64_of(size_t n, uint8_t fill)
{
    uint8_t *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memset(buf, fill, n);
    char *s = config_base64_encode(buf, n);
    assert_non_null(s);
    free(buf);
    return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, f);
    assert_true(vasprintf(&s, f, ap) >= 0);
    va_end(ap);
    return s;
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Decoding json as a quote request must fail with a message containing fragment. */
static void quote_fails(const char *json, const char *fragment)
{
    struct request_quote q = {0};
    char *msg = NULL;
    assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), -EINVAL);
    assert_non_null(msg);
    if (!strstr(msg, fragment))
        fail_msg("quote %s: message \"%s\" lacks \"%s\"", json, msg, fragment);
    assert_null(q.nonce);
    free(msg);
}

static void asset_tag_fails(const char *json, const char *fragment)
{
    struct request_asset_tag t;
    char *msg = NULL;
    assert_int_equal(request_asset_tag_decode(json, strlen(json), &t, &msg), -EINVAL);
    if (!strstr(msg, fragment))
        fail_msg("asset tag %s: message \"%s\" lacks \"%s\"", json, msg, fragment);
    free(msg);
}

static void manifest_fails(const char *json, const char *fragment)
{
    struct manifest m = {0};
    char *msg = NULL;
    assert_int_equal(request_manifest_decode(json, strlen(json), &m, &msg), -EINVAL);
    if (!strstr(msg, fragment))
        fail_msg("manifest %.200s: message \"%s\" lacks \"%s\"", json, msg, fragment);
    assert_null(m.entries);
    free(msg);
}

static void manifest_ok(const char *json, struct manifest *m)
{
    char *msg = NULL;
    int r = request_manifest_decode(json, strlen(json), m, &msg);
    if (r < 0)
        fail_msg("manifest %s: %d %s", json, r, msg ? msg : "");
}

/* ---- quote-request ---- */

static void test_quote_valid(void **state)
{
    char *nonce = b64_of(32, 0xab);
    /* Go's json.Unmarshal: keys case-insensitive, unknown ignored, banks deduplicated in request order */
    char *json = fmt("{\"NONCE\":\"%s\",\"Pcrs\":[0,1,7,23],\"PCRBanks\":[\"sha256\",\"SHA1\",\"SHA256\"],"
                     "\"ima_measure_ENABLED\":true,\"extra\":{\"x\":[1]}}",
                     nonce);
    struct request_quote q = {0};
    char *msg = NULL;
    assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), 0);
    assert_null(msg);
    assert_int_equal(q.nonce_len, 32);
    assert_int_equal(q.nonce[0], 0xab);
    assert_int_equal(q.pcr_mask, 1u << 0 | 1u << 1 | 1u << 7 | 1u << 23);
    assert_int_equal(q.n_banks, 2);
    assert_int_equal(q.banks[0], 0x000b);
    assert_int_equal(q.banks[1], 0x0004);
    assert_true(q.ima);
    request_quote_free(&q);
    assert_null(q.nonce);
    free(json);

    /* what HVS sends: empty pcrbanks, no ima field; null values count as absent */
    json = fmt("{\"nonce\":\"%s\",\"pcrs\":[5],\"pcrbanks\":[],\"ima_measure_enabled\":null}", nonce);
    assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), 0);
    assert_int_equal(q.n_banks, 0);
    assert_false(q.ima);
    assert_int_equal(q.pcr_mask, 1u << 5);
    request_quote_free(&q);
    free(json);

    /* as Go, the last of two keys that match wins: a bad first nonce is overridden */
    json = fmt("{\"nonce\":\"!!\",\"Nonce\":\"%s\",\"pcrs\":[0]}", nonce);
    assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), 0);
    assert_int_equal(q.nonce_len, 32);
    request_quote_free(&q);
    free(json);
    json = fmt("{\"nonce\":\"%s\",\"nonce\":\"!!\",\"pcrs\":[0]}", nonce);
    quote_fails(json, "\"nonce\" must be non-empty base64");
    free(json);
    free(nonce);
}

static void test_quote_invalid(void **state)
{
    /* today's texts, which the service tests and HVS operators see */
    quote_fails("{\"nonce\":", "quote-request: the request is not a JSON TpmQuoteRequest object");
    quote_fails("null", "quote-request: the request is not a JSON TpmQuoteRequest object");
    quote_fails("[1]", "quote-request: the request is not a JSON TpmQuoteRequest object");
    quote_fails("", "quote-request: the request is not a JSON TpmQuoteRequest object");
    quote_fails("{\"nonce\":\"\",\"pcrs\":[0]}", "quote-request: \"nonce\" must be non-empty base64");
    quote_fails("{\"nonce\":null,\"pcrs\":[0]}", "quote-request: \"nonce\" must be non-empty base64");
    quote_fails("{\"nonce\":12,\"pcrs\":[0]}", "quote-request: \"nonce\" must be non-empty base64");
    quote_fails("{\"nonce\":\"not base64!\",\"pcrs\":[0]}",
                "quote-request: \"nonce\" must be non-empty base64");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[24]}", "quote-request: \"pcrs\" holds a number out of range");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[-1]}", "quote-request: \"pcrs\" holds a number out of range");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[1.5]}", "quote-request: \"pcrs\" holds a number out of range");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[\"1\"]}", "quote-request: \"pcrs\" holds a non-number");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":{}}", "quote-request: \"pcrs\" must be an array");
    quote_fails("{\"nonce\":\"AAAA\"}", "quote-request: no PCR requested");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[]}", "quote-request: no PCR requested");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"MD5\"]}",
                "unknown PCR bank in \"pcrbanks\"");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SHA512\"]}", "unknown PCR bank");
    /* a TCG algorithm, but no bank HVS knows */
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SM3_256\"]}", "unknown PCR bank");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[1]}", "unknown PCR bank");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":\"SHA1\"}", "\"pcrbanks\" must be an array");
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"ima_measure_enabled\":\"yes\"}",
                "\"ima_measure_enabled\" must be a boolean");
}

/* A NUL in a string (the escape \u0000, or a raw 0 byte) used to cut the nonce short: "AAAA\u0000junk" was
 * accepted as the 3 bytes of "AAAA". Refused with a message saying why; "\\u0000" (an escaped backslash, then
 * text) is no NUL and reaches the base64 check as before. */
static void test_quote_nul(void **state)
{
    (void)state;
    const char *nul = "quote-request: a string in the request contains a NUL character (\\u0000)";
    quote_fails("{\"nonce\":\"AAAA\\u0000junk\",\"pcrs\":[0]}", nul);
    quote_fails("{\"nonce\":\"\\u0000\",\"pcrs\":[0]}", nul);
    quote_fails("{\"nonce\":\"AAAA\",\"pcrs\":[0],\"pcrbanks\":[\"SHA256\\u0000x\"]}", nul);
    quote_fails("{\"nonce\":\"AAAA\\\\u0000\",\"pcrs\":[0]}", "\"nonce\" must be non-empty base64");
    static const char raw[] = "{\"nonce\":\"AAAA\0junk\",\"pcrs\":[0]}";
    struct request_quote q = {0};
    char *msg = NULL;
    assert_int_equal(request_quote_decode(raw, sizeof(raw) - 1, &q, &msg), -EINVAL);
    assert_non_null(strstr(msg, "NUL character"));
    free(msg);
}

/* 64 bytes (TPM2B_DATA's size, SHA-512's) pass; 65 get a request error naming the limit, not a TPM error. */
static void test_quote_nonce_bounds(void **state)
{
    struct request_quote q = {0};
    char *msg = NULL;
    for (size_t n = 1; n <= 64; n++) {
        char *nonce = b64_of(n, (uint8_t)n);
        char *json = fmt("{\"nonce\":\"%s\",\"pcrs\":[0]}", nonce);
        assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), 0);
        assert_int_equal(q.nonce_len, n);
        request_quote_free(&q);
        free(json);
        free(nonce);
    }
    for (size_t n = 65; n <= 66; n++) { /* 88 base64 characters, like 64 bytes, but too many bytes */
        char *nonce = b64_of(n, 1);
        char *json = fmt("{\"nonce\":\"%s\",\"pcrs\":[0]}", nonce);
        char *want = fmt("quote-request: \"nonce\" is %zu bytes, longer than 64", n);
        quote_fails(json, want);
        free(want);
        free(json);
        free(nonce);
    }
    char *nonce = b64_of(67, 1); /* 92 characters: refused before decoding */
    char *json = fmt("{\"nonce\":\"%s\",\"pcrs\":[0]}", nonce);
    quote_fails(json, "quote-request: \"nonce\" is longer than 64 bytes");
    free(json);
    free(nonce);
}

/* A 1 MiB request is answered at once: a megabyte nonce is refused by its length, a megabyte of PCR
 * indexes is read in one pass; beyond REQUEST_MAX_BYTES nothing is parsed. */
static void test_quote_large(void **state)
{
    size_t big = 1u << 20;
    char *json = malloc(big + 64);
    assert_non_null(json);
    int n = sprintf(json, "{\"pcrs\":[0],\"nonce\":\"");
    memset(json + n, 'A', big);
    memcpy(json + n + big, "\"}", sizeof("\"}"));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    quote_fails(json, "is longer than 64 bytes");

    n = sprintf(json, "{\"nonce\":\"AAAA\",\"pcrs\":[");
    size_t len = (size_t)n;
    while (len < big) {
        memcpy(json + len, "23,", 3); /* NOLINT(bugprone-not-null-terminated-result): "0]}" ends it below */
        len += 3;
    }
    memcpy(json + len, "0]}", sizeof("0]}"));
    struct request_quote q = {0};
    char *msg = NULL;
    assert_int_equal(request_quote_decode(json, strlen(json), &q, &msg), 0);
    assert_int_equal(q.pcr_mask, 1u << 23 | 1u);
    request_quote_free(&q);
    double s = elapsed_s(&t0);
    if (s > 1.0)
        fail_msg("two 1 MiB requests took %.2f s", s);
    free(json);

    /* past the bound: refused by length alone (the text need not even be JSON) */
    char *huge = malloc(REQUEST_MAX_BYTES + 1);
    assert_non_null(huge);
    memset(huge, '{', REQUEST_MAX_BYTES + 1);
    assert_int_equal(request_quote_decode(huge, REQUEST_MAX_BYTES + 1, &q, &msg), -EINVAL);
    assert_non_null(strstr(msg, "quote-request: the request is 4194305 bytes; at most 4194304"));
    free(msg);
    free(huge);
}

/* The decoder reads exactly len bytes: no NUL terminator needed, nothing past the end. */
static void test_quote_not_terminated(void **state)
{
    const char text[] = "{\"nonce\":\"AAAA\",\"pcrs\":[3]}";
    char *copy = malloc(sizeof(text) - 1);
    assert_non_null(copy);
    memcpy(copy, text, sizeof(text) - 1);
    struct request_quote q = {0};
    char *msg = NULL;
    assert_int_equal(request_quote_decode(copy, sizeof(text) - 1, &q, &msg), 0);
    assert_int_equal(q.pcr_mask, 1u << 3);
    request_quote_free(&q);
    /* one byte short is not JSON */
    assert_int_equal(request_quote_decode(copy, sizeof(text) - 2, &q, &msg), -EINVAL);
    free(msg);
    free(copy);
}

/* ---- deploy-asset-tag ---- */

static void test_asset_tag(void **state)
{
    char *tag = b64_of(48, 0x5a);
    char *json =
        fmt("{\"TAG\":\"%s\",\"Hardware_UUID\":\"00000000-0000-0000-0000-00000000000A\",\"x\":1}", tag);
    struct request_asset_tag t;
    char *msg = NULL;
    assert_int_equal(request_asset_tag_decode(json, strlen(json), &t, &msg), 0);
    for (size_t i = 0; i < 48; i++)
        assert_int_equal(t.tag[i], 0x5a);
    assert_string_equal(t.hardware_uuid, "00000000-0000-0000-0000-00000000000A");
    request_asset_tag_clear(&t);
    assert_int_equal(t.tag[0], 0);
    free(json);

    /* hardware_uuid is optional: absent, null and "" all pass */
    json = fmt("{\"tag\":\"%s\",\"hardware_uuid\":null}", tag);
    assert_int_equal(request_asset_tag_decode(json, strlen(json), &t, &msg), 0);
    assert_string_equal(t.hardware_uuid, "");
    free(json);
    json = fmt("{\"tag\":\"%s\",\"hardware_uuid\":\"\"}", tag);
    assert_int_equal(request_asset_tag_decode(json, strlen(json), &t, &msg), 0);
    free(json);
    json = fmt("{\"tag\":\"%s\",\"hardware_uuid\":\"not-a-uuid\"}", tag);
    asset_tag_fails(json, "deploy-asset-tag: \"hardware_uuid\" is not a UUID");
    free(json);
    json = fmt("{\"tag\":\"%s\",\"hardware_uuid\":7}", tag);
    asset_tag_fails(json, "\"hardware_uuid\" is not a UUID");
    free(json);
    free(tag);

    /* 47 and 49 bytes, a bad alphabet, and no tag at all */
    for (size_t n = 47; n <= 49; n += 2) {
        tag = b64_of(n, 1);
        json = fmt("{\"tag\":\"%s\"}", tag);
        asset_tag_fails(json, "deploy-asset-tag: \"tag\" must be base64 of 48 bytes");
        free(json);
        free(tag);
    }
    asset_tag_fails("{\"tag\":\"AAAA\"}", "\"tag\" must be base64 of 48 bytes");
    asset_tag_fails("{\"tag\":\"****************************************************************\"}",
                    "\"tag\" must be base64 of 48 bytes");
    asset_tag_fails("{}", "\"tag\" must be base64 of 48 bytes");
    asset_tag_fails("null", "deploy-asset-tag: the request is not a JSON object");
}

/* ---- Manifest ---- */

/* What HVS sends: json.Marshal of its Manifest (xml bookkeeping fields included, nil slices as null). */
static const char go_manifest[] =
    "{\"XMLName\":{\"Space\":\"lib:wml:manifests:1.0\",\"Local\":\"Manifest\"},\"Text\":\"\\n  \","
    "\"Xmlns\":\"lib:wml:manifests:1.0\",\"Label\":\"ISL_Applications123\",\"Uuid\":\"" UUID4 "\","
    "\"DigestAlg\":\"SHA384\","
    "\"Dir\":[{\"Text\":\"\",\"Exclude\":\"\",\"FilterType\":\"regex\",\"Include\":\".*\","
    "\"Path\":\"/opt/trustagent/bin\",\"SearchType\":\"\"}],"
    "\"File\":[{\"Text\":\"\",\"Path\":\"/opt/trustagent/bin/module_analysis_da.sh\",\"SearchType\":\"\"},"
    "{\"Path\":\"/opt/trustagent/bin/.*\",\"SearchType\":\"regex\"}],"
    "\"Symlink\":null}";

static void test_manifest_decode(void **state)
{
    struct manifest m = {0};
    manifest_ok(go_manifest, &m);
    assert_string_equal(m.xmlns, "lib:wml:manifests:1.0");
    assert_string_equal(m.label, "ISL_Applications123");
    assert_string_equal(m.uuid, UUID4);
    assert_string_equal(m.digest_alg, "SHA384");
    assert_int_equal(m.n_entries, 3);
    assert_int_equal(m.entries[0].kind, MANIFEST_DIR);
    assert_string_equal(m.entries[0].path, "/opt/trustagent/bin");
    assert_string_equal(m.entries[0].include, ".*");
    assert_string_equal(m.entries[0].filter_type, "regex");
    assert_string_equal(m.entries[0].exclude, "");
    assert_int_equal(m.entries[1].kind, MANIFEST_FILE);
    assert_string_equal(m.entries[2].search_type, "regex");
    char *msg = NULL;
    assert_int_equal(manifest_check(&m, &msg), 0);
    assert_null(msg);
    manifest_free(&m);
    assert_null(m.entries);

    /* keys in any case; Dirs, Files and Symlinks keep their order whatever order the keys come in */
    manifest_ok("{\"symlink\":[{\"path\":\"/s\"}],\"file\":[{\"PATH\":\"/f\"}],\"DIR\":[{\"path\":\"/d\","
                "\"exclude\":\"x\"}],\"label\":\"L\",\"UUID\":\"u\",\"unknown\":[1,2]}",
                &m);
    assert_int_equal(m.n_entries, 3);
    assert_string_equal(m.entries[0].path, "/d");
    assert_string_equal(m.entries[0].exclude, "x");
    assert_string_equal(m.entries[1].path, "/f");
    assert_string_equal(m.entries[2].path, "/s");
    assert_int_equal(m.entries[2].kind, MANIFEST_SYMLINK);
    assert_string_equal(m.xmlns, "");
    assert_string_equal(m.uuid, "u");
    manifest_free(&m);

    manifest_ok("{}", &m);
    assert_int_equal(m.n_entries, 0);
    assert_string_equal(m.label, "");
    manifest_free(&m);
}

static void test_manifest_invalid(void **state)
{
    manifest_fails("[]", "the request is not a JSON Manifest object");
    manifest_fails("{\"Label\":5}", "\"Label\" must be a string");
    manifest_fails("{\"Dir\":{}}", "\"Dir\" must be an array of objects");
    manifest_fails("{\"File\":[{\"Path\":\"/a\"},\"x\"]}", "\"File[1]\" must be an object");
    manifest_fails("{\"File\":[null]}", "\"File[0]\" must be an object");
    manifest_fails("{\"Symlink\":[{\"Path\":[]}]}", "\"Symlink[0].Path\" must be a string");
    manifest_fails("{\"Dir\":[{\"Path\":\"/a\",\"Include\":\"a\\u0001b\"}]}",
                   "\"Dir[0].Include\" is not valid UTF-8 text");
    manifest_fails("{\"Label\":\"\xff\"}", "\"Label\" is not valid UTF-8 text");
    manifest_fails("{\"Label\":\"\xc0\xaf\"}", "\"Label\" is not valid UTF-8 text"); /* overlong '/' */

    /* one string past MANIFEST_MAX_STRING */
    char *path = malloc(MANIFEST_MAX_STRING + 2);
    assert_non_null(path);
    memset(path, 'p', MANIFEST_MAX_STRING + 1);
    path[MANIFEST_MAX_STRING + 1] = '\0';
    char *json = fmt("{\"File\":[{\"Path\":\"%s\"}]}", path);
    manifest_fails(json, "\"File[0].Path\" is 4097 bytes; at most 4096");
    free(json);
    path[MANIFEST_MAX_STRING] = '\0'; /* exactly the bound passes */
    json = fmt("{\"File\":[{\"Path\":\"%s\"}]}", path);
    struct manifest m = {0};
    manifest_ok(json, &m);
    manifest_free(&m);
    free(json);
    free(path);

    /* one entry past MANIFEST_MAX_ENTRIES, counted over the three lists */
    size_t cap = (MANIFEST_MAX_ENTRIES + 1) * 3 + 64;
    json = malloc(cap);
    assert_non_null(json);
    size_t len = (size_t)sprintf(json, "{\"Dir\":[{}],\"File\":[");
    for (size_t i = 0; i < MANIFEST_MAX_ENTRIES; i++)
        len += (size_t)sprintf(json + len, "%s{}", i ? "," : "");
    memcpy(json + len, "]}", sizeof("]}"));
    manifest_fails(json, "the manifest has 16385 entries; at most 16384");
    free(json);
}

static void check_fails(const char *label, const char *uuid, const char *fragment)
{
    struct manifest m = {.label = (char *)label, .uuid = (char *)uuid};
    char *msg = NULL;
    assert_int_equal(manifest_check(&m, &msg), -EINVAL);
    if (!strstr(msg, fragment))
        fail_msg("label \"%s\" uuid \"%s\": \"%s\" lacks \"%s\"", label, uuid, msg, fragment);
    free(msg);
}

static void test_manifest_check(void **state)
{
    struct manifest m = {.label = "My_App 1.0/x-y", .uuid = "7A9AC586-40F9-43B2-B76B-26667431EFCA"};
    char *msg = NULL;
    assert_int_equal(manifest_check(&m, &msg), 0);
    const char *v4_variants = "89abAB";
    for (const char *v = v4_variants; *v; v++) {
        char uuid[] = UUID4;
        uuid[19] = *v;
        m.uuid = uuid;
        assert_int_equal(manifest_check(&m, &msg), 0);
    }
    check_fails("L", "7a9ac586-40f9-13b2-976b-26667431efca", "must be a version-4 UUID"); /* version 1 */
    check_fails("L", "7a9ac586-40f9-43b2-c76b-26667431efca", "must be a version-4 UUID"); /* variant c */
    check_fails("L", "7a9ac586-40f9-43b2-|76b-26667431efca", "must be a version-4 UUID");
    check_fails("L", "7a9ac586-40f9-43b2-976b-26667431efca0", "must be a version-4 UUID");
    check_fails("L", "../../etc/passwd", "must be a version-4 UUID");
    check_fails("L", "", "must be a version-4 UUID");
    check_fails("", UUID4, "the manifest has no \"Label\"");
    check_fails("a<b", UUID4, "\"Label\" may only hold letters, digits, space and _ / . -");
    check_fails("a\tb", UUID4, "\"Label\" may only hold");
    check_fails("ISecL_Default_Application_Flavor_v5.1_TPM2.0", UUID4, "is a default flavor's manifest");
    /* Go tests "contains" */
    check_fails("x ISecL_Default_Workload_Flavor_v5.1", UUID4, "is a default flavor's manifest");
}

/* ---- XML ---- */

static void test_manifest_xml(void **state)
{
    struct manifest m = {0};
    manifest_ok(go_manifest, &m);
    char *xml = NULL;
    size_t len = 0;
    assert_int_equal(manifest_xml_write(&m, &xml, &len), 0);
    assert_string_equal(
        xml, "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"ISL_Applications123\" Uuid=\"" UUID4
             "\" DigestAlg=\"SHA384\"><Dir FilterType=\"regex\" Include=\".*\" "
             "Path=\"/opt/trustagent/bin\"></Dir><File "
             "Path=\"/opt/trustagent/bin/module_analysis_da.sh\"></File><File "
             "Path=\"/opt/trustagent/bin/.*\" SearchType=\"regex\"></File></Manifest>");
    assert_int_equal(len, strlen(xml));
    free(xml);
    manifest_free(&m);

    /* Go's escaping of attribute text; Xmlns defaults to the manifests namespace; Path always written */
    manifest_ok("{\"Label\":\"a\\\"b'c<d>e&f\\tg\\nh\\ri\xc3\xa9\",\"Symlink\":[{}]}", &m);
    assert_int_equal(manifest_xml_write(&m, &xml, &len), 0);
    assert_string_equal(
        xml, "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"a&#34;b&#39;c&lt;d&gt;e&amp;f&#x9;g"
             "&#xA;h&#xD;i\xc3\xa9\" Uuid=\"\" DigestAlg=\"\"><Symlink Path=\"\"></Symlink></Manifest>");
    /* and our reader gives the text back */
    struct xml_elem root = {0};
    char *msg = NULL;
    assert_int_equal(xml_parse(xml, len, &root, &msg), 0);
    assert_string_equal(xml_attr_get(&root, "Label"), m.label);
    assert_string_equal(root.ns, WML_MANIFEST_NS);
    assert_int_equal(root.n_children, 1);
    assert_string_equal(root.children[0].name, "Symlink");
    assert_string_equal(root.children[0].ns, WML_MANIFEST_NS);
    xml_elem_free(&root);
    free(xml);
    manifest_free(&m);
}

/* Shaped like measure's output (attributes on the root, each child in the measurements namespace). */
static const char measurement[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Measurement DigestAlg=\"SHA384\" Label=\"ISL_Applications123\" Uuid=\"" UUID4 "\">\n"
    "  <Dir xmlns=\"lib:wml:measurements:1.0\" Exclude=\"\" FilterType=\"regex\" Include=\".*\" "
    "Path=\"/opt/trustagent/bin\">aa11</Dir>\n"
    "  <File xmlns=\"lib:wml:measurements:1.0\" Path=\"/opt/trustagent/bin/tagent\">bb22</File>\n"
    "  <!-- a comment -->\n"
    "  <File xmlns=\"lib:wml:measurements:1.0\" Path=\"/opt/a&amp;b\" "
    "SearchType=\"regex\">c&#x63;<![CDATA[<3]]></File>\n"
    "  <CumulativeHash xmlns=\"lib:wml:measurements:1.0\">ff00</CumulativeHash>\n"
    "</Measurement>\n";

static const char measurement_json[] =
    "{\"XMLName\":{\"Space\":\"\",\"Local\":\"Measurement\"},"
    "\"File\":[{\"Value\":\"bb22\",\"Path\":\"/opt/trustagent/bin/tagent\",\"SearchType\":\"\"},"
    "{\"Value\":\"cc<3\",\"Path\":\"/opt/a&b\",\"SearchType\":\"regex\"}],"
    "\"Dir\":[{\"Value\":\"aa11\",\"Include\":\".*\",\"Exclude\":\"\",\"FilterType\":\"regex\","
    "\"Path\":\"/opt/trustagent/bin\",\"SearchType\":\"\"}],"
    "\"Symlink\":null,\"CumulativeHash\":\"ff00\",\"DigestAlg\":\"SHA384\",\"Label\":\"ISL_Applications123\","
    "\"Uuid\":\"" UUID4 "\"}";

static void measurement_is(const char *xml, const char *want)
{
    char *json = NULL, *msg = NULL;
    int r = measurement_xml_to_json(xml, strlen(xml), &json, &msg);
    if (r < 0)
        fail_msg("%s: %s", xml, msg ? msg : "out of memory");
    assert_string_equal(json, want);
    free(json);
}

static void measurement_fails(const char *xml, const char *fragment)
{
    char *json = NULL, *msg = NULL;
    assert_int_equal(measurement_xml_to_json(xml, strlen(xml), &json, &msg), -EINVAL);
    assert_null(json);
    if (!strstr(msg, fragment))
        fail_msg("%s: \"%s\" lacks \"%s\"", xml, msg, fragment);
    free(msg);
}

static void test_measurement_json(void **state)
{
    measurement_is(measurement, measurement_json);
    /* a default namespace on the root reaches the children (and is the root's XMLName.Space) */
    measurement_is(
        "<Measurement xmlns=\"lib:wml:measurements:1.0\" Label=\"L\"><Symlink Path=\"/l\">11</Symlink>"
        "<CumulativeHash>1</CumulativeHash><CumulativeHash>2</CumulativeHash></Measurement>",
        "{\"XMLName\":{\"Space\":\"lib:wml:measurements:1.0\",\"Local\":\"Measurement\"},\"File\":null,"
        "\"Dir\":null,\"Symlink\":[{\"Value\":\"11\",\"Path\":\"/l\",\"SearchType\":\"\"}],"
        "\"CumulativeHash\":\"2\",\"DigestAlg\":\"\",\"Label\":\"L\",\"Uuid\":\"\"}");
    /* a prefix bound to the namespace counts; children outside it, and grandchildren, do not */
    measurement_is(
        "<m:Measurement xmlns:m=\"lib:wml:measurements:1.0\"><m:File Path=\"/a\">1<x>ignored</x>2</m:File>"
        "<File Path=\"/b\">3</File><m:Dir><m:File Path=\"/c\"/></m:Dir></m:Measurement>",
        "{\"XMLName\":{\"Space\":\"lib:wml:measurements:1.0\",\"Local\":\"Measurement\"},"
        "\"File\":[{\"Value\":\"12\",\"Path\":\"/a\",\"SearchType\":\"\"}],"
        "\"Dir\":[{\"Value\":\"\",\"Include\":\"\",\"Exclude\":\"\",\"FilterType\":\"\",\"Path\":\"\","
        "\"SearchType\":\"\"}],\"Symlink\":null,\"CumulativeHash\":\"\",\"DigestAlg\":\"\","
        "\"Label\":\"\",\"Uuid\":\"\"}");
    /* text before the root is skipped and after it ignored, as Go's Decoder does */
    measurement_is(
        "Invalid log file specified\n<Measurement/>trailing <junk",
        "{\"XMLName\":{\"Space\":\"\",\"Local\":\"Measurement\"},\"File\":null,\"Dir\":null,"
        "\"Symlink\":null,\"CumulativeHash\":\"\",\"DigestAlg\":\"\",\"Label\":\"\",\"Uuid\":\"\"}");
}

static void test_measurement_invalid(void **state)
{
    measurement_fails("", "no XML element");
    measurement_fails("just text", "no XML element");
    measurement_fails("<Manifest/>", "the root element is <Manifest>, not <Measurement>");
    measurement_fails("<Measurement><File></Dir></Measurement>", "the end tag does not match <File>");
    measurement_fails("<Measurement>", "<Measurement> is not closed");
    measurement_fails("<Measurement a=\"1\" a=\"2\"/>", "attribute a repeated");
    measurement_fails("<Measurement a=1/>", "is not quoted");
    measurement_fails("<Measurement a=\"<\"/>", "'<' inside an attribute value");
    measurement_fails("<Measurement>&nbsp;</Measurement>", "unknown entity &nbsp;");
    measurement_fails("<Measurement>a & b</Measurement>", "'&' starts no entity");
    measurement_fails("<Measurement>&#0;</Measurement>", "U+0");
    measurement_fails("<Measurement>&#xD800;</Measurement>", "XML does not allow");
    measurement_fails("<Measurement>&#x110000;</Measurement>", "beyond U+10FFFF");
    measurement_fails("<Measurement>&#99999999999999999999;</Measurement>", "beyond U+10FFFF");
    measurement_fails("<Measurement>\x01</Measurement>", "a character XML does not allow");
    measurement_fails("<Measurement>\xc3</Measurement>", "invalid UTF-8");
    measurement_fails("<!DOCTYPE x [<!ENTITY a \"b\">]><Measurement/>", "DOCTYPE");
    measurement_fails("<Measurement><!ENTITY a \"b\"></Measurement>", "<! declarations are not accepted");
    measurement_fails("<Measurement><![CDATA[x</Measurement>", "unterminated CDATA section");
    measurement_fails("<Measurement><!-- x</Measurement>", "unterminated comment");
    measurement_fails("</Measurement>", "an end tag before any element");

    /* nesting is bounded: XML_MAX_DEPTH levels pass, one more fails */
    char deep[1024] = "", *p = deep;
    for (unsigned i = 0; i < XML_MAX_DEPTH + 1; i++)
        p += sprintf(p, "<%s>", i ? "e" : "Measurement");
    for (unsigned i = XML_MAX_DEPTH + 1; i-- > 0;)
        p += sprintf(p, "</%s>", i ? "e" : "Measurement");
    measurement_fails(deep, "nested deeper than 16");
    p = deep;
    for (unsigned i = 0; i < XML_MAX_DEPTH; i++)
        p += sprintf(p, "<%s>", i ? "e" : "Measurement");
    for (unsigned i = XML_MAX_DEPTH; i-- > 0;)
        p += sprintf(p, "</%s>", i ? "e" : "Measurement");
    char *json = NULL, *msg = NULL;
    assert_int_equal(measurement_xml_to_json(deep, strlen(deep), &json, &msg), 0);
    free(json);

    /* every strict prefix of a good document is an error, never a crash or a partial answer */
    size_t n = strlen(measurement);
    size_t root_end =
        (size_t)(strstr(measurement, "</Measurement>") - measurement) + strlen("</Measurement>");
    for (size_t len = 0; len < root_end; len++) {
        json = NULL;
        msg = NULL;
        if (measurement_xml_to_json(measurement, len, &json, &msg) != -EINVAL)
            fail_msg("a prefix of %zu of %zu bytes was accepted", len, n);
        assert_null(json);
        free(msg);
    }
}

/* Where libexpat and Go's encoding/xml part ways, the reader concludes what the Go agent would (see
 * measurement_xml.h); what is dangerous is refused whatever Go does. */
static void test_measurement_go_rules(void **state)
{
#define EMPTY_IN(space)                                                                                      \
    "{\"XMLName\":{\"Space\":\"" space "\",\"Local\":\"Measurement\"},\"File\":null,\"Dir\":null,"           \
    "\"Symlink\":null,\"CumulativeHash\":\"\",\"DigestAlg\":\"\",\"Label\":\"\",\"Uuid\":\"\"}"
    /* Unmarshal has no CharsetReader: UTF-8 only (any case), and XML 1.0 only */
    measurement_is("<?xml version=\"1.0\" encoding=\"utf-8\"?><Measurement/>", EMPTY_IN(""));
    measurement_fails("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Measurement/>", "only UTF-8");
    measurement_fails("<?xml version=\"1.0\" encoding=\"UTF-16\"?><Measurement/>", "only UTF-8 is accepted");
    measurement_fails("<?xml version=\"1.1\"?><Measurement/>", "only 1.0 is accepted");
    /* text before the root is skipped (a UTF-8 BOM too), but it must be XML text */
    measurement_is("\xef\xbb\xbf<Measurement/>", EMPTY_IN(""));
    measurement_is("a &amp; b\n<Measurement/>", EMPTY_IN(""));
    measurement_fails("\xff<Measurement/>", "the text before the first element is not XML text");
    measurement_fails("a & b<Measurement/>", "the text before the first element is not XML text");
    /* line ends in text read as "\n"; "]]>" only ends a CDATA section */
    measurement_is(
        "<Measurement xmlns=\"lib:wml:measurements:1.0\"><CumulativeHash>a\r\nb\rc</CumulativeHash>"
        "</Measurement>",
        "{\"XMLName\":{\"Space\":\"lib:wml:measurements:1.0\",\"Local\":\"Measurement\"},\"File\":null,"
        "\"Dir\":null,\"Symlink\":null,\"CumulativeHash\":\"a\\nb\\nc\",\"DigestAlg\":\"\",\"Label\":\"\","
        "\"Uuid\":\"\"}");
    measurement_fails("<Measurement>a]]>b</Measurement>", "\"]]>\" outside a CDATA section");
    /* names split as Go splits them: an undeclared prefix is the namespace; two ':' make no prefix */
    measurement_is("<x:Measurement/>", EMPTY_IN("x"));
    measurement_fails("<a:b:Measurement/>", "the root element is <a:b:Measurement>, not <Measurement>");
    measurement_fails("<?xml version=\"1.0\"?>junk<Measurement/>", "text after a declaration or comment");
    /* no DTD: no entity expansion (billion laughs) and no external entity, whatever the document asks */
    measurement_fails("<!DOCTYPE m [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                      "<Measurement>&b;</Measurement>",
                      "DOCTYPE");
    measurement_fails(
        "<!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Measurement>&x;</Measurement>",
        "DOCTYPE and other <! declarations");
    measurement_fails("<!DOCTYPE m SYSTEM \"http://127.0.0.1:9/m.dtd\"><Measurement/>", "DOCTYPE");
    measurement_fails("<Measurement>&x;</Measurement>", "unknown entity &x;");
#undef EMPTY_IN

    /* attributes per element and namespace declarations in scope are bounded */
    char big[4096] = "<Measurement", *p = big + strlen(big);
    for (unsigned i = 0; i <= XML_MAX_ATTRS; i++)
        p += sprintf(p, " a%u=\"\"", i);
    sprintf(p, "/>");
    measurement_fails(big, "has more than 32 attributes");
    p = big;
    for (unsigned i = 0; i < 3; i++) {
        p += sprintf(p, "<%s", i ? "e" : "Measurement");
        for (unsigned j = 0; j < 30; j++)
            p += sprintf(p, " xmlns:p%u=\"u\"", j);
        p += sprintf(p, ">");
    }
    sprintf(p, "</e></e></Measurement>");
    measurement_fails(big, "more than 64 namespace declarations in scope");
}

/* ---- handlers, against a temp root ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

struct world {
    char root[64];
    struct service_ctx ctx;
};

static int world_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    strcpy(w->root, "/tmp/tagent-reqs-XXXXXX");
    if (!mkdtemp(w->root)) {
        free(w);
        return -1;
    }
    w->ctx.root = w->root;
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    struct world *w = *state;
    nftw(w->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(w);
    return 0;
}

static char *world_path(const struct world *w, const char *rel)
{
    return fmt("%s%s", w->root, rel);
}

static void world_mkdir(const struct world *w, const char *rel)
{
    char *p = world_path(w, rel);
    assert_int_equal(config_mkdir_p(p, 0755), 0);
    free(p);
}

static void world_write(const struct world *w, const char *rel, const char *text, mode_t mode)
{
    char *p = world_path(w, rel);
    assert_int_equal(config_write_file_atomic(p, text, strlen(text), mode), 0);
    free(p);
}

static char *world_read(const struct world *w, const char *rel)
{
    char *p = world_path(w, rel), *text = NULL;
    size_t len = 0;
    int r = config_read_file(p, 1u << 20, &text, &len);
    if (r < 0)
        fail_msg("%s: %s", p, strerror(-r));
    free(p);
    return text;
}

struct outcome {
    int r, code;
    char *reply, *message;
};

static struct outcome handle(struct world *w, const struct service_handler *h, const char *json)
{
    struct outcome o = {0};
    o.r = h->run(&w->ctx, json, strlen(json), &o.reply, &o.code, &o.message);
    return o;
}

static void outcome_free(struct outcome *o)
{
    free(o->reply);
    free(o->message);
}

static void assert_failed(struct outcome o, int code, const char *fragment)
{
    if (o.r >= 0 || o.code != code || !o.message || !strstr(o.message, fragment))
        fail_msg("expected error %d \"%s\", got r=%d code=%d message=%s reply=%s", code, fragment, o.r,
                 o.code, o.message ? o.message : "(null)", o.reply ? o.reply : "(null)");
    assert_null(o.reply);
    outcome_free(&o);
}

static void test_deploy_manifest(void **state)
{
    struct world *w = *state;
    /* no /opt/trustagent/var yet: a clear failure naming the file */
    assert_failed(handle(w, &handler_deploy_manifest, go_manifest), SERVICE_ERR_FAILED,
                  "deploy-manifest: writing /opt/trustagent/var/manifest_" UUID4 ".xml: No such file");
    world_mkdir(w, "/opt/trustagent/var");
    struct outcome o = handle(w, &handler_deploy_manifest, go_manifest);
    assert_int_equal(o.r, 0);
    assert_string_equal(o.reply, "\"\"");
    outcome_free(&o);
    char *text = world_read(w, "/opt/trustagent/var/manifest_" UUID4 ".xml");
    assert_non_null(strstr(text, "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"ISL_Applications123\""));
    assert_non_null(strstr(text, "</Manifest>"));
    free(text);
    char *p = world_path(w, "/opt/trustagent/var/manifest_" UUID4 ".xml");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    free(p);

    assert_failed(handle(w, &handler_deploy_manifest, "{}"), SERVICE_ERR_REQUEST,
                  "deploy-manifest: \"Uuid\" must be a version-4 UUID");
    assert_failed(handle(w, &handler_deploy_manifest, "nonsense"), SERVICE_ERR_REQUEST,
                  "deploy-manifest: the request is not a JSON Manifest object");
    assert_failed(handle(w, &handler_deploy_manifest,
                         "{\"Uuid\":\"" UUID4
                         "\",\"Label\":\"ISecL_Default_Application_Flavor_v5.1_TPM2.0\"}"),
                  SERVICE_ERR_REQUEST, "is a default flavor's manifest");

    /* the same Uuid in upper case replaces the file instead of writing a second one */
    char *upper = strdup(go_manifest), *u = strstr(upper, UUID4);
    for (size_t i = 0; i < strlen(UUID4); i++)
        u[i] = (char)toupper((unsigned char)u[i]);
    o = handle(w, &handler_deploy_manifest, upper);
    assert_int_equal(o.r, 0);
    outcome_free(&o);
    free(upper);
    p = world_path(w, "/opt/trustagent/var");
    int n = 0;
    DIR *d = opendir(p);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, "manifest_", 9) == 0;
    closedir(d);
    free(p);
    assert_int_equal(n, 1);
}

/* At most 1000 manifests are kept: the 1001st new Uuid is refused saying where and what to do; replacing a
 * stored one still works. */
static void test_deploy_manifest_cap(void **state)
{
    struct world *w = *state;
    world_mkdir(w, "/opt/trustagent/var");
    for (int i = 0; i < 999; i++) {
        char *rel = fmt("/opt/trustagent/var/manifest_%08x-0000-4000-8000-000000000000.xml", i);
        world_write(w, rel, "<Manifest/>", 0600);
        free(rel);
    }
    struct outcome o = handle(w, &handler_deploy_manifest, go_manifest); /* the 1000th */
    assert_int_equal(o.r, 0);
    outcome_free(&o);
    char *other = strdup(go_manifest), *u = strstr(other, UUID4);
    u[0] = 'b';
    assert_failed(handle(w, &handler_deploy_manifest, other), SERVICE_ERR_FAILED,
                  "deploy-manifest: /opt/trustagent/var already holds 1000 manifests (manifest_*.xml), the "
                  "most kept; remove the ones of flavors no longer in use");
    free(other);
    o = handle(w, &handler_deploy_manifest, go_manifest);
    assert_int_equal(o.r, 0);
    outcome_free(&o);
}

/* A fake measure: a shell script in the temp root's /opt/tbootxm/bin. */
static void fake_measure(const struct world *w, const char *body)
{
    world_mkdir(w, "/opt/tbootxm/bin");
    char *script = fmt("#!/bin/sh\n%s\n", body);
    world_write(w, "/opt/tbootxm/bin/measure", script, 0755);
    free(script);
}

static void test_measurement_not_installed(void **state)
{
    struct world *w = *state;
    assert_failed(
        handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_UNSUPPORTED,
        "application-measurement-request: tbootxm is not installed (/opt/tbootxm/bin/measure not found)");
    /* a malformed request is a request error whatever is installed */
    assert_failed(handle(w, &handler_application_measurement, "{\"Dir\":7}"), SERVICE_ERR_REQUEST,
                  "application-measurement-request: \"Dir\" must be an array");
}

static void test_measurement_refused(void **state)
{
    struct world *w = *state;
    world_mkdir(w, "/opt/tbootxm/bin");
    char *p = world_path(w, "/opt/tbootxm/bin/measure");
    assert_int_equal(symlink("/bin/true", p), 0);
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "refusing to run /opt/tbootxm/bin/measure: it is a symbolic link");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "is not a regular file");
    assert_int_equal(rmdir(p), 0);
    world_write(w, "/opt/tbootxm/bin/measure", "#!/bin/sh\nexit 0\n", 0644); /* not executable */
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "starting /opt/tbootxm/bin/measure: Permission denied");
    free(p);
}

static void test_measurement_runs(void **state)
{
    struct world *w = *state;
    /* records its arguments and environment, prints a Measurement */
    char *body = fmt("d=$(dirname \"$0\")\n"
                     "printf '%%s' \"$1\" > \"$d/arg1\"; printf '%%s' \"$2\" > \"$d/arg2\"; printf '%%s' "
                     "\"$#\" > \"$d/argc\"\n"
                     "env > \"$d/env\"\n"
                     "cat <<'EOF'\n%sEOF",
                     measurement);
    fake_measure(w, body);
    free(body);
    struct outcome o = handle(w, &handler_application_measurement, go_manifest);
    if (o.r < 0)
        fail_msg("%s", o.message);
    assert_string_equal(o.reply, measurement_json);
    outcome_free(&o);

    struct manifest m = {0};
    char *xml = NULL;
    size_t len = 0;
    manifest_ok(go_manifest, &m);
    assert_int_equal(manifest_xml_write(&m, &xml, &len), 0);
    char *arg1 = world_read(w, "/opt/tbootxm/bin/arg1"), *arg2 = world_read(w, "/opt/tbootxm/bin/arg2");
    char *argc = world_read(w, "/opt/tbootxm/bin/argc"), *env = world_read(w, "/opt/tbootxm/bin/env");
    assert_string_equal(arg1, xml);
    char *root = fmt("%s/", w->root);
    assert_string_equal(arg2, root); /* "/" on a real host */
    assert_string_equal(argc, "2");
    char *log = fmt("WML_LOG_FILE=%s/var/log/trustagent/wml.log\n", w->root);
    assert_non_null(strstr(env, log));
    char *log_path = world_path(w, "/var/log/trustagent/wml.log");
    assert_int_equal(access(log_path, F_OK), 0); /* created before measure ran */
    free(log_path);
    free(log);
    free(root);
    free(arg1);
    free(arg2);
    free(argc);
    free(env);
    free(xml);
    manifest_free(&m);
}

static void test_measurement_fails(void **state)
{
    struct world *w = *state;
    fake_measure(w, "echo '<Measurement/>'; exit 3");
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "/opt/tbootxm/bin/measure exited with status 3 (see /var/log/trustagent/wml.log)");
    fake_measure(w, "echo 'Invalid log file specified'");
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "printed no usable Measurement: no XML element");
    fake_measure(w, "echo '<Manifest/>'");
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "the root element is <Manifest>, not <Measurement>");
    fake_measure(w, "kill -TERM $$");
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "was killed by signal 15");
    fake_measure(w, "head -c 5000000 /dev/zero");
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "printed more than the largest Measurement accepted and was killed");
}

/* A hung measure (and the child it started) is killed at 5 s: HVS still gets an answer within the
 * service's 8 s deadline. */
static void test_measurement_hangs(void **state)
{
    struct world *w = *state;
    fake_measure(w, "sleep 60 & echo '<Measurement>'; sleep 60");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_failed(handle(w, &handler_application_measurement, go_manifest), SERVICE_ERR_FAILED,
                  "/opt/tbootxm/bin/measure did not finish in time and was killed");
    double s = elapsed_s(&t0);
    if (s < 4.5 || s > 6.5)
        fail_msg("the hung measure was answered after %.2f s; expected about 5", s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_valid),
        cmocka_unit_test(test_quote_invalid),
        cmocka_unit_test(test_quote_nul),
        cmocka_unit_test(test_quote_nonce_bounds),
        cmocka_unit_test(test_quote_large),
        cmocka_unit_test(test_quote_not_terminated),
        cmocka_unit_test(test_asset_tag),
        cmocka_unit_test(test_manifest_decode),
        cmocka_unit_test(test_manifest_invalid),
        cmocka_unit_test(test_manifest_check),
        cmocka_unit_test(test_manifest_xml),
        cmocka_unit_test(test_measurement_json),
        cmocka_unit_test(test_measurement_invalid),
        cmocka_unit_test(test_measurement_go_rules),
        cmocka_unit_test_setup_teardown(test_deploy_manifest, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_deploy_manifest_cap, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_measurement_not_installed, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_measurement_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_measurement_runs, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_measurement_fails, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_measurement_hangs, world_setup, world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
