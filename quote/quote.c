/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TPM2_Quote for HVS. The blob HVS verifies is
 *   u16be attestSize | TPMS_ATTEST | TPMT_SIGNATURE | PCR values (bank-major, PCR ascending)
 * and HVS checks SHA-256(PCR values) == the quote's pcrDigest. Quote and PCR_Read are separate commands, so
 * a PCR extended between them would make an inconsistent blob: we hash what we read and compare it with the
 * pcrDigest the TPM signed, and quote again when they differ.
 */
#include "pcr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#define NONCE_MAX 1024 /* HVS sends 32 bytes; anything much larger is not a nonce */

/* Requested ∩ allocated, in request order, without duplicates. */
static int choose_banks(tpm_t *t, const struct tpm_quote_request *req, uint16_t out[PCR_MAX_BANKS],
                        size_t *ret_n, char **ret_error)
{
    uint16_t strongest_first[PCR_MAX_BANKS];
    size_t n_strongest = pcr_banks_strongest_first(strongest_first);
    const uint16_t *want = req->n_banks ? req->banks : strongest_first;
    size_t n_want = req->n_banks ? req->n_banks : n_strongest, n = 0;

    for (size_t i = 0; i < n_want; i++) {
        if (!pcr_bank_digest_size(want[i]))
            return tpm_error_set(ret_error, -EINVAL, "PCR bank 0x%04x is not one of SHA1, SHA256, SHA384",
                                 want[i]);
        bool allocated = false, dup = false;
        for (size_t a = 0; a < t->n_banks; a++)
            allocated |= t->banks[a] == want[i];
        for (size_t k = 0; k < n; k++)
            dup |= out[k] == want[i];
        if (allocated && !dup && n < PCR_MAX_BANKS)
            out[n++] = want[i];
    }
    if (n == 0) {
        char have[64] = "";
        for (size_t a = 0; a < t->n_banks; a++)
            if (tpm_bank_name(t->banks[a]))
                snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", *have ? ", " : "",
                         tpm_bank_name(t->banks[a]));
        return tpm_error_set(ret_error, -ENOENT,
                             "none of the requested PCR banks is allocated in this TPM (it has: %s)",
                             *have ? have : "none HVS knows");
    }
    /* HVS hashes PCR values only below offset 2304: all three banks of 24 PCRs (2400 bytes) never verify.
     * Drop the weakest bank until the values fit; HVS reads the banks it got from selectedPcrBanks. */
    unsigned count = (unsigned)__builtin_popcount(req->pcr_mask);
    for (;;) {
        size_t total = 0, weakest = 0;
        for (size_t k = 0; k < n; k++) {
            total += pcr_bank_digest_size(out[k]) * count;
            if (pcr_bank_digest_size(out[k]) < pcr_bank_digest_size(out[weakest]))
                weakest = k;
        }
        if (total < TPM_HVS_PCR_BYTES_MAX || n == 1)
            break;
        memmove(&out[weakest], &out[weakest + 1], (n - weakest - 1) * sizeof(out[0]));
        n--;
    }
    *ret_n = n;
    return 0;
}

static void build_selection(const uint16_t *banks, size_t n, uint32_t mask, TPML_PCR_SELECTION *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->count = (UINT32)n;
    for (size_t i = 0; i < n; i++) {
        sel->pcrSelections[i].hash = banks[i];
        sel->pcrSelections[i].sizeofSelect = 3;
        sel->pcrSelections[i].pcrSelect[0] = (BYTE)(mask & 0xff);
        sel->pcrSelections[i].pcrSelect[1] = (BYTE)((mask >> 8) & 0xff);
        sel->pcrSelections[i].pcrSelect[2] = (BYTE)((mask >> 16) & 0xff);
    }
}

/* SHA-256(nonce), or SHA-256(SHA-256(nonce) || tag) when an asset tag is provisioned. */
static void qualifying_data(const struct tpm_quote_request *req, TPM2B_DATA *out)
{
    uint8_t buf[SHA256_DIGEST_LENGTH + TPM_ASSET_TAG_SIZE];
    SHA256(req->nonce, req->nonce_len, buf);
    if (req->tag) {
        memcpy(buf + SHA256_DIGEST_LENGTH, req->tag, TPM_ASSET_TAG_SIZE);
        SHA256(buf, sizeof(buf), buf);
    }
    out->size = SHA256_DIGEST_LENGTH;
    memcpy(out->buffer, buf, SHA256_DIGEST_LENGTH);
}

static int aik_handle(tpm_t *t, char **ret_error)
{
    if (t->aik != ESYS_TR_NONE)
        return 0;
    bool exists;
    int r = tpm_handle_load(t, TPM_HANDLE_AIK, &t->aik, &exists, ret_error);
    if (r == 0 && !exists)
        r = tpm_error_set(ret_error, -ENOENT, "there is no AIK at 0x%08x; run `tagent setup provision-aik`",
                          TPM_HANDLE_AIK);
    return r;
}

