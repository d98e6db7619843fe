/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the TCG event-log parser accepts at the edges, on logs built here byte by byte from the PC Client PFP
 * layouts (no corpus log has an H-CRTM event, a final PCR 0xffffffff record or a vendorInfo):
 *   - H-CRTM: PCR 0 starts at 00..04 and the EV_EFI_HCRTM_EVENT's digest is extended, in every bank, SHA1
 *     format too; the expected values are computed here with OpenSSL EVP from the digests written;
 *   - no silent truncation: a PCR index >= 24 mid-log is an error naming the event and offset; a final
 *     EV_NO_ACTION naming PCR 0xffffffff ends the log and is no event; padding is all 0x00 or all 0xff;
 *   - a Spec ID event whose vendorInfoSize runs past its data, or with bytes after its vendorInfo.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "eventlog.h"

#define EV_POST_CODE       0x1u
#define EV_NO_ACTION       0x3u
#define EV_SEPARATOR       0x4u
#define EV_S_CRTM_VERSION  0x8u
#define EV_EFI_HCRTM_EVENT 0x80000010u

#define MAX_RECORDS 16

/* A log under construction: its bytes and, per record, its offset, PCR, type and the digest written for
 * each algorithm (the expectations are computed from these, not from the parser's view). */
struct builder {
    uint8_t buf[8192];
    size_t len;
    bool agile;
    size_t n_algs;
    uint16_t algs[4];
    size_t n_records;
    struct {
        size_t offset;
        uint32_t pcr, type;
        uint8_t digest[4][EVP_MAX_MD_SIZE];
    } rec[MAX_RECORDS];
};

static const EVP_MD *md_of(uint16_t alg)
{
    switch (alg) {
    case EVENTLOG_ALG_SHA1: return EVP_sha1();
    case EVENTLOG_ALG_SHA256: return EVP_sha256();
    case EVENTLOG_ALG_SHA384: return EVP_sha384();
    default: fail_msg("no test digest for algorithm 0x%04x", alg); return NULL;
    }
}

static void put(struct builder *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof(b->buf));
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static void put_u32(struct builder *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, le, 4);
}

static void put_u16(struct builder *b, uint16_t v)
{
    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, le, 2);
}

static void put_u8(struct builder *b, uint8_t v)
{
    put(b, &v, 1);
}

/* The Spec ID Event03 (TCG_PCR_EVENT, SHA1 layout) listing algs; vendor_size is the vendorInfoSize byte,
 * vendor_bytes how many bytes really follow it, extra how many more the event's data size covers. */
static void spec_id(struct builder *b, const uint16_t *algs, size_t n_algs, uint8_t vendor_size,
                    size_t vendor_bytes, size_t extra)
{
    static const uint8_t zero[64] = {0};
    memset(b, 0, sizeof(*b));
    b->agile = true;
    b->n_algs = n_algs;
    memcpy(b->algs, algs, n_algs * sizeof(*algs));
    put_u32(b, 0);
    put_u32(b, EV_NO_ACTION);
    put(b, zero, 20);
    put_u32(b, (uint32_t)(16 + 4 + 4 + 4 + 4 * n_algs + 1 + vendor_bytes + extra));
    put(b, "Spec ID Event03", 16);
    put_u32(b, 0);                            /* platformClass */
    put(b, (const uint8_t[]){0, 2, 0, 2}, 4); /* specVersionMinor, Major, errata, uintnSize */
    put_u32(b, (uint32_t)n_algs);
    for (size_t i = 0; i < n_algs; i++) {
        put_u16(b, algs[i]);
        put_u16(b, (uint16_t)EVP_MD_get_size(md_of(algs[i])));
    }
    put_u8(b, vendor_size);
    put(b, zero, vendor_bytes);
    put(b, zero, extra);
}

static void sha1_format(struct builder *b)
{
    memset(b, 0, sizeof(*b));
    b->n_algs = 1;
    b->algs[0] = EVENTLOG_ALG_SHA1;
}

/* One record in the log's format whose digests are those of the len bytes of data (all zero for
 * EV_NO_ACTION, as the PFP has them). Returns its number in b->rec. */
static size_t record_n(struct builder *b, uint32_t pcr, uint32_t type, const char *data, size_t len)
{
    assert_true(b->n_records < MAX_RECORDS);
    size_t r = b->n_records++;
    b->rec[r].offset = b->len;
    b->rec[r].pcr = pcr;
    b->rec[r].type = type;
    put_u32(b, pcr);
    put_u32(b, type);
    if (b->agile)
        put_u32(b, (uint32_t)b->n_algs);
    for (size_t a = 0; a < b->n_algs; a++) {
        const EVP_MD *md = md_of(b->algs[a]);
        if (type != EV_NO_ACTION)
            assert_int_equal(EVP_Digest(data, len, b->rec[r].digest[a], NULL, md, NULL), 1);
        if (b->agile)
            put_u16(b, b->algs[a]);
        put(b, b->rec[r].digest[a], (size_t)EVP_MD_get_size(md));
    }
    put_u32(b, (uint32_t)len);
    put(b, data, len);
    return r;
}

