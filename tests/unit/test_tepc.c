/* SPDX-License-Identifier: BSD-3-Clause */
/* provision/tepc/: the TEPC v1 container's parse, profile check, seal, verify and software decryption. */
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
#include <openssl/x509.h>

#include "tepc.h"

struct sealed {
    EVP_PKEY *key;
    uint8_t *spki;
    size_t spki_len;
    uint8_t aes[32];
    size_t aes_len;
    uint8_t *blob;
    size_t len;
};

static const uint8_t payload[] = "a small payload that is not really a tgz, but the container does not care";

static void sealed_make(struct sealed *s, enum tepc_profile profile, uint32_t seq)
{
    const struct tepc_profile_params *p = tepc_profile_params(profile);
    char *err = NULL;
    unsigned char *der = NULL;

    s->key = EVP_EC_gen(p->curve_sn);
    assert_non_null(s->key);
    int n = i2d_PUBKEY(s->key, &der);
    assert_int_equal(n, (int)p->spki_len);
    s->spki = der;
    s->spki_len = (size_t)n;
    s->aes_len = p->enc_key_bits / 8;
    for (size_t i = 0; i < s->aes_len; i++)
        s->aes[i] = (uint8_t)(i * 7 + 1);
    struct tepc_seal_params params = {.profile = profile, .sequence = seq, .created = 1700000000};
    int r = tepc_seal(payload, sizeof(payload), s->key, s->aes, s->aes_len, &params, &s->blob, &s->len, &err);
    if (r < 0)
        fail_msg("seal: %s", err);
}

static void sealed_free(struct sealed *s)
{
    EVP_PKEY_free(s->key);
    OPENSSL_free(s->spki);
    free(s->blob);
}

/* Parse must fail with a message containing fragment. */
static void assert_parse_fails(const uint8_t *buf, size_t len, const char *fragment)
{
    struct tepc_blob b;
    char *err = NULL;
    int r = tepc_parse(buf, len, &b, &err);
    assert_true(r < 0);
    assert_non_null(err);
    if (!strstr(err, fragment))
        fail_msg("parse error \"%s\" lacks \"%s\"", err, fragment);
    free(err);
}

static void test_round_trip(void **state)
{
    for (int prof = TEPC_PROFILE_PTT; prof <= TEPC_PROFILE_DTPM; prof++) {
        struct sealed s = {0};
        struct tepc_blob b;
        uint8_t hdr[TEPC_HEADER_LEN];
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        char *err = NULL;

        sealed_make(&s, (enum tepc_profile)prof, 42);
        assert_int_equal(tepc_parse(s.blob, s.len, &b, &err), 0);
        assert_int_equal(b.header.sequence, 42);
        assert_int_equal(b.header.created, 1700000000);
        assert_int_equal(b.header.payload_len, sizeof(payload));
        assert_int_equal(b.header.iv[12] | b.header.iv[13] | b.header.iv[14] | b.header.iv[15], 0);
        assert_int_equal(b.signed_len + 2 + b.signature_len, s.len);
        tepc_header_encode(&b.header, hdr);
        assert_memory_equal(hdr, s.blob, TEPC_HEADER_LEN);
        assert_int_equal(tepc_check_profile(&b.header, (enum tepc_profile)prof, &err), 0);
        assert_int_equal(tepc_verify(&b, s.spki, s.spki_len, &err), 0);
        assert_int_equal(tepc_decrypt_soft(&b, s.aes, s.aes_len, &plain, &plain_len, &err), 0);
        assert_int_equal(plain_len, sizeof(payload));
        assert_memory_equal(plain, payload, sizeof(payload));
        assert_memory_not_equal(b.ciphertext, payload, sizeof(payload));
        OPENSSL_clear_free(plain, plain_len);
        /* the other profile refuses it */
        assert_true(tepc_check_profile(&b.header, (enum tepc_profile) !prof, &err) < 0);
        free(err);
        sealed_free(&s);
    }
}

