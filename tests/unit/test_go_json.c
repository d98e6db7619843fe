/* SPDX-License-Identifier: BSD-3-Clause */
/* go_json_html_escape(): cJSON's output turned into the bytes Go's json.Marshal writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "go_json.h"

static void expect(const char *in, const char *want)
{
    char *out = go_json_html_escape(in);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void test_html_characters(void **state)
{
    expect("{\"a\":\"<Measurement x=\\\"1\\\">&amp;</Measurement>\"}",
           "{\"a\":\"\\u003cMeasurement x=\\\"1\\\"\\u003e\\u0026amp;\\u003c/Measurement\\u003e\"}");
    expect("\"\xe2\x80\xa8 \xe2\x80\xa9\"", "\"\\u2028 \\u2029\"");
}

static void test_unchanged(void **state)
{
    /* other UTF-8 (U+2027, U+20AC), escapes cJSON already wrote, and plain JSON pass through */
    expect("{\"k\":\"\xe2\x80\xa7\xe2\x82\xac \\n \\\" \\\\\",\"n\":[1,true,null]}",
           "{\"k\":\"\xe2\x80\xa7\xe2\x82\xac \\n \\\" \\\\\",\"n\":[1,true,null]}");
    expect("", "");
    expect("\xe2", "\xe2"); /* a cut sequence at the end is left alone, never read past */
}

/* The result is the same JSON value: cJSON reads the escapes back to the original text. */
static void test_same_value(void **state)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "TcbMeasurements", "<a b=\"c&d\">\xe2\x80\xa8</a>");
    char *text = cJSON_PrintUnformatted(o), *go = go_json_html_escape(text);
    assert_null(strchr(go, '<'));
    cJSON *back = cJSON_Parse(go);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, "TcbMeasurements")->valuestring,
                        "<a b=\"c&d\">\xe2\x80\xa8</a>");
    cJSON_Delete(back);
    cJSON_Delete(o);
    free(text);
    free(go);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_characters),
        cmocka_unit_test(test_unchanged),
        cmocka_unit_test(test_same_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
