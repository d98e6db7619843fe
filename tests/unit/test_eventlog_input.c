/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bad input to the TCG event-log parser: a real log cut at every byte offset, length fields made huge,
 * empty input, random bytes, limits, broken ACPI tables. Each gives a clear error or a correct partial
 * result (a prefix of the real events), never a crash (this runs under ASan in CI).
 * Also the golden measure-log JSON of two corpus logs (tests/golden/, reviewed by hand against the spec).
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
#include <openssl/sha.h>

#include "eventlog.h"

static char corpora[4096], golden_dir[4096];

static uint8_t *slurp(const char *dir, const char *name, size_t *ret_len)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

/* Every prefix of a real log: either an error that names what went wrong, or the first k events of the
 * whole log exactly. */
static void check_every_cut(const char *name)
{
    size_t len;
    uint8_t *buf = slurp(corpora, name, &len);
    struct eventlog *full = NULL, *part = NULL;
    char *error = NULL;
    assert_int_equal(eventlog_parse(buf, len, NULL, &full, &error), 0);

    size_t errors = 0, partial = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int r = eventlog_parse(buf, cut, NULL, &part, &error);
        if (r < 0) {
            assert_non_null(error);
            assert_true(strstr(error, "event") || strstr(error, "Spec ID") || strstr(error, "empty"));
            free(error);
            errors++;
            continue;
        }
        assert_true(part->n_events <= full->n_events);
        for (size_t i = 0; i < part->n_events; i++) {
            struct eventlog_event a, b;
            eventlog_event(part, i, &a);
            eventlog_event(full, i, &b);
            assert_int_equal(a.offset, b.offset);
            assert_int_equal(a.type, b.type);
            assert_int_equal(a.data_len, b.data_len);
        }
        eventlog_free(part);
        partial++;
    }
    print_message("  %s: %zu cuts -> %zu errors, %zu correct prefixes\n", name, len, errors, partial);
    assert_true(errors > partial); /* most cuts land inside an event */
    eventlog_free(full);
    free(buf);
}

static void test_truncated_at_every_offset(void **state)
{
    check_every_cut("eventlog/uefi/tpm2-tools/event-sd-boot-fedora37.bin");
    check_every_cut("eventlog/uefi/google-go-eventlog/debian-10.bin"); /* SHA1 format */
    check_every_cut("eventlog/uefi/tpm2-tools/event-uefivar.bin");
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Each event's data size, then its digest count, set to huge values in turn: always a clear error. */
static void test_huge_length_fields(void **state)
{
    size_t len;
    uint8_t *buf = slurp(corpora, "eventlog/uefi/tpm2-tools/event-sd-boot-fedora37.bin", &len);
    struct eventlog *log = NULL;
    char *error = NULL;
    assert_int_equal(eventlog_parse(buf, len, NULL, &log, &error), 0);
    static const uint32_t huge[] = {0xffffffffu, 0x7fffffffu, 0x01000001u, (uint32_t)-32};
    for (size_t i = 0; i < log->n_events; i++) {
        struct eventlog_event ev, *e = &ev;
        eventlog_event(log, i, &ev);
        size_t size_field = (size_t)(e->data - log->buf) - 4;
        size_t count_field = e->offset + 8;
        for (size_t h = 0; h < sizeof(huge) / sizeof(huge[0]); h++) {
            size_t fields[] = {size_field, count_field};
            for (size_t f = 0; f < 2; f++) {
                uint8_t *copy = malloc(len);
                memcpy(copy, buf, len);
                put_le32(copy + fields[f], huge[h]);
                struct eventlog *bad = NULL;
                int r = eventlog_parse(copy, len, NULL, &bad, &error);
                if (r == 0)
                    fail_msg("event %zu: field at 0x%zx = 0x%x was accepted", i, fields[f], huge[h]);
                assert_true(r == -EBADMSG || r == -EFBIG);
                char where[32];
                snprintf(where, sizeof(where), "offset 0x%zx", e->offset);
                assert_non_null(strstr(error, where));
                free(error);
                free(copy);
            }
        }
    }
    /* the Spec ID event's algorithm count */
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    put_le32(copy + 32 + 24, 0xffffffffu);
    struct eventlog *bad = NULL;
    assert_int_equal(eventlog_parse(copy, len, NULL, &bad, &error), -EBADMSG); /* 32-byte header + 24 */
    assert_non_null(strstr(error, "Spec ID"));
    free(error);
    free(copy);
    eventlog_free(log);
    free(buf);
}

static void test_empty_random_and_limits(void **state)
{
    struct eventlog *log = NULL;
    char *error = NULL;
    assert_int_equal(eventlog_parse((const uint8_t *)"", 0, NULL, &log, &error), -ENODATA);
    assert_non_null(strstr(error, "empty"));
    free(error);

    /* not an event log at all (found by fuzzing: an ACPI table given as a log) */
    uint8_t not_log[64] = "\0\0TPM2L";
    assert_int_equal(eventlog_parse(not_log, sizeof(not_log), NULL, &log, &error), -EBADMSG);
    assert_non_null(strstr(error, "not a TCG event log"));
    free(error);

    /* deterministic random bytes: must not crash; a PCR index >= 24 or a bad size fails the parse */
    uint8_t junk[4096];
    uint32_t x = 99;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            x = x * 1664525u + 1013904223u;
            junk[i] = (uint8_t)(x >> 24);
        }
        if (eventlog_parse(junk, sizeof(junk), NULL, &log, &error) == 0)
            eventlog_free(log);
        else
            free(error);
    }

    size_t len;
    uint8_t *buf = slurp(corpora, "eventlog/uefi/google-go-eventlog/rhel8-uefi.bin", &len);
    struct eventlog_limits small = {.max_log = 1 << 20, .max_event = 100};
    assert_int_equal(eventlog_parse(buf, len, &small, &log, &error), -EFBIG);
    assert_non_null(strstr(error, "the limit is 100"));
    free(error);
    small = (struct eventlog_limits){.max_log = 1000, .max_event = 1 << 20};
    assert_int_equal(eventlog_parse(buf, len, &small, &log, &error), -EFBIG);
    free(error);
    free(buf);
    assert_true(eventlog_load("/nonexistent/log", NULL, &log, &error) == -ENOENT);
    assert_non_null(strstr(error, "cannot open"));
    free(error);
}