/* Writes a big-endian value of n bytes at off in a copy of the blob and expects parse to fail. */
static void mutate_parse_fails(const struct sealed *s, size_t off, unsigned n, uint64_t v,
                               const char *fragment)
{
    uint8_t *c = malloc(s->len);
    assert_non_null(c);
    memcpy(c, s->blob, s->len);
    for (unsigned i = 0; i < n; i++)
        c[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    assert_parse_fails(c, s->len, fragment);
    free(c);
}

static void test_parse_rejects(void **state)
{
    struct sealed s = {0};
    sealed_make(&s, TEPC_PROFILE_PTT, 1);
    size_t sig_off = TEPC_HEADER_LEN + sizeof(payload);
    uint16_t sig_len = (uint16_t)(s.len - sig_off - 2);

    assert_parse_fails(s.blob, 0, "at least 130");
    assert_parse_fails(s.blob, 129, "the file has 129 bytes");
    mutate_parse_fails(&s, 0, 4, 0x54455044, "magic is 54 45 50 44");
    mutate_parse_fails(&s, 4, 2, 2, "version is 2");
    mutate_parse_fails(&s, 4, 2, 0, "version is 0");
    mutate_parse_fails(&s, 6, 2, 64, "header_len is 64");
    mutate_parse_fails(&s, 6, 2, 129, "header_len is 129");
    mutate_parse_fails(&s, 20, 4, 0, "flags is 0x00000000");
    mutate_parse_fails(&s, 20, 4, 3, "flags is 0x00000003");
    mutate_parse_fails(&s, 20, 4, 0x80000001, "flags is 0x80000001");
    mutate_parse_fails(&s, 96, 1, 1, "reserved byte 0 (offset 96)");
    mutate_parse_fails(&s, 127, 1, 0x80, "reserved byte 31 (offset 127)");
    mutate_parse_fails(&s, 32, 8, TEPC_MAX_PAYLOAD + 1, "payload_len is 67108865");
    mutate_parse_fails(&s, 32, 8, UINT64_MAX, "payload_len is 18446744073709551615");
    mutate_parse_fails(&s, 32, 8, s.len, "needs at least");
    mutate_parse_fails(&s, 32, 8, sizeof(payload) + 1, "sig_len is");
    mutate_parse_fails(&s, 32, 8, sizeof(payload) - 1, "sig_len is");
    mutate_parse_fails(&s, sig_off, 2, 7, "sig_len is 7");
    mutate_parse_fails(&s, sig_off, 2, 140, "sig_len is 140");
    mutate_parse_fails(&s, sig_off, 2, sig_len - 1u, "leaves");
    mutate_parse_fails(&s, sig_off, 2, sig_len + 1u, "sig_len says");
    /* one byte more or less than the lengths say */
    assert_parse_fails(s.blob, s.len - 1, "sig_len says");
    uint8_t *longer = calloc(1, s.len + 1);
    assert_non_null(longer);
    memcpy(longer, s.blob, s.len);
    assert_parse_fails(longer, s.len + 1, "sig_len says");
    free(longer);
    sealed_free(&s);
}

static void assert_profile_fails(struct tepc_header h, enum tepc_profile p, const char *fragment)
{
    char *err = NULL;
    assert_true(tepc_check_profile(&h, p, &err) < 0);
    if (!err || !strstr(err, fragment))
        fail_msg("check_profile error \"%s\" lacks \"%s\"", err ? err : "(null)", fragment);
    free(err);
}

static void test_profile_rejects(void **state)
{
    struct sealed s = {0};
    struct tepc_blob b;
    sealed_make(&s, TEPC_PROFILE_DTPM, 1);
    assert_int_equal(tepc_parse(s.blob, s.len, &b, NULL), 0);
    struct tepc_header h = b.header, m;

    m = h, m.enc_alg = 0x0025;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "enc_alg is 0x0025, the dtpm profile needs 0x0006");
    m = h, m.enc_mode = 0x0043;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "enc_mode is 0x0043");
    m = h, m.enc_key_bits = 256;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "enc_key_bits is 256, the dtpm profile needs 128");
    m = h, m.sig_alg = 0x0014;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "sig_alg is 0x0014");
    m = h, m.sig_hash = TEPC_ALG_SHA384;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "sig_hash is 0x000c, the dtpm profile needs 0x000b");
    m = h, m.sig_curve = TEPC_CURVE_NIST_P384;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "sig_curve is 0x0004");
    m = h, m.enc_key_handle = 0x8100A001;
    assert_profile_fails(m, TEPC_PROFILE_DTPM, "enc_key_handle is 0x8100a001");
    assert_profile_fails(h, TEPC_PROFILE_PTT, "enc_key_bits is 128, the ptt profile needs 256");

    enum tepc_profile p;
    char *err = NULL;
    assert_int_equal(tepc_profile_from_name("dtpm", &p, NULL), 0);
    assert_int_equal(p, TEPC_PROFILE_DTPM);
    assert_int_equal(tepc_profile_from_name("ptt", &p, NULL), 0);
    assert_int_equal(p, TEPC_PROFILE_PTT);
    assert_int_equal(tepc_profile_from_name("PTT", &p, &err), -EINVAL);
    assert_non_null(strstr(err, "\"PTT\""));
    free(err);
    sealed_free(&s);
}

static void assert_verify_fails(const uint8_t *buf, size_t len, const uint8_t *spki, size_t spki_len,
                                const char *fragment)
{
    struct tepc_blob b;
    char *err = NULL;
    assert_int_equal(tepc_parse(buf, len, &b, NULL), 0);
    assert_int_equal(tepc_verify(&b, spki, spki_len, &err), -EBADMSG);
    if (!err || !strstr(err, fragment))
        fail_msg("verify error \"%s\" lacks \"%s\"", err ? err : "(null)", fragment);
    free(err);
}

