/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CMS (spec 3.1, 3.2):
 *   GET  /cms/v1/ca-certificates              Accept: application/x-pem-file -> the root CA PEM (no token)
 *   POST /cms/v1/certificates?certType=tls    Bearer; Content-Type and Accept application/x-pem-file; the
 *        body is a CSR in a PEM block whose type contains "CERTIFICATE REQUEST" (the Go agent's block reads
 *        "BEGIN BEGIN CERTIFICATE REQUEST"). 200: the certificate, then the TLS CA that issued it.
 */
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define PEM_TYPE "application/x-pem-file"

static X509_REQ *csr_from_pem(const char *text, size_t len, char *why, size_t why_len)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    long der_len = 0;
    X509_REQ *csr = NULL;

    if (!bio || PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
        snprintf(why, why_len, "the body is not PEM");
        goto out;
    }
    if (!strstr(name, "CERTIFICATE REQUEST")) {
        snprintf(why, why_len, "PEM block type \"%.64s\" is not a certificate request", name);
        goto out;
    }
    p = der;
    csr = d2i_X509_REQ(NULL, &p, der_len);
    if (!csr || p != der + der_len) {
        X509_REQ_free(csr);
        csr = NULL;
        snprintf(why, why_len, "the PEM block does not hold a PKCS#10 request");
    }
out:
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return csr;
}

static void sign_certificate(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    const char *type = mock_query(req, "certType");
    X509_REQ *csr = NULL;
    X509 *cert = NULL;
    char why[256] = "", *pem = NULL, *chain = NULL, cn[256] = "";

    if (!mock_check_bearer(m, req, resp) || !mock_check_media(req, resp, PEM_TYPE, PEM_TYPE))
        return;
    if (!type || strcasecmp(type, "tls") != 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "certType must be tls (got %s)", type ? type : "none");
        return;
    }
    csr = csr_from_pem(req->body, req->body_len, why, sizeof(why));
    if (!csr) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "%s", why);
        return;
    }
    if (mock_pki_sign_csr(&m->pki, csr, &cert, why, sizeof(why)) < 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "%s", why);
        goto out;
    }
    pem = mock_x509_pem(cert);
    if (!pem || asprintf(&chain, "%s%s", pem, m->pki.tls_ca_pem) < 0) {
        chain = NULL;
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto out;
    }
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    pthread_mutex_lock(&m->lock);
    cJSON_AddItemToArray(m->tls_certs, cJSON_CreateString(cn));
    pthread_mutex_unlock(&m->lock);
    mock_resp_text(resp, MHD_HTTP_OK, PEM_TYPE, chain);
out:
    free(pem);
    free(chain);
    X509_free(cert);
    X509_REQ_free(csr);
}

void mock_cms_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    if (strcmp(req->path, "/ca-certificates") == 0 && strcmp(req->method, "GET") == 0) {
        if (mock_check_media(req, resp, PEM_TYPE, NULL))
            mock_resp_text(resp, MHD_HTTP_OK, PEM_TYPE, m->pki.root_pem);
    } else if (strcmp(req->path, "/certificates") == 0 && strcmp(req->method, "POST") == 0) {
        sign_certificate(m, req, resp);
    } else {
        mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "CMS has no %s %s", req->method, req->path);
    }
}
