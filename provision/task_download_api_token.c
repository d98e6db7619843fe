/* SPDX-License-Identifier: BSD-3-Clause */
/* download-api-token (spec 3.6): a one-year token from AAS for the start-up report to HVS, kept in
 * config.yml (api-token). */
#include "control_plane.h"
#include "tasks.h"

#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int validate(struct provision_ctx *ctx)
{
    return ctx->cfg->api_token && *ctx->cfg->api_token ? 0 : -ENOENT;
}

/* The body is the raw JWT: trailing whitespace, which is not part of it, is cut off in place. True when what
 * remains has a JWT's shape (three dot-separated parts, no blanks). */
static bool jwt_trim(struct https_response *resp)
{
    size_t n = resp->body_len, dots = 0;
    while (n && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r' || resp->body[n - 1] == ' '))
        n--;
    resp->body[n] = '\0';
    for (size_t i = 0; i < n; i++)
        dots += resp->body[i] == '.';
    return n > 0 && dots == 2 && strcspn((char *)resp->body, " \t") == n;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Content-Type: application/json", "Accept: text/plain", NULL};
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_free_ char *error = NULL;
    char uuid[37];
    int r = cp_require_service(ctx, ctx->cfg->aas_base_url, "AAS_API_URL", "AAS");
    if (r == 0 && (r = provision_hardware_uuid(ctx->root, uuid, &error)) < 0)
        cp_error(ctx, r, "%s (AAS names the token after the hardware UUID)",
                 error ? error : "no hardware UUID");
    if (r == 0)
        r = cp_post(ctx, ctx->cfg->aas_base_url, "custom-claims-token", headers, 200, &resp,
                    "{\"subject\":\"%s\",\"validity_seconds\":31536000,\"claims\":{\"permissions\":[{"
                    "\"service\":\"HVS\",\"rules\":[\"reports:create:*\",\"hosts:search:*\"]}]}}",
                    uuid);
    if (r == 0 && !jwt_trim(&resp))
        r = cp_error(ctx, -EBADMSG, "POST %scustom-claims-token: the answer is not a JWT",
                     ctx->cfg->aas_base_url);
    if (r == 0) {
        config_secret_free(ctx->cfg->api_token);
        ctx->cfg->api_token = strdup((char *)resp.body);
        ctx->cfg_changed = true;
        r = ctx->cfg->api_token ? 0 : -ENOMEM;
    }
    return r;
}

const struct provision_task task_download_api_token = {
    .name = "download-api-token",
    .summary = "get the long-lived API token from AAS (stored in config.yml)",
    .remedy = "check AAS_API_URL and BEARER_TOKEN, then run the task again",
    .validate = validate,
    .run = run,
};
