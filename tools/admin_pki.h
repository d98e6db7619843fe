/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-admin pki: the owner's development PKI (docs/dev-pki.md). The directory layout, loading a CA and the
 * certificate building that `pki init` (the CAs) and `pki sign-csr` (the end-entity certificates) share.
 */
#ifndef TAGENT_ADMIN_PKI_H
#define TAGENT_ADMIN_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The five CAs, in the order `pki init` makes them (an issuer before what it signs). */
enum pki_ca {
    PKI_SSIG_ROOT,
    PKI_SSIG_SUBCA,
    PKI_GEN_ROOT,
    PKI_GUESTOS_SUBCA,
    PKI_DEVICE_SUBCA,
    PKI_CA_COUNT,
};

struct pki_ca_info {
    const char *stem;   /* file names: STEM.key, STEM.pem */
    const char *cn;     /* subject CN */
    enum pki_ca issuer; /* itself for a root */
    int days;           /* validity */
};

extern const struct pki_ca_info pki_cas[PKI_CA_COUNT];

#define PKI_CHAIN_FILE   "device-ca-chain.pem"
#define PKI_README_FILE  "README.txt"
#define PKI_README_MAGIC "tagent development PKI"
#define PKI_DEFAULT_ORG  "tagent development PKI"
/* Before notBefore by this much, so that a device whose clock is a little behind accepts a fresh cert. */
#define PKI_CLOCK_SKEW (5 * 60)

#define PKI_WARNING_LINE                                                                                     \
    "DEVELOPMENT KEYS ON DISK: the CA private keys are unencrypted files; do not use them for production "   \
    "devices"

/* The hint of a CA key file that cannot be read. */
#define PKI_KEY_HINT "the CA's key file as `tagent-admin pki init` wrote it (restore it from a backup)"

/* DIR/STEM.EXT (ext without the dot, or NULL for a plain name); NULL when out of memory. */
char *pki_path(const char *dir, const char *stem, const char *ext);
/* DIR was made by `pki init`: a directory holding our README.txt. */
int pki_dir_check(const char *dir, char **ret_error);
/* A PEM certificate file. */
int pki_cert_load(const char *path, X509 **ret_cert, char **ret_error);
/* A CA's certificate and private key, checked to belong together. */
int pki_ca_load(const char *dir, enum pki_ca ca, X509 **ret_cert, EVP_PKEY **ret_key, char **ret_error);

/* A certificate to be signed: version 3, a random 128-bit serial, subject, public key, issuer name (the
 * issuer's subject, or subject itself when issuer is NULL) and validity from now - PKI_CLOCK_SKEW to
 * not_after. */
int pki_cert_new(const X509_NAME *subject, EVP_PKEY *pub, X509 *issuer, time_t not_after, X509 **ret_cert,
                 char **ret_error);
/* Adds one extension in openssl.cnf syntax ("critical,CA:TRUE"); issuer NULL: cert is self-signed. */
int pki_ext_add(X509 *cert, X509 *issuer, int nid, const char *value, char **ret_error);
/* Signs with ECDSA-SHA384 (the CA keys are P-384). */
int pki_cert_sign(X509 *cert, EVP_PKEY *ca_key, char **ret_error);
/* The PEM text of cert appended to *buf (realloc'ed, NUL-terminated), *len updated. */
int pki_cert_pem_append(X509 *cert, char **buf, size_t *len, char **ret_error);
/* An ASN1_TIME as "2026-12-07T17:05:36Z". */
void pki_time_format(const ASN1_TIME *t, char *out, size_t size);
/* A name as openssl(1) prints it: "O = tagent development PKI, CN = Device Sub CA". */
void pki_name_format(const X509_NAME *name, char *out, size_t size);
/* "EC P-384", "RSA 3072", ... */
void pki_key_describe(EVP_PKEY *key, char *out, size_t size);

#endif
