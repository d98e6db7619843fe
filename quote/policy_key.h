/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to quote/: the owner's policy key and its signatures in TPM form (policy_key.c). */
#ifndef TAGENT_QUOTE_POLICY_KEY_H
#define TAGENT_QUOTE_POLICY_KEY_H

#include <openssl/evp.h>

#include "tpm_internal.h"

struct policy_key {
    TPM2B_PUBLIC pub;   /* for TPM2_LoadExternal */
    TPMI_ALG_HASH hash; /* nameAlg = signature hash: SHA-256 for P-256, SHA-384 for P-384 */
    const EVP_MD *md;
    size_t coord_size; /* 32 / 48 */
};

/* DER SubjectPublicKeyInfo -> tpm2_loadexternal's public area (spec 2.1); -EBADMSG for anything but
 * P-256/384. */
int policy_key_public(const uint8_t *spki, size_t len, struct policy_key *ret, char **ret_error);
/* DER ECDSA-Sig-Value -> TPMT_SIGNATURE{ECDSA, key's hash, r, s zero-padded}; -EBADMSG when malformed. */
int policy_key_signature(const struct policy_key *key, const uint8_t *der, size_t len,
                         TPMT_SIGNATURE *ret_sig, char **ret_error);
/* aHash = H_nameAlg(approved || empty policyRef): what the signature signs. */
int policy_key_ahash(const struct policy_key *key, const uint8_t approved[32], TPM2B_DIGEST *ret,
                     char **ret_error);

#endif
