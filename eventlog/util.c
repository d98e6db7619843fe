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

EVP_MD *eventlog_md_fetch(uint16_t alg)
{
    const struct tcg_alg *a = tcg_alg_from_id(alg);
    return a ? EVP_MD_fetch(NULL, a->ossl_name, NULL) : NULL;
}

int eventlog_extend(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *pcr, size_t size, const uint8_t *digest)
{
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pcr, size) ||
        !EVP_DigestUpdate(ctx, digest, size) || !EVP_DigestFinal_ex(ctx, pcr, &n) || n != size)
        return -EIO;
    return 0;
}
