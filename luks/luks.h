/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * luks/: the disk passphrase sealed in the TPM under PolicyAuthorize (docs/tep-formats.md section 5, spec
 * tep-provisioning-luks.md 3.5-3.6): luks_config_file.yaml, the LUKS2 volume (libcryptsetup, libblkid) and
 * the first-boot / later-boot state machine. The TPM is reached only through quote.h, behind
 * struct luks_tpm_ops so that tests can stand in for it. Nothing here prints.
 *
 * The passphrase exists only in locked, undumpable memory that is wiped before it is released: never in a
 * file, argv, the environment or a message.
 */
#ifndef TAGENT_LUKS_H
#define TAGENT_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "luks_policy.h"
#include "quote.h"

#define LUKS_CONFIG_FILE "/home/update/upload/mnt/luks_config_file.yaml"
#define LUKS_TOKEN_TYPE  "tagent-tpm2"

/* ---- luks_config_file.yaml (spec 3.5; luks_config.c) ---- */

struct luks_config {
    /* paths as written in the file (absolute) and resolved under the root prefix */
    char *dev_part;
    char *auth_pol;
    char *pol_file;
    char *pol_file_sign;
    char *signed_states;      /* NULL when not configured */
    char *recovery_key;       /* NULL when not configured */
    uint16_t pcr_bank;        /* TPM_BANK_SHA256 / TPM_BANK_SHA384 */
    uint32_t pcr_mask;        /* bit i = PCR i; default 0, 7, 10 */
    uint32_t closing_pcr;     /* one of pcr_mask: 10, or the highest of pcr_mask without 10 */
    uint32_t sealed_handle;   /* only TPM_HANDLE_TEP_SEALED: quote.h seals nowhere else */
    uint32_t pubkey_nv_index; /* only TPM_NV_TEP_POLICY_KEY */
    char *mapper_name;        /* default "tep_luks" */
    bool integrity;           /* integrity: hmac-sha256 (default) / none */

    /* what luks_config_load() read from the files */
    uint8_t auth_policy[LUKS_POLICY_DIGEST];
    uint8_t pol[LUKS_POLICY_DIGEST];
    uint8_t pol_sig[LUKS_POLICY_MAX_SIG];
    size_t pol_sig_len;
    struct luks_signed_states states; /* from signed_states; empty without it */
};

/* Parses the YAML only (no file is read): strict, every error names the key and its line. Paths must be
 * absolute; root ("" for /) is put in front of each. */
int luks_config_parse(const char *yaml, size_t len, const char *root, struct luks_config *ret,
                      char **ret_error);
/* Reads path (already under the root), parses it, then reads and checks the files it names: auth_pol and
 * pol_file 32 bytes, pol_file_sign 8 to 139, signed_states parses, recovery_key 1 to 512 bytes (only
 * checked here, read when a recovery keyslot is added). */
int luks_config_load(const char *root, const char *path, struct luks_config *ret, char **ret_error);
void luks_config_clear(struct luks_config *cfg);

/* ---- secrets in locked memory (luks_secret.c) ---- */

/* size bytes, zeroed, mlock'ed when RLIMIT_MEMLOCK allows (not an error otherwise: the pages still stay
 * out of core dumps, MADV_DONTDUMP). NULL when out of memory. */
void *luks_secret_alloc(size_t size);
/* Wipes and releases (NULL is fine). */
void luks_secret_free(void *p, size_t size);

/* ---- the volume (luks_volume.c) ---- */

enum luks_volume_kind {
    LUKS_VOLUME_BLANK, /* no signature libblkid knows: the only kind ever formatted */
    LUKS_VOLUME_LUKS,  /* libcryptsetup loads a LUKS header */
    LUKS_VOLUME_OTHER, /* anything else (a file system, a partition table, several signatures) */
};

/* *ret_what (caller frees, may be NULL) names the signature found ("ext4", "crypto_LUKS", ...). */
int luks_volume_probe(const char *dev, enum luks_volume_kind *ret_kind, char **ret_what, char **ret_error);

/* What the LUKS2 token of type LUKS_TOKEN_TYPE records, so that `cryptsetup luksDump` tells how the volume
 * unlocks. */
struct luks_token {
    uint32_t handle;
    uint8_t pkfp[32]; /* SHA-256 of the policy key's DER SPKI */
    uint32_t pcr_mask;
    uint16_t bank;
    uint32_t closing_pcr;
};

/* Formats a BLANK dev (probed again here: anything with a signature is -EEXIST, never touched): LUKS2,
 * aes-xts-plain64, 512-bit volume key, 4096-byte sectors, [hmac-sha256 integrity], the passphrase in a
 * keyslot (*ret_keyslot), then the token. PBKDF: libcryptsetup's defaults, unless TAGENT_LUKS_TEST_PBKDF
 * is set (tests only; see luks_volume.c). Integrity needs dm-integrity: -EOPNOTSUPP without it. */
