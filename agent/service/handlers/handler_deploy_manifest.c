/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * deploy-manifest (NATS): a Manifest in its Go-default JSON form (spec 4.2); POST /v2/deploy/manifest (HTTP):
 * the Manifest as XML (the reply is then an empty body) -> checked as the Go agent checks it
 * (Uuid a UUIDv4, Label non-empty, plain characters, not a default flavor's) and written as XML to
 * /opt/trustagent/var/manifest_<uuid>.xml (0600, atomically), where tbootxm and get-configured-manifest
 * keep theirs. The reply is "" (a JSON empty string), as the Go agent's. The file name takes the Uuid in
 * lower case, so one manifest sent with an upper-case Uuid replaces its file instead of adding a second; the
 * XML keeps the Uuid as HVS sent it. At most MANIFESTS_MAX files are kept (each request could add one).
 */
#include "cleanup.h"
#include "config.h"
#include "handler.h"
#include "measurement_xml.h"
#include "request_decode.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBJECT       "deploy-manifest"
#define MANIFESTS_MAX 1000

/* The number of manifest_*.xml files in dir, or -errno. */
static int manifests_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 13 && strncmp(e->d_name, "manifest_", 9) == 0 && strcmp(e->d_name + l - 4, ".xml") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The request's Manifest (decode: the transport's form) checked and written. */
static int manifest_deploy(struct service_ctx *ctx, manifest_decode_fn *decode, const char *data, size_t len,
                           int *ret_code, char **ret_message)
{
    _cleanup_(manifest_free) struct manifest mf = {0};
    struct manifest *m = &mf;
    _cleanup_free_ char *why = NULL, *xml = NULL, *name = NULL, *path = NULL, *dir = NULL;
    size_t xml_len = 0;
    int r = decode(data, len, m, &why);
    if (r == 0)
        r = manifest_check(m, &why);
    if (r < 0)
        return service_fail(r, ret_code, ret_message, r == -EINVAL ? SERVICE_ERR_REQUEST : SERVICE_ERR_FAILED,
                            SUBJECT ": %s", why ? why : "out of memory");
    /* the Uuid passed manifest_check(): hex digits and dashes only, so it is safe in a file name */
    if (!(name = service_strdupf(TAGENT_VAR_DIR "/manifest_%s.xml", m->uuid)) ||
        !(path = config_path(ctx->root, name)) || !(dir = config_path(ctx->root, TAGENT_VAR_DIR)) ||
        manifest_xml_write(m, &xml, &xml_len) < 0)
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": out of memory");
    for (char *c = strrchr(name, '_'); *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (char *c = strrchr(path, '_'); *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* replacing a manifest is always allowed; a new one only below the cap (a missing directory is reported
     * by the write below) */
    int n = access(path, F_OK) == 0 ? 0 : manifests_count(dir);
    if (n >= MANIFESTS_MAX)
        return service_fail(-ENOSPC, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT ": " TAGENT_VAR_DIR
                                    " already holds %d manifests (manifest_*.xml), the most "
                                    "kept; remove the ones of flavors no longer in use",
                            n);
    if ((r = config_write_file_atomic(path, xml, xml_len, 0600)) < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            SUBJECT
                            ": writing %s: %s (the directory must exist and be writable by the service "
                            "user; the installer creates it)",
                            name, strerror(-r));
    return 0;
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    int r = manifest_deploy(ctx, request_manifest_decode, data, len, ret_code, ret_message);
    if (r < 0)
        return r;
    if (!(*ret_reply = strdup("\"\"")))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, SUBJECT ": out of memory");
    return 0;
}

static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    (void)ret;
    return manifest_deploy(ctx, request_manifest_xml_decode, data, len, ret_code, ret_message);
}

const struct service_handler handler_deploy_manifest = {.suffix = SUBJECT, .run = run, .run_http = run_http};
