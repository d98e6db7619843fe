/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks/policy/ without a TPM: the digests and Names tpm2-tools gave for the fixed inputs of
 * luks_policy_vectors.h (recorded from tests/integration/test_luks_policy_oracle.c, which recomputes them on
 * swtpm), argument checks, and the signed-state file: round trip and every rejection naming its entry.
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
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "hex.h"
#include "luks_policy.h"
#include "luks_policy_vectors.h"
#include "tcg_alg.h"

static void assert_hex(const uint8_t *d, size_t n, const char *hex)
{
    char buf[2 * 128 + 1];
    assert_true(n <= 128);
    hex_encode(d, n, buf);
    assert_string_equal(buf, hex);
}

static void key_vector(const char *pem, const char *name_hex, const char *auth_hex)
{
    uint8_t *spki = NULL, name[LUKS_POLICY_MAX_NAME], auth[LUKS_POLICY_DIGEST];
    size_t spki_len = 0, name_len = 0;
    char *err = NULL;
    spki = vec_spki_of(pem, &spki_len);
    assert_non_null(spki);
    assert_int_equal(luks_policy_key_name(spki, spki_len, name, &name_len, &err), 0);
    assert_hex(name, name_len, name_hex);
    assert_int_equal(luks_policy_authorized(name, name_len, auth, &err), 0);
    assert_hex(auth, sizeof(auth), auth_hex);
    /* One byte more or less is not a SubjectPublicKeyInfo. */
    assert_int_equal(luks_policy_key_name(spki, spki_len - 1, name, &name_len, &err), -EINVAL);
    assert_non_null(strstr(err, "SubjectPublicKeyInfo"));
    free(err);
    OPENSSL_free(spki);
}

static void test_key_names(void **state)
{
    key_vector(vec_p256_pub_pem, "000b6df7f47ce7316889eb0771a2d5bdb249d63c27a49f5a7900b4a420cc052e0e69",
               "e5c39e223b35da82d34a5fc686bd95c6a4003d708602b34e44b4846443bfd1d3");
    key_vector(
        vec_p384_pub_pem,
        "000c67f273cb74c5e5a6825a6e9862f637f3fa6eed2ebc9a32ebc1813834883791c8258d5f9c10c1c271717b3838cab1"
        "9a82",
        "dc57fb74dd25af53878c3efcda000a7a772a2069b014dc38b01b64e82b8b9b20");
}

static void test_key_wrong_curve(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("secp521r1");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    uint8_t name[LUKS_POLICY_MAX_NAME];
    size_t name_len = 0;
    char *err = NULL;
    assert_int_equal(luks_policy_key_name(der, (size_t)n, name, &name_len, &err), -EINVAL);
    assert_non_null(strstr(err, "secp521r1"));
    free(err);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    assert_int_equal(luks_policy_authorized(name, 10, name, &err), -EINVAL);
    free(err);
}

static void state_of(struct luks_pcr_state *s, uint16_t bank, uint32_t mask, bool has_version,
                     uint64_t version)
{
    *s = (struct luks_pcr_state){
        .bank = bank, .pcr_mask = mask, .has_version = has_version, .version = version};
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (mask & (1u << i))
            vec_pcr_value(i, tcg_alg_size(bank), s->values[i]);
}

static void approved_vector(uint16_t bank, uint32_t mask, bool has_version, uint64_t version, const char *hex)
{
    struct luks_pcr_state s;
    uint8_t d[LUKS_POLICY_DIGEST];
    char *err = NULL;
    state_of(&s, bank, mask, has_version, version);
    assert_int_equal(luks_policy_approved(&s, d, &err), 0);
    assert_hex(d, sizeof(d), hex);
}

static void test_approved(void **state)
{
    uint32_t odd = (1u << 0) | (1u << 2) | (1u << 4) | (1u << 16) | (1u << 23);
    approved_vector(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, false, 0,
                    "4c319cbce2e17fa0eb94c34472af7418473d11c3ddf9295c46656f5a7b2f7ba3");
    approved_vector(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, false, 0,
                    "dcc4b52d895218d8197e9c080b42c9c5aacba2a144abc4013e46c822aeb920a3");
    approved_vector(TCG_ALG_SHA256, 1u << 7, false, 0,
                    "835a1a8804b6ba8560782580f1dcd6191a0eb1b23804884e7d6a0d3bcf324099");
    approved_vector(TCG_ALG_SHA384, odd, false, 0,
                    "8b93aecb93840b8dc2ff5dc8e62d363a30a6dd5664821045b28cde21cace0d1b");
    approved_vector(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, true, 0,
                    "c20fdd6fa4158c56618916c68c4208217a89e5d69d3c709a2c62643acde6883e");
    approved_vector(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, true, 0,
                    "1677e8edac9deebad22e78ec2b2143d437e6066cd38f6c3455aacc9bf53d6361");
    approved_vector(TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, true, 7,
                    "45234b732cae15f31e11fdcc0c5fd3281085228f7bd9857b50a1aa3933af3955");
    approved_vector(TCG_ALG_SHA384, LUKS_DEFAULT_PCRS, true, 0x0001020304050607ull,
                    "de8fb7e49160eab6ab10ffe21de91e023cacda24550655fc8a2ef4b68d88d091");
    /* Values of PCRs outside the mask do not count. */
    struct luks_pcr_state s;
    uint8_t d[LUKS_POLICY_DIGEST];
    char *err = NULL;
    state_of(&s, TCG_ALG_SHA256, 1u << 7, false, 0);
    memset(s.values[1], 0xee, sizeof(s.values[1]));
    assert_int_equal(luks_policy_approved(&s, d, &err), 0);
    assert_hex(d, sizeof(d), "835a1a8804b6ba8560782580f1dcd6191a0eb1b23804884e7d6a0d3bcf324099");
}

