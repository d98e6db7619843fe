/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent eventlog --check`: the log's replay against the TPM's own PCRs, one line per bank and PCR, and for
 * a mismatch the event that touched it last and why it may differ (eventlog/pcr_check.c). It reads the TPM,
 * so it lives in the "manage" module; the replay and the measure log (cmd_eventlog.c) need neither tss2 nor
 * OpenSSL.
 */
#include "agent_paths.h"
#include "cleanup.h"
#include "cli.h"
#include "cmd_eventlog.h"
#include "eventlog.h"
#include "hex.h"
#include "log.h"
#include "quote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- --check: the log against the TPM's PCRs ---- */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct pcr_check_report *, pcr_check_report_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(tpm_t *, tpm_close)
DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)

/* Every PCR of every bank the TPM allocates, opened as the other commands open it (TAGENT_TCTI). A bank whose
 * digest tagent does not know is left out with a warning. *ret_tcti: the TCTI used (caller frees). */
static int read_tpm_pcrs(struct pcr_check_tpm *ret, char **ret_tcti)
{
    _cleanup_(tpm_closep) tpm_t *tpm = NULL;
    _cleanup_free_ char *error = NULL;
    uint16_t banks[8];
    size_t n = 0;
    int r = tpm_open(NULL, &tpm, &error);
    if (r == 0)
        r = tpm_pcr_banks(tpm, banks, &n, &error);
    for (size_t i = 0; i < n && r == 0; i++) {
        ret->banks[ret->n_banks].alg = banks[i];
        r = tpm_pcr_read(tpm, banks[i], 0xffffffu, ret->banks[ret->n_banks].pcr, &error);
        if (r == -EOPNOTSUPP) {
            log_warning("eventlog --check: the TPM's bank 0x%04x is not checked: %s", banks[i], error);
            free(TAKE_PTR(error));
            r = 0;
        } else if (r == 0) {
            ret->n_banks++;
        }
    }
    const char *tcti = tpm ? tpm_tcti(tpm) : getenv("TAGENT_TCTI");
    if (r < 0)
        /* quote/'s message says what to do (device, group, TAGENT_TCTI). */
        log_error("eventlog --check: cannot read the TPM's PCRs through %s: %s",
                  tcti ? tcti : TPM_DEFAULT_TCTI, error ? error : "out of memory");
    else if (!(*ret_tcti = strdup(tcti ? tcti : TPM_DEFAULT_TCTI)))
        r = -ENOMEM;
    return r;
}

/* The lists PCR 10 is checked against: the --ima files, else the running system's (per-bank lists when the
 * kernel keeps them). No list on the system (or one this user may not read) is no error: PCR 10 is then
 * checked like the others, against the TCG log. */
static int check_ima_lists(const char *root, const struct eventlog_args *a, struct ima_lists *ret)
{
    if (a->n_ima)
        return eventlog_load_ima_files(a, ret);
    _cleanup_free_ char *error = NULL;
    int r = ima_lists_load_system(root, 0, ret, &error);
    if (r < 0 && r != -ENOENT)
        log_warning("eventlog --check: PCR 10 is not checked against IMA: %s", error ? error : strerror(-r));
    return 0;
}

/* PCR 10 as the IMA lists replay it, in each TPM bank. *ret_source (caller frees) names the lists;
 * ret->source and ret->last_path point into it and into lists, which must outlive ret. */
static int ima_pcr10(const struct ima_lists *lists, const struct pcr_check_tpm *tpm,
                     struct pcr_check_ima *ret, char **ret_source)
{
    if (lists->n == 0)
        return 0;
    /* The lists agree entry by entry (ima_lists_add_file checks it): count in the first. */
    const struct ima_log *first = lists->logs[0];
    for (size_t i = 0; i < first->n_entries; i++)
        if (first->entries[i].pcr == 10) {
            ret->n_entries++;
            ret->last_number = i + 1;
            ret->last_path = first->entries[i].path;
        }
    int n = lists->n == 1 ? asprintf(ret_source, "%s", lists->sources[0])
                          : asprintf(ret_source, "%zu per-bank lists (%s, ...)", lists->n, lists->sources[0]);
    if (n < 0) {
        *ret_source = NULL;
        return -ENOMEM;
    }
    ret->source = *ret_source;
    for (uint32_t b = 0; b < tpm->n_banks; b++) {
        _cleanup_free_ char *error = NULL;
        if (ima_lists_replay_pcr10(lists, tpm->banks[b].alg, ret->banks[ret->n_banks].pcr10, &error) < 0)
            continue; /* a bank IMA cannot replay: its PCR 10 is checked against the TCG log */
        ret->banks[ret->n_banks++].alg = tpm->banks[b].alg;
    }
    return 0;
}

static const char *bank_name(uint16_t alg, char buf[8])
{
    const char *name = eventlog_alg_name(alg);
    if (name)
        return name;
    snprintf(buf, 8, "0x%04x", alg);
    return buf;
}

/* "3f1a2b3c…04a1": enough to tell values apart on a line (--verbose and --json have them whole). */
static const char *hex_short(const uint8_t *value, size_t size, char buf[32])
{
    char full[2 * EVENTLOG_MAX_DIGEST + 1];
    hex_encode(value, size, full);
    snprintf(buf, 32, "%.8s…%s", full, full + 2 * size - 4);
    return buf;
}

/* "12 events", with_last: "12 events, last: #61 EV_EFI_ACTION at 0x5c30"; "IMA list, 812 entries, last: #812
 * /usr/bin/x"; "no events". */
static void describe_events(const struct pcr_check_result *res, bool with_last, char *buf, size_t size)
{
    const char *list = res->from_ima ? "IMA list, " : "";
    const char *noun = res->from_ima ? (res->n_events == 1 ? "entry" : "entries")
                                     : (res->n_events == 1 ? "event" : "events");
    if (!res->n_events) {
        snprintf(buf, size, "%sno %s", list, noun);
        return;
    }
    int n = snprintf(buf, size, "%s%u %s", list, res->n_events, noun);
    if (n < 0 || (size_t)n >= size || !with_last)
        return;
    char type[16];
    const char *name = eventlog_type_name(res->last_type);
    if (!name)
        snprintf(type, sizeof(type), "0x%08x", res->last_type), name = type;
    if (res->from_ima)
        snprintf(buf + n, size - (size_t)n, ", last: #%zu %s", res->last_number,
                 res->last_path ? res->last_path : "");
    else
        snprintf(buf + n, size - (size_t)n, ", last: #%zu %s at 0x%zx", res->last_number, name,
                 res->last_offset);
}

static void print_result(const struct pcr_check_result *res, bool verbose)
{
    char bank[8], events[512], log_hex[32], tpm_hex[32];
    /* a match needs only the count; which event came last matters when looking for a culprit */
    describe_events(res, !res->match || verbose, events, sizeof(events));
    const char *name = bank_name(res->alg, bank);
    if (res->match)
        printf("%s PCR %u: match (%s)\n", name, res->pcr, events);
    else
        printf("%s PCR %u: MISMATCH — %s %s (%s), TPM %s\n    why: %s\n", name, res->pcr,
               res->from_ima ? "IMA" : "log", hex_short(res->log_value, res->size, log_hex), events,
               hex_short(res->tpm_value, res->size, tpm_hex), res->why);
    if (verbose) {
        char full[2 * EVENTLOG_MAX_DIGEST + 1];
        hex_encode(res->log_value, res->size, full);
        printf("    %s: %s\n", res->from_ima ? "IMA" : "log", full);
        hex_encode(res->tpm_value, res->size, full);
        printf("    TPM: %s\n", full);
    }
}

/* PCRs 17-22 at all 0xff in some bank: said once, since those PCRs are then left out of the list. */
static bool drtm_pcrs_at_reset(const struct pcr_check_tpm *tpm)
{
    for (uint32_t b = 0; b < tpm->n_banks; b++) {
        size_t size = eventlog_alg_size(tpm->banks[b].alg);
        for (size_t k = 0; k < size; k++)
            if (tpm->banks[b].pcr[17][k] != 0xff)
                goto next;
        return true;
    next:;
    }
    return false;
}

static void print_text(const struct pcr_check_report *report, const struct pcr_check_tpm *tpm,
                       const char *log_source, const char *tcti, const struct pcr_check_ima *ima,
                       bool verbose)
{
    char bank[8];
    printf("Checking the event log from %s against the TPM at %s%s%s\n", log_source, tcti,
           ima->source ? "; PCR 10 against " : "", ima->source ? ima->source : "");
    for (size_t i = 0; i < report->n_results; i++)
        print_result(&report->results[i], verbose);
    for (uint32_t i = 0; i < report->n_unchecked; i++) {
        const char *name = bank_name(report->unchecked[i], bank);
        printf("%s: not checked: the log has no %s digests\n", name, name);
    }
    if (drtm_pcrs_at_reset(tpm))
        printf("(PCRs 17-22 at all 0xff are their reset value on a TPM before any dynamic launch: not "
               "listed.)\n");
    if (!report->n_mismatches)
        printf("Result: all %zu PCRs checked match\n", report->n_results);
    else
        printf("Result: MISMATCH in %zu of %zu PCRs checked; %s%zu with a known cause (see \"why\")\n",
               report->n_mismatches, report->n_results,
               report->n_explained == report->n_mismatches ? "all " : "", report->n_explained);
}

static cJSON *result_json(const struct pcr_check_result *res)
{
    char bank[8], hex[2 * EVENTLOG_MAX_DIGEST + 1];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bank", bank_name(res->alg, bank));
    cJSON_AddNumberToObject(o, "pcr", res->pcr);
    cJSON_AddBoolToObject(o, "match", res->match);
    cJSON_AddStringToObject(o, "expected_from", res->from_ima ? "ima" : "eventlog");
    cJSON_AddNumberToObject(o, "events", res->n_events);
    if (res->n_events) {
        cJSON *last = cJSON_AddObjectToObject(o, "last_event");
        cJSON_AddNumberToObject(last, "number", (double)res->last_number);
        if (res->from_ima) {
            cJSON_AddStringToObject(last, "path", res->last_path ? res->last_path : "");
        } else {
            const char *type = eventlog_type_name(res->last_type);
            cJSON_AddNumberToObject(last, "type", res->last_type);
            if (type)
                cJSON_AddStringToObject(last, "type_name", type);
            cJSON_AddNumberToObject(last, "offset", (double)res->last_offset);
        }
    }
    hex_encode(res->log_value, res->size, hex);
    cJSON_AddStringToObject(o, "expected", hex);
    hex_encode(res->tpm_value, res->size, hex);
    cJSON_AddStringToObject(o, "tpm", hex);
    if (!res->match) {
        cJSON_AddStringToObject(o, "reason", res->reason);
        cJSON_AddStringToObject(o, "why", res->why);
    }
    return o;
}

static int print_json(const struct pcr_check_report *report, const char *log_source, const char *tcti,
                      const struct pcr_check_ima *ima)
{
    char bank[8];
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
    cJSON *pcrs = cJSON_AddArrayToObject(root, "pcrs"),
          *unchecked = cJSON_AddArrayToObject(root, "not_checked");
    cJSON_AddStringToObject(root, "eventlog", log_source);
    cJSON_AddStringToObject(root, "tpm", tcti);
    if (ima->source)
        cJSON_AddStringToObject(root, "ima", ima->source);
    cJSON_AddBoolToObject(root, "match", report->n_mismatches == 0);
    cJSON_AddNumberToObject(root, "checked", (double)report->n_results);
    cJSON_AddNumberToObject(root, "mismatches", (double)report->n_mismatches);
    for (size_t i = 0; i < report->n_results; i++)
        cJSON_AddItemToArray(pcrs, result_json(&report->results[i]));
    for (uint32_t i = 0; i < report->n_unchecked; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "bank", bank_name(report->unchecked[i], bank));
        cJSON_AddStringToObject(o, "why", "the log has no digests for this bank");
        cJSON_AddItemToArray(unchecked, o);
    }
    _cleanup_free_ char *text = cJSON_Print(root);
    if (!text)
        return -ENOMEM;
    puts(text);
    return 0;
}

/* Exit status: 0 all match, 1 a mismatch; errors are reported and give the usual error status. */
int cmd_eventlog_check(const char *root, const struct eventlog_args *a, const struct eventlog *log,
                       const char *log_source)
{
    _cleanup_free_ struct pcr_check_tpm *tpm = calloc(1, sizeof(*tpm));
    _cleanup_(pcr_check_report_freep) struct pcr_check_report *report = NULL;
    _cleanup_(ima_lists_clear) struct ima_lists lists = {0};
    _cleanup_free_ char *tcti = NULL, *ima_source = NULL, *error = NULL;
    struct pcr_check_ima ima = {0};
    int r = tpm ? read_tpm_pcrs(tpm, &tcti) : -ENOMEM;
    if (r >= 0)
        r = check_ima_lists(root, a, &lists);
    if (r >= 0)
        r = ima_pcr10(&lists, tpm, &ima, &ima_source);
    if (r >= 0 && (r = pcr_check(log, tpm, lists.n ? &ima : NULL, &report, &error)) < 0)
        log_error("eventlog --check: %s", error ? error : strerror(-r));
    if (r >= 0 && a->json)
        r = print_json(report, log_source, tcti, &ima);
    else if (r >= 0)
        print_text(report, tpm, log_source, tcti, &ima, a->verbose);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_ frees tpm, tcti; clang-tidy 14 misses it */
    if (r < 0 || !report || fflush(stdout) != 0)
        return TAGENT_EXIT_CHECK_ERROR;
    return report->n_mismatches ? TAGENT_EXIT_CHECK_MISMATCH : TAGENT_EXIT_OK;
}
