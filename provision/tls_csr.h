/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to provision/: the certificate request download-cert sends to CMS (spec 3.2). A header of its own
 * so that the unit test checks the very request the task sends. */
#ifndef TAGENT_PROVISION_TLS_CSR_H
#define TAGENT_PROVISION_TLS_CSR_H

#include <openssl/evp.h>

/*
 * A PKCS#10 request for key, signed with SHA-384: subject CN=common_name and, unless san_list is NULL or
 * empty, a subjectAltName with one entry per item of the comma-separated san_list in its order (an IPv4 or
 * IPv6 address becomes an iPAddress, anything else a dNSName; spaces around items are ignored). The PEM
 * block type is "BEGIN CERTIFICATE REQUEST" ("-----BEGIN BEGIN CERTIFICATE REQUEST-----"), as the Go agent
 * sends it. 0 with *ret_pem (caller frees); -EINVAL for an empty item, -ENOMEM, or -EIO when OpenSSL fails.
 */
int tls_csr_create(EVP_PKEY *key, const char *common_name, const char *san_list, char **ret_pem);

#endif
