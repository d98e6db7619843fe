/* SPDX-License-Identifier: BSD-3-Clause */
/* aik-request (NATS): base64 of the AIK certificate's DER (a Go []byte) as a JSON string; GET /v2/aik (HTTP):
 * the DER itself. Both from aik.pem. */
#include "cleanup.h"
#include "config.h"
#include "handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

static void openssl_freep(void *p)
{
    OPENSSL_free(*(void **)p);
}

/* aik.pem's certificate as DER (OPENSSL_free it). */
static int aik_der(struct service_ctx *ctx, unsigned char **ret_der, long *ret_len, int *ret_code,
                   char **ret_message)
{
    _cleanup_free_ char *path = config_path(ctx->root, TAGENT_AIK_PEM), *pem = NULL;
    _cleanup_(openssl_freep) char *name = NULL, *header = NULL;
    _cleanup_(openssl_freep) unsigned char *der = NULL;
    long der_len = 0;
    size_t pem_len = 0;
    int r = path ? config_read_file(path, 1u << 20, &pem, &pem_len) : -ENOMEM;
    if (r < 0)
        return service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "%s: cannot read the AIK certificate: %s", TAGENT_AIK_PEM, strerror(-r));
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    bool ok = bio && PEM_read_bio(bio, &name, &header, &der, &der_len) == 1 &&
              strcmp(name, "CERTIFICATE") == 0 && der_len > 0;
    BIO_free(bio);
    if (!ok)
        return service_fail(-EBADMSG, ret_code, ret_message, SERVICE_ERR_FAILED,
                            "%s holds no PEM CERTIFICATE block", TAGENT_AIK_PEM);
    *ret_der = TAKE_PTR(der);
    *ret_len = der_len;
    return 0;
}

static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    _cleanup_(openssl_freep) unsigned char *der = NULL;
    _cleanup_free_ char *b64 = NULL;
    long der_len = 0;
    int r = aik_der(ctx, &der, &der_len, ret_code, ret_message);
    if (r < 0)
        return r;
    if (!(b64 = config_base64_encode(der, (size_t)der_len)) || !(*ret_reply = service_json_string(b64)))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
    return 0;
}

/* The Go agent sets no Content-Type: Go's server then sniffs the DER as application/octet-stream. */
static int run_http(struct service_ctx *ctx, const char *data, size_t len, struct service_http_body *ret,
                    int *ret_code, char **ret_message)
{
    _cleanup_(openssl_freep) unsigned char *der = NULL;
    long der_len = 0;
    int r = aik_der(ctx, &der, &der_len, ret_code, ret_message);
    if (r < 0)
        return r;
    if (der_len <= 0 || !(ret->data = malloc((size_t)der_len)))
        return service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
    memcpy(ret->data, der, (size_t)der_len);
    ret->len = (size_t)der_len;
    ret->content_type = "application/octet-stream";
    return 0;
}

const struct service_handler handler_aik = {.suffix = "aik-request", .run = run, .run_http = run_http};
