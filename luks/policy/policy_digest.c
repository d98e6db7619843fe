/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy digests (spec 2.1, byte-equal to tpm2-tools' trial sessions: tests/unit/test_luks_policy.c):
 *   PolicyPCR       = H(old || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || H(selected PCR values, ascending))
 *   PolicyNV        = H(old || TPM_CC_PolicyNV || H(operandB || offset || operation) || nvIndexName)
 *   PolicyAuthorize = H(H(old || TPM_CC_PolicyAuthorize || keyName) || policyRef)
 * H is SHA-256: the session's hash, whatever the PCR bank.
 */
#include "cleanup_openssl.h"
#include "error.h"
#include "luks_policy.h"
#include "policy_internal.h"
#include "tcg_alg.h"

#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <tss2/tss2_mu.h>

/* TPM_EO_EQ: the index must hold exactly the version the owner signed; a raised index revokes it. */
#define TPM_EO_EQ 0x0000u

void policy_be32(uint32_t v, uint8_t out[4])
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

int policy_hash(const char *md_name, const struct hash_part *parts, size_t n, uint8_t *out)
{
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_MD *md = EVP_MD_fetch(NULL, md_name, NULL);
    int ok = ctx && md && EVP_DigestInit_ex(ctx, md, NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_free(md);
    if (!ok) {
        ERR_clear_error();
        return ctx ? -EIO : -ENOMEM;
    }
    return 0;
}

static int hash_failed(int r, const char *what, char **ret_error)
{
    return error_set(ret_error, r, "computing %s: OpenSSL's SHA-256 failed", what);
}

static int policy_pcr(uint8_t digest[LUKS_POLICY_DIGEST], const struct luks_pcr_state *s, char **ret_error)
{
    size_t size = tcg_alg_size(s->bank);
    if (s->bank != TCG_ALG_SHA256 && s->bank != TCG_ALG_SHA384)
        return error_set(ret_error, -EINVAL, "PCR bank 0x%04x: only sha256 and sha384 are supported",
                         s->bank);
    if (s->pcr_mask == 0 || s->pcr_mask >> LUKS_POLICY_PCRS)
        return error_set(ret_error, -EINVAL, "PCR selection 0x%08x: choose at least one PCR, each below 24",
                         s->pcr_mask);
    /* A 3-byte pcrSelect, as tpm2-tools and the TPM's 24 PCRs have it. */
    TPML_PCR_SELECTION sel = {
        .count = 1,
        .pcrSelections[0] = {
            .hash = s->bank,
            .sizeofSelect = 3,
            .pcrSelect = {(uint8_t)s->pcr_mask, (uint8_t)(s->pcr_mask >> 8), (uint8_t)(s->pcr_mask >> 16)}}};
    uint8_t sel_buf[sizeof(TPML_PCR_SELECTION)];
    size_t sel_len = 0;
    if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, sel_buf, sizeof(sel_buf), &sel_len) != TSS2_RC_SUCCESS)
        return error_set(ret_error, -EINVAL, "marshaling the PCR selection failed");

    struct hash_part values[LUKS_POLICY_PCRS];
    size_t n = 0;
    for (unsigned i = 0; i < LUKS_POLICY_PCRS; i++)
        if (s->pcr_mask & (1u << i))
            values[n++] = (struct hash_part){s->values[i], size};
    uint8_t pcr_digest[LUKS_POLICY_DIGEST];
    int r = policy_hash("SHA256", values, n, pcr_digest);
    if (r < 0)
        return hash_failed(r, "the PCR digest", ret_error);

    uint8_t cc[4];
    policy_be32(LUKS_TPM_CC_POLICY_PCR, cc);
    struct hash_part parts[] = {{digest, LUKS_POLICY_DIGEST}, {cc, 4}, {sel_buf, sel_len}, {pcr_digest, 32}};
    r = policy_hash("SHA256", parts, 4, digest);
    return r < 0 ? hash_failed(r, "PolicyPCR", ret_error) : 0;
}

static int policy_nv_version(uint8_t digest[LUKS_POLICY_DIGEST], uint64_t version, char **ret_error)
{
    /* operandB: the 8 bytes the index holds (big-endian), compared from offset 0. */
    uint8_t args[8 + 2 + 2] = {0};
    for (int i = 7; i >= 0; i--, version >>= 8)
        args[i] = (uint8_t)version;
    args[8] = 0, args[9] = 0; /* offset */
    args[10] = (uint8_t)(TPM_EO_EQ >> 8), args[11] = (uint8_t)TPM_EO_EQ;
    uint8_t args_hash[32];
    int r = policy_hash("SHA256", &(struct hash_part){args, sizeof(args)}, 1, args_hash);
    if (r < 0)
        return hash_failed(r, "PolicyNV's arguments", ret_error);

    uint8_t name[34], cc[4];
    luks_policy_version_nv_name(name);
    policy_be32(LUKS_TPM_CC_POLICY_NV, cc);
    struct hash_part parts[] = {{digest, LUKS_POLICY_DIGEST}, {cc, 4}, {args_hash, 32}, {name, sizeof(name)}};
    r = policy_hash("SHA256", parts, 4, digest);
    return r < 0 ? hash_failed(r, "PolicyNV", ret_error) : 0;
}

int luks_policy_approved(const struct luks_pcr_state *state, uint8_t ret_digest[LUKS_POLICY_DIGEST],
                         char **ret_error)
{
    uint8_t digest[LUKS_POLICY_DIGEST] = {0};
    int r = policy_pcr(digest, state, ret_error);
    if (r == 0 && state->has_version)
        r = policy_nv_version(digest, state->version, ret_error);
    if (r == 0)
        memcpy(ret_digest, digest, LUKS_POLICY_DIGEST);
    return r;
}

int luks_policy_authorized(const uint8_t *key_name, size_t key_name_len,
                           uint8_t ret_digest[LUKS_POLICY_DIGEST], char **ret_error)
{
    if (key_name_len < 2 + 32 || key_name_len > LUKS_POLICY_MAX_NAME)
        return error_set(ret_error, -EINVAL,
                         "a key Name of %zu bytes: a SHA-256 or SHA-384 Name has 34 or 50", key_name_len);
    uint8_t zero[LUKS_POLICY_DIGEST] = {0}, cc[4], inner[LUKS_POLICY_DIGEST];
    policy_be32(LUKS_TPM_CC_POLICY_AUTHORIZE, cc);
    struct hash_part parts[] = {{zero, sizeof(zero)}, {cc, 4}, {key_name, key_name_len}};
    int r = policy_hash("SHA256", parts, 3, inner);
    /* Then the policyRef, empty: the TPM hashes the digest once more on its own. */
    if (r == 0)
        r = policy_hash("SHA256", &(struct hash_part){inner, sizeof(inner)}, 1, ret_digest);
    return r < 0 ? hash_failed(r, "PolicyAuthorize", ret_error) : 0;
}
