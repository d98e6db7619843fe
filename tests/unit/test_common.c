/* SPDX-License-Identifier: BSD-3-Clause */
/* common/: the TCG algorithm table (OpenSSL knows its digest names) and hex. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "hex.h"
#include "tcg_alg.h"

static void test_alg_lookups(void **state)
{
    static const struct {
        uint16_t id;
        const char *name;
        size_t size;
        bool hvs;
    } want[] = {
        {0x0004, "SHA1", 20, true},    {0x000b, "SHA256", 32, true},   {0x000c, "SHA384", 48, true},
        {0x000d, "SHA512", 64, false}, {0x0012, "SM3_256", 32, false},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct tcg_alg *a = tcg_alg_from_id(want[i].id);
        assert_non_null(a);
        assert_string_equal(a->name, want[i].name);
        assert_int_equal(a->size, want[i].size);
        assert_int_equal(a->hvs_pcr_bank, want[i].hvs);
        assert_ptr_equal(tcg_alg_from_name(want[i].name), a);
        assert_string_equal(tcg_alg_name(want[i].id), want[i].name);
        assert_int_equal(tcg_alg_size(want[i].id), want[i].size);
        /* OpenSSL knows the digest by that name and size (SM3 only where a provider has it) */
        EVP_MD *md = EVP_MD_fetch(NULL, a->ossl_name, NULL);
        if (md || want[i].id != 0x0012) {
            assert_non_null(md);
            assert_int_equal((size_t)EVP_MD_get_size(md), a->size);
        }
        EVP_MD_free(md);
    }
    size_t n;
    assert_non_null(tcg_algs(&n));
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    assert_ptr_equal(tcg_alg_from_name("sha256"), tcg_alg_from_id(0x000b)); /* case-insensitive */
    assert_ptr_equal(tcg_alg_from_name("sHa384"), tcg_alg_from_id(0x000c));
    assert_null(tcg_alg_from_name("SHA-256"));
    assert_null(tcg_alg_from_name("MD5"));
    assert_null(tcg_alg_from_name(""));
    assert_null(tcg_alg_from_id(0x0000));
    assert_null(tcg_alg_from_id(0x0010));
    assert_null(tcg_alg_name(0x0010));
    assert_int_equal(tcg_alg_size(0x0010), 0);
    ERR_clear_error();
}

static void test_hex_encode(void **state)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff, 0x9a};
    char out[2 * sizeof(bytes) + 1];
    memset(out, 'x', sizeof(out));
    hex_encode(bytes, sizeof(bytes), out);
    assert_string_equal(out, "0001abcdefff9a"); /* lower case, no separators */
    char empty[1] = {'x'};
    hex_encode(bytes, 0, empty);
    assert_string_equal(empty, "");
}

static void test_hex_decode(void **state)
{
    uint8_t out[8];
    size_t n = 99;

    ERR_clear_error();

    assert_int_equal(hex_decode("00ffAbCd", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x00\xff\xab\xcd", 4);
    /* len, not the NUL, ends the input: the rest of a line is not read */
    assert_int_equal(hex_decode("0102 rest", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hex_decode("", 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);

    n = 99;
    assert_int_equal(hex_decode("abc", 3, out, sizeof(out), &n), -EINVAL);   /* odd */
    assert_int_equal(hex_decode("zz", 2, out, sizeof(out), &n), -EINVAL);    /* not hex */
    assert_int_equal(hex_decode("ab:cd", 5, out, sizeof(out), &n), -EINVAL); /* no separators */
    assert_int_equal(hex_decode("ab\0cd", 5, out, sizeof(out), &n), -EINVAL);
    assert_int_equal(hex_decode("ab\0\0", 4, out, sizeof(out), &n), -EINVAL); /* a NUL cannot shorten it */
    assert_int_equal(hex_decode("0011223344556677", 16, out, 7, &n), -ENOBUFS);
    assert_int_equal(n, 99); /* untouched on failure */
    /* OpenSSL's error queue is left as it was: a bad digit is not a TLS error later */
    assert_int_equal(ERR_peek_error(), 0);

    /* longer than the stack copy: a signature-sized input */
    size_t len = 2 * 4096;
    char *hex = malloc(len);
    uint8_t *bytes = malloc(len / 2);
    assert_non_null(hex);
    assert_non_null(bytes);
    for (size_t i = 0; i < len; i += 2) {
        hex[i] = i % 4 ? 'A' : '5';
        hex[i + 1] = i % 4 ? '5' : 'a';
    }
    assert_int_equal(hex_decode(hex, len, bytes, len / 2, &n), 0);
    assert_int_equal(n, len / 2);
    assert_int_equal(bytes[0], 0x5a);
    assert_int_equal(bytes[1], 0xa5);
    assert_int_equal(bytes[len / 2 - 1], 0xa5);
    char *back = malloc(len + 1);
    assert_non_null(back);
    hex_encode(bytes, len / 2, back);
    for (size_t i = 0; i < len; i += 2)
        assert_memory_equal(back + i, i % 4 ? "a5" : "5a", 2);
    free(back);
    free(bytes);
    free(hex);
}

static void test_hex_is_digits(void **state)
{
    assert_true(hex_is_digits("0123456789abcdefABCDEF", 22));
    assert_true(hex_is_digits("", 0));
    assert_true(hex_is_digits("ab!", 2));
    assert_false(hex_is_digits("ab!", 3));
    assert_false(hex_is_digits("g", 1));
    assert_false(hex_is_digits("a\0", 2));
    assert_false(hex_is_digits(" a", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_lookups),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_hex_is_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
