/* SPDX-License-Identifier: BSD-3-Clause */
/* Standard base64 (Go's encoding of []byte), strict on input: every module that speaks JSON with HVS or
 * reads PEM-less payloads uses this one pair. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

char *config_base64_encode(const void *data, size_t len)
{
    if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT32_MAX)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int config_base64_decode(const char *s, uint8_t **ret_data, size_t *ret_len)
{
    size_t n = strlen(s);
    if (n % 4 != 0 || n > INT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '/' || (c == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '='));
        if (!ok)
            return -EINVAL;
    }
    uint8_t *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return -ENOMEM;
    int len = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
    if (len < 0) {
        free(out);
        return -EINVAL;
    }
    /* EVP_DecodeBlock counts padding as data */
    if (n && s[n - 1] == '=')
        len--;
    if (n > 1 && s[n - 2] == '=')
        len--;
    *ret_data = out;
    *ret_len = (size_t)len;
    return 0;
}
