/* SPDX-License-Identifier: BSD-3-Clause */
#include "control_plane.h"

#include "cleanup.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

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

int cp_require_service(struct provision_ctx *ctx, const char *url, const char *url_key, const char *service)
{
    if (!url || !*url) {
        config_diag_add(ctx->diags, CONFIG_ERROR, NULL, 0, url_key, "not set; this task needs the %s URL",
                        service);
        return -EINVAL;
    }
    return cp_require(ctx, ctx->cfg->bearer_token, "BEARER_TOKEN", "the installation token from AAS");
}

int cp_https(const char *root, const char *bearer, const char *method, const char *base, const char *path,
             const char *const *headers, const char *body, unsigned retries, struct https_response *ret,
             char **ret_url, char **ret_error)
{
    _cleanup_free_ char *url = https_url_join(base, path), *ca_dir = config_path(root, TAGENT_CACERTS_DIR);
    struct https_options opts = {.ca_dir = ca_dir, .system_ca = true, .bearer = bearer, .retries = retries};
    int r = url && ca_dir ? 0 : -ENOMEM;
    *ret_error = NULL;
    if (r == 0)
        r = https_request(method, url, headers, body, body ? strlen(body) : 0, &opts, ret, ret_error);
    if (r == 0)
        *ret_url = TAKE_PTR(url);
    return r;
}

int cp_request(struct provision_ctx *ctx, const char *method, const char *base, const char *path,
               const char *const *headers, const char *body, long expect, struct https_response *ret)
{
    _cleanup_free_ char *url = NULL, *error = NULL;
    int r =
        cp_https(ctx->root, ctx->cfg->bearer_token, method, base, path, headers, body, 3, ret, &url, &error);
    if (r < 0)
        return cp_error(ctx, r, "%s", error ? error : "request failed");
    if (ret->status != expect) {
        _cleanup_free_ char *why = https_status_error(method, url, ret);
        cp_error(ctx, -EPROTO, "%s%s", why ? why : "unexpected HTTP status",
                 ret->status == 401 || ret->status == 403
                     ? " (the bearer token was refused: get a new BEARER_TOKEN from AAS)"
                     : "");
        https_response_free(ret);
        r = -EPROTO;
    }
    return r;
}

int cp_post(struct provision_ctx *ctx, const char *base, const char *path, const char *const *headers,
            long expect, struct https_response *ret, const char *body_fmt, ...)
{
    _cleanup_free_ char *body = NULL;
    va_list ap;
    va_start(ap, body_fmt);
    int n = vasprintf(&body, body_fmt, ap);
    va_end(ap);
    if (n < 0) {
        body = NULL; /* undefined after a failure */
        return -ENOMEM;
    }
    return cp_request(ctx, "POST", base, path, headers, body, expect, ret);
}

int cp_write(struct provision_ctx *ctx, const char *abs, const void *data, size_t len, mode_t mode,
             mode_t dir_mode)
{
    _cleanup_free_ char *path = config_path(ctx->root, abs);
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
    return r;
}

int cp_read(struct provision_ctx *ctx, const char *abs, char **ret, size_t *ret_len)
{
    _cleanup_free_ char *path = config_path(ctx->root, abs);
    return path ? config_read_file(path, 1u << 20, ret, ret_len) : -ENOMEM;
}

int cp_cert_from_pem(const void *pem, size_t len, X509 **ret_cert)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (!x)
        return -EBADMSG;
    *ret_cert = x;
    return 0;
}

int cp_write_cert_pem(struct provision_ctx *ctx, const char *abs, X509 *x, mode_t mode)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL; /* BIO's own memory */
    long len = bio && PEM_write_bio_X509(bio, x) ? BIO_get_mem_data(bio, &pem) : 0;
    return len > 0 ? cp_write(ctx, abs, pem, (size_t)len, mode, 0755) : -ENOMEM;
}
