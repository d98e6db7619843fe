/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shape SHA-256 (FIPS 180-4 6.2.2) and SHA-512 (6.4.2) share, written once: the including file defines
 * K (the round constants) and BSIG0, BSIG1, SSIG0, SSIG1 (the functions of its word size, 4.1.2 / 4.1.3),
 * then SHA2_DEFINE_BLOCKS makes its block function. Rounds are unrolled by 16 with the eight working
 * variables renamed from round to round instead of shifted; the message schedule lives in a 16-word window,
 * each word computed in the round that uses it.
 */
#ifndef TAGENT_DIGEST_SHA2_H
#define TAGENT_DIGEST_SHA2_H

#include "digest_internal.h"

/* Ch and Maj with one operation fewer than the spec's form */
#define SHA2_CH(e, f, g)  ((g) ^ ((e) & ((f) ^ (g))))
#define SHA2_MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))

/* W_t: rounds 0-15 take the block's words; later ones replace W_t-16 in the window. */
#define SHA2_LOAD(t) w[t]
#define SHA2_NEXT(t) (w[(t)&15] += SSIG1(w[((t)-2) & 15]) + w[((t)-7) & 15] + SSIG0(w[((t)-15) & 15]))

/* T1 lands in d (the next e), T1 + T2 in h (the next a); the next round names the words (h, a, ..., g). */
#define SHA2_ROUND(a, b, c, d, e, f, g, h, t, x)                                                             \
    do {                                                                                                     \
        __typeof__(h) t1_ = (h) + BSIG1(e) + SHA2_CH(e, f, g) + K[t] + (x);                                  \
        (d) += t1_;                                                                                          \
        (h) = t1_ + BSIG0(a) + SHA2_MAJ(a, b, c);                                                            \
    } while (0)

#define SHA2_EIGHT(t, X)                                                                                     \
    do {                                                                                                     \
        SHA2_ROUND(a, b, c, d, e, f, g, h, (t), X(t));                                                       \
        SHA2_ROUND(h, a, b, c, d, e, f, g, (t) + 1, X((t) + 1));                                             \
        SHA2_ROUND(g, h, a, b, c, d, e, f, (t) + 2, X((t) + 2));                                             \
        SHA2_ROUND(f, g, h, a, b, c, d, e, (t) + 3, X((t) + 3));                                             \
        SHA2_ROUND(e, f, g, h, a, b, c, d, (t) + 4, X((t) + 4));                                             \
        SHA2_ROUND(d, e, f, g, h, a, b, c, (t) + 5, X((t) + 5));                                             \
        SHA2_ROUND(c, d, e, f, g, h, a, b, (t) + 6, X((t) + 6));                                             \
        SHA2_ROUND(b, c, d, e, f, g, h, a, (t) + 7, X((t) + 7));                                             \
    } while (0)

/* name(state, p, n): n blocks of 16 words of type T (read by load_word), rounds a multiple of 16. In the
 * loop t is a multiple of 16, so every window index is a constant after unrolling. */
#define SHA2_DEFINE_BLOCKS(name, T, load_word, rounds)                                                       \
    void name(void *state, const uint8_t *p, size_t n)                                                       \
    {                                                                                                        \
        T *s = state, w[16];                                                                                 \
        for (; n; n--, p += 16 * sizeof(T)) {                                                                \
            T a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];                \
            for (int i = 0; i < 16; i++)                                                                     \
                w[i] = load_word(p + sizeof(T) * i);                                                         \
            SHA2_EIGHT(0, SHA2_LOAD);                                                                        \
            SHA2_EIGHT(8, SHA2_LOAD);                                                                        \
            for (int t = 16; t < (rounds); t += 16) {                                                        \
                SHA2_EIGHT(t, SHA2_NEXT);                                                                    \
                SHA2_EIGHT(t + 8, SHA2_NEXT);                                                                \
            }                                                                                                \
            s[0] += a;                                                                                       \
            s[1] += b;                                                                                       \
            s[2] += c;                                                                                       \
            s[3] += d;                                                                                       \
            s[4] += e;                                                                                       \
            s[5] += f;                                                                                       \
            s[6] += g;                                                                                       \
            s[7] += h;                                                                                       \
        }                                                                                                    \
    }

#endif
