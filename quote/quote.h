/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * quote/: every TPM access of the agent, through tpm2-tss ESAPI.
 *
 * One tpm_t per TPM. Every public function takes the context's mutex, so callers on several threads are
 * serialized, never interleaved. No transient object or session stays loaded after a call returns, whether
 * it succeeded or not. When the TPM link breaks (swtpm gone, TCTI I/O error) the ESAPI context is torn down
 * and the next call opens it again, so a restarted TPM is picked up without restarting the agent.
 *
 * Errors: functions return 0 or a negative errno. On failure *ret_error (caller frees) is a message a person
 * can act on ("the owner secret is wrong (TPM_OWNER_SECRET)", "TPM is in dictionary-attack lockout; ...");
 * a failure that came from the TSS ends with its response code, "(TPM_RC 0x98e)", for whoever needs to know
 * exactly what the TPM said. Each TSS2_RC is translated once, here. ret_error may be NULL; it is left alone
 * on success, and NULL after a failure means out of memory.
 *
 * Secrets (owner/endorsement auth, tag secret, credential output) cross the TPM bus only inside salted,
 * parameter-encrypted HMAC sessions; the salt key is the SRK once its Name is recorded (tpm_set_srk_name),
 * else a transient ECC P-256 primary in the NULL hierarchy.
 */
#ifndef TAGENT_QUOTE_H
#define TAGENT_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcg_alg.h"

/* Handles and NV indexes the Go agent uses (spec sections 2 and 3.4). */
#define TPM_HANDLE_EK          0x81010000u
#define TPM_HANDLE_AIK         0x81018000u
#define TPM_HANDLE_PRIMARY_KEY 0x81000000u
#define TPM_NV_EK_CERT         0x01c00002u
#define TPM_NV_EK_NONCE        0x01c00003u
#define TPM_NV_EK_TEMPLATE     0x01c00004u
#define TPM_NV_EK_CHAIN        0x01c00100u
#define TPM_NV_ASSET_TAG       0x01c10110u
#define TPM_ASSET_TAG_SIZE     48

#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"

/* TPM2_ALG_ID values of the banks HVS knows (common/tcg_alg.h: hvs_pcr_bank). */
#define TPM_BANK_SHA1   TCG_ALG_SHA1
#define TPM_BANK_SHA256 TCG_ALG_SHA256
#define TPM_BANK_SHA384 TCG_ALG_SHA384

/* HVS only hashes PCR values while their offset + size stays below this (spec section 5). */
#define TPM_HVS_PCR_BYTES_MAX 2304

typedef struct tpm tpm_t;

/* An authorization value, decoded (at most 64 bytes). Wiped by tpm_auth_clear(). */
struct tpm_auth {
    uint8_t bytes[64];
    size_t len;
};

/* Decodes an owner/endorsement/tag secret as typed (40 hex / "hex:..." / raw; NULL or "" = empty auth). */
int tpm_auth_from_secret(const char *secret, struct tpm_auth *ret_auth, char **ret_error);
void tpm_auth_clear(struct tpm_auth *auth);

/* ---- context ---- */

/* Opens the TPM through tctildr (tcti NULL: TAGENT_TCTI, else device:/dev/tpmrm0). The TCTI is connected
 * lazily, at the first call that needs it, and again after the link broke. */
int tpm_open(const char *tcti, tpm_t **ret_tpm, char **ret_error);
void tpm_close(tpm_t *tpm);
const char *tpm_tcti(const tpm_t *tpm);
/* One cheap command (GetCapability of a fixed property) to tell whether the TPM answers: the service's health
 * probe. Blocks as long as the TPM does. */
int tpm_ping(tpm_t *tpm, char **ret_error);

/* The TPM's dictionary-attack state (TPM2_GetCapability: no authorization, so reading it never counts as a
 * failed try). */
