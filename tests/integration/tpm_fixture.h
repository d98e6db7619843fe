/* Helpers for the quote/ integration tests: a (provisioned) swtpm with a tpm_t on it, an HVS quote blob
 * parser and verifier written independently of quote/, tpm2-tools as the oracle, and a separate ESAPI context
 * that looks at the TPM from outside (loaded handles, PCRs, persistent handles, permanent attributes).
 *
 * No cmocka in here: functions return 0 or a negative errno and print a diagnostic to stderr, so group setups
 * and worker threads can use them. The tests assert on the results.
 */
#ifndef TAGENT_TEST_TPM_FIXTURE_H
#define TAGENT_TEST_TPM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "harness.h"
#include "quote.h"

/* Secrets of the provisioned fixture, as a user types them in trustagent.env. */
#define FX_OWNER_SECRET       "00112233445566778899aabbccddeeff01234567"
#define FX_ENDORSEMENT_SECRET "hex:e0d0c0b0a090"

struct fx {
    swtpm_t *swtpm;
    tpm_t *tpm;
    char *dir; /* temp dir for the files handed to tpm2-tools, and their log */
    char *tool_log;
    struct tpm_auth owner, endorsement;
    struct tpm_aik_info aik; /* after fx_provision() */
    char *aik_pem_path;
    EVP_PKEY *aik_key;
    unsigned files;   /* makes file names unique */
    bool quiet_tools; /* a failure is expected: do not print the tool's output */
};

/* swtpm with opts, a tpm_t on it (not connected yet), a temp dir. */
int fx_start(struct fx *f, const struct swtpm_opts *opts);
/* swtpm without swtpm_setup (no EK), then take-ownership (FX_OWNER_SECRET / FX_ENDORSEMENT_SECRET): what
 * the TEP tests need. */
int fx_start_owned(struct fx *f);
/* take-ownership (FX_OWNER_SECRET / FX_ENDORSEMENT_SECRET), EK from its certificate, AIK; loads the AIK's
 * public key. Needs a swtpm started with ek_cert. */
int fx_provision(struct fx *f);
/* Frees everything; f may be partly set up. */
void fx_free(struct fx *f);
/* For group teardowns, after fx_free(): 0 when no child process (swtpm, tpm2-tools) is left, else -1. */
int fx_no_children(void);
/* Starts swtpm again if a test left it killed (state and ports are kept), and resets the DA counter. */
int fx_ensure_running(struct fx *f);
/* TPM2_DictionaryAttackLockReset with the lockout secret (= FX_OWNER_SECRET after fx_provision()). Needed
 * after swtpm was killed: each non-orderly shutdown after a DA-protected authorization (the AIK's, in every
 * quote) counts as a failed try at the next startup, and libtpms locks out after 3. */
int fx_da_reset(struct fx *f);

/* ---- files and tpm2-tools ---- */

/* Writes data to a new file in f->dir; returns its malloc'ed path, NULL on failure. */
char *fx_file_write(struct fx *f, const char *name, const void *data, size_t len);
int fx_file_read(const char *path, uint8_t **ret_data, size_t *ret_len);
/* Runs a tpm2-tools command (argv[0] in PATH); on failure prints what it said. */
int fx_tool(struct fx *f, const char *const argv[]);
/* Runs it and returns what it printed (stdout and stderr, malloc'ed, NUL-terminated). */
int fx_tool_output(struct fx *f, const char *const argv[], char **ret_text);

/* ---- an outside view of the TPM, through an ESAPI context of its own ---- */

/* Transient objects (0x80...), loaded (0x02...) and saved (0x03...) sessions; prints each one found. */
int fx_count_loaded(const char *tcti, unsigned *ret_count);
/* For teardowns: 0 when nothing is loaded on f's swtpm (or there is none), else -1 with a diagnostic. */
int fx_check_clean(const struct fx *f);
int fx_handle_exists(const char *tcti, uint32_t handle, bool *ret_exists);
/* TPMA_PERMANENT (ownerAuthSet, endorsementAuthSet, lockoutAuthSet...). */
int fx_permanent(const char *tcti, uint32_t *ret_attrs);
/* TPM2_PT_LOCKOUT_COUNTER: failed authorizations the DA logic counts. */
int fx_lockout_counter(const char *tcti, uint32_t *ret_count);
/* Values of the PCRs in mask, ascending, in one bank. */
int fx_pcr_read(const char *tcti, uint16_t bank, uint32_t mask, uint8_t *out, size_t cap, size_t *ret_len);

/* A kept-open context, e.g. for a thread that extends PCRs while quotes run. */
typedef struct fx_esys fx_esys_t;
int fx_esys_open(const char *tcti, fx_esys_t **ret);
void fx_esys_close(fx_esys_t *e);
/* PCR_Extend(pcr, password auth) in each listed bank with a digest derived from seed. */
int fx_pcr_extend(fx_esys_t *e, unsigned pcr, const uint16_t *banks, size_t n_banks, uint32_t seed);

/* ---- the HVS quote blob (spec section 5), parsed without quote/ ---- */

#define HVS_BANKS_MAX 8

struct hvs_blob {
    const uint8_t *attest; /* TPMS_ATTEST, signed */
    size_t attest_len;
    const uint8_t *sig; /* the whole TPMT_SIGNATURE */
    size_t sig_len;
    uint16_t sig_alg, sig_hash;
    const uint8_t *sig_bytes;
    size_t sig_bytes_len;
    const uint8_t *values; /* PCR values, bank-major */
    size_t values_len;
    /* from the TPMS_ATTEST */
    uint16_t type;
    const uint8_t *extra; /* extraData = qualifyingData */
    size_t extra_len;
    uint32_t n_banks;
    uint16_t bank[HVS_BANKS_MAX];
    uint8_t select_size[HVS_BANKS_MAX];
    uint8_t select[HVS_BANKS_MAX][4];
    const uint8_t *pcr_digest;
    size_t pcr_digest_len;
};

/* Splits the blob and parses the TPMS_ATTEST; pointers point into blob. */
int hvs_blob_parse(const uint8_t *blob, size_t len, struct hvs_blob *ret, char *why, size_t why_len);

/* SHA-256(nonce), or SHA-256(SHA-256(nonce) || tag48). */
void fx_qualifying_data(const uint8_t *nonce, size_t nonce_len, const uint8_t *tag, uint8_t ret_qdata[32]);

/* What HVS checks, plus what the request asked for: extraData == qdata; selection == banks x mask with
 * sizeofSelect 3; SHA-256(values) == pcrDigest; PCR bytes below TPM_HVS_PCR_BYTES_MAX; RSASSA-SHA256
 * signature over the attest with aik. Thread-safe. */
int hvs_blob_verify(EVP_PKEY *aik, const uint8_t *blob, size_t len, const uint8_t qdata[32],
                    const uint16_t *banks, size_t n_banks, uint32_t mask, struct hvs_blob *ret, char *why,
                    size_t why_len);

/* tpm2_checkquote -u aik.pem -m attest -s TPMT_SIGNATURE -f pcrs -q qdata (PCR file in the serialized
 * TPML_PCR_SELECTION + TPML_DIGEST format tpm2_quote -o writes). */
int fx_checkquote(struct fx *f, const struct hvs_blob *b, const uint8_t qdata[32]);

size_t fx_bank_size(uint16_t bank);
const char *fx_hex(const uint8_t *data, size_t len, char *buf, size_t buf_len);

#endif
