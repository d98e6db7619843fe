/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers of the NATS handlers: base64, JSON strings, the handler table. */
#include "service.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

static const struct service_handler *const handlers[] = {
    &handler_quote,
    &handler_host_info,
    &handler_aik,
    &handler_deploy_asset_tag,
    &handler_binding_certificate,
    &handler_deploy_manifest,
    &handler_application_measurement,
    &handler_version,
    NULL,
};

const struct service_handler *service_handler_find(const char *suffix)
{
    for (size_t i = 0; handlers[i]; i++)
        if (strcmp(handlers[i]->suffix, suffix) == 0)
            return handlers[i];
    return NULL;
}

char *service_json_string(const char *text)
{
    cJSON *s = cJSON_CreateString(text);
    char *out = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    return out;
}

char *service_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int service_fail(int r, int *ret_code, char **ret_message, int code, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    *ret_code = code;
    *ret_message = s;
    return r;
}