struct tpm_da_state {
    bool in_lockout;     /* TPMA_PERMANENT inLockout: DA-protected authorizations are refused */
    uint32_t counter;    /* TPM_PT_LOCKOUT_COUNTER: failed authorizations counted now */
    uint32_t max_tries;  /* TPM_PT_MAX_AUTH_FAIL: the count at which lockout starts */
    uint32_t interval_s; /* TPM_PT_LOCKOUT_INTERVAL: one failure is forgotten every this many seconds */
    uint32_t recovery_s; /* TPM_PT_LOCKOUT_RECOVERY: after a failed lockout-auth try */
};
int tpm_da_state(tpm_t *tpm, struct tpm_da_state *ret_state, char **ret_error);
/* "in dictionary-attack lockout (3 of 3 failed authorizations; ...)" or "1 of 3 failed authorizations ...":
 * one line for people, with what to do when locked out. */
void tpm_da_state_text(const struct tpm_da_state *state, char *buf, size_t size);

/* Whether a persistent object or NV index exists at handle (no auth needed, no side effects). */
int tpm_handle_exists(tpm_t *tpm, uint32_t handle, bool *ret_exists, char **ret_error);

/* ---- ownership ---- */

/* True when owner auth equals `owner` (HierarchyChangeAuth(OWNER, new = old), as the Go agent checks). */
int tpm_owned_with_auth(tpm_t *tpm, const struct tpm_auth *owner, bool *ret_owned, char **ret_error);
/* The Go agent's take-ownership: done if owner auth already works; otherwise, from empty auth, set
 * OWNER := owner, ENDORSEMENT := endorsement, LOCKOUT := owner. */
int tpm_take_ownership(tpm_t *tpm, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                       char **ret_error);

/* ---- EK ---- */

struct tpm_ek_cert {
    uint8_t *der; /* EK certificate (NV 0x01C00002) */
    size_t der_len;
    uint8_t *chain; /* on-die chain (NV 0x01C00100), NULL when absent */
    size_t chain_len;
};
int tpm_ek_cert_read(tpm_t *tpm, const struct tpm_auth *owner, struct tpm_ek_cert *ret_cert,
                     char **ret_error);
void tpm_ek_cert_free(struct tpm_ek_cert *cert);

/* Creates the EK from the NV template (or the TCG default RSA template), refuses when its public key
 * differs from the certificate's, and persists it at 0x81010000 (replacing what was there). */
int tpm_ek_provision(tpm_t *tpm, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                     const struct tpm_ek_cert *cert, char **ret_error);
/* The persisted EK's public area, marshalled TPM2B_PUBLIC (caller frees). */
int tpm_ek_public(tpm_t *tpm, uint8_t **ret_pub, size_t *ret_len, char **ret_error);

/* ---- AIK ---- */

/* Creates the AIK under the EK (PolicySecret(ENDORSEMENT)), persists it at 0x81018000. */
int tpm_aik_provision(tpm_t *tpm, const struct tpm_auth *owner, const struct tpm_auth *endorsement,
                      char **ret_error);

struct tpm_aik_info {
    uint8_t modulus[256];
    uint8_t name[34]; /* TPM2B_NAME.name: 0x000b || SHA-256(public area) */
    size_t name_len;
    char *pem; /* SubjectPublicKeyInfo PEM (caller frees) */
};
int tpm_aik_info(tpm_t *tpm, struct tpm_aik_info *ret_info, char **ret_error);

/* TPM2_ActivateCredential(AIK, EK): credential_blob is TPM2B_ID_OBJECT.credential, secret is
 * TPM2B_ENCRYPTED_SECRET.secret (both without their size prefix). Returns certInfo (caller frees). */
int tpm_activate_credential(tpm_t *tpm, const struct tpm_auth *endorsement, const uint8_t *credential_blob,
                            size_t credential_len, const uint8_t *secret, size_t secret_len,
                            uint8_t **ret_cert_info, size_t *ret_len, char **ret_error);

/* ---- asset tag (NV 0x01C10110) ---- */