static void test_nv_name(void **state)
{
    uint8_t name[34];
    luks_policy_version_nv_name(name);
    assert_hex(name, sizeof(name), "000b8bf1918b295c2cfc248b1d3647a117111be237de5077461f54c796effe90ef70");
}

static void test_approved_rejects(void **state)
{
    struct luks_pcr_state s;
    uint8_t d[LUKS_POLICY_DIGEST];
    char *err = NULL;
    state_of(&s, TCG_ALG_SHA1, LUKS_DEFAULT_PCRS, false, 0);
    assert_int_equal(luks_policy_approved(&s, d, &err), -EINVAL);
    assert_non_null(strstr(err, "sha256 and sha384"));
    free(err);
    err = NULL;
    state_of(&s, TCG_ALG_SHA256, 0, false, 0);
    assert_int_equal(luks_policy_approved(&s, d, &err), -EINVAL);
    free(err);
    err = NULL;
    s.pcr_mask = 1u << 24;
    assert_int_equal(luks_policy_approved(&s, d, &err), -EINVAL);
    free(err);
}

/* ---- the signed-state file ---- */

/* A DER ECDSA signature (made here, so that the parser's DER check has a real one). */
static size_t real_sig(uint8_t *out)
{
    EVP_PKEY *key = EVP_EC_gen("prime256v1");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = LUKS_POLICY_MAX_SIG;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, out, &len, (const uint8_t *)"x", 1), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return len;
}

static void test_states_round_trip(void **state)
{
    struct luks_signed_states states = {0}, back = {0};
    struct luks_signed_state a = {0}, b = {0};
    char *err = NULL;
    state_of(&a.state, TCG_ALG_SHA256, LUKS_DEFAULT_PCRS, true, 3);
    a.has_values = true;
    memset(a.pkfp, 0xab, sizeof(a.pkfp));
    memset(a.pol, 0x12, sizeof(a.pol));
    a.sig_len = real_sig(a.sig);
    state_of(&b.state, TCG_ALG_SHA384, 1u << 7, false, 0);
    memset(b.pkfp, 0x01, sizeof(b.pkfp));
    b.sig_len = real_sig(b.sig);
    memset(b.state.values, 0, sizeof(b.state.values)); /* without values: none come back */
    assert_int_equal(luks_signed_states_add(&states, &b), 0);
    assert_int_equal(luks_signed_states_add(&states, &a), 0);
    char *json = luks_signed_states_format(&states);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"pcrs\":\t[0, 7, 10]"));
    assert_int_equal(luks_signed_states_parse(json, strlen(json), &back, &err), 0);
    assert_int_equal(back.n, 2);
    /* Formatted sha256 first, then sha384. */
    assert_memory_equal(&back.states[0], &a, sizeof(a));
    assert_memory_equal(&back.states[1], &b, sizeof(b));
    char *again = luks_signed_states_format(&back);
    assert_string_equal(again, json);
    free(again);
    free(json);
    luks_signed_states_clear(&back);
    luks_signed_states_clear(&states);
    assert_int_equal(states.n, 0);
    assert_null(states.states);
}

/* The valid entry of the second sha256 state with field set to repl: "" leaves it out, a field it does not
 * have (pcr_values, extra) is added. Parsing must fail naming the entry, with expect in the message. */