static size_t record(struct builder *b, uint32_t pcr, uint32_t type, const char *data)
{
    return record_n(b, pcr, type, data, strlen(data));
}

static void padding(struct builder *b, uint8_t byte, size_t n)
{
    assert_true(b->len + n <= sizeof(b->buf));
    memset(b->buf + b->len, byte, n);
    b->len += n;
}

/* PCR value of bank a: start (zero but for the last byte) extended with the digests of records[]. */
static void expected_pcr(const struct builder *b, size_t a, uint8_t start, const size_t *records, size_t n,
                         uint8_t *ret)
{
    const EVP_MD *md = md_of(b->algs[a]);
    size_t size = (size_t)EVP_MD_get_size(md);
    uint8_t pcr[EVP_MAX_MD_SIZE] = {0};
    pcr[size - 1] = start;
    for (size_t i = 0; i < n; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        assert_non_null(ctx);
        assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, pcr, size), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, b->rec[records[i]].digest[a], size), 1);
        assert_int_equal(EVP_DigestFinal_ex(ctx, pcr, NULL), 1);
        EVP_MD_CTX_free(ctx);
    }
    memcpy(ret, pcr, size);
}

static struct eventlog *parse_ok(const struct builder *b)
{
    struct eventlog *log = NULL;
    char *error = NULL;
    if (eventlog_parse(b->buf, b->len, NULL, &log, &error) < 0)
        fail_msg("a valid log was refused: %s", error);
    assert_null(error);
    return log;
}

/* Parsing fails with -EBADMSG and a message holding every one of the words (a NULL-ended array: see
 * PARSE_FAILS, which writes it). */
static void parse_fails_words(const struct builder *b, const char *const *words)
{
    struct eventlog *log = NULL;
    char *error = NULL;
    int r = eventlog_parse(b->buf, b->len, NULL, &log, &error);
    if (r == 0)
        fail_msg("a bad log was accepted (%zu events)", log->n_events);
    assert_int_equal(r, -EBADMSG);
    assert_non_null(error);
    for (; *words; words++)
        if (!strstr(error, *words))
            fail_msg("the error \"%s\" does not say \"%s\"", error, *words);
    free(error);
}
#define PARSE_FAILS(b, ...) parse_fails_words((b), (const char *const[]){__VA_ARGS__, NULL})

/* PCR 0 of every bank of the replay equals the expectation from records[] and start. */
static void check_pcr0(const struct builder *b, const struct eventlog_pcrs *pcrs, uint8_t start,
                       const size_t *records, size_t n)
{
    assert_int_equal(pcrs->n_banks, b->n_algs);
    for (size_t a = 0; a < b->n_algs; a++) {
        uint8_t want[EVP_MAX_MD_SIZE];
        expected_pcr(b, a, start, records, n, want);
        assert_int_equal(pcrs->banks[a].alg, b->algs[a]);
        assert_int_equal(pcrs->banks[a].n_extends[0], n);
        assert_memory_equal(pcrs->banks[a].pcr[0], want, pcrs->banks[a].size);
    }
}

static void replay(const struct builder *b, struct eventlog_pcrs *pcrs)
{
    struct eventlog *log = parse_ok(b);
    char *error = NULL;
    assert_int_equal(eventlog_replay(log, pcrs, &error), 0);
    eventlog_free(log);
}

static const uint16_t three_banks[] = {EVENTLOG_ALG_SHA1, EVENTLOG_ALG_SHA256, EVENTLOG_ALG_SHA384};

/* H-CRTM first in PCR 0 (after a StartupLocality 3, which it overrides): 00..04, then its digest and the
 * later PCR 0 digests, in all three banks; PCR 7 still starts at zero. */
static void test_hcrtm_every_bank(void **state)
{
    struct builder b;
    struct eventlog_pcrs pcrs;
    spec_id(&b, three_banks, 3, 0, 0, 0);
    record_n(&b, 0, EV_NO_ACTION, "StartupLocality\0\3", 17);
    size_t pcr0[3], sep;
    pcr0[0] = record(&b, 0, EV_EFI_HCRTM_EVENT, "HCRTM");
    pcr0[1] = record(&b, 0, EV_S_CRTM_VERSION, "1.0");
    sep = record_n(&b, 7, EV_SEPARATOR, "\0\0\0\0", 4);
    pcr0[2] = record(&b, 0, EV_POST_CODE, "POST CODE");
    replay(&b, &pcrs);
    assert_true(pcrs.hcrtm);
    assert_int_equal(pcrs.startup_locality, 3);
    check_pcr0(&b, &pcrs, 4, pcr0, 3);
    for (size_t a = 0; a < 3; a++) {
        uint8_t want[EVP_MAX_MD_SIZE];
        expected_pcr(&b, a, 0, &sep, 1, want);
        assert_memory_equal(pcrs.banks[a].pcr[7], want, pcrs.banks[a].size);
    }
}

