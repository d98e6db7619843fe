/* SPDX-License-Identifier: BSD-3-Clause */
/* Hex text <-> bytes for IMA digests and signatures. */
#include "ima_internal.h"

#include <errno.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ima_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *ret_n)
{
    if (len % 2 != 0 || len / 2 > cap)
        return -EINVAL;
    for (size_t i = 0; i < len; i += 2) {
        int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *ret_n = len / 2;
    return 0;
}

void ima_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
