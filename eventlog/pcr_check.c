/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent eventlog --check`'s logic: which PCR the log and the TPM disagree on, and why. Pure: the TPM's
 * values come in as numbers, the verdicts go out as a report; nothing here reads a TPM or prints.
 *
 * A mismatch is first offered to a list of explanations (explanations[] below), each a small function that
 * recognises one known cause, mostly firmware bugs that every attestation tool meets on real hardware. The
 * first that fits names the cause; when none does, the result says which event touched the PCR last and what
 * to look at next.
 */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_NO_ACTION 0x3u

/* The EV_EFI_ACTION strings the TCG PC Client PFP has firmware measure into PCR 5 around ExitBootServices();
 * the digest is the bank's hash of the ASCII text without a NUL (as in the tpm2-tools corpus logs). */
#define EBS_INVOCATION "Exit Boot Services Invocation"
#define EBS_SUCCESS    "Exit Boot Services Returned with Success"
#define EBS_FAILURE    "Exit Boot Services Returned with Failure"

/* Everything an explanation may look at for one bank. */
struct bank_view {
    const struct eventlog *log;
    const struct eventlog_bank *replay; /* the log's replay of this bank */
    const uint8_t (*tpm)[EVENTLOG_MAX_DIGEST];
    uint8_t startup_locality; /* the log's, 0 when it records none */
};

/* ---- initial values ---- */

/* PCRs 17-22 are the dynamic launch's: the PC Client PTP resets them to all 0xff at TPM2_Startup, and only a
 * dynamic launch (_TPM_Hash_Start) sets them to 0. */
static bool drtm_pcr(uint32_t pcr)
{
    return pcr >= 17 && pcr <= 22;
}

static void initial_value(uint32_t pcr, uint8_t locality, size_t size, uint8_t out[EVENTLOG_MAX_DIGEST])
{
    memset(out, drtm_pcr(pcr) ? 0xff : 0, size);
    if (pcr == 0)
        out[size - 1] = locality;
}

/* Whether a TPM value is one the PCR has before anything extended it (PCR 0: any startup locality). */
static bool tpm_value_initial(uint32_t pcr, const uint8_t *value, size_t size)
{
    static const uint8_t localities[] = {0, 3, 4};
    uint8_t init[EVENTLOG_MAX_DIGEST];
    for (size_t i = 0; i < (pcr == 0 ? sizeof(localities) : 1); i++) {
        initial_value(pcr, localities[i], size, init);
        if (memcmp(init, value, size) == 0)
            return true;
    }
    return false;
}

/* ---- hashing ---- */

/* value := H(value || H(text)) in the bank: an EV_EFI_ACTION event the log does not have. */
static int extend_action(const struct bank_view *v, uint8_t *value, const char *text)
{
    uint8_t digest[DIGEST_MAX_SIZE];
    if (digest_buf(v->replay->alg, text, strlen(text), digest) < 0)
        return -EIO;
    return eventlog_extend(v->replay->alg, value, v->replay->size, digest);
}

/* One PCR of the bank replayed from start: what PCR 0 would be had the TPM started at another locality. */
static int replay_pcr(const struct bank_view *v, uint32_t pcr, const uint8_t *start, uint8_t *out)
{
    memcpy(out, start, v->replay->size);
    for (size_t i = 0; i < v->log->n_events; i++) {
        struct eventlog_event e;
        eventlog_event(v->log, i, &e);
        if (e.pcr != pcr || e.type == EV_NO_ACTION)
            continue;
        for (uint32_t d = 0; d < e.n_digests; d++)
            if (e.digests[d].alg == v->replay->alg) {
                int r = eventlog_extend(v->replay->alg, out, v->replay->size, e.digests[d].value);
                if (r < 0)
                    return r;
            }
    }
    return 0;
}

static bool tpm_equals(const struct bank_view *v, const struct pcr_check_result *res, const uint8_t *value)
{
    return memcmp(v->tpm[res->pcr], value, v->replay->size) == 0;
}

/* ---- explanations: each returns 1 when it explains res (and fills reason and why), 0, or -errno ---- */

static int explain_not_logged(const struct bank_view *v, struct pcr_check_result *res)
{
    (void)v;
    if (res->n_events)
        return 0;
    const char *whose = "";
    if (res->from_ima)
        whose = " The IMA list has no entry for it: something other than IMA extended PCR 10.";
    else if (drtm_pcr(res->pcr))
        whose =
            " PCRs 17-22 belong to a dynamic launch (Intel TXT/tboot, AMD SKINIT), whose measurements are in "
            "the launch's own log, not the firmware's.";
    else if (res->pcr == 10)
        whose = " PCR 10 is IMA's: give its list with --ima (or run on the host itself, where securityfs has "
                "it).";
    res->reason = PCR_CHECK_WHY_NOT_LOGGED;
    snprintf(res->why, sizeof(res->why),
             "the %s has no event for PCR %u, but the TPM's PCR is not at its initial value (all %s): it was "
             "extended by something the log does not record.%s",
             res->from_ima ? "IMA list" : "log", res->pcr, drtm_pcr(res->pcr) ? "0xff" : "0x00", whose);
    return 1;
}

static int explain_not_extended(const struct bank_view *v, struct pcr_check_result *res)
{
    if (!res->n_events || !tpm_value_initial(res->pcr, v->tpm[res->pcr], res->size))
        return 0;
    res->reason = PCR_CHECK_WHY_NOT_EXTENDED;
    snprintf(
        res->why, sizeof(res->why),
        "the TPM's PCR %u is still at its initial value although the %s has %u %s for it: the TPM's PCR was "
        "never extended, so the %s is not from this boot (or the TPM was reset since)",
        res->pcr, res->from_ima ? "IMA list" : "log", res->n_events,
        res->from_ima ? (res->n_events == 1 ? "entry" : "entries")
                      : (res->n_events == 1 ? "event" : "events"),
        res->from_ima ? "list" : "log");
    return 1;
}

/* Firmware that measures the ExitBootServices EV_EFI_ACTION events into PCR 5 after the OS copied the log
 * (so they are never in it). The PFP puts them in PCR 5; PCR 4 is tried too for firmware that mixes the
 * two up. Besides the usual pair: a failed ExitBootServices (the OS retries, Linux's EFI stub does when the
 * memory map changed), and the invocation alone (firmware that measures the call but not its return). */
static int explain_exit_boot_services(const struct bank_view *v, struct pcr_check_result *res)
{
    static const struct {
        const char *events[4];
        const char *what;
    } variants[] = {
        {{EBS_INVOCATION, EBS_SUCCESS},
         "the two EV_EFI_ACTION events '" EBS_INVOCATION "' and '" EBS_SUCCESS "' are added"},
        {{EBS_INVOCATION, EBS_FAILURE, EBS_INVOCATION, EBS_SUCCESS},
         "the EV_EFI_ACTION events '" EBS_INVOCATION "', '" EBS_FAILURE "' (a first ExitBootServices call "
         "failed and was retried), '" EBS_INVOCATION "' and '" EBS_SUCCESS "' are added"},
        {{EBS_INVOCATION, EBS_FAILURE},
         "the two EV_EFI_ACTION events '" EBS_INVOCATION "' and '" EBS_FAILURE "' are added"},
        {{EBS_INVOCATION},
         "the EV_EFI_ACTION event '" EBS_INVOCATION "' is added (its return was not measured)"},
    };
    if ((res->pcr != 4 && res->pcr != 5) || res->from_ima)
        return 0;
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        uint8_t value[EVENTLOG_MAX_DIGEST];
        memcpy(value, res->log_value, res->size);
        for (size_t k = 0; k < 4 && variants[i].events[k]; k++) {
            int r = extend_action(v, value, variants[i].events[k]);
            if (r < 0)
                return r;
        }
        if (!tpm_equals(v, res, value))
            continue;
        res->reason = PCR_CHECK_WHY_EXIT_BOOT_SERVICES;
        snprintf(
            res->why, sizeof(res->why),
            "PCR %u matches once %s: this firmware measures them but does not log them (they happen after "
            "the OS copied the log); the log is incomplete, not tampered",
            res->pcr, variants[i].what);
        return 1;
    }
    return 0;
}

/* PCR 0 starts at the locality TPM2_Startup ran in; the log says which with a StartupLocality event, and
 * firmware that starts the TPM at locality 3 (or an H-CRTM at 4) without logging it breaks PCR 0. */
static int explain_startup_locality(const struct bank_view *v, struct pcr_check_result *res)
{
    static const uint8_t localities[] = {0, 3, 4};
    if (res->pcr != 0)
        return 0;
    for (size_t i = 0; i < sizeof(localities); i++) {
        uint8_t start[EVENTLOG_MAX_DIGEST], value[EVENTLOG_MAX_DIGEST];
        if (localities[i] == v->startup_locality)
            continue;
        initial_value(0, localities[i], res->size, start);
        int r = replay_pcr(v, 0, start, value);
        if (r < 0)
            return r;
        if (!tpm_equals(v, res, value))
            continue;
        res->reason = PCR_CHECK_WHY_STARTUP_LOCALITY;
        snprintf(
            res->why, sizeof(res->why),
            "PCR 0 matches when it starts at locality %u (last byte 0x%02x) instead of the log's %u: the "
            "log does not record the startup locality (StartupLocality / H-CRTM event) the TPM was started "
            "with",
            localities[i], localities[i], v->startup_locality);
        return 1;
    }
    return 0;
}

static int explain_unexplained(const struct bank_view *v, struct pcr_check_result *res)
{
    (void)v;
    res->reason = PCR_CHECK_WHY_UNEXPLAINED;
    if (res->from_ima)
        snprintf(
            res->why, sizeof(res->why),
            "the IMA list replays to another value: entries may have been added between reading the list "
            "and the PCR (run again), or something extended PCR 10 without IMA logging it");
    else
        snprintf(res->why, sizeof(res->why),
                 "the log replays to another value: something extended PCR %u without logging it, or the log "
                 "is from another boot; `tagent eventlog` shows its events, `tagent eventlog --replay` the "
                 "values",
                 res->pcr);
    return 1;
}

/* In order; the last one always fits. Add a known cause as one more function here. */
static int (*const explanations[])(const struct bank_view *, struct pcr_check_result *) = {
    explain_not_logged,       explain_not_extended, explain_exit_boot_services,
    explain_startup_locality, explain_unexplained,
};

static int explain(const struct bank_view *v, struct pcr_check_result *res)
{
    for (size_t i = 0; i < sizeof(explanations) / sizeof(explanations[0]); i++) {
        int r = explanations[i](v, res);
        if (r != 0)
            return r;
    }
    return 0;
}

/* ---- the check ---- */

/* The last event extended into each PCR of bank alg (SIZE_MAX: none). */
static void last_events(const struct eventlog *log, uint16_t alg, size_t ret_last[EVENTLOG_PCRS])
{
    for (size_t p = 0; p < EVENTLOG_PCRS; p++)
        ret_last[p] = SIZE_MAX;
    for (size_t i = 0; i < log->n_events; i++) {
        struct eventlog_event e;
        eventlog_event(log, i, &e);
        if (e.type == EV_NO_ACTION || e.pcr >= EVENTLOG_PCRS)
            continue;
        for (uint32_t d = 0; d < e.n_digests; d++)
            if (e.digests[d].alg == alg)
                ret_last[e.pcr] = i;
    }
}

static const struct eventlog_bank *replay_bank(const struct eventlog_pcrs *pcrs, uint16_t alg)
{
    for (uint32_t b = 0; b < pcrs->n_banks; b++)
        if (pcrs->banks[b].alg == alg)
            return &pcrs->banks[b];
    return NULL;
}

/* PCR 10's expected value from the IMA list, when there is one for this bank. */
static bool ima_expected(const struct pcr_check_ima *ima, uint16_t alg, struct pcr_check_result *res)
{
    for (uint32_t b = 0; ima && b < ima->n_banks; b++) {
        if (ima->banks[b].alg != alg)
            continue;
        res->from_ima = true;
        res->n_events = (uint32_t)ima->n_entries;
        res->last_number = ima->last_number;
        res->last_path = ima->n_entries ? ima->last_path : NULL;
        memcpy(res->log_value, ima->banks[b].pcr10, res->size);
        return true;
    }
    return false;
}

/* Whether a PCR of 8-23 is worth a line: the log (or IMA list) has it, or the TPM shows it extended. */
static bool worth_checking(const struct bank_view *v, const struct pcr_check_result *res)
{
    return res->pcr < 8 || res->from_ima || res->n_events ||
           !tpm_value_initial(res->pcr, v->tpm[res->pcr], res->size);
}

static int check_pcr(const struct bank_view *v, const struct pcr_check_ima *ima, uint32_t pcr,
                     const size_t last[EVENTLOG_PCRS], struct pcr_check_report *report)
{
    struct pcr_check_result *res = &report->results[report->n_results];
    memset(res, 0, sizeof(*res));
    res->alg = v->replay->alg;
    res->size = v->replay->size;
    res->pcr = pcr;
    if (!(pcr == 10 && ima_expected(ima, res->alg, res))) {
        res->n_events = v->replay->n_extends[pcr];
        if (res->n_events) {
            struct eventlog_event e;
            eventlog_event(v->log, last[pcr], &e);
            res->last_number = last[pcr] + 1;
            res->last_type = e.type;
            res->last_offset = e.offset;
            memcpy(res->log_value, v->replay->pcr[pcr], res->size);
        } else {
            initial_value(pcr, v->startup_locality, res->size, res->log_value);
        }
    }
    if (!worth_checking(v, res))
        return 0;
    memcpy(res->tpm_value, v->tpm[pcr], res->size);
    res->match = memcmp(res->log_value, res->tpm_value, res->size) == 0;
    report->n_results++;
    if (res->match)
        return 0;
    report->n_mismatches++;
    int r = explain(v, res);
    report->n_explained += r >= 0 && strcmp(res->reason, PCR_CHECK_WHY_UNEXPLAINED) != 0;
    return r < 0 ? r : 0;
}

static int check_bank(const struct eventlog *log, const struct eventlog_pcrs *pcrs, uint16_t alg,
                      const uint8_t (*tpm)[EVENTLOG_MAX_DIGEST], const struct pcr_check_ima *ima,
                      struct pcr_check_report *report)
{
    struct bank_view v = {.log = log, .tpm = tpm, .startup_locality = pcrs->startup_locality};
    size_t last[EVENTLOG_PCRS];
    if (!(v.replay = replay_bank(pcrs, alg))) {
        report->unchecked[report->n_unchecked++] = alg;
        return 0;
    }
    int r = 0;
    last_events(log, alg, last);
    for (uint32_t p = 0; p < EVENTLOG_PCRS && r == 0; p++)
        r = check_pcr(&v, ima, p, last, report);
    return r;
}

int pcr_check(const struct eventlog *log, const struct pcr_check_tpm *tpm, const struct pcr_check_ima *ima,
              struct pcr_check_report **ret_report, char **ret_error)
{
    struct eventlog_pcrs pcrs;
    int r = eventlog_replay(log, &pcrs, ret_error);
    if (r < 0)
        return r;
    if (tpm->n_banks > EVENTLOG_MAX_BANKS)
        return eventlog_fail(ret_error, -EINVAL, "%u TPM banks given, at most %d", tpm->n_banks,
                             EVENTLOG_MAX_BANKS);
    struct pcr_check_report *report = calloc(1, sizeof(*report));
    if (!report)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    for (uint32_t b = 0; b < tpm->n_banks && r == 0; b++)
        r = check_bank(log, &pcrs, tpm->banks[b].alg, tpm->banks[b].pcr, ima, report);
    if (r < 0) {
        free(report);
        return eventlog_fail(ret_error, r, "hashing failed while explaining a mismatch");
    }
    *ret_report = report;
    return 0;
}

void pcr_check_report_free(struct pcr_check_report *report)
{
    free(report);
}
