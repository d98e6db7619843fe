/* SPDX-License-Identifier: BSD-3-Clause */
/* provision/tepc/'s private helpers: big-endian fields, the profile by curve, AES-CTR. */
#ifndef TAGENT_TEPC_INTERNAL_H
#define TAGENT_TEPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tepc.h"

static inline uint16_t tepc_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t tepc_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t tepc_be64(const uint8_t *p)
{
    return (uint64_t)tepc_be32(p) << 32 | tepc_be32(p + 4);
}

static inline void tepc_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void tepc_put32(uint8_t *p, uint32_t v)
{
    tepc_put16(p, (uint16_t)(v >> 16));
    tepc_put16(p + 2, (uint16_t)v);
}

static inline void tepc_put64(uint8_t *p, uint64_t v)
{
    tepc_put32(p, (uint32_t)(v >> 32));
    tepc_put32(p + 4, (uint32_t)v);
}

/* The profile whose sig_curve is curve, or NULL. */
const struct tepc_profile_params *tepc_profile_by_curve(uint16_t curve, enum tepc_profile *ret_profile);

/* AES-CTR of len bytes (encryption and decryption are the same operation) with a 16- or 32-byte key. */
int tepc_aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[TEPC_IV_LEN], const uint8_t *in,
                 size_t len, uint8_t *out, char **ret_error);

#endif
