/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * deploy-manifest: a Manifest in its Go-default JSON form (spec 4.2) -> checked as the Go agent checks it
 * (Uuid a UUIDv4, Label non-empty, plain characters, not a default flavor's) and written as XML to
 * /opt/trustagent/var/manifest_<uuid>.xml (0600, atomically), where tbootxm and get-configured-manifest
 * keep theirs. The reply is "" (a JSON empty string), as the Go agent's.
 */
#include "cleanup.h"
#include "config.h"
#include "handler.h"
#include "measurement_xml.h"
#include "request_decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT "deploy-manifest"

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    _cleanup_(manifest_free) struct manifest m = {0};
    _cleanup_free_ char *why = NULL, *xml = NULL, *name = NULL, *path = NULL;
    size_t xml_len = 0;
    int r = request_manifest_decode(data, len, &m, &why);
    if (r == 0)
        r = manifest_check(&m, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            SUBJECT ": %s", why ? why : "out of memory");
    /* the Uuid passed manifest_check(): hex digits and dashes only, so it is safe in a file name */
    if (!(name = service_strdupf(TAGENT_VAR_DIR "/manifest_%s.xml", m.uuid)) ||
        !(path = config_path(ctx->root, name)) || manifest_xml_write(&m, &xml, &xml_len) < 0)
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": out of memory");
    if ((r = config_write_file_atomic(path, xml, xml_len, 0600)) < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT
                            ": writing %s: %s (the directory must exist and be writable by the service "
                            "user; the installer creates it)",
                            name, strerror(-r));
    if (!(*ret_reply = strdup("\"\"")))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": out of memory");
    return 0;
}

const struct service_handler handler_deploy_manifest = {.suffix = SUBJECT, .run = run};
