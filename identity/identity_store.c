/* SPDX-License-Identifier: BSD-3-Clause */
/* /etc/tep/identity: the device certificate and its trust anchor, public (0644), under the root prefix. */
#include "identity.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "config.h"
#include "error.h"
#include "tep_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

int identity_bio_text(BIO *bio, char **ret_text, size_t *ret_len)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    /* the BIO's memory is not NUL-terminated: exactly len bytes */
    if (len < 0 || !(*ret_text = malloc((size_t)len + 1)))
        return -ENOMEM;
    memcpy(*ret_text, data, (size_t)len);
    (*ret_text)[len] = '\0';
    if (ret_len)
        *ret_len = (size_t)len;
    return 0;
}

int identity_pem_encode(X509 *first, STACK_OF(X509) * rest, char **ret_pem, size_t *ret_len)
{
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || (first && !PEM_write_bio_X509(bio, first)))
        return -ENOMEM;
    for (int i = 0; i < sk_X509_num(rest); i++)
        if (!PEM_write_bio_X509(bio, sk_X509_value(rest, i)))
            return -ENOMEM;
    return identity_bio_text(bio, ret_pem, ret_len);
}

static int file_write(const char *root, const char *name, const char *pem, size_t len, char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, name);
    if (!path)
        return error_set(ret_error, -ENOMEM, "out of memory");
    int r = config_write_file_atomic(path, pem, len, 0644);
    return r < 0 ? error_set(ret_error, r, "writing %s: %s", path, strerror(-r)) : 0;
}

int identity_store(const char *root, X509 *cert, STACK_OF(X509) * chain, STACK_OF(X509) * anchors,
                   char **ret_error)
{
    char *cert_pem = NULL, *ca_pem = NULL;
    size_t cert_len = 0, ca_len = 0;
    int r = 0;
    if (identity_pem_encode(cert, chain, &cert_pem, &cert_len) < 0 ||
        identity_pem_encode(NULL, anchors, &ca_pem, &ca_len) < 0)
        r = error_set(ret_error, -ENOMEM, "encoding the certificates failed (out of memory)");
    if (r == 0)
        r = tep_subdir_ensure(root, IDENTITY_DIR, ret_error); /* not followed if a symlink */
    /* the anchor first: a device.pem is only ever next to an anchor that was checked with it (a failure in
     * between leaves the old certificate, which `show` then reports as not chaining) */
    if (r == 0)
        r = file_write(root, IDENTITY_CA_FILE, ca_pem, ca_len, ret_error);
    if (r == 0)
        r = file_write(root, IDENTITY_CERT_FILE, cert_pem, cert_len, ret_error);
    free(cert_pem);
    free(ca_pem);
    return r;
}
