/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trust and pinning, done on OpenSSL's side of libcurl (CURLOPT_SSL_CTX_FUNCTION) because libcurl cannot pin
 * a SHA-384 of the whole leaf certificate (CURLOPT_PINNEDPUBLICKEY hashes the public key with SHA-256 only).
 *
 * The certificate check replaces OpenSSL's (SSL_CTX_set_cert_verify_callback): it is called exactly once per
 * full handshake with the server's chain, whatever the verify mode, so the leaf hash is always recorded and a
 * wrong pin fails the handshake before the request is sent. Verification, when wanted, is then OpenSSL's own
 * X509_verify_cert() against a store holding the ca_dir certificates (and the system bundle libcurl loaded).
 */
#include "https_internal.h"

#include "cleanup_openssl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static int pin_parse(const char *pin, const char *pin_name, char out[static HTTPS_SHA384_HEX + 1],
                     char **ret_error)
{
    size_t n = strlen(pin);
    bool hex = n == HTTPS_SHA384_HEX;
    for (size_t i = 0; hex && i < n; i++)
        hex = isxdigit((unsigned char)pin[i]);
    if (!hex) {
        if (asprintf(ret_error, "%s is not a SHA-384 digest (96 hex digits; it has %zu characters)",
                     pin_name ? pin_name : "the pinned certificate hash", n) < 0)
            *ret_error = NULL;
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)pin[i]);
    out[n] = '\0';
    return 0;
}

static bool is_pem_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".pem") == 0;
}

/* Every certificate in the file at path (none is fine: the caller counts). -ENOMEM is the only failure. */
static int anchors_add_file(const char *path, STACK_OF(X509) * anchors)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new_file(path, "r");

    for (X509 *x; bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL));) {
        if (!sk_X509_push(anchors, x)) {
            X509_free(x);
            return -ENOMEM;
        }
    }
    return 0;
}

/* Every certificate of every *.pem, like Go's AppendCertsFromPEM: a file holding none is skipped, so one
 * stray file does not cut the agent off; the count shows up in verification errors instead. */
static int anchors_load(const char *dir, STACK_OF(X509) * anchors, char **ret_error)
{
    DIR *d = opendir(dir);
    int r = 0;

    if (!d) {
        r = -errno;
        if (asprintf(ret_error, "cannot read the CA directory %s: %s", dir, strerror(-r)) < 0)
            *ret_error = NULL;
        return r;
    }
    for (struct dirent *de; r == 0 && (de = readdir(d));) {
        _cleanup_free_ char *path = NULL;

        if (!is_pem_name(de->d_name))
            continue;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            path = NULL;
            r = -ENOMEM;
        } else {
            r = anchors_add_file(path, anchors);
        }
    }
    closedir(d);
    /* The end of every PEM file leaves a "no start line" behind; nobody else should find it. */
    ERR_clear_error();
    if (r == -ENOMEM)
        *ret_error = NULL;
    return r;
}

int https_tls_init(struct https_tls *tls, const struct https_options *opts, char **ret_error)
{
    int r;

    *tls = (struct https_tls){.verify = !opts->no_verify, .system_ca = opts->system_ca};
    *ret_error = NULL;
    if (opts->pin_sha384 && (r = pin_parse(opts->pin_sha384, opts->pin_name, tls->pin, ret_error)) < 0)
        return r;
    if (!tls->verify)
        return 0;
    tls->anchors = sk_X509_new_null();
    if (!tls->anchors)
        return -ENOMEM;
    if (opts->ca_dir) {
        tls->ca_dir = opts->ca_dir;
        if ((r = anchors_load(opts->ca_dir, tls->anchors, ret_error)) < 0)
            return r;
    }
    if (sk_X509_num(tls->anchors) == 0 && !tls->system_ca) {
        if ((opts->ca_dir ? asprintf(ret_error, "no CA certificate (*.pem) in %s to verify the server with",
                                     opts->ca_dir)
                          : asprintf(ret_error, "no CA certificates to verify the server with")) < 0)
            *ret_error = NULL;
        return -ENOENT;
    }
    return 0;
}

void https_tls_done(struct https_tls *tls)
{
    sk_X509_pop_free(tls->anchors, X509_free);
    tls->anchors = NULL;
}

static void leaf_hash(X509 *leaf, char out[static HTTPS_SHA384_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    /* X509_digest hashes the DER encoding, the same bytes as Go's PeerCertificates[0].Raw. */
    if (!leaf || !X509_digest(leaf, EVP_sha384(), md, &n) || n * 2 != HTTPS_SHA384_HEX)
        return;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int cert_verify(X509_STORE_CTX *store_ctx, void *arg)
{
    struct https_tls *tls = arg;
    int ok;

    leaf_hash(X509_STORE_CTX_get0_cert(store_ctx), tls->leaf_sha384);
    if (tls->pin[0] && strcmp(tls->leaf_sha384, tls->pin) != 0) {
        tls->pin_mismatch = true;
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    if (!tls->verify)
        return 1;
    ok = X509_verify_cert(store_ctx);
    if (ok <= 0) {
        tls->verify_error = X509_STORE_CTX_get_error(store_ctx);
        if (tls->verify_error == X509_V_OK)
            tls->verify_error = X509_V_ERR_UNSPECIFIED;
    }
    return ok > 0;
}

CURLcode https_tls_ctx_setup(CURL *curl, void *ssl_ctx, void *userptr)
{
    SSL_CTX *ctx = ssl_ctx;
    struct https_tls *tls = userptr;

    /* libcurl asks for 1.3 already; this keeps it true if a libcurl ever maps the option differently. */
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
        return CURLE_SSL_CONNECT_ERROR;
    if (tls->verify) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        for (int i = 0; i < sk_X509_num(tls->anchors); i++)
            /* Fails only for allocation; a duplicate of a system certificate is accepted. */
            if (!X509_STORE_add_cert(store, sk_X509_value(tls->anchors, i)))
                return CURLE_OUT_OF_MEMORY;
        /* Go treats every certificate in its pool as a root; an intermediate in ca_dir must be enough. */
        if (sk_X509_num(tls->anchors) > 0)
            X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    }
    SSL_CTX_set_cert_verify_callback(ctx, cert_verify, tls);
    /* Under SSL_VERIFY_NONE (no_verify) OpenSSL ignores what the callback returns: a pin needs VERIFY_PEER.
     * The callback then accepts any chain whose leaf matches. */
    if (tls->pin[0])
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return CURLE_OK;
}

char *https_tls_describe_trust(const struct https_tls *tls)
{
    char *s = NULL;
    int n = tls->anchors ? sk_X509_num(tls->anchors) : 0;
    int r;

    if (tls->ca_dir)
        r = asprintf(&s, "%d CA certificate%s from %s%s", n, n == 1 ? "" : "s", tls->ca_dir,
                     tls->system_ca ? " and the system store" : "");
    else
        r = asprintf(&s, "%s", tls->system_ca ? "the system store" : "nothing");
    return r < 0 ? NULL : s;
}