static void test_acpi_region(void **state)
{
    char table[8192], mem[8192];
    struct eventlog *acpi = NULL, *direct = NULL;
    char *error = NULL;
    snprintf(table, sizeof(table), "%s/isecl/eventlog/tpm2_valid", corpora);
    snprintf(mem, sizeof(mem), "%s/isecl/eventlog/uefi_event_log.bin", corpora);
    if (eventlog_load_acpi(table, mem, NULL, &acpi, &error) < 0)
        fail_msg("%s", error);
    assert_int_equal(eventlog_load(mem, NULL, &direct, &error), 0);
    assert_int_equal(acpi->n_events, direct->n_events);
    assert_true(acpi->trailing_bytes);
    eventlog_free(acpi);
    eventlog_free(direct);

    snprintf(table, sizeof(table), "%s/isecl/eventlog/tpm2_invalid_signature", corpora);
    assert_true(eventlog_load_acpi(table, mem, NULL, &acpi, &error) < 0);
    assert_non_null(strstr(error, "not an ACPI TPM2 table"));
    free(error);
    snprintf(table, sizeof(table), "%s/isecl/eventlog/tpm2_invalid_address", corpora);
    assert_true(eventlog_load_acpi(table, mem, NULL, &acpi, &error) < 0);
    assert_non_null(strstr(error, "log area"));
    free(error);
}

/* The measure-log JSON HVS gets, pinned. TAGENT_UPDATE_GOLDEN=1 rewrites the files (review the diff). */
static void check_golden(const char *log_name, const char *app_name, const char *golden)
{
    size_t len, app_len = 0, want_len;
    uint8_t *buf = slurp(corpora, log_name, &len);
    uint8_t *app = app_name ? slurp(corpora, app_name, &app_len) : NULL;
    struct eventlog *log = NULL;
    char *error = NULL, *json = NULL;
    assert_int_equal(eventlog_parse(buf, len, NULL, &log, &error), 0);
    assert_int_equal(eventlog_measure_log_json(log, (const char *)app, app_len, false, &json, &error), 0);
    if (getenv("TAGENT_UPDATE_GOLDEN")) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", golden_dir, golden);
        FILE *f = fopen(path, "w");
        fprintf(f, "%s\n", json);
        fclose(f);
    }
    uint8_t *want = slurp(golden_dir, golden, &want_len);
    assert_int_equal(want_len, strlen(json) + 1);
    assert_memory_equal(want, json, strlen(json));
    free(want);
    free(json);
    free(app);
    free(buf);
    eventlog_free(log);
}

static void test_golden_measure_logs(void **state)
{
    check_golden("isecl/eventlog/uefi_event_log.bin", "isecl/eventlog/pcr_event_log",
                 "measure-log-isecl-uefi.json");
    check_golden("eventlog/uefi/google-go-eventlog/rhel8-uefi.bin", NULL, "measure-log-rhel8-uefi.json");
}

/* StartupLocality: PCR 0 starts at ...03 (no corpus log has the event: this synthetic one, from the fuzz
 * seeds, does), computed here with plain SHA-256 calls. */
static void test_startup_locality(void **state)
{
    size_t len;
    uint8_t *buf = slurp(golden_dir, "../fuzz/seeds/eventlog/synthetic.bin", &len);
    struct eventlog *log = NULL;
    char *error = NULL;
    assert_int_equal(eventlog_parse(buf, len, NULL, &log, &error), 0);
    assert_true(log->trailing_bytes);
    struct eventlog_pcrs pcrs;
    assert_int_equal(eventlog_replay(log, &pcrs, &error), 0);
    assert_int_equal(pcrs.startup_locality, 3);

    uint8_t start[32] = {0}, sep[32], both[64], want[32];
    start[31] = 3;
    SHA256((const uint8_t *)"\0\0\0\0", 4, sep);
    memcpy(both, start, 32);
    memcpy(both + 32, sep, 32);
    SHA256(both, 64, want);
    const struct eventlog_bank *b = &pcrs.banks[1];
    assert_int_equal(b->alg, EVENTLOG_ALG_SHA256);
    assert_int_equal(b->n_extends[0], 1);
    assert_memory_equal(b->pcr[0], want, 32);
    eventlog_free(log);
    free(buf);
}

int main(void)
{
    const char *dir = getenv("TAGENT_CORPORA"), *golden = getenv("TAGENT_GOLDEN");
    if (!dir || !golden) {
        fprintf(stderr, "TAGENT_CORPORA and TAGENT_GOLDEN must be set\n");
        return 1;
    }
    snprintf(corpora, sizeof(corpora), "%s", dir);
    snprintf(golden_dir, sizeof(golden_dir), "%s", golden);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_at_every_offset), cmocka_unit_test(test_huge_length_fields),
        cmocka_unit_test(test_empty_random_and_limits),   cmocka_unit_test(test_acpi_region),
        cmocka_unit_test(test_golden_measure_logs),       cmocka_unit_test(test_startup_locality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
