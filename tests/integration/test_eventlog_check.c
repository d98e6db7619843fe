/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent eventlog --check` against a real swtpm (SHA1 + SHA256 banks): a crypto-agile log built in the test
 * (tests/unit/tcg_log_build.h), its events extended into the swtpm through an ESAPI context of the test's
 * own, then the built tagent run as a person runs it, TAGENT_TCTI pointing at the swtpm.
 *   - every event extended: exit 0, every PCR "match";
 *   - one extend more into PCR 7: exit 1, "SHA256 PCR 7: MISMATCH" and "SHA1 PCR 7: MISMATCH";
 *   - a fresh swtpm where PCR 5 also got the two ExitBootServices events the log lacks: the explanation.
 * swtpm starts at locality 0, so the log has no StartupLocality event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "harness.h"
#include "tcg_log_build.h"

#define EBS_INVOCATION "Exit Boot Services Invocation"
#define EBS_SUCCESS    "Exit Boot Services Returned with Success"

static const char *tagent_bin;
static const uint16_t banks[] = {0x0004, 0x000b}; /* SHA1, SHA256: what swtpm_setup is asked to allocate */

struct fixture {
    swtpm_t *swtpm;
    char *dir, *root, *out;
    struct tlb log;
};

/* PCR_Extend(pcr) with H(text) in both banks, on a context of the test's own (swtpm: locality 0). */
static void tpm_extend(const char *tcti, uint32_t pcr, const char *text)
{
    TSS2_TCTI_CONTEXT *t = NULL;
    ESYS_CONTEXT *esys = NULL;
    TPML_DIGEST_VALUES values = {.count = 2};
    for (size_t i = 0; i < 2; i++) {
        values.digests[i].hashAlg = banks[i];
        tlb_hash(banks[i], text, strlen(text), (uint8_t *)&values.digests[i].digest);
    }
    assert_int_equal(Tss2_TctiLdr_Initialize(tcti, &t), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&esys, t, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(
        Esys_PCR_Extend(esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values),
        TSS2_RC_SUCCESS);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&t);
}

/* An event in the log and in the TPM. */
static void measure(struct fixture *f, uint32_t pcr, uint32_t type, const char *text)
{
    tlb_event_text(&f->log, pcr, type, text);
    tpm_extend(f->swtpm->tcti, pcr, text);
}

/* Ten events in PCRs 0, 1, 2, 4, 5 and 7, as firmware would log them. */
static void boot(struct fixture *f)
{
    tlb_init(&f->log, banks, 2);
    measure(f, 0, TLB_EV_S_CRTM_VERSION, "1.0");
    measure(f, 0, TLB_EV_EFI_PLATFORM_FIRMWARE_BLOB, "firmware volume");
    measure(f, 1, TLB_EV_EFI_VARIABLE_DRIVER_CONFIG, "BootOrder");
    measure(f, 2, TLB_EV_EFI_BOOT_SERVICES_APPLICATION, "option ROM");
    measure(f, 7, TLB_EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot");
    measure(f, 7, TLB_EV_SEPARATOR, "sep");
    measure(f, 4, TLB_EV_EFI_BOOT_SERVICES_APPLICATION, "shimx64.efi");
    measure(f, 4, TLB_EV_EFI_BOOT_SERVICES_APPLICATION, "grubx64.efi");
    measure(f, 5, TLB_EV_EFI_ACTION, "Calling EFI Application from Boot Option");
    measure(f, 5, TLB_EV_SEPARATOR, "sep");
}

/* tagent eventlog --check --file LOG [extra [extra2]]: 0 when it exits 0; *ret_out is what it printed. */
static int check2(struct fixture *f, const char *extra, const char *extra2, char **ret_out)
{
    char *log_path = NULL;
    assert_int_equal(harness_path_join(f->dir, "log.bin", &log_path), 0);
    FILE *fp = fopen(log_path, "wbe");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->log.buf, 1, f->log.len, fp), f->log.len);
    assert_int_equal(fclose(fp), 0);
    const char *argv[] = {tagent_bin, "--root", f->root, "eventlog", "--check",
                          "--file",   log_path, extra,   extra2,     NULL};
    unlink(f->out);
    int r = harness_run(argv, f->out, 60000);
    *ret_out = harness_file_slurp(f->out);
    fprintf(stderr, "---- tagent eventlog --check %s ----\n%s", extra ? extra : "", *ret_out);
    free(log_path);
    return r;
}

static int check(struct fixture *f, const char *extra, char **ret_out)
{
    return check2(f, extra, NULL, ret_out);
}

static int setup(void **state)
{
    static const struct swtpm_opts opts = {.pcr_banks = "sha1,sha256"};
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(swtpm_start(&opts, &f->swtpm), 0);
    assert_int_equal(harness_tmpdir_create("evcheck", &f->dir), 0);
    /* an empty root: no system IMA list is found, so PCR 10 is checked like any other PCR */
    assert_int_equal(harness_path_join(f->dir, "root", &f->root), 0);
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_int_equal(harness_path_join(f->dir, "out.log", &f->out), 0);
    assert_int_equal(setenv("TAGENT_TCTI", f->swtpm->tcti, 1), 0);
    assert_int_equal(setenv("TAGENT_LOG_TARGET", "stderr", 1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    swtpm_free(f->swtpm);
    harness_tmpdir_remove(f->dir);
    free(f->dir);
    free(f->root);
    free(f->out);
    free(f->log.buf);
    free(f);
    return harness_count_children() == 0 ? 0 : -1;
}

static void test_match_then_extra_extend(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    boot(f);
    assert_int_equal(check(f, NULL, &out), 0);
    assert_non_null(strstr(out, "SHA256 PCR 0: match (2 events)"));
    assert_non_null(strstr(out, "SHA1 PCR 7: match (2 events)"));
    assert_non_null(strstr(out, "Result: all 16 PCRs checked match"));
    assert_null(strstr(out, "MISMATCH"));
    free(out);

    /* --json carries every value whole */
    assert_int_equal(check(f, "--json", &out), 0);
    cJSON *json = cJSON_Parse(out);
    assert_non_null(json);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(json, "match")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "pcrs")), 16);
    cJSON_Delete(json);
    free(out);

    tpm_extend(f->swtpm->tcti, 7, "a driver nobody logged");
    assert_true(check(f, NULL, &out) != 0);
    assert_non_null(strstr(out, "SHA256 PCR 7: MISMATCH"));
    assert_non_null(strstr(out, "SHA1 PCR 7: MISMATCH"));
    /* the last event in PCR 7: the separator, event #6 (the header is #0) */
    assert_non_null(strstr(out, "2 events, last: #6 EV_SEPARATOR at 0x"));
    assert_non_null(strstr(out, "without logging it"));
    assert_non_null(strstr(out, "SHA256 PCR 5: match"));
    assert_non_null(strstr(out, "Result: MISMATCH in 2 of 16 PCRs checked"));
    free(out);
}

static void test_exit_boot_services_not_logged(void **state)
{
    struct fixture *f = *state;
    char *out = NULL;
    boot(f);
    tpm_extend(f->swtpm->tcti, 5, EBS_INVOCATION);
    tpm_extend(f->swtpm->tcti, 5, EBS_SUCCESS);
    assert_true(check(f, NULL, &out) != 0);
    assert_non_null(strstr(out, "SHA256 PCR 5: MISMATCH"));
    assert_non_null(strstr(out, "PCR 5 matches once the two EV_EFI_ACTION events '" EBS_INVOCATION
                                "' and '" EBS_SUCCESS "' are added"));
    assert_non_null(strstr(out, "the log is incomplete, not tampered"));
    assert_non_null(strstr(out, "SHA256 PCR 4: match"));
    assert_non_null(strstr(out, "all 2 with a known cause"));
    free(out);

    /* an IMA list with one entry while nothing extended PCR 10: PCR 10 is checked against the list */
    char *ima = NULL;
    assert_int_equal(harness_path_join(f->dir, "ima.txt", &ima), 0);
    assert_int_equal(harness_file_write(ima,
                                        "10 0000000000000000000000000000000000000001 ima-ng sha256:"
                                        "00000000000000000000000000000000000000000000000000000000000000aa "
                                        "/usr/bin/true\n",
                                        0600),
                     0);
    assert_true(check2(f, "--ima", ima, &out) != 0);
    assert_non_null(strstr(out, "PCR 10 against "));
    assert_non_null(strstr(out, "SHA256 PCR 10: MISMATCH — IMA "));
    assert_non_null(strstr(out, "(IMA list, 1 entry, last: #1 /usr/bin/true)"));
    assert_non_null(strstr(out, "never extended"));
    free(out);
    free(ima);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/tagent\n", argv[0]);
        return 2;
    }
    tagent_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_match_then_extra_extend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_boot_services_not_logged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