static void test_verify_rejects(void **state)
{
    struct sealed s = {0}, other = {0}, other_curve = {0};
    sealed_make(&s, TEPC_PROFILE_PTT, 1);
    sealed_make(&other, TEPC_PROFILE_PTT, 1);
    sealed_make(&other_curve, TEPC_PROFILE_DTPM, 1);

    /* another key: its id is not signer_kid */
    assert_verify_fails(s.blob, s.len, other.spki, other.spki_len, "signer_kid");
    /* signer_kid says the other key (the header is signed, so this is the attacker's re-labelled blob) */
    uint8_t *c = malloc(s.len);
    assert_non_null(c);
    memcpy(c, s.blob, s.len);
    assert_int_equal(tepc_key_id(other.spki, other.spki_len, c + 64), 0);
    assert_verify_fails(c, s.len, other.spki, other.spki_len, "does not verify");
    /* a P-256 key whose id is written into a P-384 header */
    assert_int_equal(tepc_key_id(other_curve.spki, other_curve.spki_len, c + 64), 0);
    assert_verify_fails(c, s.len, other_curve.spki, other_curve.spki_len, "not an EC key on secp384r1");
    /* garbage instead of an SPKI */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(tepc_key_id(junk, sizeof(junk), c + 64), 0);
    assert_verify_fails(c, s.len, junk, sizeof(junk), "not a DER SubjectPublicKeyInfo");
    free(c);
    sealed_free(&s);
    sealed_free(&other);
    sealed_free(&other_curve);
}

/* Every single-byte change of a sealed blob (each byte XORed with each of 8 single bits and with 0xff) is
 * refused by parse + verify: the header and ciphertext by the signature, sig_len by the lengths, the
 * signature by ECDSA. */
static void test_every_flip_rejected(void **state)
{
    for (int prof = TEPC_PROFILE_PTT; prof <= TEPC_PROFILE_DTPM; prof++) {
        struct sealed s = {0};
        size_t tried = 0, refused = 0;
        sealed_make(&s, (enum tepc_profile)prof, 7);
        uint8_t *c = malloc(s.len);
        assert_non_null(c);
        for (size_t i = 0; i < s.len; i++) {
            for (unsigned k = 0; k < 9; k++) {
                uint8_t mask = k < 8 ? (uint8_t)(1u << k) : 0xff;
                struct tepc_blob b;
                memcpy(c, s.blob, s.len);
                c[i] ^= mask;
                tried++;
                if (tepc_parse(c, s.len, &b, NULL) < 0 || tepc_verify(&b, s.spki, s.spki_len, NULL) < 0)
                    refused++;
                else
                    fail_msg("profile %d: byte %zu ^ 0x%02x accepted", prof, i, mask);
            }
        }
        assert_int_equal(tried, s.len * 9);
        assert_int_equal(refused, tried);
        print_message("profile %s: %zu of %zu single-byte changes of a %zu-byte blob refused\n",
                      tepc_profile_params((enum tepc_profile)prof)->name, refused, tried, s.len);
        free(c);
        sealed_free(&s);
    }
}

static void test_seal_rejects(void **state)
{
    struct sealed s = {0};
    uint8_t *blob = NULL;
    size_t len = 0;
    char *err = NULL;
    sealed_make(&s, TEPC_PROFILE_PTT, 1);

    struct tepc_seal_params dtpm = {.profile = TEPC_PROFILE_DTPM, .sequence = 1};
    /* a P-384 key for the P-256 profile */
    assert_int_equal(tepc_seal(payload, sizeof(payload), s.key, s.aes, 16, &dtpm, &blob, &len, &err),
                     -EINVAL);
    assert_non_null(strstr(err, "prime256v1"));
    free(err);
    /* the AES key's size */
    struct tepc_seal_params ptt = {.profile = TEPC_PROFILE_PTT, .sequence = 1};
    assert_int_equal(tepc_seal(payload, sizeof(payload), s.key, s.aes, 16, &ptt, &blob, &len, &err), -EINVAL);
    assert_non_null(strstr(err, "16 bytes, the ptt profile needs 32"));
    free(err);
    /* a fixed IV is used as given */
    static const uint8_t iv[TEPC_IV_RANDOM_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ptt.iv_random = iv;
    assert_int_equal(tepc_seal(payload, sizeof(payload), s.key, s.aes, 32, &ptt, &blob, &len, &err), 0);
    assert_memory_equal(blob + 48, iv, sizeof(iv));
    /* decrypting with the wrong key size */
    struct tepc_blob b;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(tepc_parse(blob, len, &b, NULL), 0);
    assert_int_equal(tepc_decrypt_soft(&b, s.aes, 16, &plain, &plain_len, &err), -EINVAL);
    free(err);
    free(blob);
    sealed_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_profile_rejects),     cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_every_flip_rejected), cmocka_unit_test(test_seal_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
