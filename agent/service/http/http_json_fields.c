/* SPDX-License-Identifier: BSD-3-Clause */
/* The Go agent's DisallowUnknownFields on HTTP mode's JSON bodies (http_json_fields.h). */
#include "http_json_fields.h"

#include "cleanup_cjson.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* The json names of the Go struct each JSON route decodes into (pkg/model/ta). */
static const struct {
    const char *path, *type;
    const char *const fields[5];
} structs[] = {
    {"/v2/tpm/quote", "TpmQuoteRequest", {"nonce", "pcrs", "pcrbanks", "ima_measure_enabled", NULL}},
    {"/v2/tag", "TagWriteRequest", {"tag", "hardware_uuid", NULL}},
};

static bool known(const char *const *fields, const char *key)
{
    for (; *fields; fields++)
        if (strcasecmp(*fields, key) == 0)
            return true;
    return false;
}

int http_json_fields_check(const struct http_route *route, const char *body, size_t len, char **ret_reason)
{
    for (size_t i = 0; i < sizeof(structs) / sizeof(structs[0]); i++) {
        if (route->body != HTTP_BODY_JSON || strcmp(structs[i].path, route->path) != 0)
            continue;
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_ParseWithLength(body, len);
        const cJSON *item;
        if (!cJSON_IsObject(j))
            return 0;
        cJSON_ArrayForEach(item, j)
        {
            if (known(structs[i].fields, item->string))
                continue;
            if (asprintf(ret_reason,
                         "%s: json: unknown field \"%s\": the body must be a %s, which has no such field",
                         route->handler->suffix, item->string, structs[i].type) < 0)
                return -ENOMEM;
            return 400;
        }
    }
    return 0;
}
