/* SPDX-License-Identifier: BSD-3-Clause */
/* host-info-request: the HostInfo JSON (spec 7) from agent/hostinfo (built only when tagent_hostinfo is). */
#include "service.h"

#include <errno.h>
#include <stdlib.h>

#ifdef TAGENT_HAVE_HOSTINFO
#include "hostinfo.h"
#endif

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
#ifdef TAGENT_HAVE_HOSTINFO
    char *json = NULL, *error = NULL;
    int r = hostinfo_json(ctx->root, 0, &json, &error);
    if (r < 0) {
        r = service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "host info: %s",
                         error ? error : "failed");
        free(error);
        return r;
    }
    free(error);
    *ret_reply = json;
    return 0;
#else
    return service_fail(-EOPNOTSUPP, ret_code, ret_message, SERVICE_ERR_UNSUPPORTED,
                        "host-info-request is not supported by this tagent build");
#endif
}

const struct service_handler handler_host_info = {.suffix = "host-info-request", .run = run};
