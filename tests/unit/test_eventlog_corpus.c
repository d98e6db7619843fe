/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every UEFI event log of ../shared/corpora/eventlog replays to exactly the PCR values the origin project
 * recorded (EXPECTED_PCRS.json), in every bank it lists; event counts per PCR agree with tpm2_eventlog's
 * YAML beside the tpm2-tools logs. The corpus is data nobody here wrote: the code is not tuned to it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "eventlog.h"

static char corpora[4096];

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

static uint16_t alg_from_oracle(const char *name)
{
    if (!strcasecmp(name, "sha1"))
        return EVENTLOG_ALG_SHA1;
    if (!strcasecmp(name, "sha256"))
        return EVENTLOG_ALG_SHA256;
    if (!strcasecmp(name, "sha384"))
        return EVENTLOG_ALG_SHA384;
    if (!strcasecmp(name, "sha512"))
        return EVENTLOG_ALG_SHA512;
    return 0;
}

static const struct eventlog_bank *find_bank(const struct eventlog_pcrs *pcrs, uint16_t alg)
{
    for (uint32_t i = 0; i < pcrs->n_banks; i++)
        if (pcrs->banks[i].alg == alg)
            return &pcrs->banks[i];
    return NULL;
}

/* The oracle stores expected_pcrs as a Python-literal string: {'sha1': {'0': 'hex', ...}, ...}. */
static cJSON *oracle_pcrs(const cJSON *entry)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(entry, "expected_pcrs");
    if (cJSON_IsObject(e))
        return cJSON_Duplicate(e, 1);
    if (!cJSON_IsString(e))
        return NULL;
    char *text = strdup(e->valuestring);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *parsed = cJSON_Parse(text);
    free(text);
    return parsed;
}

static bool untouched(const cJSON *entry, const char *bank, const char *index)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(entry, "untouched_pcrs_in_oracle");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(u, bank);
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if ((cJSON_IsString(item) && !strcmp(item->valuestring, index)) ||
            (cJSON_IsNumber(item) && item->valueint == atoi(index)))
            return true;
    }
    return false;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* Replays one corpus log and compares every touched PCR of every bank in the oracle. Returns the
 * number of PCR values compared. */
static int check_log(const char *name, const cJSON *entry)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/eventlog/%s", corpora, name);
    struct eventlog *log = NULL;
    char *error = NULL;
    int r = eventlog_load(path, NULL, &log, &error);
    if (r < 0)
        fail_msg("%s: %s", name, error);
    struct eventlog_pcrs pcrs;
    assert_int_equal(eventlog_replay(log, &pcrs, &error), 0);

    cJSON *expected = oracle_pcrs(entry);
    assert_non_null(expected);
    int compared = 0;
    const cJSON *bank;
    cJSON_ArrayForEach(bank, expected)
    {
        const struct eventlog_bank *b = find_bank(&pcrs, alg_from_oracle(bank->string));
        if (!b)
            fail_msg("%s: the oracle has bank %s, the log does not", name, bank->string);
        const cJSON *pcr;
        cJSON_ArrayForEach(pcr, bank)
        {
            int index = atoi(pcr->string);
            if (untouched(entry, bank->string, pcr->string) || !b->n_extends[index])
                continue;
            char got[2 * EVENTLOG_MAX_DIGEST + 1];
            hex(b->pcr[index], b->size, got);
            if (strcasecmp(got, pcr->valuestring) != 0)
                fail_msg("%s: %s PCR %d replays to %s, expected %s", name, bank->string, index, got,
                         pcr->valuestring);
            compared++;
        }
    }
    cJSON_Delete(expected);
    eventlog_free(log);
    return compared;
}

static void test_every_uefi_log_replays_to_the_oracle(void **state)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/eventlog/EXPECTED_PCRS.json", corpora);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files"), *entry;
    int logs = 0, values = 0;
    cJSON_ArrayForEach(entry, files)
    {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(entry, "kind");
        if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "uefi") != 0)
            continue;
        int n = check_log(entry->string, entry);
        print_message("  %-55s %3d PCR values match\n", entry->string, n);
        assert_true(n > 0);
        values += n;
        logs++;
    }
    print_message("  %d logs, %d PCR values\n", logs, values);
    assert_true(logs >= 13);
    cJSON_Delete(root);
    free(text);
}

