/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * download-cert's certificate request. The subjectAltName is built as GENERAL_NAMEs, one per item, rather
 * than as an OpenSSL config string ("IP:...,DNS:..."): no text buffer to size, and no item can be read as
 * anything but the address or name it is.
 */
#include "tls_csr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "config.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_STRING *, ASN1_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAME *, GENERAL_NAME_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free)

/* The stack and the extensions in it. */
static void extensions_free(STACK_OF(X509_EXTENSION) * exts)
{
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(STACK_OF(X509_EXTENSION) *, extensions_free)

/* config_list_for_each callback: appends item to the GENERAL_NAMES in names. */
static int san_push(const char *item, void *names)
{
    unsigned char addr[16];
    int addr_len = inet_pton(AF_INET, item, addr) == 1 ? 4 : inet_pton(AF_INET6, item, addr) == 1 ? 16 : 0;
    const void *bytes = addr_len ? (const void *)addr : (const void *)item;
    size_t len = strlen(item);

    /* Settings validation refuses empty items too; this keeps the request from carrying an empty name. */
    if (len == 0 || len > INT_MAX)
        return -EINVAL;
    _cleanup_(GENERAL_NAME_freep) GENERAL_NAME *name = GENERAL_NAME_new();
    _cleanup_(ASN1_STRING_freep) ASN1_STRING *value =
        addr_len ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    if (!name || !value || !ASN1_STRING_set(value, bytes, addr_len ? addr_len : (int)len))
        return -ENOMEM;
    GENERAL_NAME_set0_value(name, addr_len ? GEN_IPADD : GEN_DNS, TAKE_PTR(value));
    if (!sk_GENERAL_NAME_push(names, name))
        return -ENOMEM;
    name = NULL; /* the stack owns it now */
    return 0;
}

/* The subjectAltName extension for san_list, added to *exts (created when NULL). */
static int san_extension_add(const char *san_list, STACK_OF(X509_EXTENSION) * *exts)
{
    _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int r = names ? config_list_for_each(san_list, san_push, names) : -ENOMEM;
    if (r == 0 && X509V3_add1_i2d(exts, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        r = -EIO;
    return r;
}

/* req as PEM with the Go agent's block type. PEM_write_bio, not PEM_write_bio_X509_REQ: the block type is not
 * the standard one. */
static int csr_pem(X509_REQ *req, char **ret_pem)
{
    _cleanup_openssl_free_ unsigned char *der = NULL;
    _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    int der_len = i2d_X509_REQ(req, &der);
    if (der_len <= 0 || !bio || !PEM_write_bio(bio, "BEGIN CERTIFICATE REQUEST", "", der, der_len) ||
        BIO_write(bio, "", 1) != 1 || BIO_get_mem_data(bio, &data) <= 0)
        return -EIO;
    /* strdup, not strndup(data, n): ASan's strict_string_checks reads strndup's source up to a NUL, hence the
     * NUL written above. */
    char *pem = strdup(data);
    if (!pem)
        return -ENOMEM;
    *ret_pem = pem;
    return 0;
}

int tls_csr_create(EVP_PKEY *key, const char *common_name, const char *san_list, char **ret_pem)
{
    _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
    _cleanup_(extensions_freep) STACK_OF(X509_EXTENSION) *exts = NULL;
    int r = !req ? -ENOMEM : !common_name ? -EINVAL : 0;

    if (r == 0 && san_list && *san_list)
        r = san_extension_add(san_list, &exts);
    if (r == 0 && (!X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                                               (const unsigned char *)common_name, -1, -1, 0) ||
                   !X509_REQ_set_pubkey(req, key) || (exts && !X509_REQ_add_extensions(req, exts)) ||
                   X509_REQ_sign(req, key, EVP_sha384()) <= 0))
        r = -EIO;
    if (r == 0)
        r = csr_pem(req, ret_pem);
    return r;
}
