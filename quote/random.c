/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM's random number generator, and closing the unseal window: after the LUKS passphrase is unsealed a
 * policy PCR is extended with a fixed marker (docs/tep-formats.md section 1), so no signed state matches
 * again before the next boot. */
#include "tpm_internal.h"
#include "pcr.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* What the closing PCR is extended with, hashed with each bank's algorithm. */
#define CLOSE_UNSEAL_MARKER "tagent: sealed secret consumed"

/* TPM2_GetRandom gives at most the size of the largest digest per call (32 bytes on a SHA-256 TPM; less is
 * allowed), so ask for at most that and keep what came back. */
static int get_random(tpm_t *t, uint8_t *buf, size_t len, char **ret_error)
{
    for (size_t off = 0; off < len;) {
        size_t want = len - off < 32 ? len - off : 32;
        TPM2B_DIGEST *part = NULL;
        TSS2_RC rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)want, &part);
        if (rc != TSS2_RC_SUCCESS)
            return tpm_fail(t, rc, "asking the TPM for random bytes", ret_error);
        size_t got = part->size < want ? part->size : want;
        memcpy(buf + off, part->buffer, got);
        OPENSSL_cleanse(part, sizeof(*part));
        Esys_Free(part);
        if (got == 0)
            return tpm_error_set(ret_error, -EPROTO, "TPM2_GetRandom returned no bytes");
        off += got;
    }
    return 0;
}

int tpm_get_random(tpm_t *t, uint8_t *buf, size_t len, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = get_random(t, buf, len, ret_error);
    tpm_leave(t);
    if (r < 0 && len)
        OPENSSL_cleanse(buf, len);
    return r;
}

static const EVP_MD *bank_md(uint16_t alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1: return EVP_sha1();
    case TPM2_ALG_SHA256: return EVP_sha256();
    case TPM2_ALG_SHA384: return EVP_sha384();
    case TPM2_ALG_SHA512: return EVP_sha512();
    }
    return NULL;
}

static int close_unseal(tpm_t *t, uint32_t pcr, char **ret_error)
{
    if (pcr > 23)
        return tpm_error_set(ret_error, -EINVAL, "PCR %u does not exist (0..23)", pcr);
    int r = pcr_banks_allocated(t, ret_error);
    if (r < 0)
        return r;
    TPML_DIGEST_VALUES values = {0};
    for (size_t i = 0; i < t->n_banks && values.count < TPM2_NUM_PCR_BANKS; i++) {
        const EVP_MD *md = bank_md(t->banks[i]);
        unsigned n = 0;
        /* A bank without a hash OpenSSL knows (SM3) cannot hold a signed state: policies use SHA-256/384. */
        if (!md)
            continue;
        TPMT_HA *d = &values.digests[values.count];
        d->hashAlg = t->banks[i];
        if (!EVP_Digest(CLOSE_UNSEAL_MARKER, strlen(CLOSE_UNSEAL_MARKER), (unsigned char *)&d->digest, &n, md,
                        NULL))
            return tpm_error_set(ret_error, -EIO, "hashing the closing marker failed (OpenSSL)");
        values.count++;
    }
    if (!values.count)
        return tpm_error_set(ret_error, -EOPNOTSUPP, "the TPM has no SHA PCR bank to extend");
    tpm_set_auth(t, ESYS_TR_PCR0 + pcr, NULL); /* PCRs 0..23 have an empty authValue */
    TSS2_RC rc =
        Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
    return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(t, rc, "extending the closing PCR", ret_error);
}

int tpm_close_unseal(tpm_t *t, uint32_t pcr, char **ret_error)
{
    int r = tpm_enter(t, ret_error);
    if (r < 0)
        return r;
    r = close_unseal(t, pcr, ret_error);
    tpm_leave(t);
    return r;
}