/* Three PCR 0 events of the given types appended to b, replayed: PCR 0 must be start extended with the three
 * digests in every bank, and pcrs.hcrtm as given. */
static void check_three_pcr0_events(struct builder *b, const uint32_t types[3], bool hcrtm, uint8_t start)
{
    struct eventlog_pcrs pcrs;
    size_t pcr0[3];
    for (size_t i = 0; i < 3; i++)
        pcr0[i] = record(b, 0, types[i], types[i] == EV_EFI_HCRTM_EVENT ? "HCRTM" : "measured");
    replay(b, &pcrs);
    assert_int_equal(pcrs.hcrtm, hcrtm);
    check_pcr0(b, &pcrs, start, pcr0, 3);
}

/* The same in a SHA1-format log (TCG_PCR_EVENT records, no Spec ID): H-CRTM is the TPM's, not the format's.
 */
static void test_hcrtm_sha1_format(void **state)
{
    struct builder b;
    sha1_format(&b);
    check_three_pcr0_events(&b, (const uint32_t[]){EV_EFI_HCRTM_EVENT, EV_S_CRTM_VERSION, EV_POST_CODE}, true,
                            4);
}

/* An H-CRTM event after a PCR 0 measurement: no reset (the TPM could not), extended like any event. */
static void test_hcrtm_not_first(void **state)
{
    struct builder b;
    spec_id(&b, three_banks, 3, 0, 0, 0);
    check_three_pcr0_events(&b, (const uint32_t[]){EV_S_CRTM_VERSION, EV_EFI_HCRTM_EVENT, EV_POST_CODE},
                            false, 0);
}

/* Spec ID (event 0), then events 1..3 (b->rec[0..2]). */
static void three_events(struct builder *b, size_t *ret_pcr0)
{
    spec_id(b, three_banks, 3, 0, 0, 0);
    ret_pcr0[0] = record(b, 0, EV_S_CRTM_VERSION, "1.0");
    ret_pcr0[1] = record(b, 0, EV_POST_CODE, "POST CODE");
    record_n(b, 4, EV_SEPARATOR, "\0\0\0\0", 4);
}

/* A PCR index >= 24 mid-log used to end the log silently; now it fails, naming the event and its offset. */
static void test_bad_pcr_index_mid_log(void **state)
{
    struct builder b;
    size_t pcr0[2];
    char where[64];
    three_events(&b, pcr0);
    b.buf[b.rec[2].offset] = 24;
    snprintf(where, sizeof(where), "event 3 at offset 0x%zx", b.rec[2].offset);
    PARSE_FAILS(&b, where, "PCR index 24 is not 0..23", "corrupt");

    three_events(&b, pcr0);
    memcpy(b.buf + b.rec[1].offset, (const uint8_t[]){0x00, 0xff, 0xff, 0xff}, 4);
    snprintf(where, sizeof(where), "event 2 at offset 0x%zx", b.rec[1].offset);
    PARSE_FAILS(&b, where, "PCR index 4294967040 is not 0..23");

    /* SHA1 format: records are numbered from 0 */
    sha1_format(&b);
    record(&b, 0, EV_S_CRTM_VERSION, "1.0");
    record(&b, 25, EV_POST_CODE, "x");
    record(&b, 0, EV_POST_CODE, "y");
    snprintf(where, sizeof(where), "event 1 at offset 0x%zx", b.rec[1].offset);
    PARSE_FAILS(&b, where, "PCR index 25");
}

/* A final EV_NO_ACTION naming PCR 0xffffffff, then nothing, 0x00 or 0xff padding: accepted, not an event,
 * not replayed (PCR 0 is what the two events make it). */
static void test_final_record(void **state)
{
    static const struct {
        uint8_t byte;
        size_t n;
    } pads[] = {{0, 0}, {0x00, 1}, {0x00, 300}, {0xff, 7}, {0xff, 1000}};
    for (size_t p = 0; p < sizeof(pads) / sizeof(pads[0]); p++) {
        struct builder b;
        size_t pcr0[2];
        three_events(&b, pcr0);
        size_t final = record(&b, 0xffffffffu, EV_NO_ACTION, "final");
        size_t end = b.len;
        padding(&b, pads[p].byte, pads[p].n);
        struct eventlog *log = parse_ok(&b);
        assert_int_equal(log->n_events, 3);
        assert_true(log->has_final);
        assert_int_equal(log->final_offset, b.rec[final].offset);
        assert_int_equal(log->end, end);
        assert_int_equal(log->trailing_bytes, pads[p].n > 0);
        struct eventlog_event ev;
        assert_true(eventlog_final_record(log, &ev));
        assert_int_equal(ev.pcr, 0xffffffffu);
        assert_int_equal(ev.type, EV_NO_ACTION);
        assert_int_equal(ev.data_len, 5);
        for (size_t i = 0; i < log->n_events; i++) {
            eventlog_event(log, i, &ev);
            assert_true(ev.pcr < EVENTLOG_PCRS);
        }
        struct eventlog_pcrs pcrs;
        char *error = NULL;
        assert_int_equal(eventlog_replay(log, &pcrs, &error), 0);
        check_pcr0(&b, &pcrs, 0, pcr0, 2);
        eventlog_free(log);
    }
}

