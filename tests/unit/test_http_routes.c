/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP mode's request checks (http_routes.c) and its XML forms of the tbootxm documents: the route table
 * against the Go agent's router (paths, methods, permissions), the Content-Type rules of its controllers,
 * the status of each failure kind, the Manifest read from XML, and the Measurement as Go's xml.Marshal
 * writes it back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_routes.h"
#include "measurement_xml.h"

static void test_routes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *permission;
    } go[] = {
        {"GET", "/v2/aik", "aik:retrieve"},
        {"GET", "/v2/host", "host_info:retrieve"},
        {"POST", "/v2/tpm/quote", "quote:create"},
        {"GET", "/v2/binding-key-certificate", "binding_key:retrieve"},
        {"POST", "/v2/tag", "deploy_tag:create"},
        {"POST", "/v2/host/application-measurement", "application_measurement:create"},
        {"POST", "/v2/deploy/manifest", "deploy_manifest:create"},
    };
    const struct http_route *r = NULL;
    for (size_t i = 0; i < sizeof(go) / sizeof(go[0]); i++) {
        assert_int_equal(http_route_find(go[i].method, go[i].path, &r), 0);
        assert_string_equal(r->permission, go[i].permission);
    }
    assert_int_equal(http_route_find("GET", "/v2/version", &r), 0);
    assert_null(r->permission);
    assert_ptr_equal(r->handler, &handler_version);
    assert_int_equal(http_route_find("POST", "/v2/tpm/quote", &r), 0);
    assert_ptr_equal(r->handler, &handler_quote);
    /* exact paths only, as with SkipClean: no cleaning, no trailing slash, case matters */
    static const char *const missing[] = {
        "/v2/version/", "/v2//version", "/v2/./version", "/V2/version", "/v2/tpm/quote/", "/v2", "",
        "/v3/version",  "/v2/tpm"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        assert_int_equal(http_route_find("GET", missing[i], &r), 404);
    assert_int_equal(http_route_find("POST", "/v2/version", &r), 405);
    assert_string_equal(r->method, "GET");
    assert_int_equal(http_route_find("GET", "/v2/tpm/quote", &r), 405);
    assert_int_equal(http_route_find("HEAD", "/v2/aik", &r), 405);
    assert_int_equal(http_route_find("get", "/v2/aik", &r), 405);
}

static void test_content_types(void **state)
{
    (void)state;
    const struct http_route *quote = NULL, *aik = NULL, *manifest = NULL, *version = NULL;
    const char *why = NULL;
    assert_int_equal(http_route_find("POST", "/v2/tpm/quote", &quote), 0);
    assert_int_equal(http_route_find("GET", "/v2/aik", &aik), 0);
    assert_int_equal(http_route_find("POST", "/v2/deploy/manifest", &manifest), 0);
    assert_int_equal(http_route_find("GET", "/v2/version", &version), 0);
    assert_int_equal(http_content_type_check(quote, "application/json", &why), 0);
    /* the Go agent compares the whole value */
    assert_int_equal(http_content_type_check(quote, "application/json; charset=utf-8", &why), 400);
    assert_non_null(strstr(why, "application/json"));
    assert_int_equal(http_content_type_check(quote, NULL, &why), 400);
    assert_int_equal(http_content_type_check(quote, "application/xml", &why), 400);
    assert_int_equal(http_content_type_check(aik, NULL, &why), 0);
    assert_int_equal(http_content_type_check(aik, "", &why), 0);
    assert_int_equal(http_content_type_check(aik, "application/json", &why), 400);
    assert_int_equal(http_content_type_check(manifest, "application/xml", &why), 0);
    assert_int_equal(http_content_type_check(manifest, "text/xml", &why), 400);
    assert_int_equal(http_content_type_check(version, "anything/at-all", &why), 0);
    assert_int_equal(http_status_of(SERVICE_ERR_REQUEST), 400);
    assert_int_equal(http_status_of(SERVICE_ERR_FAILED), 500);
    assert_int_equal(http_status_of(SERVICE_ERR_UNSUPPORTED), 500);
    assert_int_equal(http_status_of(SERVICE_ERR_TIMEOUT), 503);
}

