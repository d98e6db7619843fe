/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks/policy/: the policy math and the signed-state file shared by tagent (device: which signed state fits
 * the PCRs now) and tagent-admin (owner: what to sign), so the two cannot drift. Pure: OpenSSL, tss2-mu and
 * cJSON, no TPM. docs/tep-formats.md section 5 is the contract; tpm2-tools' trial sessions are the oracle.
 *
 * The policy a sealed passphrase carries (its authPolicy) is PolicyAuthorize(owner's key): authorized.policy.
 * What the owner signs (approvedPolicy, "pol") is, from a zero digest, PolicyPCR(bank: pcrs = values) and,
 * with a version, PolicyNV(NV 0x018A0001 == version, 8 bytes big-endian, offset 0, TPM_EO_EQ). The policy
 * session's hash is SHA-256 whatever the PCR bank (spec 2.1); the signature is ECDSA with the key's own hash
 * (P-256: SHA-256, P-384: SHA-384) over the 32-byte digest, as `openssl dgst -shaN -sign` makes it.
 */
#ifndef TAGENT_LUKS_POLICY_H
#define TAGENT_LUKS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUKS_POLICY_DIGEST     32 /* SHA-256 policy digests */
#define LUKS_POLICY_PCRS       24
#define LUKS_POLICY_MAX_DIGEST 48 /* PCR values: SHA-256 or SHA-384 banks */
#define LUKS_POLICY_MAX_NAME   66 /* a TPM Name: nameAlg + digest */
#define LUKS_POLICY_MAX_SIG    139
#define LUKS_VERSION_NV_INDEX  0x018A0001u
#define LUKS_DEFAULT_PCRS      ((1u << 0) | (1u << 7) | (1u << 10))
/* The largest version signed-states.json carries exactly (a JSON number is a double): 2^53 - 1. */
#define LUKS_POLICY_MAX_VERSION 9007199254740991ull

/* What one signed policy commits to. */
struct luks_pcr_state {
    uint16_t bank;     /* TPM_ALG_SHA256 (0x000B) or TPM_ALG_SHA384 (0x000C) */
    uint32_t pcr_mask; /* bit i = PCR i */
    uint8_t values[LUKS_POLICY_PCRS]
                  [LUKS_POLICY_MAX_DIGEST]; /* the expected values of the PCRs in the mask */
    bool has_version;
    uint64_t version; /* PolicyNV(LUKS_VERSION_NV_INDEX == version) when has_version */
};

/* PolicyPCR(bank, mask, values) then, with a version, PolicyNV: the approvedPolicy the owner signs. */
int luks_policy_approved(const struct luks_pcr_state *state, uint8_t ret_digest[LUKS_POLICY_DIGEST],
                         char **ret_error);

/* The Name TPM2_LoadExternal gives the owner's public key (DER SPKI; P-256 or P-384) with the template of
 * spec 2.1 (userwithauth|decrypt|sign, nameAlg by curve, scheme/kdf/symmetric NULL): what PolicyAuthorize
 * names. */
int luks_policy_key_name(const uint8_t *spki, size_t spki_len, uint8_t ret_name[LUKS_POLICY_MAX_NAME],
                         size_t *ret_name_len, char **ret_error);

/* authorized.policy: PolicyAuthorize(key name, empty policyRef) from a zero digest. */
int luks_policy_authorized(const uint8_t *key_name, size_t key_name_len,
                           uint8_t ret_digest[LUKS_POLICY_DIGEST], char **ret_error);

/* The Name of NV LUKS_VERSION_NV_INDEX as provision-device defines it (8 bytes, SHA-256 nameAlg,
 * ownerwrite|ownerread|authread|no_da, written): what PolicyNV names. */
void luks_policy_version_nv_name(uint8_t ret_name[34]);

/* ---- the signed-state file (docs/tep-formats.md 5.3; systemd's fields) ----
 * {"sha256": [{"pcrs": [0,7,10], "pkfp": hex SHA-256(SPKI), "pol": hex approvedPolicy, "sig": base64 DER,
 *              "version": N (when signed with one), "pcr_values": {"0": hex, ...} (informational)}], ...} */

struct luks_signed_state {
    struct luks_pcr_state state; /* values are informational: never trusted for a decision */
    bool has_values;
    uint8_t pkfp[32];
    uint8_t pol[LUKS_POLICY_DIGEST];
    uint8_t sig[LUKS_POLICY_MAX_SIG];
    size_t sig_len;
};

struct luks_signed_states {
    size_t n;
    struct luks_signed_state *states;
};

/* Strict: unknown keys, wrong types, bad hex/base64, banks other than sha256/sha384 are errors naming the
 * entry. */
int luks_signed_states_parse(const char *json, size_t len, struct luks_signed_states *ret, char **ret_error);
/* Pretty JSON of all states (caller frees). */
char *luks_signed_states_format(const struct luks_signed_states *states);
/* Appends a copy of *s. */
int luks_signed_states_add(struct luks_signed_states *states, const struct luks_signed_state *s);
void luks_signed_states_clear(struct luks_signed_states *states);

#endif
