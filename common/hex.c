/* SPDX-License-Identifier: BSD-3-Clause */
#include "hex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

/* Digests, PCR values and file hashes fit on the stack; only signatures (IMA, up to 16 KiB of hex) need the
 * heap for the NUL-terminated copy OpenSSL's decoder takes. */
#define HEX_STACK_MAX 256

bool hex_is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (OPENSSL_hexchar2int((unsigned char)s[i]) < 0)
            return false;
    return true;
}

int hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap, size_t *ret_n)
{
    char small[HEX_STACK_MAX + 1];
    char *copy = small;
    size_t n = 0;
    int r = 0;

    if (len % 2 != 0)
        return -EINVAL;
    if (len / 2 > cap)
        return -ENOBUFS;
    /* checked here so a NUL cannot end the copy early and pass as a shorter, valid string */
    if (!hex_is_digits(hex, len))
        return -EINVAL;
    if (len > HEX_STACK_MAX && !(copy = malloc(len + 1)))
        return -ENOMEM;
    memcpy(copy, hex, len);
    copy[len] = '\0';

    ERR_set_mark();
    if (!OPENSSL_hexstr2buf_ex(out, cap, &n, copy, '\0'))
        r = -EINVAL;
    ERR_pop_to_mark();
    /* the text may be a secret (an owner secret in "hex:" form): no copy of it stays behind */
    OPENSSL_cleanse(copy, len);
    if (copy != small)
        free(copy);
    if (r == 0)
        *ret_n = n;
    return r;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    ERR_set_mark();
    /* cannot fail: out holds exactly the 2 * len + 1 bytes it asks for */
    if (!OPENSSL_buf2hexstr_ex(out, 2 * len + 1, NULL, in, len, '\0'))
        out[0] = '\0';
    ERR_pop_to_mark();
    /* OpenSSL writes upper case; HVS and the Go agent (encoding/hex) write lower case */
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
}
