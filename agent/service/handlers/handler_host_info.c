/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host-info-request: the HostInfo JSON (spec 7). As the Go agent, from the platform-info file `tagent init`
 * writes as root before the service starts (the service runs as tagent and cannot read the SMBIOS table);
 * without that file, collected now through hostinfo/hostinfo.
 */
#include "agent_paths.h"
#include "cleanup.h"
#include "config.h"
#include "hostinfo.h"
#include "handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define PLATFORM_INFO_MAX (1u << 20)

/* platform-info as compact JSON; -ENOENT when init has not written it, -EBADMSG when it is not an object. */
static int platform_info_read(const char *root, char **ret_json)
{
    _cleanup_free_ char *path = config_path(root, PLATFORM_INFO_FILE), *text = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, PLATFORM_INFO_MAX, &text, &len) : -ENOMEM;
    if (r < 0)
        return r;
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -EBADMSG;
    }
    *ret_json = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *ret_json ? 0 : -ENOMEM;
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    int r = platform_info_read(ctx->root, ret_reply);
    if (r == 0)
        return 0;
    if (r == -ENOMEM)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "host info: out of memory");
    _cleanup_free_ char *error = NULL;
    int k = hostinfo_json(ctx->root, HOSTINFO_COMPACT, ret_reply, &error);
    if (k < 0)
        return service_fail(k, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "host info: %s (and %s: %s; run `tagent init` as root)", error ? error : "failed",
                            PLATFORM_INFO_FILE, strerror(-r));
    return 0;
}

const struct service_handler handler_host_info = {
    .suffix = "host-info-request", .run = run, .error_form = SERVICE_ERROR_JSON_STRING};
