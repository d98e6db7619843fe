/* SPDX-License-Identifier: BSD-3-Clause */
/* deploy-asset-tag: {"tag": base64 of 48 bytes, "hardware_uuid": "<uuid>"} -> NV 0x01C10110 written with
 * the tag secret; the reply is "" (a JSON empty string), as the Go agent's. */
#include "config.h"
#include "service.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

static bool uuid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    cJSON *req = cJSON_ParseWithLength(data, len);
    uint8_t *tag = NULL;
    size_t tag_len = 0;
    int r;
    if (!cJSON_IsObject(req)) {
        r = service_fail(-EINVAL, ret_code, ret_message, SERVICE_ERR_REQUEST,
                         "deploy-asset-tag: the request is not a JSON object {\"tag\":...,\"hardware_uuid\":...}");
        goto out;
    }
    /* Go's json.Unmarshal: keys match case-insensitively (cJSON_GetObjectItem does too), unknown keys ignored */
    cJSON *t = cJSON_GetObjectItem(req, "tag"), *u = cJSON_GetObjectItem(req, "hardware_uuid");
    if (!cJSON_IsString(t) || config_base64_decode(t->valuestring, &tag, &tag_len) < 0 ||
        tag_len != TPM_ASSET_TAG_SIZE) {
        r = service_fail(-EINVAL, ret_code, ret_message, SERVICE_ERR_REQUEST,
                         "deploy-asset-tag: \"tag\" must be base64 of %d bytes", TPM_ASSET_TAG_SIZE);
        goto out;
    }
    if (u && !cJSON_IsNull(u) &&
        (!cJSON_IsString(u) || (u->valuestring[0] && !uuid_valid(u->valuestring)))) {
        r = service_fail(-EINVAL, ret_code, ret_message, SERVICE_ERR_REQUEST,
                         "deploy-asset-tag: \"hardware_uuid\" is not a UUID");
        goto out;
    }
    struct tpm_error err = {0};
    r = tpm_tag_write(ctx->tpm, &ctx->tag_auth, tag, &err);
    if (r < 0) {
        r = service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "deploy-asset-tag: %s", err.message);
        goto out;
    }
    if (!(*ret_reply = strdup("\"\"")))
        r = service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
out:
    if (tag) {
        OPENSSL_cleanse(tag, tag_len);
        free(tag);
    }
    cJSON_Delete(req);
    return r;
}

const struct service_handler handler_deploy_asset_tag = {.suffix = "deploy-asset-tag", .run = run};
