/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * common/digest.h against OpenSSL's EVP digests as the oracle, for every algorithm of the TCG table: the
 * specs' example messages, every length 0..300 (each padding case of both block sizes), large random
 * buffers, and the same inputs fed in random-sized pieces (0-byte ones too); the PCR extend. An algorithm
 * outside the table is refused. Plus one literal answer per algorithm, so that a test does not rest on
 * OpenSSL alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "digest.h"
#include "hex.h"
#include "tcg_alg.h"

/* A fixed-seed generator: a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 32);
}

/* The oracle's digest of data; asserts OpenSSL has the algorithm (SM3: Debian's default provider does). */
static size_t oracle(const struct tcg_alg *a, const uint8_t *data, size_t len, uint8_t *out)
{
    EVP_MD *md = EVP_MD_fetch(NULL, a->ossl_name, NULL);
    unsigned n = 0;
    assert_non_null(md);
    assert_int_equal(EVP_Digest(data, len, out, &n, md, NULL), 1);
    EVP_MD_free(md);
    return n;
}

/* Ours in one piece and in random pieces, both equal to the oracle's. */
static void check_input(const struct tcg_alg *a, const uint8_t *data, size_t len)
{
    uint8_t want[EVP_MAX_MD_SIZE], got[DIGEST_MAX_SIZE];
    size_t n = oracle(a, data, len, want);
    assert_int_equal(n, a->size);

    memset(got, 0, sizeof(got));
    assert_int_equal(digest_buf(a->id, data, len, got), (int)a->size);
    if (memcmp(got, want, n) != 0)
        fail_msg("%s of %zu bytes in one piece differs from OpenSSL's", a->name, len);

    struct digest_ctx ctx;
    assert_int_equal(digest_init(&ctx, a->id), 0);
    for (size_t off = 0; off < len;) {
        /* mostly short pieces around a block, sometimes several blocks, sometimes nothing */
        size_t piece = rng() % 4 == 0 ? 0 : (size_t)(rng() % (rng() % 8 == 0 ? 1000 : 150));
        if (piece > len - off)
            piece = len - off;
        digest_update(&ctx, data + off, piece);
        off += piece;
    }
    digest_update(&ctx, NULL, 0);
    memset(got, 0, sizeof(got));
    assert_int_equal(digest_final(&ctx, got), a->size);
    if (memcmp(got, want, n) != 0)
        fail_msg("%s of %zu bytes in pieces differs from OpenSSL's", a->name, len);
}

static const struct tcg_alg *each_alg(size_t i)
{
    size_t n;
    const struct tcg_alg *algs = tcg_algs(&n);
    return i < n ? &algs[i] : NULL;
}

static void test_spec_messages(void **state)
{
    /* FIPS 180-4's examples (csrc.nist.gov "Examples with intermediate values") and GB/T 32905's two */
    static const char two_blocks_896[] =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmno"
        "pjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    const char *const messages[] = {
        "",
        "abc",
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        two_blocks_896,
        "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd",
    };
    (void)state;
    for (size_t i = 0; each_alg(i); i++)
        for (size_t m = 0; m < sizeof(messages) / sizeof(messages[0]); m++)
            check_input(each_alg(i), (const uint8_t *)messages[m], strlen(messages[m]));

    /* a million 'a' (FIPS 180-4's third example), fed in uneven pieces */
    size_t len = 1000000;
    uint8_t *a = malloc(len);
    assert_non_null(a);
    memset(a, 'a', len);
    for (size_t i = 0; each_alg(i); i++)
        check_input(each_alg(i), a, len);
    free(a);
}

