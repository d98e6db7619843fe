/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-ca-cert (spec 3.1): CMS's CA certificates, fetched without chain verification but pinned to the
 * SHA-384 of CMS's TLS certificate (CMS_TLS_CERT_SHA384), checked during the handshake: from a wrong server
 * nothing is received and nothing is written. Each CA is stored as cacerts/<first 9 hex of SHA-1(DER)>.pem.
 */
#include "control_plane.h"
#include "tasks.h"

#include "cleanup.h"
#include "cleanup_openssl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define CA_CERTS_MAX 16

/* The file at path starts with a readable PEM certificate. */
static bool file_has_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    _cleanup_(X509_freep) X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x != NULL;
}

/* cacerts/ holds at least one readable certificate. */
static int validate(struct provision_ctx *ctx)
{
    _cleanup_free_ char *dir = config_path(ctx->root, TAGENT_CACERTS_DIR);
    DIR *d = dir ? opendir(dir) : NULL;
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        found += file_has_cert(path);
    }
    if (d)
        closedir(d);
    return found ? 0 : -ENOENT;
}

/* x as cacerts/<first 9 hex digits of SHA-1(DER)>.pem, the Go agent's name for it. */
static int store_cert(struct provision_ctx *ctx, X509 *x)
{
    _cleanup_openssl_free_ unsigned char *der = NULL;
    unsigned char sha1[SHA_DIGEST_LENGTH];
    char name[64];
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return -ENOMEM;
    SHA1(der, (size_t)len, sha1);
    snprintf(name, sizeof(name), "%s/%02x%02x%02x%02x%x.pem", TAGENT_CACERTS_DIR, sha1[0], sha1[1], sha1[2],
             sha1[3], sha1[4] >> 4);
    return cp_write_cert_pem(ctx, name, x, 0600);
}

/* Up to CA_CERTS_MAX certificates from the PEM text; how many there were. */
static size_t certs_parse(const struct https_response *resp, X509 *certs[static CA_CERTS_MAX])
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(resp->body, (int)resp->body_len);
    size_t n = 0;
    for (X509 *x; bio && n < CA_CERTS_MAX && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL));)
        certs[n++] = x;
    return n;
}

/* CMS's chain, every certificate parsed before any is written, so a truncated PEM writes nothing. */
static int certs_store(struct provision_ctx *ctx, const char *url, const struct https_response *resp)
{
    X509 *certs[CA_CERTS_MAX];
    size_t n = certs_parse(resp, certs), begins = 0;
    int r = 0;
    for (const char *p = (const char *)resp->body; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
        begins++;
    if (n == 0 || n != begins)
        r = cp_error(ctx, -EBADMSG,
                     "GET %s: the response is not a complete PEM certificate chain (%zu of %zu certificates "
                     "readable, %zu bytes); nothing was written",
                     url, n, begins, resp->body_len);
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = store_cert(ctx, certs[i]);
        X509_free(certs[i]);
    }
    return r;
}

static int run(struct provision_ctx *ctx)
{
    static const char *const headers[] = {"Accept: application/x-pem-file", NULL};
    _cleanup_(https_response_free) struct https_response resp = {0};
    _cleanup_free_ char *url = NULL, *error = NULL;
    int r = cp_require(ctx, ctx->cfg->cms_base_url, "CMS_BASE_URL", "the CMS URL");
    if (r == 0)
        r = cp_require(ctx, ctx->cfg->cms_tls_cert_sha384, "CMS_TLS_CERT_SHA384",
                       "the SHA-384 of CMS's TLS certificate (from the CMS installation output)");
    if (r < 0)
        return r;

    struct https_options opts = {
        .no_verify = true, .pin_sha384 = ctx->cfg->cms_tls_cert_sha384, .retries = 3};
    url = https_url_join(ctx->cfg->cms_base_url, "ca-certificates");
    r = url ? https_request("GET", url, headers, NULL, 0, &opts, &resp, &error) : -ENOMEM;
    if (r < 0)
        return cp_error(
            ctx, r, "%s%s", error ? error : "request failed",
            r == -EKEYREJECTED ? " — check CMS_TLS_CERT_SHA384 and CMS_BASE_URL; nothing was written" : "");
    if (resp.status != 200) {
        _cleanup_free_ char *why = https_status_error("GET", url, &resp);
        return cp_error(ctx, -EPROTO, "%s", why ? why : "unexpected status");
    }
    return certs_store(ctx, url, &resp);
}

const struct provision_task task_download_ca_cert = {
    .name = "download-ca-cert",
    .summary = "download CMS's CA certificates into /etc/trustagent/cacerts (pinned by CMS_TLS_CERT_SHA384)",
    .remedy =
        "check CMS_BASE_URL and CMS_TLS_CERT_SHA384, and that CMS is reachable, then run the task again",
    .validate = validate,
    .run = run,
};
