/* SPDX-License-Identifier: BSD-3-Clause */
/* Value syntaxes: Go durations both ways (config.yml must read and write what the Go agent does), host names.
 */
#include "test_util.h"

#include <errno.h>

#define NS  1LL
#define US  1000LL
#define MS  1000000LL
#define SEC 1000000000LL
#define MIN (60 * SEC)
#define HR  (60 * MIN)

static void test_duration_format_matches_go(void **state)
{
    /* The outputs of Go's time.Duration.String for these values. */
    static const struct {
        int64_t ns;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {1 * NS, "1ns"},
        {1100 * NS, "1.1\xc2\xb5s"},
        {2200 * US, "2.2ms"},
        {3300 * MS, "3.3s"},
        {4 * MIN + 5 * SEC, "4m5s"},
        {4 * MIN + 5001 * MS, "4m5.001s"},
        {5 * HR + 6 * MIN + 7001 * MS, "5h6m7.001s"},
        {8 * MIN + 1 * NS, "8m0.000000001s"},
        {30 * SEC, "30s"},
        {HR, "1h0m0s"},
        {30 * NS, "30ns"},
        {-1 * SEC, "-1s"},
        {INT64_MAX, "2562047h47m16.854775807s"},
        {INT64_MIN, "-2562047h47m16.854775808s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[CONFIG_DURATION_BUF];
        config_duration_format(cases[i].ns, buf);
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_duration_parse(void **state)
{
    static const struct {
        const char *text;
        int64_t ns;
    } ok[] = {
        {"0", 0},
        {"5s", 5 * SEC},
        {"30s", 30 * SEC},
        {"1478s", 1478 * SEC},
        {"-5s", -5 * SEC},
        {"+5s", 5 * SEC},
        {"-0", 0},
        {"5.0s", 5 * SEC},
        {"5.6s", 5 * SEC + 600 * MS},
        {"5.s", 5 * SEC},
        {".5s", 500 * MS},
        {"1.1us", 1100},
        {"1.1\xc2\xb5s", 1100},
        {"1.1\xce\xbcs", 1100},
        {"10ns", 10},
        {"11us", 11 * US},
        {"12ms", 12 * MS},
        {"13m", 13 * MIN},
        {"14h", 14 * HR},
        {"3h30m", 3 * HR + 30 * MIN},
        {"1h2m3s4ms5us6ns", HR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6},
        {"39h9m14.425s", 39 * HR + 9 * MIN + 14425 * MS},
        {"9223372036854775807ns", INT64_MAX},
        {"0.100000000000000000000h", 6 * MIN},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ns = -42;
        assert_int_equal(config_duration_parse(ok[i].text, &ns), 0);
        if (ns != ok[i].ns)
            fail_msg("%s: got %lld, want %lld", ok[i].text, (long long)ns, (long long)ok[i].ns);
    }
    static const char *const bad[] = {"",   "3",      "-",    "s",     ".",   "-.",  ".s", "+.s",
                                      "1d", "1.5.5s", "1e3s", "0x10s", "inf", "5 s", "s5", "1ss"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns;
        if (config_duration_parse(bad[i], &ns) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    int64_t ns;
    assert_int_equal(config_duration_parse("9223372036854775808ns", &ns), -ERANGE);
    assert_int_equal(config_duration_parse("3000000h", &ns), -ERANGE);
}

static void test_duration_round_trip(void **state)
{
    const int64_t values[] = {1, 999, 1000, 1500 * US, 59 * SEC, 61 * SEC, 25 * HR + 1, 10 * SEC};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[CONFIG_DURATION_BUF];
        int64_t back;
        config_duration_format(values[i], buf);
        assert_int_equal(config_duration_parse(buf, &back), 0);
        assert_true(back == values[i]);
    }
}

static void test_hostnames(void **state)
{
    assert_true(config_hostname_valid("edge-01"));
    assert_true(config_hostname_valid("edge-01.example.com"));
    assert_true(config_hostname_valid("1host"));
    char label63[64];
    memset(label63, 'a', 63);
    label63[63] = '\0';
    assert_true(config_hostname_valid(label63));

    char label64[65];
    memset(label64, 'a', 64);
    label64[64] = '\0';
    assert_false(config_hostname_valid(label64));
    assert_false(config_hostname_valid(""));
    assert_false(config_hostname_valid("-a"));
    assert_false(config_hostname_valid("a-"));
    assert_false(config_hostname_valid("a..b"));
    assert_false(config_hostname_valid(".a"));
    assert_false(config_hostname_valid("a."));
    assert_false(config_hostname_valid("a_b"));
    assert_false(config_hostname_valid("a b"));
    assert_false(config_hostname_valid("a>"));
    assert_false(config_hostname_valid("caf\xc3\xa9"));
}

static void test_urls(void **state)
{
    static const char *const https[] = {"https", NULL}, *const nats[] = {"nats", "tls", NULL};
    static const char *const good[] = {
        "https://hvs.example.com:8443/hvs/v2", "https://10.0.0.1/x?y=1#z", "HTTPS://hvs",
        "https://[::1]:8443/hvs/v2",           "https://[fe80::1]",        "https://h:65535"};
    char *why = NULL;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (config_url_check(good[i], https, &why) < 0)
            fail_msg("%s: %s", good[i], why);
    assert_null(why); /* untouched on success */
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://hvs", "wrong scheme"},
        {"hvs:8443", "wrong scheme"},
        {"https://", "no host"},
        {"https://:8443", "no host"},
        {"https://a b", "space"},
        {"https://u:p@hvs", "credentials"},
        {"https://hvs:0", "invalid port"},
        {"https://hvs:65536", "invalid port"},
        {"https://hvs:", "invalid port"},
        {"https://hvs:x1", "invalid port"},
        {"https://[::1", "invalid host"},
        {"https://[zz::1]", "invalid host"},
        {"https://bad_host", "invalid host"},
        {"https://h\x01", "control"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_url_check(bad[i].url, https, &why) == 0)
            fail_msg("%s was accepted", bad[i].url);
        if (!strstr(why, bad[i].why))
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].url, why, bad[i].why);
        free(why);
        why = NULL;
    }
    assert_int_equal(config_url_check("tls://127.0.0.1:4222", nats, NULL), 0);
    assert_int_equal(config_url_check("nats://nats-1:4222", nats, NULL), 0);
    assert_int_equal(config_url_check("ws://nats-1:4222", nats, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_format_matches_go),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_round_trip),
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
