/* SPDX-License-Identifier: BSD-3-Clause */
/* deploy-asset-tag (NATS), POST /v2/tag (HTTP): {"tag": base64 of 48 bytes, "hardware_uuid": "<uuid>"} ->
 * NV 0x01C10110 written with the tag secret; the reply is "" (a JSON empty string) over NATS and an empty
 * body over HTTP, as the Go agent's. */
#include "cleanup.h"
#include "request_decode.h"
#include "handler.h"
#include "service_tag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(REQUEST_ASSET_TAG_SIZE == TPM_ASSET_TAG_SIZE, "the decoder and quote/ agree on the tag size");

static int tag_deploy(struct service_ctx *ctx, const char *data, size_t len, int *ret_code,
                      char **ret_message)
{
    struct request_asset_tag req;
    _cleanup_free_ char *error = NULL;
    char *why = NULL;
    int r = request_asset_tag_decode(data, len, &req, &why);
    if (r < 0) {
        r = service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                         "%s", why ? why : "deploy-asset-tag: out of memory");
        free(why);
        return r;
    }
    r = tpm_tag_write(ctx->tpm, &ctx->tag_auth, req.tag, &error);
    if (r == 0)
        service_asset_tag_set(ctx, req.tag);
    else
        service_asset_tag_forget(ctx); /* a write that failed part way: ask the TPM next time */
    request_asset_tag_clear(&req);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "deploy-asset-tag: %s",
                            error ? error : "out of memory");
    return 0;
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    int r = tag_deploy(ctx, data, len, ret_code, ret_message);
    if (r < 0)
        return r;
    if (!(*ret_reply = strdup("\"\"")))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "deploy-asset-tag: out of memory");
    return 0;
}

static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    (void)ret;
    static const char *const fields[] = {"tag", "hardware_uuid", NULL};
    _cleanup_free_ char *why = NULL;
    int r = request_fields_known(data, len, fields, &why); /* the Go controller's DisallowUnknownFields */
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            "deploy-asset-tag: %s", why ? why : "out of memory");
    return tag_deploy(ctx, data, len, ret_code, ret_message);
}

const struct service_handler handler_deploy_asset_tag = {
    .suffix = "deploy-asset-tag", .run = run, .needs_tpm = true, .run_http = run_http};
