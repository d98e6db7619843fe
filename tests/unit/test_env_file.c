/* SPDX-License-Identifier: BSD-3-Clause */
/* trustagent.env syntax: what is accepted, and a clear message naming the line for each malformed case. */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int parse(const char *text, struct config_env *env, struct config_diags *d)
{
    return config_env_parse(text, strlen(text), "ta.env", env, d);
}

static const char *value_of(const struct config_env *env, const char *key)
{
    const struct config_env_entry *e = config_env_find(env, key);
    return e ? e->value : NULL;
}

static void test_accepted_syntax(void **state)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    const char *text = "# comment\n"
                       "\n"
                       "   \t\n"
                       "HVS_URL=https://hvs:8443/hvs/v2\n"
                       "  SPACED_KEY  =   value with spaces   \n"
                       "export EXPORTED=yes\n"
                       "DQ=\"a \\\"quoted\\\" \\\\ value\"   # trailing comment\n"
                       "SQ='single $HOME \\n kept'\n"
                       "EMPTY=\n"
                       "EQUALS=a=b=c\n"
                       "HASH=abc#def\n"
                       "UTF8=caf\xc3\xa9\n"
                       "    # indented comment\n"
                       "LAST=no newline at end";
    assert_int_equal(parse(text, &env, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(env.n, 10);
    assert_string_equal(value_of(&env, "HVS_URL"), "https://hvs:8443/hvs/v2");
    assert_string_equal(value_of(&env, "SPACED_KEY"), "value with spaces");
    assert_string_equal(value_of(&env, "EXPORTED"), "yes");
    assert_string_equal(value_of(&env, "DQ"), "a \"quoted\" \\ value");
    assert_string_equal(value_of(&env, "SQ"), "single $HOME \\n kept");
    assert_string_equal(value_of(&env, "EMPTY"), "");
    assert_string_equal(value_of(&env, "EQUALS"), "a=b=c");
    assert_string_equal(value_of(&env, "HASH"), "abc#def");
    assert_string_equal(value_of(&env, "UTF8"), "caf\xc3\xa9");
    assert_string_equal(value_of(&env, "LAST"), "no newline at end");
    assert_int_equal(config_env_find(&env, "LAST")->line, 14);
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_crlf(void **state)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    assert_int_equal(parse("A=1\r\nB=\"two\"\r\n\r\nC=3\r\n", &env, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(value_of(&env, "A"), "1");
    assert_string_equal(value_of(&env, "B"), "two");
    assert_string_equal(value_of(&env, "C"), "3");
    assert_int_equal(config_env_find(&env, "C")->line, 4);
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_bom_is_a_warning(void **state)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    assert_int_equal(parse("\xef\xbb\xbfHVS_URL=x\n", &env, &d), 0);
    assert_diag(&d, CONFIG_WARNING, 1, "byte-order mark");
    assert_string_equal(value_of(&env, "HVS_URL"), "x"); /* the key is read correctly */
    config_env_free(&env);
    config_diags_free(&d);
}

/* One malformed line among good ones: its own error naming the line, the good lines still parsed. */
static void check_malformed(const char *bad_line, const char *fragment)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    char *text = NULL;
    assert_true(asprintf(&text, "GOOD1=1\n%s\nGOOD2=2\n", bad_line) > 0);
    assert_int_equal(parse(text, &env, &d), -EINVAL);
    assert_int_equal(d.n_errors, 1);
    assert_diag(&d, CONFIG_ERROR, 2, fragment);
    char *formatted = config_diag_format(&d.items[0]);
    assert_non_null(strstr(formatted, "ta.env:2: "));
    free(formatted);
    assert_string_equal(value_of(&env, "GOOD1"), "1");
    assert_string_equal(value_of(&env, "GOOD2"), "2");
    free(text);
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_no_equals(void **state)
{
    check_malformed("JUST_A_WORD", "no '='");
}

static void test_missing_key(void **state)
{
    check_malformed("=value", "key is missing");
}

static void test_bad_key_characters(void **state)
{
    check_malformed("HVS-URL=x", "not a valid key");
    check_malformed("1KEY=x", "not a valid key");
    check_malformed("MY KEY=x", "not a valid key");
    check_malformed("K\xc3\xa9Y=x", "not a valid key");
}

static void test_unterminated_quote(void **state)
{
    check_malformed("A=\"open", "double quote (\") that is not closed");
    check_malformed("A='open", "single quote (') that is not closed");
    check_malformed("A=\"escaped at end\\\"", "not closed");
}

static void test_text_after_quote(void **state)
{
    check_malformed("A=\"x\"y", "after the closing quote");
}

static void test_duplicate_key(void **state)
{
    check_malformed("GOOD1=again", "set again (first on line 1)");
}

static void test_huge_value(void **state)
{
    size_t n = 1 << 20;
    char *line = malloc(n + 8);
    memcpy(line, "BIG=", 4);
    memset(line + 4, 'x', n);
    line[n + 4] = '\0';
    check_malformed(line, "the value is 1048576 bytes; the limit is 65536 bytes");
    free(line);
}

static void test_binary_junk(void **state)
{
    check_malformed("A=\x01\x02", "control byte 0x01 at column 3");
    check_malformed("A=abc\x7f", "control byte 0x7f");
    check_malformed("A=\xff\xfe", "not valid UTF-8 at column 3");
    check_malformed("A=\xc0\x80", "not valid UTF-8"); /* overlong NUL */
    check_malformed("A=x\ry", "control byte 0x0d");

    /* An embedded NUL: the parser is given the length, so it sees it. */
    struct config_env env = {0};
    struct config_diags d = {0};
    const char text[] = "A=1\nB=x\0y\nC=3\n";
    assert_int_equal(config_env_parse(text, sizeof(text) - 1, "ta.env", &env, &d), -EINVAL);
    assert_diag(&d, CONFIG_ERROR, 2, "control byte 0x00 at column 4");
    assert_string_equal(value_of(&env, "C"), "3");
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_random_binary_never_crashes(void **state)
{
    /* Deterministic pseudo-random bytes; the parser must report, not crash or accept garbage silently. */
    unsigned char buf[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    struct config_env env = {0};
    struct config_diags d = {0};
    assert_int_equal(config_env_parse((const char *)buf, sizeof(buf), "junk", &env, &d), -EINVAL);
    assert_true(d.n_errors > 0);
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_too_many_keys(void **state)
{
    /* A huge file of short lines is refused after CONFIG_ENV_MAX_KEYS keys instead of being read whole. */
    size_t lines = 200000;
    char *text = malloc(lines * 16);
    size_t len = 0;
    for (size_t i = 0; i < lines; i++)
        len += (size_t)sprintf(text + len, "K%zu=v\n", i);
    struct config_env env = {0};
    struct config_diags d = {0};
    assert_int_equal(config_env_parse(text, len, "ta.env", &env, &d), -EINVAL);
    assert_int_equal(env.n, CONFIG_ENV_MAX_KEYS);
    assert_int_equal(d.n, 1);
    assert_diag(&d, CONFIG_ERROR, CONFIG_ENV_MAX_KEYS + 1, "more than 1024 keys");
    free(text);
    config_env_free(&env);
    config_diags_free(&d);
}

static void test_load_errors(void **state)
{
    struct config_env env = {0};
    struct config_diags d = {0};
    assert_int_equal(config_env_load("/nonexistent/ta.env", &env, &d), -ENOENT);
    assert_non_null(strstr(d.items[0].message, "cannot be read"));
    config_diags_free(&d);

    assert_int_equal(config_env_load("/", &env, &d), -EINVAL);
    assert_non_null(strstr(d.items[0].message, "not a regular file"));
    config_diags_free(&d);

    char path[] = "/tmp/tagent-env-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, CONFIG_ENV_MAX_FILE + 1), 0);
    close(fd);
    assert_int_equal(config_env_load(path, &env, &d), -EFBIG);
    assert_non_null(strstr(d.items[0].message, "larger than"));
    unlink(path);
    config_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_syntax),    cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_bom_is_a_warning),   cmocka_unit_test(test_no_equals),
        cmocka_unit_test(test_missing_key),        cmocka_unit_test(test_bad_key_characters),
        cmocka_unit_test(test_unterminated_quote), cmocka_unit_test(test_text_after_quote),
        cmocka_unit_test(test_duplicate_key),      cmocka_unit_test(test_huge_value),
        cmocka_unit_test(test_binary_junk),        cmocka_unit_test(test_random_binary_never_crashes),
        cmocka_unit_test(test_too_many_keys),      cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
