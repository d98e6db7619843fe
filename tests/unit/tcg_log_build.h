/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A crypto-agile TCG PC Client event log built byte by byte for tests, with the PCR values it should replay
 * to computed alongside through OpenSSL (not through eventlog/): the tests' independent idea of "the TPM".
 * Used by tests/unit/test_pcr_check.c and tests/integration/test_eventlog_check.c. Aborts on out of memory.
 */
#ifndef TAGENT_TEST_TCG_LOG_BUILD_H
#define TAGENT_TEST_TCG_LOG_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define TLB_EV_NO_ACTION                     0x00000003u
#define TLB_EV_SEPARATOR                     0x00000004u
#define TLB_EV_S_CRTM_VERSION                0x00000008u
#define TLB_EV_EFI_VARIABLE_DRIVER_CONFIG    0x80000001u
#define TLB_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define TLB_EV_EFI_ACTION                    0x80000007u
#define TLB_EV_EFI_PLATFORM_FIRMWARE_BLOB    0x80000008u
#define TLB_MAX_BANKS                        4

struct tlb {
    uint8_t *buf;
    size_t len, cap;
    size_t n_algs;
    uint16_t algs[TLB_MAX_BANKS];       /* TPM2_ALG_ID: 0x0004 SHA1, 0x000b SHA256, 0x000c SHA384 */
    uint8_t pcr[TLB_MAX_BANKS][24][64]; /* what the events extend to, per bank (PCR 0 from locality 0) */
    size_t n_events;                    /* after the header */
    size_t last_offset;                 /* of the last event added */
};

static inline const EVP_MD *tlb_md(uint16_t alg)
{
    return alg == 0x0004   ? EVP_sha1()
           : alg == 0x000b ? EVP_sha256()
           : alg == 0x000c ? EVP_sha384()
                           : EVP_sha512();
}

static inline void tlb_put(struct tlb *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 256;
        if (!(b->buf = realloc(b->buf, b->cap)))
            abort();
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
}

static inline void tlb_le(struct tlb *b, uint32_t v, size_t bytes)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tlb_put(b, le, bytes);
}

/* pcr := H(pcr || digest) in bank i. */
static inline void tlb_extend(struct tlb *b, size_t i, uint32_t pcr, const uint8_t *digest)
{
    const EVP_MD *md = tlb_md(b->algs[i]);
    size_t size = (size_t)EVP_MD_get_size(md);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, b->pcr[i][pcr], size) ||
        !EVP_DigestUpdate(ctx, digest, size) || !EVP_DigestFinal_ex(ctx, b->pcr[i][pcr], NULL))
        abort();
    EVP_MD_CTX_free(ctx);
}

static inline void tlb_hash(uint16_t alg, const void *data, size_t len, uint8_t out[64])
{
    unsigned n = 0;
    if (!EVP_Digest(data, len, out, &n, tlb_md(alg), NULL))
        abort();
}

/* The SHA1-format header event carrying the Spec ID Event03 with these banks. */
static inline void tlb_init(struct tlb *b, const uint16_t *algs, size_t n_algs)
{
    static const uint8_t zero[20] = {0};
    memset(b, 0, sizeof(*b));
    b->n_algs = n_algs;
    memcpy(b->algs, algs, n_algs * sizeof(algs[0]));
    tlb_le(b, 0, 4);                /* PCR */
    tlb_le(b, TLB_EV_NO_ACTION, 4); /* type */
    tlb_put(b, zero, sizeof(zero)); /* SHA1 digest */
    tlb_le(b, (uint32_t)(16 + 4 + 4 + 4 + 4 * n_algs + 1), 4);
    tlb_put(b, "Spec ID Event03", 16);
    tlb_le(b, 0, 4);           /* platformClass */
    tlb_put(b, "\0\2\0\2", 4); /* specVersionMinor 0, specVersionMajor 2, specErrata 0, uintnSize 2 */
    tlb_le(b, (uint32_t)n_algs, 4);
    for (size_t i = 0; i < n_algs; i++) {
        tlb_le(b, algs[i], 2);
        tlb_le(b, (uint32_t)EVP_MD_get_size(tlb_md(algs[i])), 2);
    }
    tlb_put(b, "", 1); /* vendorInfoSize */
}

/* An event whose digests are the banks' hashes of data (all zero for EV_NO_ACTION, which is not extended). */
static inline void tlb_event(struct tlb *b, uint32_t pcr, uint32_t type, const void *data, size_t len)
{
    b->last_offset = b->len;
    tlb_le(b, pcr, 4);
    tlb_le(b, type, 4);
    tlb_le(b, (uint32_t)b->n_algs, 4);
    for (size_t i = 0; i < b->n_algs; i++) {
        uint8_t digest[64] = {0};
        if (type != TLB_EV_NO_ACTION) {
            tlb_hash(b->algs[i], data, len, digest);
            tlb_extend(b, i, pcr, digest);
        }
        tlb_le(b, b->algs[i], 2);
        tlb_put(b, digest, (size_t)EVP_MD_get_size(tlb_md(b->algs[i])));
    }
    tlb_le(b, (uint32_t)len, 4);
    tlb_put(b, data, len);
    b->n_events++;
}

static inline void tlb_event_text(struct tlb *b, uint32_t pcr, uint32_t type, const char *text)
{
    tlb_event(b, pcr, type, text, strlen(text));
}

/* Extends H(text) into pcr of every bank without logging it: what firmware does with ExitBootServices. */
static inline void tlb_unlogged(struct tlb *b, uint32_t pcr, const char *text)
{
    for (size_t i = 0; i < b->n_algs; i++) {
        uint8_t digest[64];
        tlb_hash(b->algs[i], text, strlen(text), digest);
        tlb_extend(b, i, pcr, digest);
    }
}

#endif
