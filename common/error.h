/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `char **ret_error` half of the error convention (design.md): a heap message for the caller, who frees
 * it.
 *
 *     return error_set(ret_error, -EBADMSG, "sig_len is %u, a DER ECDSA signature has 8 to 139 bytes", n);
 */
#ifndef TAGENT_ERROR_H
#define TAGENT_ERROR_H

/* Sets *ret_error (when ret_error is not NULL) to the formatted message and returns r. A failed allocation
 * leaves *ret_error NULL, which callers read as "out of memory". */
int error_set(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
