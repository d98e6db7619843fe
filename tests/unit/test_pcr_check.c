/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eventlog/pcr_check.c: a log built in the test, "TPM values" computed from the same events by the test
 * itself with OpenSSL (tcg_log_build.h), then changed the ways real TPMs and firmware differ from their logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventlog.h"
#include "tcg_log_build.h"

#define SHA1   0x0004
#define SHA256 0x000b
#define SHA384 0x000c

#define EBS_INVOCATION "Exit Boot Services Invocation"
#define EBS_SUCCESS    "Exit Boot Services Returned with Success"

struct world {
    struct tlb b;
    struct eventlog *log;
    struct pcr_check_tpm tpm;
    struct pcr_check_report *report;
};

/* A firmware boot in PCRs 0-7 and a boot loader's event in PCR 8, in SHA1 and SHA256. */
static void build_boot(struct tlb *b, uint8_t start_locality, bool log_locality)
{
    static const uint16_t algs[] = {SHA1, SHA256};
    static const uint8_t separator[4] = {0};
    tlb_init(b, algs, 2);
    for (size_t i = 0; i < b->n_algs; i++)
        b->pcr[i][0][EVP_MD_get_size(tlb_md(algs[i])) - 1] = start_locality;
    if (log_locality) {
        char data[17] = "StartupLocality";
        data[16] = (char)start_locality;
        tlb_event(b, 0, TLB_EV_NO_ACTION, data, sizeof(data));
    }
    tlb_event_text(b, 0, TLB_EV_S_CRTM_VERSION, "1.0");
    tlb_event_text(b, 0, TLB_EV_EFI_PLATFORM_FIRMWARE_BLOB, "firmware volume");
    tlb_event_text(b, 1, TLB_EV_EFI_VARIABLE_DRIVER_CONFIG, "BootOrder");
    tlb_event_text(b, 7, TLB_EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot");
    for (uint32_t pcr = 0; pcr < 8; pcr++)
        tlb_event(b, pcr, TLB_EV_SEPARATOR, separator, sizeof(separator));
    tlb_event_text(b, 4, TLB_EV_EFI_BOOT_SERVICES_APPLICATION, "shimx64.efi");
    tlb_event_text(b, 5, TLB_EV_EFI_ACTION, "Calling EFI Application from Boot Option");
    tlb_event_text(b, 8, 0x0d, "grub_cmd: linux /vmlinuz");
}

/* What the TPM holds: the test's own extends; PCRs 17-22 at their reset value, all 0xff. */
static void tpm_from_model(const struct tlb *b, struct pcr_check_tpm *tpm)
{
    memset(tpm, 0, sizeof(*tpm));
    tpm->n_banks = (uint32_t)b->n_algs;
    for (size_t i = 0; i < b->n_algs; i++) {
        tpm->banks[i].alg = b->algs[i];
        memcpy(tpm->banks[i].pcr, b->pcr[i], sizeof(b->pcr[i]));
        for (int pcr = 17; pcr <= 22; pcr++)
            memset(tpm->banks[i].pcr[pcr], 0xff, (size_t)EVP_MD_get_size(tlb_md(b->algs[i])));
    }
}

static void parse(struct world *w)
{
    char *error = NULL;
    assert_int_equal(eventlog_parse(w->b.buf, w->b.len, NULL, &w->log, &error), 0);
    assert_null(error);
}

static void check(struct world *w, const struct pcr_check_ima *ima)
{
    char *error = NULL;
    pcr_check_report_free(w->report);
    w->report = NULL;
    assert_int_equal(pcr_check(w->log, &w->tpm, ima, &w->report, &error), 0);
    assert_null(error);
    assert_non_null(w->report);
}

static const struct pcr_check_result *result(const struct world *w, uint16_t alg, uint32_t pcr)
{
    for (size_t i = 0; i < w->report->n_results; i++)
        if (w->report->results[i].alg == alg && w->report->results[i].pcr == pcr)
            return &w->report->results[i];
    return NULL;
}

static void world_free(struct world *w)
{
    pcr_check_report_free(w->report);
    eventlog_free(w->log);
    free(w->b.buf);
}

static void test_all_match(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tpm_from_model(&w.b, &w.tpm);
    check(&w, NULL);
    assert_int_equal(w.report->n_mismatches, 0);
    assert_int_equal(w.report->n_unchecked, 0);
    /* PCRs 0-7 and the log's 8, in both banks; 9-23 untouched and initial, 17-22 at 0xff: not listed */
    assert_int_equal(w.report->n_results, 18);
    const struct pcr_check_result *r = result(&w, SHA256, 0);
    assert_non_null(r);
    assert_true(r->match);
    assert_int_equal(r->n_events, 3);
    assert_null(result(&w, SHA256, 17));
    world_free(&w);
}

static void test_extra_extend_names_last_event(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tlb_unlogged(&w.b, 7, "something nobody logged");
    tpm_from_model(&w.b, &w.tpm);
    check(&w, NULL);
    assert_int_equal(w.report->n_mismatches, 2);
    assert_int_equal(w.report->n_explained, 0);
    for (int i = 0; i < 2; i++) {
        const struct pcr_check_result *r = result(&w, i ? SHA256 : SHA1, 7);
        assert_non_null(r);
        assert_false(r->match);
        assert_string_equal(r->reason, PCR_CHECK_WHY_UNEXPLAINED);
        assert_int_equal(r->n_events, 2);
        /* the separator: header #0, then CRTM, blob, BootOrder, SecureBoot, separators 0..7 -> #12 */
        assert_int_equal(r->last_number, 12);
        assert_int_equal(r->last_type, TLB_EV_SEPARATOR);
        struct eventlog_event e;
        eventlog_event(w.log, r->last_number - 1, &e);
        assert_int_equal(r->last_offset, e.offset);
        assert_int_equal(e.pcr, 7);
        assert_non_null(strstr(r->why, "PCR 7"));
        assert_memory_equal(r->tpm_value, w.tpm.banks[i].pcr[7], r->size);
    }
    assert_true(result(&w, SHA256, 6)->match);
    world_free(&w);
}

static void test_exit_boot_services_not_logged(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tlb_unlogged(&w.b, 5, EBS_INVOCATION);
    tlb_unlogged(&w.b, 5, EBS_SUCCESS);
    tpm_from_model(&w.b, &w.tpm);
    check(&w, NULL);
    assert_int_equal(w.report->n_mismatches, 2);
    assert_int_equal(w.report->n_explained, 2);
    const struct pcr_check_result *r = result(&w, SHA256, 5);
    assert_string_equal(r->reason, PCR_CHECK_WHY_EXIT_BOOT_SERVICES);
    assert_non_null(strstr(r->why, "'" EBS_INVOCATION "' and '" EBS_SUCCESS "'"));
    assert_non_null(strstr(r->why, "incomplete, not tampered"));
    assert_int_equal(r->last_type, TLB_EV_EFI_ACTION);
    world_free(&w);
}

static void test_exit_boot_services_invocation_only(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tlb_unlogged(&w.b, 5, EBS_INVOCATION);
    tpm_from_model(&w.b, &w.tpm);
    check(&w, NULL);
    const struct pcr_check_result *r = result(&w, SHA1, 5);
    assert_string_equal(r->reason, PCR_CHECK_WHY_EXIT_BOOT_SERVICES);
    assert_non_null(strstr(r->why, "return was not measured"));
    world_free(&w);
}

/* Firmware that starts the TPM at locality 3 and does not log StartupLocality; and the reverse, a log that
 * says 3 while the TPM started at 0. */
static void test_startup_locality(void **state)
{
    for (int logged = 0; logged < 2; logged++) {
        /* the TPM started at locality 3 with a log that does not say so; then a log that says 3 while the TPM
         * started at 0 */
        struct world w = {0};
        struct tlb tpm_boot = {0};
        build_boot(&tpm_boot, logged ? 0 : 3, false);
        build_boot(&w.b, 3, logged);
        tpm_from_model(&tpm_boot, &w.tpm);
        free(tpm_boot.buf);
        parse(&w);
        check(&w, NULL);
        assert_int_equal(w.report->n_mismatches, 2);
        const struct pcr_check_result *r = result(&w, SHA256, 0);
        assert_string_equal(r->reason, PCR_CHECK_WHY_STARTUP_LOCALITY);
        assert_non_null(strstr(r->why, logged ? "locality 0" : "locality 3"));
        assert_non_null(strstr(r->why, "does not record the startup locality"));
        assert_true(result(&w, SHA256, 1)->match);
        world_free(&w);
    }
}

static void test_tpm_never_extended(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    struct tlb fresh = {0};
    tlb_init(&fresh, w.b.algs, w.b.n_algs);
    tpm_from_model(&fresh, &w.tpm);
    free(fresh.buf);
    check(&w, NULL);
    /* every PCR the log has (0-8) differs, each for the same reason */
    assert_int_equal(w.report->n_mismatches, 18);
    assert_int_equal(w.report->n_explained, 18);
    for (size_t i = 0; i < w.report->n_results; i++) {
        assert_string_equal(w.report->results[i].reason, PCR_CHECK_WHY_NOT_EXTENDED);
        assert_non_null(strstr(w.report->results[i].why, "never extended"));
    }
    world_free(&w);
}

static void test_untouched_pcr_extended(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tlb_unlogged(&w.b, 9, "kernel command line nobody logged");
    tpm_from_model(&w.b, &w.tpm);
    memset(w.tpm.banks[1].pcr[17], 0, 32); /* a dynamic launch the firmware log does not have */
    check(&w, NULL);
    const struct pcr_check_result *r = result(&w, SHA256, 9);
    assert_non_null(r);
    assert_string_equal(r->reason, PCR_CHECK_WHY_NOT_LOGGED);
    assert_int_equal(r->n_events, 0);
    assert_non_null(strstr(r->why, "does not record"));
    r = result(&w, SHA256, 17);
    assert_non_null(r);
    assert_string_equal(r->reason, PCR_CHECK_WHY_NOT_LOGGED);
    assert_non_null(strstr(r->why, "dynamic launch"));
    assert_null(result(&w, SHA1, 17));
    assert_int_equal(w.report->n_mismatches, 3);
    world_free(&w);
}

static void test_bank_not_in_log(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tpm_from_model(&w.b, &w.tpm);
    w.tpm.banks[2].alg = SHA384;
    w.tpm.n_banks = 3;
    check(&w, NULL);
    assert_int_equal(w.report->n_mismatches, 0);
    assert_int_equal(w.report->n_unchecked, 1);
    assert_int_equal(w.report->unchecked[0], SHA384);
    world_free(&w);
}

static void test_ima_pcr10(void **state)
{
    struct world w = {0};
    build_boot(&w.b, 0, false);
    parse(&w);
    tlb_unlogged(&w.b, 10, "boot_aggregate");
    tpm_from_model(&w.b, &w.tpm);
    struct pcr_check_ima ima = {
        .source = "list", .n_entries = 1, .last_number = 1, .last_path = "boot_aggregate", .n_banks = 1};
    ima.banks[0].alg = SHA256;
    memcpy(ima.banks[0].pcr10, w.b.pcr[1][10], 32);
    check(&w, &ima);
    const struct pcr_check_result *r = result(&w, SHA256, 10);
    assert_true(r->match && r->from_ima);
    assert_string_equal(r->last_path, "boot_aggregate");
    r = result(&w, SHA1, 10); /* no IMA replay for SHA1: checked as a PCR the log does not have */
    assert_false(r->from_ima);
    assert_string_equal(r->reason, PCR_CHECK_WHY_NOT_LOGGED);
    ima.banks[0].pcr10[0] ^= 1;
    check(&w, &ima);
    r = result(&w, SHA256, 10);
    assert_false(r->match);
    assert_string_equal(r->reason, PCR_CHECK_WHY_UNEXPLAINED);
    assert_non_null(strstr(r->why, "IMA"));
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_match),
        cmocka_unit_test(test_extra_extend_names_last_event),
        cmocka_unit_test(test_exit_boot_services_not_logged),
        cmocka_unit_test(test_exit_boot_services_invocation_only),
        cmocka_unit_test(test_startup_locality),
        cmocka_unit_test(test_tpm_never_extended),
        cmocka_unit_test(test_untouched_pcr_extended),
        cmocka_unit_test(test_bank_not_in_log),
        cmocka_unit_test(test_ima_pcr10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
