/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-ca-cert (spec 3.1): CMS's CA certificates, fetched without chain verification but pinned to the
 * SHA-384 of CMS's TLS certificate (CMS_TLS_CERT_SHA384), checked during the handshake: from a wrong server
 * nothing is received and nothing is written. Each CA is stored as cacerts/<first 9 hex of SHA-1(DER)>.pem.
 */
#include "control_plane.h"
#include "tasks.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* cacerts/ holds at least one readable certificate. */
static int validate(struct provision_ctx *ctx)
{
    char *dir = config_path(ctx->root, TAGENT_CACERTS_DIR);
    DIR *d = dir ? opendir(dir) : NULL;
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        found += x != NULL;
        X509_free(x);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    free(dir);
    return found ? 0 : -ENOENT;
}

static int store_cert(struct provision_ctx *ctx, X509 *x)
{
    unsigned char *der = NULL, sha1[SHA_DIGEST_LENGTH];
    int len = i2d_X509(x, &der);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, name[64];
    long pem_len;
    int r = -ENOMEM;
    if (len > 0 && bio && PEM_write_bio_X509(bio, x) && (pem_len = BIO_get_mem_data(bio, &pem)) > 0) {
        SHA1(der, (size_t)len, sha1);
        snprintf(name, sizeof(name), "%s/%02x%02x%02x%02x%x.pem", TAGENT_CACERTS_DIR, sha1[0], sha1[1], sha1[2], sha1[3],
                 sha1[4] >> 4);
        r = cp_write(ctx, name, pem, (size_t)pem_len, 0600, 0755);
    }
    OPENSSL_free(der);
    BIO_free(bio);
    return r;
}

static int run(struct provision_ctx *ctx)
{
    int r = cp_require(ctx, ctx->cfg->cms_base_url, "CMS_BASE_URL", "the CMS URL");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->cms_tls_cert_sha384, "CMS_TLS_CERT_SHA384",
                       "the SHA-384 of CMS's TLS certificate (from the CMS installation output)");
    if (r < 0)
        return r;

    static const char *const headers[] = {"Accept: application/x-pem-file", NULL};
    char *url = https_url_join(ctx->cfg->cms_base_url, "ca-certificates"), *error = NULL;
    struct https_options opts = {.no_verify = true, .pin_sha384 = ctx->cfg->cms_tls_cert_sha384, .retries = 3};
    struct https_response resp = {0};
    r = url ? https_request("GET", url, headers, NULL, 0, &opts, &resp, &error) : -ENOMEM;
    if (r < 0) {
        cp_error(ctx, r, "%s%s", error ? error : "request failed",
                 r == -EKEYREJECTED ? " — check CMS_TLS_CERT_SHA384 and CMS_BASE_URL; nothing was written" : "");
        goto out;
    }
    if (resp.status != 200) {
        char *why = https_status_error("GET", url, &resp);
        r = cp_error(ctx, -EPROTO, "%s", why ? why : "unexpected status");
        free(why);
        goto out;
    }
    /* Parse every certificate before writing any, so a truncated PEM writes nothing. */
    BIO *bio = BIO_new_mem_buf(resp.body, (int)resp.body_len);
    X509 *certs[16];
    size_t n = 0;
    for (X509 *x; bio && n < 16 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
        certs[n++] = x;
    BIO_free(bio);
    size_t begins = 0;
    for (const char *p = (const char *)resp.body; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
        begins++;
    if (n == 0 || n != begins)
        r = cp_error(ctx, -EBADMSG,
                     "GET %s: the response is not a complete PEM certificate chain (%zu of %zu certificates "
                     "readable, %zu bytes); nothing was written",
                     url, n, begins, resp.body_len);
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = store_cert(ctx, certs[i]);
        X509_free(certs[i]);
    }
out:
    https_response_free(&resp);
    free(error);
    free(url);
    return r;
}

const struct provision_task task_download_ca_cert = {
    .name = "download-ca-cert",
    .summary = "download CMS's CA certificates into /etc/trustagent/cacerts (pinned by CMS_TLS_CERT_SHA384)",
    .remedy = "check CMS_BASE_URL and CMS_TLS_CERT_SHA384, and that CMS is reachable, then run the task again",
    .validate = validate,
    .run = run,
};