static void test_manifest_xml(void **state)
{
    (void)state;
    /* the request HVS sends, as in the comment of the Go agent's ta.Manifest */
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"ISecL_Test_Flavor_v1.0\" "
        "Uuid=\"7a9ac586-40f9-43b2-976b-26667431efca\" DigestAlg=\"SHA384\">\n"
        "  <Symlink Path=\"/opt/wla/bin/wlagent\"/>\n"
        "  <File Path=\"/opt/wla/bin/.*\" SearchType=\"regex\"/>\n"
        "  <Dir Exclude=\"\" FilterType=\"regex\" Include=\".*\" Path=\"/opt/wla/bin\"/>\n"
        "  <Other Path=\"ignored\"/>\n"
        "</Manifest>\n";
    struct manifest m = {0};
    char *why = NULL;
    assert_int_equal(request_manifest_xml_decode(xml, strlen(xml), &m, &why), 0);
    assert_string_equal(m.xmlns, WML_MANIFEST_NS);
    assert_string_equal(m.label, "ISecL_Test_Flavor_v1.0");
    assert_string_equal(m.digest_alg, "SHA384");
    assert_int_equal(m.n_entries, 3);
    assert_int_equal(m.entries[0].kind, MANIFEST_DIR);
    assert_string_equal(m.entries[0].include, ".*");
    assert_int_equal(m.entries[1].kind, MANIFEST_FILE);
    assert_string_equal(m.entries[1].search_type, "regex");
    assert_int_equal(m.entries[2].kind, MANIFEST_SYMLINK);
    assert_int_equal(manifest_check(&m, &why), 0);
    /* written back as the Go agent deploys it: Dirs, Files, Symlinks */
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(manifest_xml_write(&m, &out, &out_len), 0);
    assert_string_equal(out, "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"ISecL_Test_Flavor_v1.0\" "
                             "Uuid=\"7a9ac586-40f9-43b2-976b-26667431efca\" DigestAlg=\"SHA384\">"
                             "<Dir FilterType=\"regex\" Include=\".*\" Path=\"/opt/wla/bin\"></Dir>"
                             "<File Path=\"/opt/wla/bin/.*\" SearchType=\"regex\"></File>"
                             "<Symlink Path=\"/opt/wla/bin/wlagent\"></Symlink></Manifest>");
    free(out);
    manifest_free(&m);

    static const char *const bad[] = {"", "{\"Label\":\"x\"}", "<Measurement/>", "<Manifest>",
                                      "<!DOCTYPE x><Manifest/>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(request_manifest_xml_decode(bad[i], strlen(bad[i]), &m, &why), -EINVAL);
        assert_non_null(why);
        free(why);
        why = NULL;
    }
}

static void test_measurement_rewrite(void **state)
{
    (void)state;
    static const char in[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Measurement xmlns=\"lib:wml:measurements:1.0\" Label=\"L\" Uuid=\"u\" DigestAlg=\"SHA384\">\n"
        "  <Dir Exclude=\"\" FilterType=\"regex\" Include=\".*\" Path=\"/d\">aa</Dir>\n"
        "  <File Path=\"/f&amp;&quot;\">bb</File>\n"
        "  <Symlink Path=\"/s\" SearchType=\"regex\">cc</Symlink>\n"
        "  <CumulativeHash>dd</CumulativeHash>\n"
        "</Measurement>\n";
    char *out = NULL, *why = NULL;
    size_t len = 0;
    /* attributes in ta.Measurement's field order (Dir: Include, Exclude, FilterType, Path, SearchType) */
    assert_int_equal(measurement_xml_rewrite(in, strlen(in), &out, &len, &why), 0);
    assert_string_equal(
        out, "<Measurement xmlns=\"lib:wml:measurements:1.0\" DigestAlg=\"SHA384\" Label=\"L\" "
             "Uuid=\"u\"><File Path=\"/f&amp;&#34;\">bb</File><Dir Include=\".*\" "
             "FilterType=\"regex\" Path=\"/d\">aa</Dir><Symlink Path=\"/s\" SearchType=\"regex\">cc"
             "</Symlink><CumulativeHash>dd</CumulativeHash></Measurement>");
    assert_int_equal(len, strlen(out));
    free(out);
    assert_int_equal(measurement_xml_rewrite("<Manifest/>", 11, &out, &len, &why), -EINVAL);
    assert_non_null(why);
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_manifest_xml),
        cmocka_unit_test(test_measurement_rewrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
