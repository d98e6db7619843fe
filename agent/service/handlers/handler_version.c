/* SPDX-License-Identifier: BSD-3-Clause */
/* version-request (NATS): the version text as a JSON string (request payload ignored: HVS sends null);
 * GET /v2/version (HTTP): the text itself as text/plain. */
#include "handler.h"
#include "version.h"

#include <errno.h>
#include <string.h>

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    char *out = service_json_string(tagent_version_text());
    if (!out)
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
    *ret_reply = out;
    return 0;
}

static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    if (!(ret->data = strdup(tagent_version_text())))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
    ret->len = strlen(ret->data);
    ret->content_type = "text/plain";
    return 0;
}

const struct service_handler handler_version = {
    .suffix = "version-request", .run = run, .run_http = run_http};
