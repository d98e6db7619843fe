/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * provision/: the setup tasks of `tagent setup`. Each task is one file that fills a table entry with a
 * validate step ("is this already done?") and a run step. The engine that runs them, prints progress and
 * decides about --force lives in agent/cli/cmd_setup.c; nothing here prints.
 */
#ifndef TAGENT_PROVISION_H
#define TAGENT_PROVISION_H

#include <stdbool.h>

#include "config.h"
#include "quote.h"
#include "tepc.h"

struct provision_ctx {
    const char *root;             /* root prefix ("" for /) */
    struct tagent_config *cfg;    /* defaults + config.yml (+ what earlier tasks changed) */
    bool cfg_exists;              /* config.yml was there when setup started */
    const struct config_env *env; /* trustagent.env given with -f, or NULL */
    char *const *envp;            /* the process environment */
    struct config_diags *diags;   /* what went wrong, for the engine to print */
    bool cfg_changed;             /* set by a task that changed cfg: the engine saves config.yml */
    tpm_t *tpm;                   /* opened by provision_tpm() on first use; the engine closes it */
};

enum task_mode { TASK_MODE_ANY, TASK_MODE_OUTBOUND, TASK_MODE_HTTP };

struct provision_task {
    const char *name;
    const char *summary; /* one line for `tagent help` */
    const char *remedy;  /* what a person can do when the task fails */
    enum task_mode mode; /* only for this TA_SERVICE_MODE (`all` skips it otherwise) */
    bool optional;       /* run only when named, never by `all` */
    /* 0 when the task's result is already in place; -errno otherwise. The engine discards whatever it adds
     * to ctx->diags: a task not done yet is not a failure. */
    int (*validate)(struct provision_ctx *ctx);
    /* 0 on success; on failure diagnostics explain why. */
    int (*run)(struct provision_ctx *ctx);
};

/* All tasks in `setup all` order, NULL-terminated. */
extern const struct provision_task *const provision_tasks[];
const struct provision_task *provision_task_find(const char *name);
/* Whether validate can tell that the task's run took effect. false for a task whose result the control
 * plane cannot be asked about (create-host-unique-flavor: its validate always says "not done", so the run
 * always happens and its own status is the answer): the engine must not re-validate it afterwards. */
bool provision_task_checkable(const struct provision_task *t);
/* Whether name is a task, "all", or a group (provision-attestation, update-certificates). */
bool provision_name_known(const char *name);
/* The tasks the names ask for, in order, without duplicates, for the configured mode: `all` and groups skip
 * tasks of the other mode; a task named on its own for the other mode is an error (*ret_error says why). */
int provision_plan(const char *const *names, size_t n_names, enum config_mode mode,
                   const struct provision_task **ret_tasks, size_t max, size_t *ret_n, char **ret_error);

/* The TPM (cfg->tcti, else TAGENT_TCTI, else /dev/tpmrm0), opened on first use. */
int provision_tpm(struct provision_ctx *ctx, tpm_t **ret_tpm);
/* Decodes cfg->owner_secret / endorsement_secret / tag_secret_key (reports bad formats). */
int provision_auth(struct provision_ctx *ctx, const char *secret, const char *key, struct tpm_auth *ret_auth);
/* What a task that acts as the TPM's owner starts with: provision_tpm(), then TPM_OWNER_SECRET and, unless
 * ret_endorsement is NULL, TPM_ENDORSEMENT_SECRET decoded (the caller clears them with tpm_auth_clear()). */
int provision_tpm_owner(struct provision_ctx *ctx, tpm_t **ret_tpm, struct tpm_auth *ret_owner,
                        struct tpm_auth *ret_endorsement);
/* Reports a TPM error (quote/'s message; NULL: out of memory) as a diagnostic of the task. Returns r. */
int provision_tpm_error(struct provision_ctx *ctx, int r, const char *error);

/* The SMBIOS type 1 UUID (/sys/firmware/dmi/tables/DMI under root), lower case, as HostInfo reports it. */
int provision_hardware_uuid(const char *root, char ret_uuid[37], char **ret_error);
/* The SMBIOS type 1 serial number, trailing blanks dropped, "" when the firmware has none (caller frees). */
int provision_hardware_serial(const char *root, char **ret_serial, char **ret_error);

/* Spec 3.7: asks HVS (config hvs_url, api_token) for an immediate report on this host, found by its hardware
 * UUID. 0 when requested or when HVS does not know the host (*ret_message says which); -EAGAIN when worth
 * retrying later (network, 5xx); -EACCES when the API token is missing or refused; other negative errno
 * otherwise. *ret_message (caller frees) says what happened, on success as on failure (so it is not a
 * ret_error); the token never appears in it. */
