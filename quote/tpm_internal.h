/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to quote/: the context, sessions, error translation and small ESAPI helpers. */
#ifndef TAGENT_QUOTE_INTERNAL_H
#define TAGENT_QUOTE_INTERNAL_H

#include <pthread.h>

#include <tss2/tss2_esys.h>

#include "error.h"
#include "quote.h"

struct tpm {
    pthread_mutex_t lock;
    char *tcti_conf;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    /* Per-connection caches, dropped on reconnect: PCR allocation only changes across a TPM reset. */
    ESYS_TR aik; /* ESYS_TR_NONE until first used */
    uint16_t banks[8];
    size_t n_banks; /* 0 = not read yet */
    /* The SRK Name recorded at provisioning (tpm_set_srk_name); while set, every salted session is salted
     * with the SRK after this Name check instead of with a throw-away NULL-hierarchy key. */
    uint8_t srk_name[TPM_NAME_MAX];
    size_t srk_name_len; /* 0 = none recorded */
};

/* Every public entry point: take the lock and make sure ESAPI is connected. */
int tpm_enter(tpm_t *t, char **ret_error);
void tpm_leave(tpm_t *t);

/* Tears the ESAPI context down after the link broke; the next tpm_enter() reconnects. */
void tpm_context_broken(tpm_t *t);
/* Sets *ret_error (when not NULL) from a TSS2_RC, its words followed by "(TPM_RC 0x...)", tears the
 * connection down when the link is broken, returns a negative errno. what: the operation, and for auth
 * failures whose secret it was ("owner authorization (TPM_OWNER_SECRET)"). */
int tpm_fail(tpm_t *t, TSS2_RC rc, const char *what, char **ret_error);
/* For a refusal the caller knows the meaning of (a bad signature, a policy that does not match): *ret_error
 * is text followed by "(TPM_RC 0x...)", the link is torn down if it broke, and r is returned. Other codes
 * still go through tpm_fail(): the caller tests tpm_rc_base() first. */
int tpm_fail_as(tpm_t *t, TSS2_RC rc, int r, const char *text, char **ret_error);
/* The TPM's response code without the handle/session/parameter number, e.g. 0x2db and 0x1c4 compare equal to
 * TPM2_RC_SIGNATURE and TPM2_RC_VALUE; other layers' codes unchanged. */
TSS2_RC tpm_rc_base(TSS2_RC rc);
/* The ret_error message (common/error.h): quote/ used its own copy before there was one. */
#define tpm_error_set error_set

/* A salted HMAC session (AES-128-CFB parameter encryption) bound to nothing. flags: TPMA_SESSION_DECRYPT
 * and/or TPMA_SESSION_ENCRYPT for the command it will carry (only where that command has a TPM2B first
 * parameter / response parameter). */
int tpm_session_salted(tpm_t *t, TPMA_SESSION flags, ESYS_TR *ret_session, char **ret_error);
/* The same with a loaded decryption key of the caller's as the salt key (the SRK, once its Name is checked).
 */
int tpm_session_salted_key(tpm_t *t, ESYS_TR key, TPMA_SESSION flags, ESYS_TR *ret_session, char **ret_error);
/* TPM2_CreatePrimary of template under hierarchy (ESYS_TR_RH_OWNER, _ENDORSEMENT), its auth sent in a salted
 * session; no sensitive data, outside info or creation PCRs (the TCG EK templates and the Go agent's keys use
 * none). ret_pub may be NULL; what names the step in the error message. */
int tpm_create_primary(tpm_t *t, ESYS_TR hierarchy, const struct tpm_auth *auth, const TPM2B_PUBLIC *template,
                       const char *what, ESYS_TR *ret_key, TPM2B_PUBLIC **ret_pub, char **ret_error);
/* A policy session satisfied by PolicySecret(ENDORSEMENT) — the EK's policy. */
int tpm_session_ek_policy(tpm_t *t, const struct tpm_auth *endorsement, ESYS_TR *ret_session,
                          char **ret_error);
