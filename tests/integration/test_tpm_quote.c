/* tpm_quote() against a real swtpm (SHA1, SHA256 and SHA384 banks, EK certificate), checked by an independent
 * parser, by OpenSSL and by tpm2_checkquote: bank selection (request order, HVS's 2304-byte limit), the
 * qualifying data with and without an asset tag, PCR values equal to what the TPM reports, input validation,
 * and a bank the TPM has not allocated. After every test no transient object or session is left on the TPM.
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

#include <openssl/rand.h>

#include "cleanup.h"
#include "tpm_fixture.h"

#define SHA1   TPM_BANK_SHA1
#define SHA256 TPM_BANK_SHA256
#define SHA384 TPM_BANK_SHA384
#define ALL    0xffffffu

static struct fx shared;      /* provisioned, three banks: for the whole group */
static struct fx *sha256_tpm; /* a second TPM, only while one test runs */

static const uint8_t asset_tag[TPM_ASSET_TAG_SIZE] = {
    0x3a, 0x7f, 0x01, 0x99, 0x42, 0x10, 0xee, 0x5c, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, 0xa5, 0x5a, 0xa5, 0x5a, 0x0f, 0xf0, 0x0f, 0xf0,
};

/* Distinct values in every PCR that locality 0 may extend, so a value out of place changes the digest. */
static int extend_pcrs(const char *tcti, const uint16_t *banks, size_t n_banks)
{
    fx_esys_t *e = NULL;
    int r = fx_esys_open(tcti, &e);

    for (unsigned pcr = 0; r == 0 && pcr < 24; pcr++)
        if (pcr <= 16 || pcr == 23) /* 17..22 need localities 1..4 */
            r = fx_pcr_extend(e, pcr, banks, n_banks, 0x1000 + pcr);
    fx_esys_close(e);
    return r;
}

static int group_setup(void **state)
{
    static const struct swtpm_opts opts = {.ek_cert = true, .pcr_banks = "sha1,sha256,sha384"};
    static const uint16_t banks[] = {SHA1, SHA256, SHA384};

    if (fx_start(&shared, &opts) < 0 || fx_provision(&shared) < 0 ||
        extend_pcrs(shared.swtpm->tcti, banks, 3) < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    fx_free(&shared);
    return fx_no_children();
}

/* Requirement 5: after every test, nothing loaded on any TPM the test used. */
static int teardown(void **state)
{
    int r = fx_check_clean(&shared);

    shared.quiet_tools = false;
    if (sha256_tpm) {
        r |= fx_check_clean(sha256_tpm);
        fx_free(sha256_tpm);
        free(sha256_tpm);
        sha256_tpm = NULL;
    }
    return r;
}

struct quote_case {
    const char *name;
    uint16_t req[3];
    size_t n_req;
    uint32_t mask;
    uint16_t expect[3]; /* the banks the quote must hold, in order */
    size_t n_expect;
};

/* Quotes, then checks the blob with the independent parser and OpenSSL, the PCR values against a separate
 * PCR_Read, and the whole quote with tpm2_checkquote. */
static void quote_and_verify(struct fx *f, const struct quote_case *c, const uint8_t *nonce, size_t nonce_len,
                             const uint8_t *tag)
{
    struct tpm_quote_request req = {.nonce = nonce,
                                    .nonce_len = nonce_len,
                                    .pcr_mask = c->mask,
                                    .banks = c->req,
                                    .n_banks = c->n_req,
                                    .tag = tag};
    struct tpm_quote q;
    _cleanup_free_ char *error = NULL;
    struct hvs_blob b;
    uint8_t qdata[32], values[24 * 48];
    size_t values_len, off = 0;
    char why[256] = "";

    print_message("  %s, %s tag, %zu-byte nonce\n", c->name, tag ? "with" : "no", nonce_len);
    int r = tpm_quote(f->tpm, &req, &q, &error);
    if (r < 0)
        fail_msg("%s: tpm_quote: %d %s", c->name, r, error);
    assert_int_equal(q.attempts, 1); /* nobody extends PCRs in this program while quotes run */
    assert_int_equal(q.n_banks, c->n_expect);
    for (size_t i = 0; i < c->n_expect; i++)
        assert_int_equal(q.banks[i], c->expect[i]);

    fx_qualifying_data(nonce, nonce_len, tag, qdata);
    if (hvs_blob_verify(f->aik_key, q.blob, q.blob_len, qdata, c->expect, c->n_expect, c->mask, &b, why,
                        sizeof(why)) < 0)
        fail_msg("%s: %s", c->name, why);

    for (size_t i = 0; i < c->n_expect; i++) {
        assert_int_equal(
            fx_pcr_read(f->swtpm->tcti, c->expect[i], c->mask, values, sizeof(values), &values_len), 0);
        assert_true(off + values_len <= b.values_len);
        assert_memory_equal(b.values + off, values, values_len);
        off += values_len;
    }
    assert_int_equal(off, b.values_len);

    if (fx_checkquote(f, &b, qdata) < 0)
        fail_msg("%s: tpm2_checkquote rejected the quote", c->name);
    tpm_quote_free(&q);
}

static void run_cases(const struct quote_case *cases, size_t n)
{
    uint8_t nonce[32];

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
        quote_and_verify(&shared, &cases[i], nonce, sizeof(nonce), NULL);
        quote_and_verify(&shared, &cases[i], nonce, sizeof(nonce), asset_tag);
    }
}

