/* SPDX-License-Identifier: BSD-3-Clause */
/* tagent-admin luks: PCR bank and list arguments, and the expected PCR values a policy is signed for. */
#include "admin.h"
#include "admin_luks.h"
#include "cleanup.h"
#include "error.h"
#include "eventlog.h"
#include "tcg_alg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int admin_luks_bank_parse(const char *s, uint16_t *ret_bank, char **ret_error)
{
    if (strcmp(s, "sha256") == 0)
        *ret_bank = TCG_ALG_SHA256;
    else if (strcmp(s, "sha384") == 0)
        *ret_bank = TCG_ALG_SHA384;
    else
        return error_set(ret_error, -EINVAL, "--pcr-bank %s: the LUKS policy uses the sha256 or sha384 bank",
                         s);
    return 0;
}

const char *admin_luks_bank_name(uint16_t bank)
{
    return bank == TCG_ALG_SHA384 ? "sha384" : "sha256";
}

int admin_luks_pcrs_parse(const char *s, uint32_t *ret_mask, char **ret_error)
{
    uint32_t mask = 0;
    long last = -1;
    const char *p = s;
    while (*p) {
        char *end = (char *)p;
        long i = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1; /* no sign, no blank */
        if (i < 0 || i <= last || i >= LUKS_POLICY_PCRS || (*end && *end != ',') || (*end == ',' && !end[1]))
            return error_set(ret_error, -EINVAL,
                             "--pcrs %s: give PCR indexes 0-23 in ascending order, separated by commas "
                             "(e.g. 0,7,10)",
                             s);
        mask |= 1u << i;
        last = i;
        p = *end ? end + 1 : end;
    }
    if (!mask)
        return error_set(ret_error, -EINVAL, "--pcrs is empty: give at least one PCR (e.g. 0,7,10)");
    *ret_mask = mask;
    return 0;
}

void admin_luks_pcrs_format(uint32_t mask, const char *sep, char *out, size_t size)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned i = 0; i < LUKS_POLICY_PCRS && n < size; i++)
        if (mask & (1u << i))
            n += (size_t)snprintf(out + n, size - n, "%s%u", n ? sep : "", i);
}

void admin_luks_pol_file_name(uint32_t mask, char *out, size_t size)
{
    char list[80];
    admin_luks_pcrs_format(mask, "_", list, sizeof(list));
    snprintf(out, size, "pcr%s.pcr.policy", list);
}

static unsigned popcount(uint32_t m)
{
    unsigned n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

int admin_luks_state_from_values(const char *path, uint16_t bank, uint32_t mask, struct luks_pcr_state *ret,
                                 char **ret_error)
{
    size_t size = tcg_alg_size(bank), want = popcount(mask) * size, len = 0;
    uint8_t *buf = NULL;
    int r = admin_file_read(path, LUKS_POLICY_PCRS * LUKS_POLICY_MAX_DIGEST, &buf, &len, ret_error);
    if (r < 0)
        return r;
    if (len != want) {
        char list[80];
        admin_luks_pcrs_format(mask, ",", list, sizeof(list));
        OPENSSL_free(buf);
        return error_set(ret_error, -EINVAL,
                         "--pcr-val-file %s has %zu bytes, but %u %s PCRs take %zu: write it with "
                         "`tpm2_pcrread %s:%s -o %s` (the same bank and PCRs as --pcr-bank and --pcrs)",
                         path, len, popcount(mask), admin_luks_bank_name(bank), want,
                         admin_luks_bank_name(bank), list, path);
    }
    *ret = (struct luks_pcr_state){.bank = bank, .pcr_mask = mask};
    for (unsigned i = 0, off = 0; i < LUKS_POLICY_PCRS; i++)
        if (mask & (1u << i)) {
            memcpy(ret->values[i], buf + off, size);
            off += (unsigned)size;
        }
    OPENSSL_free(buf);
    return 0;
}

int admin_luks_state_from_eventlog(const char *path, uint16_t bank, uint32_t mask, struct luks_pcr_state *ret,
                                   char **ret_error)
{
    struct eventlog *log = NULL;
    struct eventlog_pcrs *pcrs = calloc(1, sizeof(*pcrs)); /* 8 banks of 24 PCRs: not for the stack */
    _cleanup_free_ char *err = NULL;
    if (!pcrs)
        return error_set(ret_error, -ENOMEM, "out of memory replaying %s", path);
    int r = eventlog_load(path, &EVENTLOG_LIMITS_DEFAULT, &log, &err);
    if (r == 0)
        r = eventlog_replay(log, pcrs, &err);
    eventlog_free(log);
    if (r < 0) {
        free(pcrs);
        return error_set(ret_error, r, "--eventlog %s: %s", path, err ? err : "out of memory");
    }
    const struct eventlog_bank *b = NULL;
    for (uint32_t i = 0; i < pcrs->n_banks; i++)
        if (pcrs->banks[i].alg == bank)
            b = &pcrs->banks[i];
    if (!b) {
        free(pcrs);
        return error_set(ret_error, -ENOENT,
                         "--eventlog %s has no %s bank: choose a --pcr-bank the log measures, or sign from "
                         "values read on the device (--pcr-val-file)",
                         path, admin_luks_bank_name(bank));
    }
    *ret = (struct luks_pcr_state){.bank = bank, .pcr_mask = mask};
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (mask & (1u << i)) {
            memcpy(ret->values[i], b->pcr[i], tcg_alg_size(bank));
            /* PCR 10 is IMA's: the firmware log never extends it, so it is signed at its reset value, which
             * is right only when nothing extends it before the LUKS volume opens. */
            if (!b->n_extends[i])
                fprintf(
                    stderr,
                    "tagent-admin: warning: %s never extends PCR %u: it is signed at its reset value "
                    "(zeros%s); a device where something else extends PCR %u before the volume opens will "
                    "not match\n",
                    path, i, i == 0 ? " with the locality" : "", i);
        }
    free(pcrs);
    return 0;
}
