/* SPDX-License-Identifier: BSD-3-Clause */
/* The handler table: one entry per subject the service answers (one file each, beside this one). */
#include "handler.h"

#include <stddef.h>
#include <string.h>

static const struct service_handler *const handlers[] = {
    &handler_quote,
    &handler_host_info,
    &handler_aik,
    &handler_deploy_asset_tag,
    &handler_binding_certificate,
    &handler_deploy_manifest,
    &handler_application_measurement,
    &handler_version,
    NULL,
};

const struct service_handler *service_handler_find(const char *suffix)
{
    for (size_t i = 0; handlers[i]; i++)
        if (strcmp(handlers[i]->suffix, suffix) == 0)
            return handlers[i];
    return NULL;
}
