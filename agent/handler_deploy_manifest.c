/* SPDX-License-Identifier: BSD-3-Clause */
/* deploy-manifest: not implemented yet (the Go agent writes /opt/trustagent/var/manifest_<uuid>.xml after
 * checking the Manifest; see spec 4.1). Replies an error so HVS fails fast. */
#include "service.h"

#include <errno.h>

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    return service_fail(-EOPNOTSUPP, ret_code, ret_message, SERVICE_ERR_UNSUPPORTED,
                        "deploy-manifest is not supported by tagent yet");
}

const struct service_handler handler_deploy_manifest = {.suffix = "deploy-manifest", .run = run};
