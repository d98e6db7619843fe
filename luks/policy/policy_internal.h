/* SPDX-License-Identifier: BSD-3-Clause */
/* luks/policy/'s private helpers: one running hash over several parts, TPM command codes. */
#ifndef TAGENT_LUKS_POLICY_INTERNAL_H
#define TAGENT_LUKS_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* TPM 2.0 Part 2, TPM_CC: what each policy command extends into the session digest. */
#define LUKS_TPM_CC_POLICY_NV        0x00000149u
#define LUKS_TPM_CC_POLICY_AUTHORIZE 0x0000016Au
#define LUKS_TPM_CC_POLICY_PCR       0x0000017Fu

struct hash_part {
    const void *data;
    size_t len;
};

/* out = H_md(parts[0] || ... || parts[n-1]); md is OpenSSL's name ("SHA256", "SHA384"). -ENOMEM or -EIO
 * (OpenSSL failed; its error queue is cleared: nothing to report but the failure). */
int policy_hash(const char *md, const struct hash_part *parts, size_t n, uint8_t *out);

/* The 4 big-endian bytes of v. */
void policy_be32(uint32_t v, uint8_t out[4]);

#endif
