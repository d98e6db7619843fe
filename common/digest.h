/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The digests of the TCG algorithm table (tcg_alg.h) in plain C, keyed by TPM2_ALG_ID: SHA-1, SHA-256,
 * SHA-384, SHA-512 (FIPS 180-4) and SM3 (GB/T 32905-2016). They exist so that event-log code needs libc only:
 * loading and initialising libcrypto costs a short-lived process (`tagent eventlog --replay`) more than the
 * whole replay of a typical log.
 *
 *     struct digest_ctx c;
 *     if (digest_init(&c, TCG_ALG_SHA256) < 0) ...;      an algorithm not in the table: -EOPNOTSUPP
 *     digest_update(&c, a, a_len);                          any number of pieces, of any size (0 too)
 *     size_t n = digest_final(&c, out);                     n = the digest size; c is spent until init
 *
 * The context is plain memory (no allocation, nothing to free). It keeps the tail of the input (less than a
 * block) until digest_final: wipe it with explicit_bzero after hashing a secret.
 */
#ifndef TAGENT_DIGEST_H
#define TAGENT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_MAX_SIZE  64  /* SHA-512 */
#define DIGEST_MAX_BLOCK 128 /* SHA-384/512 */

struct digest_algo;

union digest_state {
    uint32_t w32[8]; /* SHA-1 (5 words), SHA-256, SM3 */
    uint64_t w64[8]; /* SHA-384, SHA-512 */
};

struct digest_ctx {
    const struct digest_algo *algo;
    uint64_t length; /* input bytes so far */
    union digest_state state;
    size_t fill; /* bytes of buf in use, always less than a block */
    uint8_t buf[DIGEST_MAX_BLOCK];
};

/* Whether alg (a TPM2_ALG_ID) can be hashed here. */
bool digest_supported(uint16_t alg);

/* Starts a digest of alg: 0, or -EOPNOTSUPP for an algorithm not in the table (ctx is then unusable). */
int digest_init(struct digest_ctx *ctx, uint16_t alg);
/* Hashes len more bytes; data may be NULL when len is 0. */
void digest_update(struct digest_ctx *ctx, const void *data, size_t len);
/* Writes the digest (its size in bytes is returned, at most DIGEST_MAX_SIZE) to out. */
size_t digest_final(struct digest_ctx *ctx, uint8_t *out);

/* The digest of one buffer: its size in bytes, or -EOPNOTSUPP for an algorithm not in the table. */
int digest_buf(uint16_t alg, const void *data, size_t len, uint8_t out[DIGEST_MAX_SIZE]);

/* The TPM's PCR extend, pcr := H(pcr || digest), both size bytes: 0, -EOPNOTSUPP for an algorithm not in the
 * table, -EINVAL when size is not its digest size (pcr is then untouched). Replaying an event log is little
 * else, so the padded message is built here in one go rather than through a context's buffering. */
int digest_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest, size_t size);

#endif
