/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hex in the forms tagent's callers need: input as a length (IMA lines and env values are not cut into C
 * strings), output in lower case without separators (HVS's and the Go agent's form). libc only, so that the
 * event-log code needs no libcrypto; and no OpenSSL error queue to leave an entry on for a later TLS or PEM
 * call to trip over.
 */
#ifndef TAGENT_HEX_H
#define TAGENT_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when all n characters of s are hex digits, either case (true for n == 0). */
bool hex_is_digits(const char *s, size_t n);

/* Decodes exactly len characters (an even number of hex digits, either case, no separators) into out, which
 * holds cap bytes. -EINVAL for an odd length or anything that is not a hex digit (a NUL too), -ENOBUFS when
 * the bytes would not fit; out is untouched on error. (-ENOMEM, which callers may still handle, is no longer
 * returned: nothing is allocated.) */
int hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *ret_n);

/* Writes the 2 * len lower-case hex digits of in and a NUL to out, which holds 2 * len + 1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