static void rejected(const char *field, const char *repl, const char *expect)
{
    static const char *const keys[] = {"pcrs", "pkfp", "pol", "sig", "version", "pcr_values", "extra"};
    uint8_t sig[LUKS_POLICY_MAX_SIG];
    size_t sig_len = real_sig(sig);
    char b64[200], entry[1024], json[2048], *err = NULL;
    EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
    char hex0[70];
    snprintf(hex0, sizeof(hex0), "\"%064d\"", 0);
    char sig_str[210];
    snprintf(sig_str, sizeof(sig_str), "\"%s\"", b64);
    const char *defaults[] = {"[0, 7]", hex0, hex0, sig_str, "1", NULL, NULL};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = strcmp(keys[i], field) == 0 ? (repl[0] ? repl : NULL) : defaults[i];
        if (v)
            n += (size_t)snprintf(entry + n, sizeof(entry) - n, "%s\"%s\": %s", n ? ", " : "", keys[i], v);
    }
    snprintf(json, sizeof(json),
             "{\"sha256\": [{\"pcrs\": [1], \"pkfp\": %s, \"pol\": %s, \"sig\": %s}, {%s}]}", hex0, hex0,
             sig_str, entry);
    struct luks_signed_states st = {.n = 99};
    int r = luks_signed_states_parse(json, strlen(json), &st, &err);
    if (r != -EINVAL || !err || !strstr(err, expect))
        fail_msg("%s = %s: got %d \"%s\", expected \"%s\"\n%s", field, repl, r, err ? err : "", expect, json);
    assert_int_equal(st.n, 99); /* untouched */
    free(err);
}

static void test_states_rejects(void **state)
{
    /* The entry that is wrong is named: the second of the sha256 bank. */
    rejected("pcrs", "", "sha256[1].pcrs");
    rejected("pcrs", "[7, 0]", "sha256[1].pcrs");
    rejected("pcrs", "[24]", "sha256[1].pcrs");
    rejected("pcrs", "[1.5]", "sha256[1].pcrs");
    rejected("pcrs", "\"0,7\"", "sha256[1].pcrs");
    rejected("pcrs", "[]", "sha256[1].pcrs");
    rejected("pkfp", "\"00\"", "sha256[1].pkfp");
    rejected("pkfp", "7", "sha256[1].pkfp");
    rejected("pol", "", "sha256[1].pol");
    rejected("pol", "\"zz00000000000000000000000000000000000000000000000000000000000000\"", "sha256[1].pol");
    rejected("sig", "", "sha256[1].sig");
    rejected("sig", "\"MEUCIQ\"", "sha256[1].sig");    /* not a multiple of 4 */
    rejected("sig", "\"MEUC IQ==\"", "sha256[1].sig"); /* a blank */
    rejected("sig", "\"MA==\"", "sha256[1].sig");      /* base64, but not DER ECDSA */
    rejected("sig", "\"=AAA\"", "sha256[1].sig");      /* padding first */
    rejected("version", "-1", "sha256[1].version");
    rejected("version", "1.5", "sha256[1].version");
    rejected("version", "\"1\"", "sha256[1].version");
    rejected("version", "9007199254740992", "sha256[1].version");
    rejected("extra", "1", "unknown key \"extra\"");
    rejected("version", "1, \"version\": 2", "sha256[1] has \"version\" twice");
    rejected("pcr_values", "{\"0\": \"00\"}", "sha256[1].pcr_values.0");
    rejected("pcr_values", "{\"1\": \"00\"}", "\"1\" is not one of the PCRs");
    rejected("pcr_values", "{\"00\": \"00\"}", "\"00\" is not one of the PCRs");
    rejected("pcr_values", "{\"0\": \"0000000000000000000000000000000000000000000000000000000000000000\"}",
             "does not give every PCR");
    rejected("pcr_values", "[]", "sha256[1].pcr_values is not an object");
}

static void test_states_bad_banks(void **state)
{
    static const struct {
        const char *json, *expect;
    } cases[] = {
        {"{\"sha1\": []}", "\"sha1\""},
        {"{\"SHA256\": []}", "\"SHA256\""},
        {"{\"sha256\": {}}", "not an array"},
        {"{\"sha256\": [1]}", "sha256[0] is not an object"},
        {"[]", "not a JSON object"},
        {"{\"sha256\": [], \"sha256\": []}", "\"sha256\" is given twice"},
        {"{\"sha256\": [", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct luks_signed_states st = {0};
        char *err = NULL;
        assert_int_equal(luks_signed_states_parse(cases[i].json, strlen(cases[i].json), &st, &err), -EINVAL);
        if (!strstr(err, cases[i].expect))
            fail_msg("%s: \"%s\"", cases[i].json, err);
        free(err);
    }
    struct luks_signed_states st = {0};
    char *err = NULL;
    assert_int_equal(luks_signed_states_parse("{}", 2, &st, &err), 0);
    assert_int_equal(st.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names),        cmocka_unit_test(test_key_wrong_curve),
        cmocka_unit_test(test_approved),         cmocka_unit_test(test_nv_name),
        cmocka_unit_test(test_approved_rejects), cmocka_unit_test(test_states_round_trip),
        cmocka_unit_test(test_states_rejects),   cmocka_unit_test(test_states_bad_banks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
