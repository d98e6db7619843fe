/* SPDX-License-Identifier: BSD-3-Clause */
/* download-api-token (spec 3.6): a one-year token from AAS for the start-up report to HVS, kept in
 * config.yml (api-token). */
#include "control_plane.h"
#include "tasks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int validate(struct provision_ctx *ctx)
{
    return ctx->cfg->api_token && *ctx->cfg->api_token ? 0 : -ENOENT;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Content-Type: application/json", "Accept: text/plain", NULL};
    char uuid[37], *error = NULL, *body = NULL;
    struct https_response resp = {0};
    int r = cp_require(ctx, ctx->cfg->aas_base_url, "AAS_API_URL", "the AAS URL");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->bearer_token, "BEARER_TOKEN", "the installation token from AAS");
    if (r == 0 && (r = provision_hardware_uuid(ctx->root, uuid, &error)) < 0)
        cp_error(ctx, r, "%s (AAS names the token after the hardware UUID)", error ? error : "no hardware UUID");
    if (r == 0 &&
        asprintf(&body,
                 "{\"subject\":\"%s\",\"validity_seconds\":31536000,\"claims\":{\"permissions\":[{\"service\":\"HVS\","
                 "\"rules\":[\"reports:create:*\",\"hosts:search:*\"]}]}}",
                 uuid) < 0)
        r = -ENOMEM;
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->aas_base_url, "custom-claims-token", headers, body, 200, &resp);
    if (r == 0) {
        /* the body is the raw JWT; trailing whitespace is not part of it */
        size_t n = resp.body_len;
        while (n && (resp.body[n - 1] == '\n' || resp.body[n - 1] == '\r' || resp.body[n - 1] == ' '))
            n--;
        resp.body[n] = '\0';
        size_t dots = 0;
        for (size_t i = 0; i < n; i++)
            dots += resp.body[i] == '.';
        if (n == 0 || dots != 2 || strcspn((char *)resp.body, " \t") != n)
            r = cp_error(ctx, -EBADMSG, "POST %scustom-claims-token: the answer is not a JWT", ctx->cfg->aas_base_url);
        else {
            config_secret_free(ctx->cfg->api_token);
            ctx->cfg->api_token = strdup((char *)resp.body);
            ctx->cfg_changed = true;
            r = ctx->cfg->api_token ? 0 : -ENOMEM;
        }
    }
    https_response_free(&resp);
    free(body);
    free(error);
    return r;
}

const struct provision_task task_download_api_token = {
    .name = "download-api-token",
    .summary = "get the long-lived API token from AAS (stored in config.yml)",
    .remedy = "check AAS_API_URL and BEARER_TOKEN, then run the task again",
    .validate = validate,
    .run = run,
};
