/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to eventlog/: error messages and digest algorithms, shared by the TCG and IMA code. */
#ifndef TAGENT_EVENTLOG_UTIL_H
#define TAGENT_EVENTLOG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "eventlog.h"

/* Sets *ret_error (when ret_error is not NULL) to the formatted message. */
__attribute__((format(printf, 2, 3))) void eventlog_set_error(char **ret_error, const char *fmt, ...);
/* eventlog_set_error, then evaluates to err: every failure path reads `return eventlog_fail(...)`. */
#define eventlog_fail(ret_error, err, ...) (eventlog_set_error((ret_error), __VA_ARGS__), (err))
/* Puts the formatted text and ": " before *ret_error (when ret_error is not NULL), which says where a failure
 * happened ("line 7", "record 3 at offset 96", a path); a missing message was an allocation failure. Returns
 * err, like eventlog_fail. */
__attribute__((format(printf, 3, 4))) int eventlog_error_prefix(char **ret_error, int err, const char *fmt,
                                                                ...);

/* pcr := H(pcr || digest), both size bytes, H the digest of alg. -EIO when alg cannot be hashed or size is
 * not its digest size. */
int eventlog_extend(uint16_t alg, uint8_t *pcr, size_t size, const uint8_t *digest);

#endif
