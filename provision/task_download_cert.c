/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-cert (spec 3.2, http mode): an RSA-3072 key and a CSR (SHA-384, CN + SAN list) signed by CMS into
 * tls-cert.pem; the key as PKCS#8 in tls-key.pem (both 0600). The CSR's PEM block type is literally
 * "BEGIN CERTIFICATE REQUEST" ("-----BEGIN BEGIN CERTIFICATE REQUEST-----"), as the Go agent sends it.
 */
#include "control_plane.h"
#include "tasks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* "127.0.0.1,localhost" -> "IP:127.0.0.1,DNS:localhost" for the subjectAltName extension. */
static char *san_value(const char *list)
{
    char *copy = strdup(list), *out = calloc(1, strlen(list) * 2 + 16), *save = NULL;
    for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; item && out; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        size_t n = strlen(item);
        while (n && item[n - 1] == ' ')
            item[--n] = '\0';
        unsigned char addr[16];
        bool ip = inet_pton(AF_INET, item, addr) == 1 || inet_pton(AF_INET6, item, addr) == 1;
        strcat(out, *out ? "," : "");
        strcat(out, ip ? "IP:" : "DNS:");
        strcat(out, item);
    }
    free(copy);
    return out;
}

static int make_csr(const struct tagent_config *cfg, EVP_PKEY **ret_key, char **ret_pem)
{
    EVP_PKEY *key = EVP_RSA_gen(3072);
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    char *sans = san_value(cfg->tls_san_list ? cfg->tls_san_list : "");
    X509_EXTENSION *san = sans && *sans ? X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans) : NULL;
    X509_NAME *name = req ? X509_REQ_get_subject_name(req) : NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *der = NULL;
    int der_len = 0, r = -EIO;
    if (key && req && name && bio && (!*sans || (san && sk_X509_EXTENSION_push(exts, san))) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cfg->tls_common_name, -1, -1, 0) &&
        X509_REQ_set_pubkey(req, key) && (!*sans || X509_REQ_add_extensions(req, exts)) &&
        X509_REQ_sign(req, key, EVP_sha384()) > 0 && (der_len = i2d_X509_REQ(req, &der)) > 0 &&
        PEM_write_bio(bio, "BEGIN CERTIFICATE REQUEST", "", der, der_len)) {
        char *pem;
        long n = BIO_get_mem_data(bio, &pem);
        if ((*ret_pem = malloc((size_t)n + 1))) {
            memcpy(*ret_pem, pem, (size_t)n);
            (*ret_pem)[n] = '\0';
            *ret_key = key;
            key = NULL;
            r = 0;
        }
    }
    san = NULL; /* owned by exts */
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    OPENSSL_free(der);
    BIO_free(bio);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    free(sans);
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
    if (r == 0 && (r = make_csr(ctx->cfg, &key, &csr)) < 0)
        cp_error(ctx, r, "cannot create the TLS key and certificate request (TA_TLS_CERT_CN, SAN_LIST)");
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
