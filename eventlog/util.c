/* SPDX-License-Identifier: BSD-3-Clause */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void eventlog_set_error(char **ret_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
        *ret_error = NULL;
    va_end(ap);
}

int eventlog_error_prefix(char **ret_error, int err, const char *fmt, ...)
{
    if (!ret_error)
        return err;
    char *where = NULL, *msg = *ret_error;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&where, fmt, ap);
    va_end(ap);
    *ret_error = NULL;
    if (n >= 0)
        eventlog_set_error(ret_error, "%s: %s", where, msg ? msg : "out of memory");
    free(where);
    free(msg);
    return err;
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