/* define-tag-index: keeps an existing valid tag across the redefinition (spec section 2). */
int tpm_tag_index_define(tpm_t *tpm, const struct tpm_auth *owner, const struct tpm_auth *tag_auth,
                         char **ret_error);
int tpm_tag_write(tpm_t *tpm, const struct tpm_auth *tag_auth, const uint8_t tag[TPM_ASSET_TAG_SIZE],
                  char **ret_error);
/* *ret_present is false when the index is missing or all zeros. */
/* How often the TPM refused the tag secret (reads and writes) since the process started: the service tells
 * a failed deploy-asset-tag's refusal from other reasons to read the tag again. */
unsigned tpm_tag_refusals(void);
int tpm_tag_read(tpm_t *tpm, const struct tpm_auth *tag_auth, uint8_t ret_tag[TPM_ASSET_TAG_SIZE],
                 bool *ret_present, char **ret_error);

/* ---- provision-primary-key (0x81000000, for the workload agent) ---- */

int tpm_primary_key_provision(tpm_t *tpm, const struct tpm_auth *owner, char **ret_error);

/* ---- TEP device keys (docs/tep-formats.md section 1) ---- */

#define TPM_NV_TEP_POLICY_KEY   0x018A0000u /* the owner's signing key, DER SPKI, write-locked */
#define TPM_NV_TEP_LUKS_VERSION 0x018A0001u /* LUKS policy version, 8 bytes big-endian */
#define TPM_NV_TEP_CONFIG_SEQ   0x018A0002u /* last applied configuration sequence, 8 bytes big-endian */
#define TPM_HANDLE_TEP_ENC_KEY  0x8100A000u /* the configuration AES key */
#define TPM_HANDLE_SRK_ECC      0x81000002u /* storage root key, TCG provisioning guidance (ECC P-256) */
#define TPM_NAME_MAX            66          /* nameAlg (2) + SHA-512 */

/* What a TEP-provisioned TPM holds, read without authorization. */
struct tpm_tep_state {
    bool policy_key_defined;
    bool policy_key_locked;  /* written, write-locked, no authwrite/policywrite */
    uint16_t policy_key_len; /* NV size: 91 (P-256) or 120 (P-384) */
    bool enc_key_present;
    uint16_t enc_key_bits; /* 128 / 256; 0 when absent or not an AES key */
    bool config_seq_defined;
    bool luks_version_defined;
};
int tpm_tep_state(tpm_t *tpm, struct tpm_tep_state *ret_state, char **ret_error);

/* The SRK at TPM_HANDLE_SRK_ECC, created with the TCG template when absent (owner authorization); returns
 * its Name. */
int tpm_srk_ensure(tpm_t *tpm, const struct tpm_auth *owner, uint8_t ret_name[TPM_NAME_MAX],
                   size_t *ret_name_len, char **ret_error);

/* Records the SRK Name (from /etc/tep/srk.name; NULL/0 forgets it). From then on every salted session of this
 * tpm_t (owner, endorsement and tag secrets, NV reads) is salted with the SRK after its Name was checked
 * against this one, instead of with a throw-away NULL-hierarchy key an interposer could substitute; a
 * different SRK then fails those calls with -EKEYREJECTED before any secret is used. -EINVAL when longer than
 * TPM_NAME_MAX. */
int tpm_set_srk_name(tpm_t *tpm, const uint8_t *name, size_t len);

/* Writes spki into TPM_NV_TEP_POLICY_KEY (defined with the contract's attributes) and write-locks it. With
 * force an existing index is undefined first; without, an existing index is -EEXIST. */
int tpm_tep_policy_key_write(tpm_t *tpm, const struct tpm_auth *owner, const uint8_t *spki, size_t spki_len,
                             bool force, char **ret_error);
/* Reads TPM_NV_TEP_POLICY_KEY after checking its attributes (written, write-locked, no authwrite or
 * policywrite); -EPERM naming the attribute otherwise. Caller frees *ret_spki. */
