/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoders of the NATS request payloads (spec 4.2, 5): pure functions, no TPM, no I/O, so they can be
 * unit-tested and fuzzed (tests/fuzz/fuzz_requests.c). Private to agent/.
 *
 * Keys match as Go's json.Unmarshal matches them: case-insensitively, the last matching key wins, unknown
 * keys are ignored. Every size is bounded before anything is allocated for it.
 *
 * Each decoder returns 0 and fills its ret_ argument, or -EINVAL with *ret_error (caller frees; ret_error may
 * be NULL) saying what is wrong (the handler replies SERVICE_ERR_REQUEST with it), or -ENOMEM (*ret_error may
 * stay NULL). The quote and asset-tag messages name their subject; the Manifest ones do not (two subjects
 * share it: the handler prefixes its own).
 */
#ifndef TAGENT_REQUEST_DECODE_H
#define TAGENT_REQUEST_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No request HVS sends is near this (NATS' default max payload is 1 MiB); larger ones are refused unread. */
#define REQUEST_MAX_BYTES (4u << 20)
/* HVS sends 32 bytes. quote/ hashes the nonce (SHA-256) before the TPM sees it, so the TPM's own limit
 * (TPM2B_DATA: 64 bytes) does not bite; it is still the bound: nothing longer is a nonce. */
#define REQUEST_NONCE_MAX      64
#define REQUEST_ASSET_TAG_SIZE 48

/* ---- quote-request: TpmQuoteRequest {"nonce": b64, "pcrs": [int], "pcrbanks": [name],
 * "ima_measure_enabled"} */

struct request_quote {
    uint8_t *nonce; /* 1..REQUEST_NONCE_MAX bytes */
    size_t nonce_len;
    uint32_t pcr_mask; /* bit i = PCR i; never 0 */
    uint16_t banks[8]; /* TPM_ALG_* in request order, no duplicates; n_banks 0 = the TPM's default */
    size_t n_banks;
    bool ima;
};
int request_quote_decode(const char *data, size_t len, struct request_quote *ret, char **ret_error);
/* Wipes the nonce (a secret until used) and frees it. Accepts a zeroed struct. */
void request_quote_free(struct request_quote *q);

/* ---- deploy-asset-tag: {"tag": b64 of 48 bytes, "hardware_uuid": "<uuid>" (optional)} */

struct request_asset_tag {
    uint8_t tag[REQUEST_ASSET_TAG_SIZE];
    char hardware_uuid[37]; /* "" when absent, null or empty */
};
int request_asset_tag_decode(const char *data, size_t len, struct request_asset_tag *ret, char **ret_error);
/* Wipes the tag. */
void request_asset_tag_clear(struct request_asset_tag *t);

/* ---- Manifest (deploy-manifest, application-measurement-request) in its Go-default JSON form:
 * {"XMLName":{..},"Xmlns":..,"Label":..,"Uuid":..,"DigestAlg":..,"Dir":[{"Exclude","FilterType","Include",
 *  "Path","SearchType"}],"File":[{"Path","SearchType"}],"Symlink":[{"Path","SearchType"}]} */

#define MANIFEST_MAX_ENTRIES 16384u /* a default application manifest has a few dozen */
#define MANIFEST_MAX_STRING  4096u  /* PATH_MAX */

enum manifest_kind { MANIFEST_DIR, MANIFEST_FILE, MANIFEST_SYMLINK };

struct manifest_entry {
    enum manifest_kind kind;
    char *path, *search_type;
    char *include, *exclude, *filter_type; /* Dir only; "" otherwise */
};

struct manifest {
    char *xmlns, *label, *uuid, *digest_alg; /* never NULL after decoding; "" when absent */
    struct manifest_entry *entries; /* the Dirs, then the Files, then the Symlinks, as HVS sent them */
    size_t n_entries;
};
/* Every string is valid UTF-8 without control characters other than tab, CR and LF (XML can carry no
 * others), at most MANIFEST_MAX_STRING bytes. */
int request_manifest_decode(const char *data, size_t len, struct manifest *ret, char **ret_error);
void manifest_free(struct manifest *m);

/* What the Go agent checks before deploying a manifest: Uuid is a version-4 UUID, Label is non-empty, only
 * [A-Za-z0-9_ /.-], and not a default flavor's (those manifests come with the installation).
 * Returns 0 or -EINVAL with *ret_error, or -ENOMEM. */
int manifest_check(const struct manifest *m, char **ret_error);

/* The label prefixes of the manifests the installer deploys (spec 8). */
#define MANIFEST_DEFAULT_APPLICATION_PREFIX "ISecL_Default_Application_Flavor_v"
#define MANIFEST_DEFAULT_WORKLOAD_PREFIX    "ISecL_Default_Workload_Flavor_v"

/* ---- shared helpers ---- */

/* Sets *ret_error (when not NULL) to the formatted text and returns -EINVAL; -ENOMEM (and NULL) when that
 * fails. */
int request_invalid(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTTP mode's decoders refuse what the NATS ones ignore (the Go controllers' DisallowUnknownFields): 0 when
 * every member of the JSON object data names one of fields (NULL-terminated; case-insensitive, as Go), else
 * -EINVAL with *ret_error naming the first other one, or -ENOMEM. */
int request_fields_known(const char *data, size_t len, const char *const *fields, char **ret_error);
/* True for s in the 8-4-4-4-12 hex form. */
bool request_uuid_valid(const char *s);
/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF) of XML 1.0
 * characters only (no control character but tab, LF and CR; no U+FFFE/U+FFFF): text XML and JSON can both
 * carry unchanged. */
bool request_text_valid(const char *s, size_t len);

#endif
