/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to common/digest*.c: each family's block function and the big-endian word access they share. */
#ifndef TAGENT_DIGEST_INTERNAL_H
#define TAGENT_DIGEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* One algorithm: the block function runs over n whole blocks read straight from the caller's buffer. */
struct digest_algo {
    uint16_t id;
    uint8_t size;  /* digest bytes */
    uint8_t block; /* 64, or 128 for the 64-bit-word family */
    uint8_t wide;  /* 64-bit words: a 128-bit length field, state in w64 */
    const union digest_state *iv;
    void (*blocks)(void *state, const uint8_t *p, size_t n);
};

extern const union digest_state digest_sha1_iv, digest_sha256_iv, digest_sm3_iv, digest_sha384_iv,
    digest_sha512_iv;

void digest_sha1_blocks(void *state, const uint8_t *p, size_t n);
void digest_sha256_blocks(void *state, const uint8_t *p, size_t n);
void digest_sha512_blocks(void *state, const uint8_t *p, size_t n);
void digest_sm3_blocks(void *state, const uint8_t *p, size_t n);

/* Written byte by byte, which compilers turn into one load and a byte swap: portable whatever the host's
 * byte order and the buffer's alignment. */
static inline uint32_t load32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t load64be(const uint8_t *p)
{
    return (uint64_t)load32be(p) << 32 | load32be(p + 4);
}

static inline void store32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void store64be(uint8_t *p, uint64_t v)
{
    store32be(p, (uint32_t)(v >> 32));
    store32be(p + 4, (uint32_t)v);
}

/* Rotations by a constant 1..31 / 1..63 (compilers emit one rotate instruction). */
static inline uint32_t rotl32(uint32_t x, unsigned n)
{
    return x << n | x >> (32 - n);
}

static inline uint32_t rotr32(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

static inline uint64_t rotr64(uint64_t x, unsigned n)
{
    return x >> n | x << (64 - n);
}

#endif