int tpm_tep_policy_key_read(tpm_t *tpm, uint8_t **ret_spki, size_t *ret_len, char **ret_error);

/* Imports the AES key (16 or 32 bytes) under the SRK with key_auth as its authValue and makes it persistent
 * at TPM_HANDLE_TEP_ENC_KEY; with force an existing object there is evicted first, without it is -EEXIST.
 * The key travels only inside the import's encrypted duplicate (inner wrapper) whose wrapping key goes in
 * a session salted with the SRK, after the SRK's Name was checked against srk_name (-EKEYREJECTED when it
 * differs; nothing is evicted then). The object is userwithauth|decrypt|sign, DA-protected: TPM2_Import
 * refuses fixedtpm/fixedparent, so it has neither. The caller wipes key; nothing here keeps a copy. */
int tpm_tep_enc_key_import(tpm_t *tpm, const struct tpm_auth *owner, const uint8_t *key, size_t key_len,
                           const struct tpm_auth *key_auth, const uint8_t *srk_name, size_t srk_name_len,
                           bool force, char **ret_error);

/* Removes the key at TPM_HANDLE_TEP_ENC_KEY (owner authorization); nothing to do when there is none.
 * provision-device --force evicts before it records a new authValue, so that no key ever sits in the TPM
 * whose authValue is not the recorded one. */
int tpm_tep_enc_key_evict(tpm_t *tpm, const struct tpm_auth *owner, char **ret_error);

/* An 8-byte big-endian NV index (TPM_NV_TEP_CONFIG_SEQ, TPM_NV_TEP_LUKS_VERSION): defined with
 * ownerwrite|ownerread|authread|no_da and value 0 when absent; an existing one keeps its value
 * (*ret_created false; ret_created may be NULL). */
int tpm_nv_u64_define(tpm_t *tpm, const struct tpm_auth *owner, uint32_t index, bool *ret_created,
                      char **ret_error);
int tpm_nv_u64_read(tpm_t *tpm, uint32_t index, uint64_t *ret_value, char **ret_error);
int tpm_nv_u64_write(tpm_t *tpm, const struct tpm_auth *owner, uint32_t index, uint64_t value,
                     char **ret_error);

/* Whether the TPM implements TPM2_EncryptDecrypt2 (TPM2_GetCapability(TPM2_CAP_COMMANDS)), and its
 * TPM2_PT_INPUT_BUFFER. */
int tpm_symmetric_caps(tpm_t *tpm, bool *ret_has_encrypt_decrypt2, size_t *ret_input_buffer,
                       char **ret_error);

/* AES-CTR decryption with TPM_HANDLE_TEP_ENC_KEY: TPM2_EncryptDecrypt2 in chunks of at most the input buffer,
 * ivOut feeding the next ivIn, in a session salted with the SRK (whose Name must equal srk_name) that
 * authorizes with key_auth and encrypts the response. out has room for len bytes (it may be in). Errors:
 * -EOPNOTSUPP without TPM2_EncryptDecrypt2, -EKEYREJECTED for another SRK (before the key's auth is used),
 * -ENOENT without a key, -EACCES for a refused key_auth (never retried); out is wiped on failure. */
int tpm_tep_decrypt(tpm_t *tpm, const struct tpm_auth *key_auth, const uint8_t *srk_name, size_t srk_name_len,
                    const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out, char **ret_error);

/* ---- the LUKS passphrase sealed under PolicyAuthorize (docs/tep-formats.md section 5) ---- */

#define TPM_HANDLE_TEP_SEALED 0x8100A001u

/* One signed state to try: what the owner signed and how to rebuild it in a policy session. */
struct tpm_signed_policy {
    uint16_t bank;     /* TPM_BANK_SHA256 / TPM_BANK_SHA384 */
    uint32_t pcr_mask; /* PolicyPCR over the TPM's current values of these PCRs */
    bool has_version;  /* then PolicyNV(TPM_NV_TEP_LUKS_VERSION == version, TPM_EO_EQ) */
    uint64_t version;
    const uint8_t *approved;  /* 32 bytes: the digest that was signed */
    const uint8_t *signature; /* DER ECDSA by the key in NV 0x018A0000 */
    size_t signature_len;
};

