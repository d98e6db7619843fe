/* SPDX-License-Identifier: BSD-3-Clause */
/* PCR banks (what the TPM has allocated) and reading PCR values for a selection, in selection order. */
#include "pcr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The banks HVS knows are the algorithms common/tcg_alg.h marks hvs_pcr_bank; anything else is no bank here.
 */
static bool hvs_bank(uint16_t alg)
{
    const struct tcg_alg *a = tcg_alg_from_id(alg);
    return a && a->hvs_pcr_bank;
}

const char *tpm_bank_name(uint16_t alg)
{
    return hvs_bank(alg) ? tcg_alg_name(alg) : NULL;
}

size_t pcr_bank_digest_size(uint16_t alg)
{
    return hvs_bank(alg) ? tcg_alg_size(alg) : 0;
}

size_t pcr_banks_strongest_first(uint16_t ret_banks[PCR_MAX_BANKS])
{
    size_t n_algs, n = 0;
    const struct tcg_alg *algs = tcg_algs(&n_algs);
    for (size_t i = 0; i < n_algs && n < PCR_MAX_BANKS; i++) {
        if (!algs[i].hvs_pcr_bank)
            continue;
        size_t k = n++;
        for (; k > 0 && pcr_bank_digest_size(ret_banks[k - 1]) < algs[i].size; k--)
            ret_banks[k] = ret_banks[k - 1];
        ret_banks[k] = algs[i].id;
    }
    return n;
}

int pcr_banks_allocated(tpm_t *t, char **ret_error)
{
    if (t->n_banks)
        return 0;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS, 0, 1,
                                    NULL, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "reading the PCR banks", ret_error);
    const TPML_PCR_SELECTION *sel = &cap->data.assignedPCR;
    for (UINT32 i = 0; i < sel->count && t->n_banks < 8; i++) {
        bool any = false;
        for (UINT8 b = 0; b < sel->pcrSelections[i].sizeofSelect; b++)
            any |= sel->pcrSelections[i].pcrSelect[b] != 0;
        if (any)
            t->banks[t->n_banks++] = sel->pcrSelections[i].hash;
    }
    Esys_Free(cap);
    if (!t->n_banks)
        return tpm_error_set(ret_error, -ENODEV, "the TPM has no PCR bank allocated");
    return 0;
}

int tpm_pcr_banks(tpm_t *t, uint16_t ret_banks[8], size_t *ret_n, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = pcr_banks_allocated(t, ret_error);
    if (r == 0) {
        memcpy(ret_banks, t->banks, t->n_banks * sizeof(t->banks[0]));
        *ret_n = t->n_banks;
    }
    tpm_leave(t);
    return r;
}

/* Index of (bank i, pcr p) in a flat [3][24] table. */
#define SLOT(i, p) ((i)*24 + (p))

static int bank_index(const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH alg)
{
    for (UINT32 i = 0; i < sel->count; i++)
        if (sel->pcrSelections[i].hash == alg)
            return (int)i;
    return -1;
}

int pcr_read_values(tpm_t *t, const TPML_PCR_SELECTION *sel, uint8_t *out, size_t cap, size_t *ret_len,
                    char **ret_error)
{
    if (sel->count > PCR_MAX_BANKS)
        return tpm_error_set(ret_error, -EINVAL, "more than %d PCR banks selected", PCR_MAX_BANKS);
    TPM2B_DIGEST values[PCR_MAX_BANKS * 24];
    bool have[PCR_MAX_BANKS * 24] = {0};
    TPML_PCR_SELECTION left = *sel;

    /* PCR_Read returns at most 8 digests per call and says which ones: remove them and ask again. */
    for (int round = 0; round < PCR_MAX_BANKS * 24; round++) {
        bool pending = false;
        for (UINT32 i = 0; i < left.count; i++)
            for (UINT8 b = 0; b < left.pcrSelections[i].sizeofSelect; b++)
                pending |= left.pcrSelections[i].pcrSelect[b] != 0;
        if (!pending)
            break;
        TPML_PCR_SELECTION *got = NULL;
        TPML_DIGEST *digests = NULL;
        TSS2_RC rc =
            Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left, NULL, &got, &digests);
        if (rc != TSS2_RC_SUCCESS)
            return tpm_fail(t, rc, "reading PCR values", ret_error);
        UINT32 d = 0;
        for (UINT32 i = 0; i < got->count; i++) {
            int bi = bank_index(sel, got->pcrSelections[i].hash);
            for (UINT32 p = 0; p < 24 && bi >= 0; p++) {
                if (p / 8 >= got->pcrSelections[i].sizeofSelect ||
                    !(got->pcrSelections[i].pcrSelect[p / 8] & (1u << (p % 8))))
                    continue;
                if (d < digests->count) {
                    values[SLOT(bi, p)] = digests->digests[d++];
                    have[SLOT(bi, p)] = true;
                }
                left.pcrSelections[bi].pcrSelect[p / 8] &= (BYTE) ~(1u << (p % 8));
            }
        }
        bool progress = d > 0;
        Esys_Free(got);
        Esys_Free(digests);
        if (!progress)
            return tpm_error_set(ret_error, -EIO, "the TPM returned no value for some selected PCRs");
    }

    size_t len = 0;
    for (UINT32 i = 0; i < sel->count; i++) {
        /* Any bank's digest size, not only the banks HVS knows: `eventlog --check` reads SHA512 too. */
        size_t size = tcg_alg_size(sel->pcrSelections[i].hash);
        for (UINT32 p = 0; p < 24; p++) {
            if (p / 8 >= sel->pcrSelections[i].sizeofSelect ||
                !(sel->pcrSelections[i].pcrSelect[p / 8] & (1u << (p % 8))))
                continue;
            if (!have[SLOT(i, p)] || !size || values[SLOT(i, p)].size != size || len + size > cap)
                return tpm_error_set(ret_error, -EIO, "PCR %u of bank %s (0x%04x) could not be read", p,
                                     size ? tcg_alg_name(sel->pcrSelections[i].hash) : "?",
                                     sel->pcrSelections[i].hash);
            memcpy(out + len, values[SLOT(i, p)].buffer, size);
            len += size;
        }
    }
    *ret_len = len;
    return 0;
}

int tpm_pcr_read(tpm_t *t, uint16_t alg, uint32_t pcr_mask, uint8_t ret_values[24][64], char **ret_error)
{
    size_t size = tcg_alg_size(alg), len = 0;
    if (!size || size > 64)
        return tpm_error_set(ret_error, -EOPNOTSUPP, "tagent does not know the digest size of bank 0x%04x",
                             alg);
    TPML_PCR_SELECTION sel = {.count = 1, .pcrSelections[0] = {.hash = alg, .sizeofSelect = 3}};
    pcr_mask &= 0xffffffu;
    for (unsigned p = 0; p < 3; p++)
        sel.pcrSelections[0].pcrSelect[p] = (BYTE)(pcr_mask >> (8 * p));
    uint8_t values[24 * 64];
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = pcr_read_values(t, &sel, values, sizeof(values), &len, ret_error);
    tpm_leave(t);
    if (r < 0)
        return r;
    /* pcr_read_values packs the selected PCRs in ascending order: spread them to their slots. */
    for (unsigned p = 0, k = 0; p < 24; p++)
        if (pcr_mask & (1u << p))
            memcpy(ret_values[p], values + size * k++, size);
    return 0;
}
