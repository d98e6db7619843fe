/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-1's block function (FIPS 180-4 6.1.2). Still a PCR bank and the classic IMA template hash, so it stays,
 * collisions or not. The 80 rounds are unrolled and the state words are renamed from round to round instead
 * of shifted; the message schedule lives in a 16-word window, each word computed just before its round. */
#include "digest_internal.h"

const union digest_state digest_sha1_iv = {
    .w32 = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0}};

#define K0 0x5a827999u /* rounds 0-19 */
#define K1 0x6ed9eba1u /* 20-39 */
#define K2 0x8f1bbcdcu /* 40-59 */
#define K3 0xca62c1d6u /* 60-79 */

/* Ch, Parity, Maj (4.1.1), Ch and Maj with one operation fewer than the spec's form. */
#define CH(b, c, d)  ((d) ^ ((b) & ((c) ^ (d))))
#define PAR(b, c, d) ((b) ^ (c) ^ (d))
#define MAJ(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))

/* W_t: rounds 0-15 take the block's words, later ones ROTL1(W_t-3 ^ W_t-8 ^ W_t-14 ^ W_t-16). */
#define LOAD(t) w[t]
#define NEXT(t) (w[(t)&15] = rotl32(w[((t)-3) & 15] ^ w[((t)-8) & 15] ^ w[((t)-14) & 15] ^ w[(t)&15], 1))

/* T = ROTL5(a) + f(b,c,d) + e + K + W_t lands in e; b becomes ROTL30(b); the next round names the words
 * (e, a, b, c, d). */
#define ROUND(a, b, c, d, e, f, k, x)                                                                        \
    do {                                                                                                     \
        (e) += rotl32(a, 5) + f(b, c, d) + (k) + (x);                                                        \
        (b) = rotl32(b, 30);                                                                                 \
    } while (0)

#define FIVE(f, k, t, X)                                                                                     \
    do {                                                                                                     \
        ROUND(a, b, c, d, e, f, k, X(t));                                                                    \
        ROUND(e, a, b, c, d, f, k, X((t) + 1));                                                              \
        ROUND(d, e, a, b, c, f, k, X((t) + 2));                                                              \
        ROUND(c, d, e, a, b, f, k, X((t) + 3));                                                              \
        ROUND(b, c, d, e, a, f, k, X((t) + 4));                                                              \
    } while (0)

/* rounds t..t+19, all with a computed W */
#define TWENTY(f, k, t)                                                                                      \
    do {                                                                                                     \
        FIVE(f, k, (t), NEXT);                                                                               \
        FIVE(f, k, (t) + 5, NEXT);                                                                           \
        FIVE(f, k, (t) + 10, NEXT);                                                                          \
        FIVE(f, k, (t) + 15, NEXT);                                                                          \
    } while (0)

void digest_sha1_blocks(void *state, const uint8_t *p, size_t n)
{
    uint32_t *s = state, w[16];
    for (; n; n--, p += 64) {
        uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4];
        for (int i = 0; i < 16; i++)
            w[i] = load32be(p + 4 * i);
        FIVE(CH, K0, 0, LOAD);
        FIVE(CH, K0, 5, LOAD);
        FIVE(CH, K0, 10, LOAD);
        ROUND(a, b, c, d, e, CH, K0, w[15]);
        ROUND(e, a, b, c, d, CH, K0, NEXT(16));
        ROUND(d, e, a, b, c, CH, K0, NEXT(17));
        ROUND(c, d, e, a, b, CH, K0, NEXT(18));
        ROUND(b, c, d, e, a, CH, K0, NEXT(19));
        TWENTY(PAR, K1, 20);
        TWENTY(MAJ, K2, 40);
        TWENTY(PAR, K3, 60);
        s[0] += a;
        s[1] += b;
        s[2] += c;
        s[3] += d;
        s[4] += e;
    }
}