/* Flushes a transient object or session and sets *h to ESYS_TR_NONE; no-op for ESYS_TR_NONE. */
void tpm_flush(tpm_t *t, ESYS_TR *h);
/* Releases an ESYS_TR of a persistent handle or NV index (no TPM command). */
void tpm_tr_close(tpm_t *t, ESYS_TR *h);

/* ESYS_TR for a persistent object or NV index; *ret_exists false (and 0 returned) when there is none. */
int tpm_handle_load(tpm_t *t, TPM2_HANDLE handle, ESYS_TR *ret_tr, bool *ret_exists, char **ret_error);
/* auth->len without trailing zero octets: the TPM drops them from every authValue before using it, so the
 * same value must go into sensitive areas and into ESAPI's HMACs. 0 for NULL. */
size_t tpm_auth_len(const struct tpm_auth *auth);
void tpm_set_auth(tpm_t *t, ESYS_TR tr, const struct tpm_auth *auth);

/* TPM2_ReadPublic of a persistent object (caller Esys_Free()s); *ret_pub NULL (and 0 returned) when there is
 * none. what: the read, for the error message. */
int tpm_persistent_public(tpm_t *t, TPM2_HANDLE handle, const char *what, TPM2B_PUBLIC **ret_pub,
                          char **ret_error);
/* Removes the persistent object at handle, if any (owner auth). */
int tpm_evict(tpm_t *t, TPM2_HANDLE handle, const struct tpm_auth *owner, char **ret_error);
/* Makes transient persistent at handle (owner auth). */
int tpm_persist(tpm_t *t, ESYS_TR transient, TPM2_HANDLE handle, const struct tpm_auth *owner,
                char **ret_error);

/* NV: size of an index (*ret_size 0 when absent); read all of it with the given auth handle. */
int tpm_nv_size(tpm_t *t, TPM2_HANDLE index, uint16_t *ret_size, char **ret_error);
int tpm_nv_read_all(tpm_t *t, TPM2_HANDLE index, ESYS_TR auth_handle, const struct tpm_auth *auth,
                    uint8_t **ret_data, size_t *ret_len, char **ret_error);
/* Reads an authread index whole, and its public area (*ret_pub NULL when it does not exist; Esys_Free it),
 * with the index's (empty) auth in a password session: nothing secret, and no
 * response integrity either — only for data the TPM itself enforces later (the policy key an unseal verifies
 * against: a substituted key cannot satisfy the sealed object's PolicyAuthorize). Saves a salted session. */
int tpm_nv_read_clear(tpm_t *t, TPM2_HANDLE index, TPM2B_NV_PUBLIC **ret_pub, uint8_t **ret_data,
                      char **ret_error);

/* Marshalled TPM2B_PUBLIC of a persistent object (name: "EK", "AIK" for messages). */
int tpm_public_marshal(tpm_t *t, TPM2_HANDLE handle, const char *name, uint8_t **ret_pub, size_t *ret_len,
                       char **ret_error);

/* TPMA_PERMANENT bits (ownerAuthSet, endorsementAuthSet, lockoutAuthSet...). */
int tpm_permanent(tpm_t *t, uint32_t *ret_attrs, char **ret_error);

/* ---- NV (nv.c) ---- */

/* The public area of an NV index (caller Esys_Free()s); *ret_pub NULL (and 0 returned) when it is absent. */
int tpm_nv_public(tpm_t *t, TPM2_HANDLE index, TPM2B_NV_PUBLIC **ret_pub, char **ret_error);
/* NV_DefineSpace under owner authorization, empty index auth, SHA-256 name. what: the index, for messages. */
int tpm_nv_define(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, TPMA_NV attributes,
                  uint16_t size, const char *what, char **ret_error);
/* NV_UndefineSpace under owner authorization; nothing to do when the index is absent. */
int tpm_nv_undefine(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const char *what,
                    char **ret_error);
/* NV_Write of data at offset 0 under owner authorization (data fits one command: at most 512 bytes). */
int tpm_nv_write_owner(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const uint8_t *data,
                       size_t len, const char *what, char **ret_error);