/* After the final record: another record, or padding with a stray byte, is an error naming the final
 * record. A record naming PCR 0xffffffff that is not EV_NO_ACTION is an error too. */
static void test_after_final_record(void **state)
{
    struct builder b;
    size_t pcr0[2];
    char where[64];
    three_events(&b, pcr0);
    size_t final = record(&b, 0xffffffffu, EV_NO_ACTION, "final");
    record(&b, 0, EV_POST_CODE, "after");
    snprintf(where, sizeof(where), "event 4 at offset 0x%zx", b.rec[final].offset);
    PARSE_FAILS(&b, where, "final EV_NO_ACTION", "not padding");

    three_events(&b, pcr0);
    final = record(&b, 0xffffffffu, EV_NO_ACTION, "final");
    padding(&b, 0x00, 64);
    b.buf[b.len - 10] = 0x01;
    snprintf(where, sizeof(where), "event 4 at offset 0x%zx", b.rec[final].offset);
    PARSE_FAILS(&b, where, "not padding");

    three_events(&b, pcr0);
    final = record(&b, 0xffffffffu, EV_POST_CODE, "final");
    snprintf(where, sizeof(where), "event 4 at offset 0x%zx", b.rec[final].offset);
    PARSE_FAILS(&b, where, "type 0x1, not EV_NO_ACTION");
}

/* Padding after the last event: all 0x00 or all 0xff is fine, a mix is not. */
static void test_padding(void **state)
{
    struct builder b;
    size_t pcr0[2];
    for (int byte = 0; byte <= 0xff; byte += 0xff) {
        three_events(&b, pcr0);
        size_t end = b.len;
        padding(&b, (uint8_t)byte, 4096);
        struct eventlog *log = parse_ok(&b);
        assert_int_equal(log->n_events, 3);
        assert_false(log->has_final);
        assert_true(log->trailing_bytes);
        assert_int_equal(log->end, end);
        eventlog_free(log);
    }
    char where[64];
    three_events(&b, pcr0);
    snprintf(where, sizeof(where), "event 4 at offset 0x%zx", b.len);
    padding(&b, 0x00, 100);
    padding(&b, 0xff, 100);
    PARSE_FAILS(&b, where);
    three_events(&b, pcr0);
    padding(&b, 0xff, 100);
    padding(&b, 0x00, 100);
    PARSE_FAILS(&b, where);
}

/* vendorInfoSize: within the Spec ID event's data is fine; running past it, or leaving bytes after the
 * vendorInfo, is an error. */
static void test_spec_id_vendor_info(void **state)
{
    struct builder b;
    spec_id(&b, three_banks, 3, 3, 3, 0);
    record(&b, 0, EV_POST_CODE, "x");
    eventlog_free(parse_ok(&b));

    spec_id(&b, three_banks, 3, 5, 2, 0);
    record(&b, 0, EV_POST_CODE, "x");
    PARSE_FAILS(&b, "Spec ID", "vendorInfoSize is 5");

    spec_id(&b, three_banks, 3, 200, 0, 0);
    PARSE_FAILS(&b, "Spec ID", "vendorInfoSize is 200");

    spec_id(&b, three_banks, 3, 2, 2, 3);
    record(&b, 0, EV_POST_CODE, "x");
    PARSE_FAILS(&b, "Spec ID", "3 bytes after its vendorInfo");

    spec_id(&b, three_banks, 3, 0, 0, 0); /* no vendorInfoSize byte at all: its data one byte shorter */
    b.buf[28] -= 1;
    b.len -= 1;
    PARSE_FAILS(&b, "Spec ID", "before its vendorInfoSize");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcrtm_every_bank), cmocka_unit_test(test_hcrtm_sha1_format),
        cmocka_unit_test(test_hcrtm_not_first),  cmocka_unit_test(test_bad_pcr_index_mid_log),
        cmocka_unit_test(test_final_record),     cmocka_unit_test(test_after_final_record),
        cmocka_unit_test(test_padding),          cmocka_unit_test(test_spec_id_vendor_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