int provision_async_report(const char *root, const struct tagent_config *cfg, char **ret_message);

/* Loads defaults + <root>/etc/trustagent/config.yml (absent is fine). */
int provision_config_load(const char *root, struct tagent_config *cfg, bool *ret_exists,
                          struct config_diags *diags);
/* Creates <root>/etc/trustagent (0755) if needed and writes config.yml atomically, mode 0640. On failure
 * *ret_error (caller frees; may be NULL, and stays NULL on out of memory) says which step failed. */
int provision_config_save(const char *root, const struct tagent_config *cfg, char **ret_error);

/* ---- TEP device provisioning and configuration updates (docs/tep-formats.md) ---- */

#define TEP_STATE_DIR     "/etc/tep"
#define TEP_SRK_NAME_FILE "/etc/tep/srk.name"     /* hex, root 0644 */
#define TEP_ENC_AUTH_FILE "/etc/tep/enc-key.auth" /* 32 raw bytes, root 0600 */
#define TEP_UPLOAD_DIR    "/home/update/upload/mnt"
#define TEP_CONFIG_BLOB   TEP_UPLOAD_DIR "/tep_user_config_data.bin"

struct tep_provision_request {
    const char *pol_pub_key_path; /* PEM or DER public key of the owner's signing key */
    const char *enc_key_path;     /* raw AES key, 16 (dtpm) or 32 (ptt) bytes; read, never copied */
    enum tepc_profile profile;
    bool force;
};

/* Once provision-device recorded the SRK's Name, every session of tpm that carries a secret (owner,
 * endorsement, tag) is salted with the SRK after its Name is checked (tpm_set_srk_name), instead of a
 * throw-away key an active interposer could replace. No record (not provisioned) is no error: 0, nothing set.
 */
int tep_srk_pin(const char *root, tpm_t *tpm, char **ret_error);

/* provision-device: the SRK (created when absent, its Name recorded), the policy key into NV 0x018A0000
 * (write-locked), the AES key at 0x8100A000 with a fresh random authValue (recorded root-only), the sequence
 * and LUKS version indexes; then reads everything back and checks attributes and sizes. *ret_report (caller
 * frees) says what was done, line by line, on success. */
int tep_provision_device(const char *root, tpm_t *tpm, const struct tpm_auth *owner,
                         const struct tep_provision_request *req, char **ret_report, char **ret_error);

/* What config-apply concluded. */
enum tep_apply_outcome {
    TEP_APPLY_NOTHING,  /* no container in the upload folder */
    TEP_APPLY_APPLIED,  /* files in place, sequence recorded, container moved to .applied */
    TEP_APPLY_REJECTED, /* the container failed a check: moved to .rejected, nothing else changed */
    TEP_APPLY_FAILED,   /* not the container's fault (TPM, disk): left in place for the next boot */
};

/* The device's side of the apply algorithm, one function per TPM step, so that tests can count and fake
 * them. tep_apply_tpm_ops() gives the real ones. */
struct tep_apply_ops {
    void *userdata;
    int (*profile)(void *userdata, enum tepc_profile *ret_profile, char **ret_error);
    int (*policy_key)(void *userdata, uint8_t **ret_spki, size_t *ret_len, char **ret_error);
    int (*last_sequence)(void *userdata, uint64_t *ret_sequence, char **ret_error);
    int (*decrypt)(void *userdata, const uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out,
                   char **ret_error);
    int (*record_sequence)(void *userdata, uint64_t sequence, char **ret_error);
};

struct tep_tpm_apply {
    tpm_t *tpm;
    struct tpm_auth owner;    /* for the sequence write */
    struct tpm_auth enc_auth; /* the AES key's authValue, from TEP_ENC_AUTH_FILE */
    uint8_t srk_name[TPM_NAME_MAX];
    size_t srk_name_len;
};
/* Loads enc_auth and srk_name from their files (enc_auth root-only); ops->userdata = state. */
int tep_apply_tpm_ops(const char *root, tpm_t *tpm, const struct tpm_auth *owner, struct tep_tpm_apply *state,
                      struct tep_apply_ops *ret_ops, char **ret_error);
void tep_tpm_apply_clear(struct tep_tpm_apply *state);

/* config-apply (docs/tep-formats.md section 3) on <root>/TEP_CONFIG_BLOB. Returns 0 with *ret_outcome, or a
 * negative errno only when the outcome itself could not be recorded. *ret_message (caller frees) is what the
 * result file says: the check that failed, or what was applied. */
int tep_config_apply(const char *root, const struct tep_apply_ops *ops, enum tep_apply_outcome *ret_outcome,
                     char **ret_message);

#endif