/* Seals secret (at most 128 bytes) at TPM_HANDLE_TEP_SEALED under the SRK: authPolicy = auth_policy
 * (authorized.policy), fixedtpm|fixedparent|adminwithpolicy|noda, no userwithauth; the secret travels only in
 * a DECRYPT session salted with the SRK whose Name must equal srk_name (-EKEYREJECTED otherwise, checked
 * before anything is evicted). With force an existing object is evicted first, without it is -EEXIST; -EINVAL
 * for an empty or longer secret. */
int tpm_tep_seal(tpm_t *tpm, const struct tpm_auth *owner, const uint8_t auth_policy[32],
                 const uint8_t *secret, size_t secret_len, const uint8_t *srk_name, size_t srk_name_len,
                 bool force, char **ret_error);
/* The sealed object's authPolicy; *ret_present false when there is none at TPM_HANDLE_TEP_SEALED. */
int tpm_tep_sealed_policy(tpm_t *tpm, uint8_t ret_policy[32], bool *ret_present, char **ret_error);

/* The PolicyPCR (+ PolicyNV) digest of the TPM's PCRs now, from a trial session: the signed state whose
 * approved digest equals it is the one to try. policy->approved and ->signature are not used. A trial
 * session does not compare the version: the digest is that of "== policy->version" whatever the index holds
 * (-ENOENT when the index is not defined). */
int tpm_policy_digest_now(tpm_t *tpm, const struct tpm_signed_policy *policy, uint8_t ret_digest[32],
                          char **ret_error);

/* Unseals TPM_HANDLE_TEP_SEALED: LoadExternal(NV 0x018A0000's key, owner hierarchy) → VerifySignature →
 * policy session salted with the SRK (Name checked) → PolicyPCR → [PolicyNV] → PolicyAuthorize → Unseal with
 * the response encrypted. Distinct failures: -EBADMSG the signature does not verify (VerifySignature,
 * TPM_RC_SIGNATURE) or is not DER ECDSA for the key's curve; -EKEYREVOKED PolicyNV refused (TPM_RC_POLICY:
 * the version index moved past this policy); -EPERM PolicyAuthorize refused (TPM_RC_VALUE: the PCRs are not
 * the signed state), or Unseal refused (TPM_RC_POLICY_FAIL: the object was sealed for another owner key);
 * -EKEYREJECTED the SRK is not the recorded one; -ENOENT nothing sealed (or NV 0x018A0000 missing).
 * *ret_secret is in locked, undumpable memory: free it with tpm_secret_free(). */
int tpm_tep_unseal(tpm_t *tpm, const struct tpm_signed_policy *policy, const uint8_t *srk_name,
                   size_t srk_name_len, uint8_t **ret_secret, size_t *ret_len, char **ret_error);
void tpm_secret_free(uint8_t *secret, size_t len);

/* TPM2_GetRandom, len bytes (any length: in chunks). */
int tpm_get_random(tpm_t *tpm, uint8_t *buf, size_t len, char **ret_error);
/* Extends pcr (one of the policy's PCRs) in every allocated SHA bank with H_bank("tagent: sealed secret
 * consumed") (docs/tep-formats.md section 1), so that no signed state matches again until the next boot. */
int tpm_close_unseal(tpm_t *tpm, uint32_t pcr, char **ret_error);

/* ---- the device identity key (docs/device-identity.md) ---- */

#define TPM_HANDLE_IDENTITY_KEY 0x8100A010u /* default; `tagent identity --handle` may choose another */
#define TPM_ECC_P256            0x0003u     /* TPM2_ECC_NIST_P256 */
#define TPM_ECC_P384            0x0004u     /* TPM2_ECC_NIST_P384 */

/* NULL when handle may hold the identity key: an owner persistent handle (0x81000000-0x817FFFFF) that none of
 * the keys above uses; else why not. */
