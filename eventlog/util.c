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

int eventlog_extend(uint16_t alg, uint8_t *pcr, size_t size, const uint8_t *digest)
{
    return digest_extend(alg, pcr, digest, size) < 0 ? -EIO : 0;
}
