/* SPDX-License-Identifier: BSD-3-Clause */
#include "hex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Digests, PCR values and file hashes fit on the stack; only signatures (IMA, up to 16 KiB of hex) need the
 * heap for the NUL-terminated copy OpenSSL's decoder takes. */
#define HEX_STACK_MAX 256

#define HEX_DIGITS "0123456789abcdefABCDEF"

bool hex_is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (OPENSSL_hexchar2int((unsigned char)s[i]) < 0)
            return false;
    return true;
}

/* OpenSSL's codec raises an error (ERR_raise) only for what is checked here before it is called: an odd
 * length, a non-digit, a buffer too small. So it never fails and never leaves an entry on the thread's error
 * queue for a later TLS or PEM call to trip over; an ERR_set_mark/ERR_pop_to_mark pair per call would cost a
 * quarter of an IMA log's parse time. */
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
    if (len > HEX_STACK_MAX && !(copy = malloc(len + 1)))
        return -ENOMEM;
    memcpy(copy, hex, len);
    copy[len] = '\0';
    /* on the copy: a NUL inside hex stops strspn short instead of passing as a shorter, valid string */
    if (strspn(copy, HEX_DIGITS) != len || !OPENSSL_hexstr2buf_ex(out, cap, &n, copy, '\0'))
        r = -EINVAL;
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
    /* cannot fail: out holds exactly the 2 * len + 1 bytes it asks for */
    if (!OPENSSL_buf2hexstr_ex(out, 2 * len + 1, NULL, in, len, '\0'))
        out[0] = '\0';
    /* OpenSSL writes upper case; HVS and the Go agent (encoding/hex) write lower case */
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
}