static void test_quote_single_bank(void **state)
{
    static const struct quote_case cases[] = {
        {"SHA1", {SHA1}, 1, ALL, {SHA1}, 1},
        {"SHA256", {SHA256}, 1, ALL, {SHA256}, 1},
        {"SHA384", {SHA384}, 1, ALL, {SHA384}, 1},
        {"SHA256, PCRs 0-7", {SHA256}, 1, 0xff, {SHA256}, 1},
        {"SHA1, PCRs 0, 7, 16, 23", {SHA1}, 1, 0x810081, {SHA1}, 1},
        {"SHA384, PCR 23 only", {SHA384}, 1, 0x800000, {SHA384}, 1},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_quote_two_banks_in_request_order(void **state)
{
    static const struct quote_case cases[] = {
        {"SHA256+SHA1", {SHA256, SHA1}, 2, ALL, {SHA256, SHA1}, 2},
        {"SHA384+SHA256", {SHA384, SHA256}, 2, ALL, {SHA384, SHA256}, 2},
        {"SHA1+SHA384", {SHA1, SHA384}, 2, ALL, {SHA1, SHA384}, 2},
        {"SHA256+SHA256+SHA1 (duplicate)", {SHA256, SHA256, SHA1}, 3, ALL, {SHA256, SHA1}, 2},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Empty bank list = SHA384, SHA256, SHA1; all three × 24 PCRs is 2400 bytes, past HVS's 2304: SHA1 goes.
 * With fewer PCRs all three fit (23 PCRs: 2300 bytes, the largest that does). */
static void test_quote_default_banks_and_hvs_limit(void **state)
{
    static const struct quote_case cases[] = {
        {"default, 24 PCRs: SHA1 dropped", {0}, 0, ALL, {SHA384, SHA256}, 2},
        {"default, PCRs 0-7: all three", {0}, 0, 0xff, {SHA384, SHA256, SHA1}, 3},
        {"default, PCRs 0-22: all three", {0}, 0, 0x7fffff, {SHA384, SHA256, SHA1}, 3},
        {"SHA1+SHA256+SHA384, 24 PCRs: SHA1 dropped", {SHA1, SHA256, SHA384}, 3, ALL, {SHA256, SHA384}, 2},
        {"SHA1+SHA384+SHA256, PCRs 0-15: kept in order",
         {SHA1, SHA384, SHA256},
         3,
         0xffff,
         {SHA1, SHA384, SHA256},
         3},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_quote_nonce_sizes(void **state)
{
    static const struct quote_case c = {"SHA256", {SHA256}, 1, ALL, {SHA256}, 1};
    uint8_t nonce[1024];

    assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
    quote_and_verify(&shared, &c, nonce, 1, NULL);
    quote_and_verify(&shared, &c, nonce, 1024, NULL);
    quote_and_verify(&shared, &c, nonce, 1024, asset_tag);
}

static void expect_invalid(const struct tpm_quote_request *req, const char *needle)
{
    struct tpm_quote q;
    _cleanup_free_ char *error = NULL;

    assert_int_equal(tpm_quote(shared.tpm, req, &q, &error), -EINVAL);
    assert_non_null(error);
    print_message("  -EINVAL: %s\n", error);
    assert_non_null(strstr(error, needle));
    assert_null(q.blob);
}

static void test_quote_invalid_input(void **state)
{
    static const uint16_t sha512[] = {0x000d}, sm3[] = {SHA256, 0x0012};
    uint8_t nonce[1025] = {1};
    struct tpm_quote_request req = {.nonce = nonce, .nonce_len = 32, .pcr_mask = ALL};

    req.nonce_len = 0;
    expect_invalid(&req, "nonce");
    req.nonce = NULL;
    req.nonce_len = 32;
    expect_invalid(&req, "nonce");
    req.nonce = nonce;
    req.nonce_len = 1025;
    expect_invalid(&req, "1024");
    req.nonce_len = 32;
    req.pcr_mask = 0;
    expect_invalid(&req, "PCR");
    req.pcr_mask = 1u << 24;
    expect_invalid(&req, "PCR");
    req.pcr_mask = 0xffffffffu;
    expect_invalid(&req, "PCR");
    req.pcr_mask = ALL;
    req.banks = sha512;
    req.n_banks = 1;
    expect_invalid(&req, "0x000d");
    req.banks = sm3;
    req.n_banks = 2;
    expect_invalid(&req, "0x0012");
}

/* A TPM with only the SHA256 bank: SHA1 alone is an error naming what there is; SHA1+SHA256 quotes SHA256. */
static void test_quote_bank_not_allocated(void **state)
{
    static const struct swtpm_opts opts = {.ek_cert = true, .pcr_banks = "sha256"};
    static const uint16_t sha1[] = {SHA1}, sha256[] = {SHA256};
    static const struct quote_case cases[] = {
        {"SHA1+SHA256 on a SHA256-only TPM", {SHA1, SHA256}, 2, ALL, {SHA256}, 1},
        {"default on a SHA256-only TPM", {0}, 0, ALL, {SHA256}, 1},
    };
    uint8_t nonce[32] = {7}, tag_free_nonce[32] = {8};
    struct tpm_quote_request req = {
        .nonce = nonce, .nonce_len = 32, .pcr_mask = ALL, .banks = sha1, .n_banks = 1};
    struct tpm_quote q;
    _cleanup_free_ char *error = NULL;
    uint16_t banks[8];
    size_t n_banks = 0;

    assert_non_null(sha256_tpm = calloc(1, sizeof(*sha256_tpm)));
    assert_int_equal(fx_start(sha256_tpm, &opts), 0);
    assert_int_equal(fx_provision(sha256_tpm), 0);
    assert_int_equal(extend_pcrs(sha256_tpm->swtpm->tcti, sha256, 1), 0);

    assert_int_equal(tpm_pcr_banks(sha256_tpm->tpm, banks, &n_banks, NULL), 0);
    assert_int_equal(n_banks, 1);
    assert_int_equal(banks[0], SHA256);

    int r = tpm_quote(sha256_tpm->tpm, &req, &q, &error);
    assert_true(r < 0);
    assert_non_null(error);
    print_message("  SHA1 only: %d %s\n", r, error);
    assert_null(q.blob);
    assert_non_null(strstr(error, "allocated"));
    assert_non_null(strstr(error, "SHA256"));

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        quote_and_verify(sha256_tpm, &cases[i], tag_free_nonce, sizeof(tag_free_nonce), NULL);
        quote_and_verify(sha256_tpm, &cases[i], tag_free_nonce, sizeof(tag_free_nonce), asset_tag);
    }
}

/* The oracles have teeth: a changed PCR value, nonce, tag or signature byte is caught by both. */
static void test_oracles_reject_tampering(void **state)
{
    static const uint16_t banks[] = {SHA256, SHA1};
    uint8_t nonce[32] = {42}, qdata[32], bad_qdata[32];
    struct tpm_quote_request req = {
        .nonce = nonce, .nonce_len = 32, .pcr_mask = ALL, .banks = banks, .n_banks = 2};
    struct tpm_quote q;
    struct hvs_blob b;
    char why[256];

    assert_int_equal(tpm_quote(shared.tpm, &req, &q, NULL), 0);
    fx_qualifying_data(nonce, 32, NULL, qdata);
    assert_int_equal(
        hvs_blob_verify(shared.aik_key, q.blob, q.blob_len, qdata, banks, 2, ALL, &b, why, sizeof(why)), 0);
    assert_int_equal(fx_checkquote(&shared, &b, qdata), 0);

    /* The qualifying data of the same nonce with an asset tag is another one. */
    fx_qualifying_data(nonce, 32, asset_tag, bad_qdata);
    assert_true(
        hvs_blob_verify(shared.aik_key, q.blob, q.blob_len, bad_qdata, banks, 2, ALL, NULL, why, 256) < 0);
    print_message("  other qdata: %s\n", why);
    shared.quiet_tools = true;
    assert_true(fx_checkquote(&shared, &b, bad_qdata) < 0);

    q.blob[q.blob_len - 1] ^= 1; /* last PCR value, SHA1 bank */
    assert_true(hvs_blob_verify(shared.aik_key, q.blob, q.blob_len, qdata, banks, 2, ALL, NULL, why, 256) <
                0);
    print_message("  changed PCR value: %s\n", why);
    assert_true(fx_checkquote(&shared, &b, qdata) < 0);
    q.blob[q.blob_len - 1] ^= 1;

    ((uint8_t *)b.sig_bytes)[17] ^= 0x40;
    assert_true(hvs_blob_verify(shared.aik_key, q.blob, q.blob_len, qdata, banks, 2, ALL, NULL, why, 256) <
                0);
    print_message("  changed signature: %s\n", why);
    assert_true(fx_checkquote(&shared, &b, qdata) < 0);
    shared.quiet_tools = false;
    tpm_quote_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_oracles_reject_tampering, teardown),
        cmocka_unit_test_teardown(test_quote_single_bank, teardown),
        cmocka_unit_test_teardown(test_quote_two_banks_in_request_order, teardown),
        cmocka_unit_test_teardown(test_quote_default_banks_and_hvs_limit, teardown),
        cmocka_unit_test_teardown(test_quote_nonce_sizes, teardown),
        cmocka_unit_test_teardown(test_quote_invalid_input, teardown),
        cmocka_unit_test_teardown(test_quote_bank_not_allocated, teardown),
    };

    return cmocka_run_group_tests_name("integration.tpm_quote", tests, group_setup, group_teardown);
}
