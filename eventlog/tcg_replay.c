/* SPDX-License-Identifier: BSD-3-Clause */
/* Replaying a TCG event log to PCR values, per bank (TCG PC Client Platform Firmware Profile). */
#include "hex.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define EV_NO_ACTION       0x3
#define EV_EFI_HCRTM_EVENT 0x80000010

/* "StartupLocality\0" + locality: the locality TPM2_Startup ran in (3, or 4 for an H-CRTM) is PCR 0's
 * initial last byte. Returns -1 when e is not that event. */
static int startup_locality(const struct eventlog_event *e)
{
    static const char sig[] = "StartupLocality";
    if (e->type == EV_NO_ACTION && e->pcr == 0 && e->data_len >= sizeof(sig) + 1 &&
        memcmp(e->data, sig, sizeof(sig)) == 0)
        return e->data[sizeof(sig)];
    return -1;
}

/* H-CRTM: before TPM2_Startup the TPM completes the H-CRTM's hash, resets PCR 0 to 00..04 and extends that
 * hash (TPM 2.0 Library Part 1 "H-CRTM", Part 3 _TPM_Hash_End); the log records it as an EV_EFI_HCRTM_EVENT
 * whose digest is that hash (TCG PFP). So the event sets the 00..04 start and is then extended like any
 * other. Only as the first measurement into PCR 0 of the bank: later, the TPM could not reset PCR 0, and
 * letting a log do so would let it discard the measurements before it. Returns whether it applied. */
static bool hcrtm_start(struct eventlog_bank *b, const struct eventlog_event *e)
{
    if (e->type != EV_EFI_HCRTM_EVENT || e->pcr != 0 || b->n_extends[0] != 0)
        return false;
    memset(b->pcr[0], 0, b->size);
    b->pcr[0][b->size - 1] = 4;
    return true;
}

int eventlog_replay(const struct eventlog *log, struct eventlog_pcrs *ret, char **ret_error)
{
    int bank_of_alg[EVENTLOG_MAX_BANKS];
    memset(ret, 0, sizeof(*ret));
    if (ret_error)
        *ret_error = NULL;

    for (uint32_t i = 0; i < log->n_algs; i++) {
        bank_of_alg[i] = -1;
        if (!digest_supported(log->algs[i].alg))
            continue; /* a bank we cannot hash (an unknown algorithm): not replayed */
        struct eventlog_bank *b = &ret->banks[ret->n_banks];
        b->alg = log->algs[i].alg;
        b->size = log->algs[i].size;
        bank_of_alg[i] = (int)ret->n_banks++;
    }

    int r = 0;
    for (size_t i = 0; i < log->n_events && r == 0; i++) {
        struct eventlog_event ev, *e = &ev;
        eventlog_event(log, i, &ev);
        int locality = startup_locality(e);
        if (locality >= 0 && !ret->startup_locality) {
            /* The event comes before any PCR 0 measurement (TCG PFP); set the start value of every bank. */
            ret->startup_locality = (uint8_t)locality;
            for (uint32_t b = 0; b < ret->n_banks; b++)
                if (!ret->banks[b].n_extends[0])
                    ret->banks[b].pcr[0][ret->banks[b].size - 1] = (uint8_t)locality;
        }
        if (e->type == EV_NO_ACTION)
            continue; /* not extended (TCG PFP) */
        for (uint32_t d = 0; d < e->n_digests && r == 0; d++) {
            for (uint32_t a = 0; a < log->n_algs; a++) {
                if (log->algs[a].alg != e->digests[d].alg || bank_of_alg[a] < 0)
                    continue;
                struct eventlog_bank *b = &ret->banks[bank_of_alg[a]];
                if (hcrtm_start(b, e))
                    ret->hcrtm = true;
                r = eventlog_extend(b->alg, b->pcr[e->pcr], b->size, e->digests[d].value);
                b->n_extends[e->pcr]++;
            }
        }
    }
    if (r < 0 && ret_error && asprintf(ret_error, "hashing failed while replaying the log") < 0)
        *ret_error = NULL;
    return r;
}

char *eventlog_pcrs_json(const struct eventlog_pcrs *pcrs)
{
    cJSON *root = cJSON_CreateObject(), *banks = cJSON_AddObjectToObject(root, "pcrs");
    cJSON *counts = cJSON_AddObjectToObject(root, "events");
    cJSON_AddNumberToObject(root, "startup_locality", pcrs->startup_locality);
    cJSON_AddBoolToObject(root, "hcrtm", pcrs->hcrtm);
    for (uint32_t i = 0; i < pcrs->n_banks && banks && counts; i++) {
        const struct eventlog_bank *b = &pcrs->banks[i];
        const char *name = eventlog_alg_name(b->alg);
        char alg[16], key[4], value[2 * EVENTLOG_MAX_DIGEST + 1];
        if (!name) {
            snprintf(alg, sizeof(alg), "0x%04x", b->alg);
            name = alg;
        }
        cJSON *bank = cJSON_AddObjectToObject(banks, name), *count = cJSON_AddObjectToObject(counts, name);
        for (int p = 0; p < EVENTLOG_PCRS && bank && count; p++) {
            if (!b->n_extends[p])
                continue;
            snprintf(key, sizeof(key), "%d", p);
            hex_encode(b->pcr[p], b->size, value);
            cJSON_AddStringToObject(bank, key, value);
            cJSON_AddNumberToObject(count, key, b->n_extends[p]);
        }
    }
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    return out;
}
