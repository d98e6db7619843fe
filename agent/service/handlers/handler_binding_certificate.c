/* SPDX-License-Identifier: BSD-3-Clause */
/* get-binding-certificate (NATS): base64 of the workload agent's bindingkey.pem bytes as a JSON string; null
 * when there is none (no workload agent: HVS reads null as "no binding key", as from the Go agent). A key
 * that is there but cannot be read is a failure, which HVS must see as one rather than as "no key". GET
 * /v2/binding-key-certificate (HTTP): the file's bytes as application/x-pem-file; no file is a failure there
 * (500), as the Go agent's. */
#include "cleanup.h"
#include "config.h"
#include "handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BINDING_KEY_PEM "/etc/workload-agent/bindingkey.pem"

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    _cleanup_free_ char *path = config_path(ctx->root, BINDING_KEY_PEM), *pem = NULL, *b64 = NULL;
    size_t pem_len = 0;
    int r = path ? config_read_file(path, 1u << 20, &pem, &pem_len) : -ENOMEM;
    if (r == -ENOENT)
        *ret_reply = strdup("null");
    else if (r == 0 && (b64 = config_base64_encode(pem, pem_len)))
        *ret_reply = service_json_string(b64);
    else if (r < 0 && r != -ENOMEM)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "%s: cannot be read: %s",
                            BINDING_KEY_PEM, r == -EINVAL ? "not a regular file" : strerror(-r));
    if (!*ret_reply)
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
    return 0;
}

static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    _cleanup_free_ char *path = config_path(ctx->root, BINDING_KEY_PEM);
    int r = path ? config_read_file(path, 1u << 20, &ret->data, &ret->len) : -ENOMEM;
    if (r == -ENOENT)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "%s does not exist: this host has no workload agent binding key",
                            BINDING_KEY_PEM);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "%s: cannot be read: %s",
                            BINDING_KEY_PEM, r == -EINVAL ? "not a regular file" : strerror(-r));
    ret->content_type = "application/x-pem-file";
    return 0;
}

const struct service_handler handler_binding_certificate = {
    .suffix = "get-binding-certificate", .run = run, .run_http = run_http};