int luks_volume_format(const char *dev, const uint8_t *pass, size_t pass_len, bool integrity,
                       const struct luks_token *token, int *ret_keyslot, char **ret_error);
/* A second keyslot (the owner's recovery passphrase), opened with pass. */
int luks_volume_add_recovery(const char *dev, const uint8_t *pass, size_t pass_len, const uint8_t *recovery,
                             size_t recovery_len, int *ret_keyslot, char **ret_error);
/* The passphrase opens a keyslot (*ret_keyslot); nothing is activated. -EPERM when none opens. */
int luks_volume_check(const char *dev, const uint8_t *pass, size_t pass_len, int *ret_keyslot,
                      char **ret_error);
/* Activates dev as /dev/mapper/<name> with the keyslot the passphrase opens (*ret_keyslot; may be NULL).
 * -EOPNOTSUPP when the kernel has no device-mapper (the message says so); -EPERM when the passphrase opens no
 * keyslot. */
int luks_volume_activate(const char *dev, const char *name, const uint8_t *pass, size_t pass_len,
                         int *ret_keyslot, char **ret_error);
/* The token's JSON as stored (caller frees); -ENOENT when the volume has none of LUKS_TOKEN_TYPE. */
int luks_volume_token_json(const char *dev, char **ret_json, char **ret_error);

/* ---- the TPM side (luks_tpm.c: quote.h behind ops) ---- */

struct luks_tpm_ops {
    void *userdata;
    int (*get_random)(void *userdata, uint8_t *buf, size_t len, char **ret_error);
    int (*policy_key)(void *userdata, uint8_t **ret_spki, size_t *ret_len, char **ret_error);
    /* the version index now; *ret_defined false when it does not exist */
    int (*version)(void *userdata, bool *ret_defined, uint64_t *ret_version, char **ret_error);
    int (*seal)(void *userdata, const uint8_t auth_policy[32], const uint8_t *secret, size_t len, bool force,
                char **ret_error);
    int (*sealed_policy)(void *userdata, uint8_t ret_policy[32], bool *ret_present, char **ret_error);
    int (*digest_now)(void *userdata, const struct tpm_signed_policy *policy, uint8_t ret_digest[32],
                      char **ret_error);
    /* *ret_secret released with secret_free */
    int (*unseal)(void *userdata, const struct tpm_signed_policy *policy, uint8_t **ret_secret,
                  size_t *ret_len, char **ret_error);
    void (*secret_free)(void *userdata, uint8_t *secret, size_t len);
    int (*pcr_read)(void *userdata, uint16_t bank, uint32_t mask, uint8_t ret_values[24][64],
                    char **ret_error);
    int (*close_unseal)(void *userdata, uint32_t pcr, char **ret_error);
};

struct luks_tpm {
    tpm_t *tpm;
    const struct tpm_auth *owner; /* for sealing (EvictControl) on first boot */
    uint8_t srk_name[TPM_NAME_MAX];
    size_t srk_name_len;
};
/* Ops over quote.h with state (which must outlive them). */
void luks_tpm_ops_init(struct luks_tpm *state, struct luks_tpm_ops *ret_ops);

/* ---- the state machine (luks_unlock.c) ---- */

enum luks_outcome {
    LUKS_FORMATTED, /* first boot: sealed, formatted, keyslot verified (activated unless check_only) */
    LUKS_UNLOCKED,  /* later boot: activated */
    LUKS_CHECKED,   /* later boot, check_only: a keyslot opens */
};

struct luks_result {
    enum luks_outcome outcome;
    int keyslot;
    int recovery_keyslot; /* -1 without recovery_key */
    size_t state_index; /* later boots: which signed state unlocked (0 = pol_file, i = signed_states[i-1]) */
    bool activated;
};

/* Spec 3.6. check_only: the passphrase is verified against a keyslot, nothing is activated. Errors:
 * -EEXIST dev_part carries another signature (never formatted); -EBADMSG a signature does not verify;
 * -EKEYREVOKED the version index moved past the matching state; -EPERM no signed state matches the PCRs now
 * (the message names the PCRs that differ where the states carry values); -EKEYREJECTED auth_pol or the
 * sealed object's policy is not PolicyAuthorize(NV key); -ENOKEY the unsealed passphrase opens no keyslot;
 * -EOPNOTSUPP activation without device-mapper (the passphrase opens ret_result->keyslot: checked then, so
 * the answer still says so). The closing PCR is extended whenever a passphrase was unsealed or sealed. */
int luks_unlock(const struct luks_config *cfg, const struct luks_tpm_ops *ops, bool check_only,
                struct luks_result *ret_result, char **ret_error);

/* `tagent luks revoke --to N`: the version index (owner-written) to N, which must be greater than now. */
int luks_revoke(tpm_t *tpm, const struct tpm_auth *owner, uint64_t to, uint64_t *ret_previous,
                char **ret_error);

#endif
