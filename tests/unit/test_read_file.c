/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_read_file(): the limit, files that say size 0 (procfs, securityfs), and a buffer sized by the file,
 * not by the limit (the service keeps the measure log it reads for its whole life).
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char *write_temp(size_t len, char path[32])
{
    snprintf(path, 32, "/tmp/tagent-read-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *data = malloc(len + 1);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 23);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return data;
}

static void test_regular_files_and_limit(void **state)
{
    const size_t sizes[] = {0, 1, 4095, 4096, 4097, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char path[32];
        char *data = write_temp(sizes[i], path);
        char *buf = NULL;
        size_t len = 0;
        assert_int_equal(config_read_file(path, 64u << 20, &buf, &len), 0);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(buf, data, len);
        assert_int_equal(buf[len], '\0');
        /* sized by the file: a 64 MiB limit does not mean a 64 MiB buffer */
        assert_true(malloc_usable_size(buf) <= 2 * len + 8192);
        free(buf);
        /* exactly at the limit: read; one byte over: refused, nothing returned */
        buf = NULL;
        assert_int_equal(config_read_file(path, sizes[i], &buf, &len), 0);
        free(buf);
        if (sizes[i] > 0) {
            buf = NULL;
            assert_int_equal(config_read_file(path, sizes[i] - 1, &buf, &len), -EFBIG);
            assert_null(buf);
        }
        unlink(path);
        free(data);
    }
}

/* procfs says size 0: the whole content still comes back, and the limit still holds. */
static void test_size_zero_files(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(config_read_file("/proc/self/maps", 16u << 20, &buf, &len), 0);
    assert_true(len > 100);
    assert_int_equal(strlen(buf), len);
    assert_non_null(strstr(buf, "[stack]"));
    free(buf);
    buf = NULL;
    assert_int_equal(config_read_file("/proc/self/maps", 64, &buf, &len), -EFBIG);
    assert_null(buf);
}

static void test_not_files(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(config_read_file("/tmp", 1024, &buf, &len), -EINVAL);
    assert_int_equal(config_read_file("/tmp/tagent-read-no-such-file", 1024, &buf, &len), -ENOENT);
    assert_null(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_files_and_limit),
        cmocka_unit_test(test_size_zero_files),
        cmocka_unit_test(test_not_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