/* The published digests of "abc", written out: an oracle that is not OpenSSL. */
static void test_known_answers(void **state)
{
    static const struct {
        uint16_t alg;
        const char *hex;
    } want[] = {
        {TCG_ALG_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {TCG_ALG_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {TCG_ALG_SHA384,
         "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
        {TCG_ALG_SHA512,
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
         "454d4423643ce80e2a9ac94fa54ca49f"},
        {TCG_ALG_SM3_256, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint8_t got[DIGEST_MAX_SIZE];
        char hex[2 * DIGEST_MAX_SIZE + 1];
        int n = digest_buf(want[i].alg, "abc", 3, got);
        assert_int_equal(n, (int)strlen(want[i].hex) / 2);
        hex_encode(got, (size_t)n, hex);
        assert_string_equal(hex, want[i].hex);
    }
}

static void test_every_length(void **state)
{
    uint8_t data[300];
    (void)state;
    fill_random(data, sizeof(data));
    for (size_t i = 0; each_alg(i); i++)
        for (size_t len = 0; len <= sizeof(data); len++)
            check_input(each_alg(i), data, len);
}

static void test_large_random(void **state)
{
    static const size_t lens[] = {65536, 1048576 + 17, 3 * 1048576 + 111};
    (void)state;
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        uint8_t *data = malloc(lens[l]);
        assert_non_null(data);
        fill_random(data, lens[l]);
        /* an unaligned start: the block functions read the caller's bytes in place */
        for (size_t i = 0; each_alg(i); i++)
            check_input(each_alg(i), data + (l & 1), lens[l] - (l & 1));
        free(data);
    }
}

/* A context is reusable after digest_init, and the table is exactly tcg_alg.h's. */
static void test_reinit_and_table(void **state)
{
    (void)state;
    for (size_t i = 0; each_alg(i); i++) {
        const struct tcg_alg *a = each_alg(i);
        uint8_t want[EVP_MAX_MD_SIZE], got[DIGEST_MAX_SIZE];
        struct digest_ctx ctx;
        assert_true(digest_supported(a->id));
        assert_int_equal(digest_init(&ctx, a->id), 0);
        digest_update(&ctx, "left over", 9);
        assert_int_equal(digest_init(&ctx, a->id), 0);
        digest_update(&ctx, "abc", 3);
        assert_int_equal(digest_final(&ctx, got), a->size);
        oracle(a, (const uint8_t *)"abc", 3, want);
        assert_memory_equal(got, want, a->size);
        assert_true(a->size <= DIGEST_MAX_SIZE);
    }
}

/* digest_extend: pcr := H(pcr || digest), as OpenSSL hashes the concatenation; a wrong size leaves pcr as
 * it was. */
static void test_extend(void **state)
{
    (void)state;
    for (size_t i = 0; each_alg(i); i++) {
        const struct tcg_alg *a = each_alg(i);
        uint8_t pcr[DIGEST_MAX_SIZE], digest[DIGEST_MAX_SIZE], both[2 * DIGEST_MAX_SIZE],
            want[EVP_MAX_MD_SIZE];
        for (int round = 0; round < 50; round++) {
            fill_random(pcr, sizeof(pcr));
            fill_random(digest, sizeof(digest));
            memcpy(both, pcr, a->size);
            memcpy(both + a->size, digest, a->size);
            oracle(a, both, 2 * a->size, want);
            assert_int_equal(digest_extend(a->id, pcr, digest, a->size), 0);
            assert_memory_equal(pcr, want, a->size);
        }
        uint8_t before[DIGEST_MAX_SIZE];
        memcpy(before, pcr, sizeof(pcr));
        assert_int_equal(digest_extend(a->id, pcr, digest, a->size - 1), -EINVAL);
        assert_int_equal(digest_extend(a->id, pcr, digest, a->size == 64 ? 32 : 64), -EINVAL);
        assert_memory_equal(pcr, before, sizeof(pcr));
    }
}

static void test_unknown_refused(void **state)
{
    /* TPM_ALG_ERROR, RSA, HMAC, SHA3_256, SHA3_512, SM3 under a wrong id, all ones */
    static const uint16_t ids[] = {0x0000, 0x0001, 0x0005, 0x0027, 0x0029, 0x0013, 0xffff};
    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct digest_ctx ctx;
        uint8_t out[DIGEST_MAX_SIZE];
        assert_false(digest_supported(ids[i]));
        assert_int_equal(digest_init(&ctx, ids[i]), -EOPNOTSUPP);
        assert_int_equal(digest_buf(ids[i], "abc", 3, out), -EOPNOTSUPP);
        memset(out, 0, sizeof(out));
        assert_int_equal(digest_extend(ids[i], out, out, 32), -EOPNOTSUPP);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_messages),    cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_every_length),     cmocka_unit_test(test_large_random),
        cmocka_unit_test(test_reinit_and_table), cmocka_unit_test(test_extend),
        cmocka_unit_test(test_unknown_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
