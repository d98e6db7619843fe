/* SPDX-License-Identifier: BSD-3-Clause */
/* application-measurement-request: not implemented yet (the Go agent runs tbootxm's measure on the
 * Manifest; see spec 4.1). Replies an error so HVS fails fast. */
#include "service.h"

#include <errno.h>

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    return service_fail(-EOPNOTSUPP, ret_code, ret_message, SERVICE_ERR_UNSUPPORTED,
                        "application-measurement-request is not supported by tagent yet");
}

const struct service_handler handler_application_measurement = {.suffix = "application-measurement-request",
                                                                 .run = run};