/* u16be attestSize | attest | TPMT_SIGNATURE | values. */
static int build_blob(const TPM2B_ATTEST *attest, const TPMT_SIGNATURE *sig, const uint8_t *values,
                      size_t values_len, struct tpm_quote *q, char **ret_error)
{
    uint8_t sig_buf[sizeof(TPMT_SIGNATURE)];
    size_t sig_len = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sig_buf, sizeof(sig_buf), &sig_len) != TSS2_RC_SUCCESS)
        return tpm_error_set(ret_error, -EPROTO, "cannot marshal the quote signature");
    size_t len = 2 + attest->size + sig_len + values_len;
    uint8_t *blob = malloc(len);
    if (!blob)
        return tpm_error_set(ret_error, -ENOMEM, "out of memory");
    uint16_t size_be = htons(attest->size);
    memcpy(blob, &size_be, 2);
    memcpy(blob + 2, attest->attestationData, attest->size);
    memcpy(blob + 2 + attest->size, sig_buf, sig_len);
    memcpy(blob + 2 + attest->size + sig_len, values, values_len);
    q->blob = blob;
    q->blob_len = len;
    return 0;
}

/* One Quote + PCR_Read round. *ret_consistent false: a PCR changed in between; nothing is returned. */
static int quote_once(tpm_t *t, const TPM2B_DATA *qdata, const TPML_PCR_SELECTION *sel, struct tpm_quote *q,
                      bool *ret_consistent, char **ret_error)
{
    static const TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL}; /* the AIK's own: RSASSA-SHA256 */
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TPMS_ATTEST attest;
    uint8_t values[PCR_MAX_BANKS * 24 * 48], digest[SHA256_DIGEST_LENGTH];
    size_t values_len = 0, off = 0;
    *ret_consistent = false;

    TSS2_RC rc = Esys_Quote(t->esys, t->aik, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qdata, &scheme,
                            sel, &quoted, &sig);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, rc, "TPM2_Quote with the AIK", ret_error);
    int r = 0;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off, &attest) !=
            TSS2_RC_SUCCESS ||
        attest.magic != TPM2_GENERATED_VALUE || attest.type != TPM2_ST_ATTEST_QUOTE) {
        r = tpm_error_set(ret_error, -EBADMSG, "the TPM returned a quote that is not a TPMS_ATTEST quote");
        goto out;
    }
    /* Read what the TPM actually quoted (its selection), and check it against what it signed. */
    r = pcr_read_values(t, &attest.attested.quote.pcrSelect, values, sizeof(values), &values_len, ret_error);
    if (r < 0)
        goto out;
    SHA256(values, values_len, digest);
    if (attest.attested.quote.pcrDigest.size != sizeof(digest) ||
        memcmp(attest.attested.quote.pcrDigest.buffer, digest, sizeof(digest)) != 0)
        goto out; /* inconsistent: the caller quotes again */
    r = build_blob(quoted, sig, values, values_len, q, ret_error);
    if (r == 0) {
        q->n_banks = attest.attested.quote.pcrSelect.count;
        for (size_t i = 0; i < q->n_banks; i++)
            q->banks[i] = attest.attested.quote.pcrSelect.pcrSelections[i].hash;
        *ret_consistent = true;
    }
out:
    Esys_Free(quoted);
    Esys_Free(sig);
    return r;
}

static int quote(tpm_t *t, const struct tpm_quote_request *req, struct tpm_quote *q, char **ret_error)
{
    uint16_t banks[PCR_MAX_BANKS];
    size_t n_banks = 0;
    TPML_PCR_SELECTION sel;
    TPM2B_DATA qdata;

    int r = pcr_banks_allocated(t, ret_error);
    if (r == 0)
        r = choose_banks(t, req, banks, &n_banks, ret_error);
    if (r == 0)
        r = aik_handle(t, ret_error);
    if (r < 0)
        return r;
    build_selection(banks, n_banks, req->pcr_mask, &sel);
    qualifying_data(req, &qdata);

    for (unsigned attempt = 1; attempt <= TPM_QUOTE_ATTEMPTS; attempt++) {
        bool consistent;
        r = quote_once(t, &qdata, &sel, q, &consistent, ret_error);
        if (r < 0 || consistent) {
            q->attempts = attempt;
            return r;
        }
    }
    return tpm_error_set(
        ret_error, -EAGAIN,
        "PCRs kept changing between TPM2_Quote and TPM2_PCR_Read (%d attempts); something is "
        "extending PCRs continuously, try again",
        TPM_QUOTE_ATTEMPTS);
}

int tpm_quote(tpm_t *t, const struct tpm_quote_request *req, struct tpm_quote *ret_quote, char **ret_error)
{
    memset(ret_quote, 0, sizeof(*ret_quote));
    if (!req->nonce || !req->nonce_len)
        return tpm_error_set(ret_error, -EINVAL, "the quote request has an empty nonce");
    if (req->nonce_len > NONCE_MAX)
        return tpm_error_set(ret_error, -EINVAL, "the quote nonce is %zu bytes; at most %d are accepted",
                             req->nonce_len, NONCE_MAX);
    if (!req->pcr_mask || req->pcr_mask >> 24)
        return tpm_error_set(ret_error, -EINVAL, "the quote request must select PCRs from 0 to 23");

    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = quote(t, req, ret_quote, ret_error);
    tpm_leave(t);
    return r;
}

void tpm_quote_free(struct tpm_quote *q)
{
    if (!q)
        return;
    free(q->blob);
    memset(q, 0, sizeof(*q));
}
