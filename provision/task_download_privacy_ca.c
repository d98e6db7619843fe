/* SPDX-License-Identifier: BSD-3-Clause */
/* download-privacy-ca (spec 3.3): HVS's Privacy CA certificate, stored as raw DER in privacy-ca.cer (0644).
 */
#include "control_plane.h"
#include "tasks.h"

#include "cleanup.h"
#include "cleanup_cjson.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

static int validate(struct provision_ctx *ctx)
{
    _cleanup_free_ char *der = NULL;
    size_t len = 0;
    if (cp_read(ctx, TAGENT_PRIVACY_CA, &der, &len) < 0)
        return -ENOENT;
    const unsigned char *p = (const unsigned char *)der;
    _cleanup_(X509_freep) X509 *x = d2i_X509(NULL, &p, (long)len);
    return x ? 0 : -ENOENT;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    _cleanup_(https_response_free) struct https_response resp = {0};
    int r = cp_require_service(ctx, ctx->cfg->hvs_url, "HVS_URL", "HVS");
    if (r == 0)
        r = cp_request(ctx, "GET", ctx->cfg->hvs_url, "ca-certificates/aik", headers, NULL, 200, &resp);
    if (r < 0)
        return r;

    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_ParseWithLength((const char *)resp.body, resp.body_len);
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(root, "certificate");
    _cleanup_free_ uint8_t *der = NULL;
    size_t der_len = 0;
    if (cJSON_IsString(cert))
        config_base64_decode(cert->valuestring, &der, &der_len);
    const unsigned char *p = der;
    _cleanup_(X509_freep) X509 *x = der_len ? d2i_X509(NULL, &p, (long)der_len) : NULL;
    if (!x)
        return cp_error(
            ctx, -EBADMSG,
            "GET %s/ca-certificates/aik: the answer is not {\"certificate\": <base64 DER>} with an "
            "X.509 certificate",
            ctx->cfg->hvs_url);
    return cp_write(ctx, TAGENT_PRIVACY_CA, der, (size_t)(p - der), 0644, 0755);
}

const struct provision_task task_download_privacy_ca = {
    .name = "download-privacy-ca",
    .summary = "download HVS's Privacy CA certificate (/etc/trustagent/privacy-ca.cer)",
    .remedy = "check HVS_URL and BEARER_TOKEN, and that HVS is reachable, then run the task again",
    .validate = validate,
    .run = run,
};
