/* SPDX-License-Identifier: BSD-3-Clause */
#include "control_plane.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cp_error(struct provision_ctx *ctx, int r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_addv(ctx->diags, CONFIG_ERROR, NULL, 0, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cp_require(struct provision_ctx *ctx, const char *value, const char *key, const char *what)
{
    if (value && *value)
        return 0;
    config_diag_add(ctx->diags, CONFIG_ERROR, NULL, 0, key, "not set; this task needs %s", what);
    return -EINVAL;
}

int cp_https(const char *root, const char *bearer, const char *method, const char *base, const char *path,
             const char *const *headers, const char *body, unsigned retries, struct https_response *ret,
             char **ret_url, char **ret_error)
{
    char *url = https_url_join(base, path), *ca_dir = config_path(root, TAGENT_CACERTS_DIR);
    struct https_options opts = {.ca_dir = ca_dir, .system_ca = true, .bearer = bearer, .retries = retries};
    int r = url && ca_dir ? 0 : -ENOMEM;
    *ret_error = NULL;
    if (r == 0)
        r = https_request(method, url, headers, body, body ? strlen(body) : 0, &opts, ret, ret_error);
    free(ca_dir);
    if (r == 0)
        *ret_url = url;
    else
        free(url);
    return r;
}

int cp_request(struct provision_ctx *ctx, const char *method, const char *base, const char *path,
               const char *const *headers, const char *body, long expect, struct https_response *ret)
{
    char *url = NULL, *error = NULL;
    int r =
        cp_https(ctx->root, ctx->cfg->bearer_token, method, base, path, headers, body, 3, ret, &url, &error);
    if (r < 0)
        cp_error(ctx, r, "%s", error ? error : "request failed");
    if (r == 0 && ret->status != expect) {
        char *why = https_status_error(method, url, ret);
        cp_error(ctx, -EPROTO, "%s%s", why ? why : "unexpected HTTP status",
                 ret->status == 401 || ret->status == 403
                     ? " (the bearer token was refused: get a new BEARER_TOKEN from AAS)"
                     : "");
        free(why);
        https_response_free(ret);
        r = -EPROTO;
    }
    free(error);
    free(url);
    return r;
}

int cp_write(struct provision_ctx *ctx, const char *abs, const void *data, size_t len, mode_t mode,
             mode_t dir_mode)
{
    char *path = config_path(ctx->root, abs);
    if (!path)
        return -ENOMEM;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int r = config_mkdir_p(path, dir_mode ? dir_mode : 0755);
    *slash = '/';
    if (r == 0)
        r = config_write_file_atomic(path, data, len, mode);
    if (r < 0)
        cp_error(ctx, r, "cannot write %s: %s", path, strerror(-r));
    free(path);
    return r;
}

int cp_read(struct provision_ctx *ctx, const char *abs, char **ret, size_t *ret_len)
{
    char *path = config_path(ctx->root, abs);
    int r = path ? config_read_file(path, 1u << 20, ret, ret_len) : -ENOMEM;
    free(path);
    return r;
}
