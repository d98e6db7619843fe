/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to agent/auth/: AAS JWT signing certificates, as the Go agent trusts them (pkg/lib/common/jwt:
 * NewVerifier): the first certificate of a PEM text is the signer, the rest its chain; it must be valid now
 * and chain to a certificate of /etc/trustagent/cacerts (each one an anchor, as in Go's root pool); its kid
 * is the hex SHA-1 of its DER. */
#ifndef TAGENT_AUTH_SIGNING_CERTS_H
#define TAGENT_AUTH_SIGNING_CERTS_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jwt.h"

#define SIGNING_CERT_FILE_MAX (1024 * 1024)

struct signing_key {
    char kid[JWT_KID_LEN + 1];
    EVP_PKEY *key;
    time_t not_after;
};

struct signing_keys {
    struct signing_key *v;
    size_t n;
};

/* Adds (a kid already there is replaced, so a reloaded certificate wins). Takes k->key. -ENOMEM. */
int signing_keys_add(struct signing_keys *keys, struct signing_key *k);
const struct signing_key *signing_keys_find(const struct signing_keys *keys, const char *kid);
void signing_keys_clear(struct signing_keys *keys);

/* Every certificate of the *.pem files in ca_dir (absent or empty: a store trusting nothing). *ret_count is
 * how many. -ENOMEM. */
int signing_anchors_load(const char *ca_dir, X509_STORE **ret_store, size_t *ret_count);

/* One PEM text (signer first, then its chain) made a trusted key. *ret_certs (may be NULL) gets signer and
 * chain as parsed. -EBADMSG (no certificate, or a key Go's verifier would not take), -EPERM (does not chain
 * or is not valid now), -ENOMEM, each with *ret_error; after -EBADMSG/-EPERM ret->kid names the refused
 * certificate (ret->key is NULL). */
int signing_cert_trust(const void *pem, size_t len, X509_STORE *anchors, struct signing_key *ret,
                       STACK_OF(X509) * *ret_certs, char **ret_error);

/* A jwt/ file that gave no key: its signer's kid ("" when unreadable) and "<file name> <why>". */
struct signing_skip {
    char kid[JWT_KID_LEN + 1];
    char *why;
};
struct signing_skips {
    struct signing_skip *v;
    size_t n;
};
int signing_skips_add(struct signing_skips *skips, const char *kid, const char *name, const char *why);
void signing_skips_clear(struct signing_skips *skips);

/* The trusted keys of dir's *.pem files into keys; the files that give none into skips. 0 (also for an absent
 * dir) or -ENOMEM. */
int signing_keys_load_dir(const char *dir, X509_STORE *anchors, struct signing_keys *keys,
                          struct signing_skips *skips);

/* GET <aas>/jwt-certificates (Accept: application/x-pem-file) over TLS trusting ca_dir and the system store,
 * as the Go agent's fnGetJwtCerts. 0 and the body (caller frees), or -errno with *ret_error. */
int signing_cert_fetch(const char *aas_url, const char *ca_dir, char **ret_pem, size_t *ret_len,
                       char **ret_error);

/* certs (signer first) re-encoded as PEM into dir/<first 9 hex digits of kid>.pem, mode 0600, atomically:
 * the Go agent's file for a fetched certificate. -errno with *ret_error. */
int signing_cert_save(const char *dir, const char *kid, STACK_OF(X509) * certs, char **ret_error);

#endif
