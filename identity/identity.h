/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * identity/: the device identity (docs/device-identity.md), the OpenSSL side. The key lives in the TPM
 * (quote/identity_key.c creates it and reads its public key); everything that needs its private half (the
 * CSR, the development self-signed certificate) signs through OpenSSL 3's tpm2 provider in a private library
 * context, so no signature is built by hand and the key never leaves the TPM. The certificate checks of
 * `identity install` and `identity show` and the files under /etc/tep/identity are here too.
 *
 * Errors as everywhere (common/error.h): 0 or a negative errno, *ret_error (caller frees) says what failed,
 * why, and what to do; NULL after a failure means out of memory.
 */
#ifndef TAGENT_IDENTITY_H
#define TAGENT_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>
#include <openssl/x509.h>

#define IDENTITY_DIR       "/etc/tep/identity"
#define IDENTITY_CERT_FILE IDENTITY_DIR "/device.pem"    /* the device certificate (+ chain), 0644 */
#define IDENTITY_CA_FILE   IDENTITY_DIR "/device-ca.pem" /* the device trust anchor(s), 0644 */
/* The organizationalUnitName every self-signed development certificate carries, and what `show` prints. */
#define IDENTITY_DEV_MARKER "tagent development self-signed"
#define IDENTITY_DEV_LABEL  "SELF-SIGNED (development)"
/* The key's own operations in the tpm2 provider, every digest in the default provider: without a resource
 * manager (swtpm, /dev/tpm0) a TPM holds three transient objects, and TPM hash sequences would take them. */
#define IDENTITY_PROPQ "?provider=tpm2,tpm2.digest!=yes"

/* ---- the TPM key through the tpm2 provider (identity_provider.c) ---- */

struct identity_key {
    OSSL_LIB_CTX *libctx; /* private: providers "tpm2" and "default" */
    OSSL_PROVIDER *tpm2, *dflt;
    EVP_PKEY *pkey;     /* the key at the handle, held by the provider */
    const char *digest; /* "SHA256" for P-256, "SHA384" for P-384 */
};

/* Loads the tpm2 provider with tcti (NULL: TAGENT_TCTI, else the default device) and the key at handle
 * ("handle:0x8100a010"). The provider opens the TPM itself: the caller's own connection (quote/) must be
 * closed first, as a TPM without a resource manager serves one client at a time. */
int identity_key_open(const char *tcti, uint32_t handle, struct identity_key *ret_key, char **ret_error);
void identity_key_close(struct identity_key *key);

/* ---- the subject (identity_subject.c) ---- */

struct identity_subject {
    X509_NAME *name;
    char uuid[37]; /* the SMBIOS product UUID for the SAN URI urn:uuid:<uuid>; "" when there is none */
};

/* CN = the SMBIOS product UUID, serialNumber = the SMBIOS system serial number (under root); refused when
 * either is missing, or the serial number is longer than X.520's 64 characters (then --subject). */
int identity_subject_default(const char *root, struct identity_subject *ret, char **ret_error);
/* OpenSSL's one-line form, "/CN=.../serialNumber=...": each attribute a known short or long name, each
 * value non-empty and within the attribute's limits. The product UUID is still read for the SAN (none when
 * the firmware has none). */
int identity_subject_parse(const char *root, const char *text, struct identity_subject *ret,
                           char **ret_error);
void identity_subject_clear(struct identity_subject *subject);
/* "CN=..., serialNumber=..." (RFC 2253 order reversed as OpenSSL prints it; caller frees). */
char *identity_name_text(const X509_NAME *name);

/* ---- signing with the TPM key (identity_sign.c) ---- */

/* A PKCS#10 request: the subject, the key, an extensionRequest with the SAN URI; signed by the TPM, then
 * verified against expected_spki (the TPM's public key, read through quote/) before it is returned. */
int identity_csr_make(const struct identity_key *key, const struct identity_subject *subject,
                      const uint8_t *expected_spki, size_t spki_len, char **ret_pem, char **ret_error);
/* A self-signed development certificate for days days: the subject plus OU=IDENTITY_DEV_MARKER, CA:FALSE,
 * digitalSignature, clientAuth, the SAN URI. */
int identity_self_signed_make(const struct identity_key *key, const struct identity_subject *subject,
                              unsigned days, char **ret_pem, char **ret_error);

/* ---- certificates (identity_check.c) ---- */

/* Every certificate of a PEM file, in order; -ENODATA when it holds none. */
int identity_certs_load(const char *path, STACK_OF(X509) * *ret_certs, char **ret_error);
void identity_certs_free(STACK_OF(X509) * certs);

/* What `install` requires, in this order, each refusal with its own errno: the certificate's key is the
 * TPM's (-EKEYREJECTED), it is a leaf (CA:FALSE, -EPERM), valid now (-EKEYEXPIRED), and chains to one of
 * anchors (each a trust anchor, sub CAs included) for TLS client authentication (-EBADMSG). chain: further
 * certificates the device sends (the rest of device.pem), may be NULL. tpm_spki NULL skips the key check. */
int identity_cert_check(X509 *cert, STACK_OF(X509) * chain, STACK_OF(X509) * anchors, const uint8_t *tpm_spki,
                        size_t spki_len, char **ret_error);
/* Whether the certificate's SubjectPublicKeyInfo is spki, byte for byte. */
bool identity_cert_key_matches(X509 *cert, const uint8_t *spki, size_t spki_len);
/* Self-signed by its own key, or carrying IDENTITY_DEV_MARKER. */
bool identity_cert_is_development(X509 *cert);

/* ---- what `identity show` reports (identity_show.c) ---- */

struct tpm_identity_public;
struct cJSON;
/* The identity as a JSON object (docs/device-identity.md, "show"): handle, the TPM key (pub NULL: the TPM
 * could not be read, tpm_error says why), the installed certificate under root and its status. *ret_ok is
 * true when a certificate is installed, its key is the TPM's and it passes every install check. */
int identity_describe(const char *root, uint32_t handle, const struct tpm_identity_public *pub,
                      const char *tpm_error, struct cJSON **ret_json, bool *ret_ok, char **ret_error);

/* ---- the files (identity_store.c) ---- */

/* Writes <root>IDENTITY_CA_FILE, then <root>IDENTITY_CERT_FILE (each atomically, 0644; the directory 0755),
 * re-encoded from the parsed certificates: cert and chain into device.pem, anchors into device-ca.pem. */
int identity_store(const char *root, X509 *cert, STACK_OF(X509) * chain, STACK_OF(X509) * anchors,
                   char **ret_error);
/* A PEM text (caller frees) of first (may be NULL), then rest. */
int identity_pem_encode(X509 *first, STACK_OF(X509) * rest, char **ret_pem, size_t *ret_len);
/* A memory BIO's contents as a NUL-terminated string (caller frees); ret_len may be NULL. */
int identity_bio_text(BIO *bio, char **ret_text, size_t *ret_len);

#endif
