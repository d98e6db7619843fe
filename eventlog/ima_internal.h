/* SPDX-License-Identifier: BSD-3-Clause */
/* IMA log internals shared by the ascii and binary parsers, the replay and the JSON writer. */
#ifndef TAGENT_IMA_INTERNAL_H
#define TAGENT_IMA_INTERNAL_H

#include "cleanup.h"
#include "eventlog.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits no kernel-written entry reaches: a file name is at most PATH_MAX, a signature is an xattr value
 * (a few hundred bytes for RSA-4096; room left for post-quantum schemes). */
#define IMA_MAX_PATH          4096
#define IMA_MAX_SIG           8192
#define IMA_MAX_TEMPLATE_DATA (4 + 16 + 64 + 4 + IMA_MAX_PATH + 1 + 4 + IMA_MAX_SIG)
#define IMA_MAX_LINE          (2 * IMA_MAX_TEMPLATE_DATA)
#define IMA_TEMPLATE_NAME_MAX 15  /* IMA_TEMPLATE_NAME_LEN_MAX */
#define IMA_OLD_NAME_MAX      255 /* the "ima" template's name field: IMA_EVENT_NAME_LEN_MAX */
#define IMA_DIGEST_SIZE       20  /* the "ima" template's file digest (SHA-1) */
#define IMA_PCR               10

/* Errors and digests are shared with the TCG code (util.h); hex is common/hex.h. */
#define ima_set_error eventlog_set_error
#define ima_fail      eventlog_fail

/* Copies at most cap-1 bytes of untrusted text into out for an error message, each byte outside printable
 * ASCII shown as '?', and returns out. */
const char *ima_printable(char *out, size_t cap, const char *s, size_t n);

/* A NUL-terminated copy of n bytes that hold no NUL (strndup would look at byte n). */
char *ima_memdup_str(const void *s, size_t n);

/* Template names <-> kinds. */
const char *ima_template_name(enum ima_template kind);
int ima_template_from_name(const char *name, size_t len, enum ima_template *ret_kind);

/* A file-hash algorithm name as IMA prints it ("sha256"): 1-15 of [a-z0-9_-]. */
bool ima_hash_alg_name_ok(const char *name, size_t len);
/* Checks a file-hash algorithm name against the kernel's and the digest's size against it; violations
 * carry zeros of whatever size the kernel of the day used, so only their upper bound is checked. Returns 0
 * or -EINVAL with a message. */
int ima_file_hash_check(const char *alg, size_t size, bool violation, char **ret_error);

/* A list's template-hash algorithm: its TPM2_ALG_ID and digest size, checked once per parse. */
struct ima_hash {
    uint16_t alg;
    uint16_t size;
};
/* -EOPNOTSUPP with a message for an algorithm tagent cannot hash (common/digest.h). */
int ima_hash_init(struct ima_hash *h, uint16_t alg, char **ret_error);

/* The template data exactly as the kernel hashes it (caller frees). */
int ima_template_data(const struct ima_entry *e, uint8_t **ret_data, size_t *ret_len);
/* Sets e->violation (all zeros of h's size) and e->template_hash_ok (the template data hashed with h)
 * from the entry's fields; returns 0 or a negative errno. */
int ima_entry_check(struct ima_entry *e, const struct ima_hash *h);

/* Appends *e to the log, which takes over its allocations (e is zeroed); -ENOMEM with "out of memory". */
int ima_log_append(struct ima_log *log, struct ima_entry *e, char **ret_error);
void ima_entry_clear(struct ima_entry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ima_log *, ima_log_free)

#endif