const char *tpm_identity_handle_problem(uint32_t handle);

/* Creates an ECC signing key (curve TPM_ECC_P256 or _P384, scheme NULL, empty authValue,
 * fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign) under the SRK, whose Name must equal
 * srk_name (tpm_srk_ensure), and makes it persistent at handle (owner authorization). An object already at
 * handle is -EEXIST unless replace, which evicts it first (after the SRK check). */
int tpm_identity_key_create(tpm_t *tpm, const struct tpm_auth *owner, const uint8_t *srk_name,
                            size_t srk_name_len, uint32_t handle, uint16_t curve, bool replace,
                            char **ret_error);

struct tpm_identity_public {
    bool present;   /* false: nothing at the handle (and 0 returned) */
    uint16_t curve; /* TPM_ECC_P256 / TPM_ECC_P384 */
    uint8_t *spki;  /* SubjectPublicKeyInfo DER (free with tpm_identity_public_clear) */
    size_t spki_len;
};
/* The identity key's public key, read without authorization. -EMEDIUMTYPE (present set) when the object at
 * handle is not an identity-like key (not ECC P-256/P-384, not a fixedTPM signing key, or restricted). */
int tpm_identity_key_public(tpm_t *tpm, uint32_t handle, struct tpm_identity_public *ret_pub,
                            char **ret_error);
void tpm_identity_public_clear(struct tpm_identity_public *pub);

/* ---- PCRs and quotes ---- */

/* The banks the TPM really has allocated (non-empty selection), from TPM2_GetCapability(PCRS). */
int tpm_pcr_banks(tpm_t *tpm, uint16_t ret_banks[8], size_t *ret_n, char **ret_error);

/* The values of the PCRs in pcr_mask (bit i = PCR i) of one bank, each in ret_values[i] (the first
 * digest-size bytes; the other slots are left alone). Any bank the TPM allocates, not only those HVS knows;
 * PCR_Read's limit of 8 digests per command is handled inside. */
int tpm_pcr_read(tpm_t *tpm, uint16_t alg, uint32_t pcr_mask, uint8_t ret_values[24][64], char **ret_error);

struct tpm_quote_request {
    const uint8_t *nonce; /* HVS's nonce; must not be empty */
    size_t nonce_len;
    uint32_t pcr_mask;     /* bit i = PCR i (0..23) */
    const uint16_t *banks; /* requested banks; n_banks 0 = all HVS knows, strongest first */
    size_t n_banks;
    const uint8_t *tag; /* the 48-byte asset tag, or NULL when none is provisioned */
};

struct tpm_quote {
    uint8_t *blob; /* the HVS quote blob (section 5): u16 attest size | TPMS_ATTEST | TPMT_SIGNATURE | PCRs */
    size_t blob_len;
    uint16_t banks[3]; /* the banks quoted, in blob order (selectedPcrBanks) */
    size_t n_banks;
    unsigned attempts; /* 1 unless PCRs changed between Quote and PCR_Read and it was quoted again */
};

/* Quotes with the AIK. qualifyingData = SHA-256(nonce), or SHA-256(SHA-256(nonce) || tag) with a tag.
 * Banks = requested ∩ allocated, in request order; if their PCR values would reach HVS's 2304-byte limit,
 * the weakest banks are dropped until they fit. The PCR values always hash to the quote's pcrDigest: when
 * a PCR changes between Quote and PCR_Read the quote is taken again (at most TPM_QUOTE_ATTEMPTS times). */
#define TPM_QUOTE_ATTEMPTS 8
int tpm_quote(tpm_t *tpm, const struct tpm_quote_request *req, struct tpm_quote *ret_quote, char **ret_error);
void tpm_quote_free(struct tpm_quote *quote);

/* Name of a bank HVS knows as HVS writes it ("SHA256"), or NULL for any other algorithm. */
const char *tpm_bank_name(uint16_t alg);

#endif
