/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers the NATS handlers share: JSON strings, formatted messages, failures. */
#include "handler.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

char *service_json_string(const char *text)
{
    cJSON *s = cJSON_CreateString(text);
    char *out = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    return out;
}

/* vasprintf, NULL on out of memory. */
static char *vstrdupf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vstrdupf(const char *fmt, va_list ap)
{
    char *s = NULL;
    return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *service_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vstrdupf(fmt, ap);
    va_end(ap);
    return s;
}

int service_fail(int r, int *ret_code, char **ret_message, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *ret_message = vstrdupf(fmt, ap);
    va_end(ap);
    *ret_code = code;
    return r;
}
