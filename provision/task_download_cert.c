/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-cert (spec 3.2, http mode): an RSA-3072 key and a CSR (tls_csr.c: SHA-384, CN + SAN list) signed
 * by CMS into tls-cert.pem; the key as PKCS#8 in tls-key.pem (both 0600).
 */
#include "control_plane.h"
#include "tasks.h"
#include "tls_csr.h"

#include "cleanup.h"
#include "cleanup_openssl.h"

#include <errno.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* tls-cert.pem and tls-key.pem are there, belong together, and the certificate has not expired. */
static int validate(struct provision_ctx *ctx)
{
    _cleanup_free_ char *cert = NULL;
    _cleanup_wipe_free_ char *key = NULL;
    size_t cl = 0, kl = 0;
    if (cp_read(ctx, TAGENT_TLS_CERT, &cert, &cl) < 0 || cp_read(ctx, TAGENT_TLS_KEY, &key, &kl) < 0)
        return -ENOENT;
    _cleanup_(X509_freep) X509 *x = NULL;
    _cleanup_(BIO_freep) BIO *kb = BIO_new_mem_buf(key, (int)kl);
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    if (cp_cert_from_pem(cert, cl, &x) < 0 || !k || X509_check_private_key(x, k) != 1 ||
        X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        return -ESTALE;
    return 0;
}

/* key as PKCS#8 in tls-key.pem (0600); its PEM text is wiped before the BIO frees it. */
static int key_store(struct provision_ctx *ctx, EVP_PKEY *key)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL; /* the BIO's memory */
    long len = bio && PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                   ? BIO_get_mem_data(bio, &pem)
                   : 0;
    int r = len > 0 ? cp_write(ctx, TAGENT_TLS_KEY, pem, (size_t)len, 0600, 0755) : -ENOMEM;
    if (pem && len > 0)
        OPENSSL_cleanse(pem, (size_t)len);
    return r;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Content-Type: application/x-pem-file",
                                          "Accept: application/x-pem-file", NULL};
    _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
    _cleanup_(X509_freep) X509 *x = NULL;
    _cleanup_free_ char *csr = NULL;
    _cleanup_(https_response_free) struct https_response resp = {0};
    int r = cp_require_service(ctx, ctx->cfg->cms_base_url, "CMS_BASE_URL", "CMS");
    if (r == 0 && !(key = EVP_RSA_gen(3072)))
        r = cp_error(ctx, -EIO, "cannot create the TLS key (RSA-3072)");
    if (r == 0 && (r = tls_csr_create(key, ctx->cfg->tls_common_name, ctx->cfg->tls_san_list, &csr)) < 0)
        cp_error(ctx, r, "cannot create the TLS certificate request (TA_TLS_CERT_CN, SAN_LIST)");
    if (r == 0)
        r = cp_request(ctx, "POST", ctx->cfg->cms_base_url, "certificates?certType=tls", headers, csr, 200,
                       &resp);
    if (r == 0 && (cp_cert_from_pem(resp.body, resp.body_len, &x) < 0 || X509_check_private_key(x, key) != 1))
        r = cp_error(ctx, -EBADMSG,
                     "CMS's answer is not a certificate for the key just sent; nothing was written");
    /* The key first: a certificate without its key would look provisioned and be useless. */
    if (r == 0)
        r = key_store(ctx, key);
    if (r == 0)
        r = cp_write(ctx, TAGENT_TLS_CERT, resp.body, resp.body_len, 0600, 0755);
    return r;
}

const struct provision_task task_download_cert = {
    .name = "download-cert",
    .summary = "get this agent's TLS certificate signed by CMS (http mode)",
    .remedy =
        "check CMS_BASE_URL, BEARER_TOKEN (it needs the CertApprover role for this CN and SAN list), then "
        "run the task again",
    .mode = TASK_MODE_HTTP,
    .validate = validate,
    .run = run,
};
