/* SPDX-License-Identifier: BSD-3-Clause */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int eventlog_extend(struct digest_ctx *ctx, uint8_t *pcr, size_t size, const uint8_t *digest)
{
    uint8_t out[DIGEST_MAX_SIZE];
    digest_reset(ctx);
    digest_update(ctx, pcr, size);
    digest_update(ctx, digest, size);
    if (digest_final(ctx, out) != size)
        return -EIO;
    memcpy(pcr, out, size);
    return 0;
}
