/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CURRENT_IP in Go's canonical text (provision/host_ip.c): the values are what Go's
 * net.ParseIP(s).String() prints for the same input (Go 1.18-1.21, net/ip.go), where inet_ntop differs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "host_ip.h"

static void expect_ip(const char *in, const char *want, bool want_v6)
{
    char out[64];
    bool v6 = !want_v6;
    if (host_ip_go_string(in, out, sizeof(out), &v6) != 0)
        fail_msg("%s refused", in);
    if (strcmp(out, want) != 0 || v6 != want_v6)
        fail_msg("%s -> %s (v6 %d), want %s (v6 %d)", in, out, v6, want, want_v6);
}

static void test_go_text(void **state)
{
    (void)state;
    expect_ip("127.0.0.1", "127.0.0.1", false);
    expect_ip("::ffff:127.0.0.1", "127.0.0.1", false); /* To4(): a mapped address prints as IPv4 */
    expect_ip("::FFFF:7f00:1", "127.0.0.1", false);
    expect_ip("::1", "::1", true);
    expect_ip("::", "::", true);
    expect_ip("::127.0.0.1", "::7f00:1", true);                      /* inet_ntop prints "::127.0.0.1" */
    expect_ip("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1", true);    /* the first of two equal runs */
    expect_ip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", true); /* one zero group stays */
    expect_ip("fe80:0000:0000:0000:0000:0000:0000:0001", "fe80::1", true);
    expect_ip("1:0:0:2:0:0:0:3", "1:0:0:2::3", true); /* the longest run */
    expect_ip("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0", true);
    expect_ip("1:2:3:4:5:6:0:0", "1:2:3:4:5:6::", true);
}

static void test_refused(void **state)
{
    (void)state;
    char out[64];
    bool v6;
    static const char *const bad[] = {"",       "localhost", "127.0.0.01", "1.2.3",
                                      "::1%lo", "[::1]",     "1.2.3.4:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (host_ip_go_string(bad[i], out, sizeof(out), &v6) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_text),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