/* NV_WriteLock under owner authorization. */
int tpm_nv_write_lock(tpm_t *t, const struct tpm_auth *owner, TPM2_HANDLE index, const char *what,
                      char **ret_error);

/* ---- SRK (srk.c) ---- */

/* A salted HMAC session (AES-128-CFB) whose salt is encrypted to the SRK at TPM_HANDLE_SRK_ECC, after its
 * Name was compared with the one recorded at provisioning (-EKEYREJECTED when they differ: an unauthenticated
 * ReadPublic could hand us an interposer's key). flags as for tpm_session_salted(). */
int tpm_session_salted_srk(tpm_t *t, const uint8_t *srk_name, size_t srk_name_len, TPMA_SESSION flags,
                           ESYS_TR *ret_session, char **ret_error);
/* ESYS_TR of the SRK after the same Name check (the caller closes it with tpm_tr_close()). */
int tpm_srk_load_checked(tpm_t *t, const uint8_t *srk_name, size_t srk_name_len, ESYS_TR *ret_srk,
                         char **ret_error);
/* Makes room at handle for a new child of the SRK: an object already there is -EEXIST (exists_text says what
 * to do) unless force; the SRK's Name is checked before anything is removed (a wrong SRK leaves the old
 * object in place), then the old object is evicted (owner auth). */
int tpm_srk_child_slot(tpm_t *t, TPM2_HANDLE handle, const uint8_t *srk_name, size_t srk_name_len,
                       const struct tpm_auth *owner, bool force, const char *exists_text, char **ret_error);
/* The SRK as a parent, after the Name check, and an HMAC session salted with it whose DECRYPT attribute
 * encrypts the first parameter (Create's inSensitive, Import's encryptionKey); the caller flushes the session
 * and closes the SRK (or hands both to tpm_srk_child_persist()). */
int tpm_srk_parent_open(tpm_t *t, const uint8_t *srk_name, size_t srk_name_len, ESYS_TR *ret_srk,
                        ESYS_TR *ret_session, char **ret_error);
/* Loads a child of the SRK (from Create or Import) through session and makes it persistent at handle (owner
 * auth). Flushes *session and closes *srk before EvictControl, whatever happens after the load. what: the
 * load step, for the error message. */
int tpm_srk_child_persist(tpm_t *t, ESYS_TR *srk, ESYS_TR *session, const TPM2B_PRIVATE *priv,
                          const TPM2B_PUBLIC *pub, TPM2_HANDLE handle, const struct tpm_auth *owner,
                          const char *what, char **ret_error);

/* ---- TEP (tep_keys.c, policy_key.c, secret_mem.c) ---- */

/* tpm_tep_policy_key_read() for a caller that holds the lock: the policy key after its attributes are
 * checked. integrity: read in a salted HMAC session (the response is authenticated: for a key software
 * trusts, config-apply's signature check); without, tpm_nv_read_clear (for the unseal, where the TPM's
 * PolicyAuthorize is the check). */
int tpm_tep_policy_key_get(tpm_t *t, bool integrity, uint8_t **ret_spki, size_t *ret_len, char **ret_error);

/* The one selection a signed state covers: bank x pcr_mask (sizeofSelect 3). */
void tpm_pcr_selection(uint16_t bank, uint32_t pcr_mask, TPML_PCR_SELECTION *ret_sel);
/* PolicyNV(TPM_NV_TEP_LUKS_VERSION == version, 8 bytes big-endian, offset 0, TPM2_EO_EQ) on session, the
 * index authorizing with its own empty auth (authread). Returns the TSS2_RC: the caller decides what a
 * refusal means (a trial session never refuses on the value). */
TSS2_RC tpm_policy_nv_version(tpm_t *t, ESYS_TR session, uint64_t version);

/* Secret memory: mmap'ed, mlock'ed, excluded from core dumps. NULL (errno set) when it cannot be locked. */
uint8_t *tpm_secret_alloc(size_t len);

#endif
