/* SPDX-License-Identifier: BSD-3-Clause */
#include "hex.h"

#include <errno.h>

/* The value of a hex digit (either case), or -1. */
static int digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'-'F' to 'a'-'f'; nothing else lands in 'a'-'f' */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool hex_is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (digit_value((unsigned char)s[i]) < 0)
            return false;
    return true;
}

/* The text is checked whole before a byte is written: a rejected input leaves out as it was. Nothing is
 * copied, so nothing of a secret given in "hex:" form stays behind either. */
int hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *ret_n)
{
    if (len % 2 != 0)
        return -EINVAL;
    if (len / 2 > cap)
        return -ENOBUFS;
    if (!hex_is_digits(hex, len))
        return -EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned hi = (unsigned)digit_value((unsigned char)hex[2 * i]);
        unsigned lo = (unsigned)digit_value((unsigned char)hex[2 * i + 1]);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *ret_n = len / 2;
    return 0;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    /* lower case: HVS and the Go agent (encoding/hex) write it so */
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}