/* Events per PCR as tpm2_eventlog's YAML lists them ("PCRIndex: N" lines; it lists the header too). */
static void yaml_counts(const char *yaml, unsigned counts[EVENTLOG_PCRS])
{
    memset(counts, 0, EVENTLOG_PCRS * sizeof(unsigned));
    for (const char *p = yaml; (p = strstr(p, "PCRIndex: ")); p++) {
        unsigned idx = (unsigned)atoi(p + strlen("PCRIndex: "));
        if (idx < EVENTLOG_PCRS)
            counts[idx]++;
    }
}

static void test_event_counts_match_tpm2_eventlog_yaml(void **state)
{
    static const struct {
        const char *log, *yaml;
    } pairs[] = {
        {"uefi/tpm2-tools/event-moklisttrusted.bin",
         "uefi/tpm2-tools/event-raw/event-moklisttrusted.bin.yaml"},
        {"uefi/tpm2-tools/event-sd-boot-fedora37.bin",
         "uefi/tpm2-tools/event-raw/event-sd-boot-fedora37.bin.yaml"},
        {"uefi/tpm2-tools/event-postcode.bin", "uefi/tpm2-tools/event-raw/event-postcode.bin.yaml"},
        {"uefi/tpm2-tools/event-uefivar.bin", "uefi/tpm2-tools/event-raw/event-uefivar.bin.yaml"},
        {"uefi/tpm2-tools/event-uefiservices.bin", "uefi/tpm2-tools/event-raw/event-uefiservices.bin.yaml"},
        {"uefi/tpm2-tools/event.bin", "uefi/tpm2-tools/event.bin.yaml"},
        {"uefi/python3-uefi-eventlog/201123-eventlog.bin",
         "uefi/python3-uefi-eventlog/parsed-tpm2-tools-5.5/1stcut/201123-eventlog.yml"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/eventlog/%s", corpora, pairs[i].yaml);
        char *yaml = slurp(path, NULL);
        assert_non_null(yaml);
        unsigned want[EVENTLOG_PCRS], got[EVENTLOG_PCRS] = {0};
        yaml_counts(yaml, want);
        free(yaml);

        snprintf(path, sizeof(path), "%s/eventlog/%s", corpora, pairs[i].log);
        struct eventlog *log = NULL;
        char *error = NULL;
        if (eventlog_load(path, NULL, &log, &error) < 0)
            fail_msg("%s: %s", pairs[i].log, error);
        got[0]++; /* the Spec ID header event, which the YAML lists as event 0 */
        for (size_t e = 0; e < log->n_events; e++) {
            struct eventlog_event ev;
            eventlog_event(log, e, &ev);
            got[ev.pcr]++;
        }
        for (int p = 0; p < EVENTLOG_PCRS; p++)
            if (got[p] != want[p])
                fail_msg("%s: PCR %d has %u events, tpm2_eventlog lists %u", pairs[i].log, p, got[p],
                         want[p]);
        eventlog_free(log);
    }
}

/* The Go agent's test log: 64 KiB read at the ACPI LASA, events followed by padding up to LAML. */
static void test_acpi_region_with_padding(void **state)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/isecl/eventlog/uefi_event_log.bin", corpora);
    struct eventlog *log = NULL;
    char *error = NULL;
    if (eventlog_load(path, NULL, &log, &error) < 0)
        fail_msg("%s", error);
    assert_true(log->trailing_bytes);
    assert_true(log->end < log->len);
    assert_int_equal(log->format, EVENTLOG_FORMAT_CRYPTO_AGILE);
    assert_true(log->n_events > 10);
    eventlog_free(log);
}

int main(void)
{
    const char *dir = getenv("TAGENT_CORPORA");
    if (!dir) {
        fprintf(stderr, "TAGENT_CORPORA is not set\n");
        return 1;
    }
    snprintf(corpora, sizeof(corpora), "%s", dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_uefi_log_replays_to_the_oracle),
        cmocka_unit_test(test_event_counts_match_tpm2_eventlog_yaml),
        cmocka_unit_test(test_acpi_region_with_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
