/* SPDX-License-Identifier: BSD-3-Clause */
/* aik-request: base64 of the AIK certificate's DER (a Go []byte) as a JSON string, from aik.pem. */
#include "config.h"
#include "handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>


static int run(struct service_ctx *ctx, const char *data, size_t len, char **ret_reply, int *ret_code,
               char **ret_message)
{
    char *path = config_path(ctx->root, TAGENT_AIK_PEM), *pem = NULL, *name = NULL, *header = NULL, *b64 = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    size_t pem_len = 0;
    int r = path ? config_read_file(path, 1u << 20, &pem, &pem_len) : -ENOMEM;
    if (r < 0) {
        r = service_fail(r, ret_code, ret_message, SERVICE_ERR_FAILED, "%s: cannot read the AIK certificate: %s",
                         TAGENT_AIK_PEM, strerror(-r));
        goto out;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    bool ok = bio && PEM_read_bio(bio, &name, &header, &der, &der_len) == 1 && strcmp(name, "CERTIFICATE") == 0;
    BIO_free(bio);
    if (!ok) {
        r = service_fail(-EBADMSG, ret_code, ret_message, SERVICE_ERR_FAILED,
                         "%s holds no PEM CERTIFICATE block", TAGENT_AIK_PEM);
        goto out;
    }
    char *str = (b64 = config_base64_encode(der, (size_t)der_len)) ? service_json_string(b64) : NULL;
    if (!str) {
        r = service_fail(-ENOMEM, ret_code, ret_message, SERVICE_ERR_FAILED, "out of memory");
        goto out;
    }
    *ret_reply = str;
    r = 0;
out:
    free(path);
    free(pem);
    free(b64);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return r;
}

const struct service_handler handler_aik = {.suffix = "aik-request", .run = run};
