/* SPDX-License-Identifier: BSD-3-Clause */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

void eventlog_set_error(char **ret_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
        *ret_error = NULL;
    va_end(ap);
}

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

int eventlog_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *ret_n)
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

void eventlog_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

EVP_MD *eventlog_md_fetch(uint16_t alg)
{
    const char *name = NULL;
    switch (alg) {
    case EVENTLOG_ALG_SHA1:
        name = "SHA1";
        break;
    case EVENTLOG_ALG_SHA256:
        name = "SHA256";
        break;
    case EVENTLOG_ALG_SHA384:
        name = "SHA384";
        break;
    case EVENTLOG_ALG_SHA512:
        name = "SHA512";
        break;
    case EVENTLOG_ALG_SM3_256:
        name = "SM3";
        break;
    }
    return name ? EVP_MD_fetch(NULL, name, NULL) : NULL;
}

int eventlog_extend(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *pcr, size_t size, const uint8_t *digest)
{
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pcr, size) ||
        !EVP_DigestUpdate(ctx, digest, size) || !EVP_DigestFinal_ex(ctx, pcr, &n) || n != size)
        return -EIO;
    return 0;
}
