/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-cert (spec 3.2, http mode): an RSA-3072 key and a CSR (tls_csr.c: SHA-384, CN + SAN list) signed
 * by CMS into tls-cert.pem; the key as PKCS#8 in tls-key.pem (both 0600).
 */
#include "control_plane.h"
#include "tasks.h"
#include "tls_csr.h"

#include <errno.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static int validate(struct provision_ctx *ctx)
{
    char *cert = NULL, *key = NULL;
    size_t cl = 0, kl = 0;
    int r = cp_read(ctx, TAGENT_TLS_CERT, &cert, &cl) == 0 && cp_read(ctx, TAGENT_TLS_KEY, &key, &kl) == 0 ? 0 : -ENOENT;
    BIO *cb = r == 0 ? BIO_new_mem_buf(cert, (int)cl) : NULL, *kb = r == 0 ? BIO_new_mem_buf(key, (int)kl) : NULL;
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    if (r == 0 && (!x || !k || X509_check_private_key(x, k) != 1 || X509_cmp_current_time(X509_get0_notAfter(x)) <= 0))
        r = -ESTALE;
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    free(cert);
    config_secret_free(key);
    return r;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Content-Type: application/x-pem-file", "Accept: application/x-pem-file",
                                          NULL};
    EVP_PKEY *key = NULL;
    char *csr = NULL;
    struct https_response resp = {0};
    int r = cp_require(ctx, ctx->cfg->cms_base_url, "CMS_BASE_URL", "the CMS URL");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->bearer_token, "BEARER_TOKEN", "the installation token from AAS");
    if (r == 0 && !(key = EVP_RSA_gen(3072)))
        r = cp_error(ctx, -EIO, "cannot create the TLS key (RSA-3072)");
    if (r == 0 && (r = tls_csr_create(key, ctx->cfg->tls_common_name, ctx->cfg->tls_san_list, &csr)) < 0)
        cp_error(ctx, r, "cannot create the TLS certificate request (TA_TLS_CERT_CN, SAN_LIST)");
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->cms_base_url, "certificates?certType=tls", headers, csr, 200, &resp);
    BIO *cb = r == 0 ? BIO_new_mem_buf(resp.body, (int)resp.body_len) : NULL;
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    if (r == 0 && (!x || X509_check_private_key(x, key) != 1))
        r = cp_error(ctx, -EBADMSG, "CMS's answer is not a certificate for the key just sent; nothing was written");
    BIO *kb = r == 0 ? BIO_new(BIO_s_mem()) : NULL;
    char *kpem = NULL;
    long klen = kb && PEM_write_bio_PKCS8PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ? BIO_get_mem_data(kb, &kpem) : 0;
    /* The key first: a certificate without its key would look provisioned and be useless. */
    if (r == 0)
        r = klen > 0 ? cp_write(ctx, TAGENT_TLS_KEY, kpem, (size_t)klen, 0600, 0755) : -ENOMEM;
    if (r == 0)
        r = cp_write(ctx, TAGENT_TLS_CERT, resp.body, resp.body_len, 0600, 0755);
    if (kpem)
        OPENSSL_cleanse(kpem, (size_t)klen);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(key);
    free(csr);
    https_response_free(&resp);
    return r;
}

const struct provision_task task_download_cert = {
    .name = "download-cert",
    .summary = "get this agent's TLS certificate signed by CMS (http mode)",
    .remedy = "check CMS_BASE_URL, BEARER_TOKEN (it needs the CertApprover role for this CN and SAN list), then "
              "run the task again",
    .mode = TASK_MODE_HTTP,
    .validate = validate,
    .run = run,
};
