/* SPDX-License-Identifier: BSD-3-Clause */
/* What every family shares: the algorithm table, buffering of partial blocks, the final padding (FIPS 180-4
 * 5.1; SM3 pads the same way) and the big-endian output. The block functions are in digest_<family>.c. */
#include "digest_internal.h"
#include "tcg_alg.h"

#include <errno.h>
#include <string.h>

static const struct digest_algo algos[] = {
    {TCG_ALG_SHA1, 20, 64, 0, &digest_sha1_iv, digest_sha1_blocks},
    {TCG_ALG_SHA256, 32, 64, 0, &digest_sha256_iv, digest_sha256_blocks},
    {TCG_ALG_SHA384, 48, 128, 1, &digest_sha384_iv, digest_sha512_blocks},
    {TCG_ALG_SHA512, 64, 128, 1, &digest_sha512_iv, digest_sha512_blocks},
    {TCG_ALG_SM3_256, 32, 64, 0, &digest_sm3_iv, digest_sm3_blocks},
};

static const struct digest_algo *algo_of(uint16_t alg)
{
    for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
        if (algos[i].id == alg)
            return &algos[i];
    return NULL;
}

bool digest_supported(uint16_t alg)
{
    return algo_of(alg) != NULL;
}

int digest_init(struct digest_ctx *ctx, uint16_t alg)
{
    ctx->algo = algo_of(alg);
    if (!ctx->algo)
        return -EOPNOTSUPP;
    ctx->length = 0;
    ctx->fill = 0;
    ctx->state = *ctx->algo->iv;
    return 0;
}

void digest_update(struct digest_ctx *ctx, const void *data, size_t len)
{
    const struct digest_algo *a = ctx->algo;
    const uint8_t *p = data;
    if (len == 0)
        return;
    ctx->length += len;
    if (ctx->fill) {
        size_t take = a->block - ctx->fill < len ? a->block - ctx->fill : len;
        memcpy(ctx->buf + ctx->fill, p, take);
        ctx->fill += take;
        p += take;
        len -= take;
        if (ctx->fill < a->block)
            return;
        a->blocks(&ctx->state, ctx->buf, 1);
        ctx->fill = 0;
    }
    /* whole blocks straight from the caller's buffer: no copy */
    if (len >= a->block) {
        size_t n = len / a->block;
        a->blocks(&ctx->state, p, n);
        p += n * a->block;
        len -= n * a->block;
    }
    if (len) {
        memcpy(ctx->buf, p, len);
        ctx->fill = len;
    }
}

/* The state as the digest's bytes: big-endian words, the first size bytes of them. */
static void put_digest(const struct digest_algo *a, const union digest_state *s, uint8_t *out)
{
    if (a->wide) {
        for (size_t i = 0; i < a->size / 8u; i++)
            store64be(out + 8 * i, s->w64[i]);
    } else {
        for (size_t i = 0; i < a->size / 4u; i++)
            store32be(out + 4 * i, s->w32[i]);
    }
}

size_t digest_final(struct digest_ctx *ctx, uint8_t *out)
{
    const struct digest_algo *a = ctx->algo;
    size_t length_field = a->wide ? 16 : 8, fill = ctx->fill;

    /* a 1 bit, zeros, then the length in bits as a big-endian 64- or 128-bit number, ending a block */
    ctx->buf[fill++] = 0x80;
    if (fill > a->block - length_field) {
        memset(ctx->buf + fill, 0, a->block - fill);
        a->blocks(&ctx->state, ctx->buf, 1);
        fill = 0;
    }
    memset(ctx->buf + fill, 0, a->block - 8 - fill);
    /* the bits of length * 8 above 64 (non-zero past 2^61 bytes) go in the 128-bit field's low byte */
    if (a->wide)
        ctx->buf[a->block - 9] = (uint8_t)(ctx->length >> 61);
    store64be(ctx->buf + a->block - 8, ctx->length << 3);
    a->blocks(&ctx->state, ctx->buf, 1);
    put_digest(a, &ctx->state, out);
    return a->size;
}

int digest_buf(uint16_t alg, const void *data, size_t len, uint8_t out[DIGEST_MAX_SIZE])
{
    struct digest_ctx ctx;
    int r = digest_init(&ctx, alg);
    if (r < 0)
        return r;
    digest_update(&ctx, data, len);
    return (int)digest_final(&ctx, out);
}

int digest_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest, size_t size)
{
    const struct digest_algo *a = algo_of(alg);
    if (!a)
        return -EOPNOTSUPP;
    if (size != a->size)
        return -EINVAL;
    /* 2 * size bytes, 0x80, zeros, the length field: one block for SHA-1, SHA-384 and SHA-512, two for the
     * others (64 bytes leave no room for the padding) */
    size_t len = 2 * size, total = len + 1 + (a->wide ? 16 : 8) <= a->block ? a->block : 2u * a->block;
    uint8_t m[2 * DIGEST_MAX_BLOCK] = {0};
    memcpy(m, pcr, size);
    memcpy(m + size, digest, size);
    m[len] = 0x80;
    store64be(m + total - 8, (uint64_t)len << 3);

    union digest_state s = *a->iv;
    a->blocks(&s, m, total / a->block);
    put_digest(a, &s, pcr);
    return 0;
}
