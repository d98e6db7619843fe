/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tagent-mock-cp: CMS, AAS and HVS on one loopback HTTPS server (libmicrohttpd over GnuTLS), with real
 * cryptography through OpenSSL. Private to tests/mock/: the program's interface is its command line, its
 * READY line and its HTTP endpoints (see mock_main.c).
 *
 * Functions return 0 or a negative errno; the ones that answer a request fill a struct mock_resp instead
 * and never fail (an error is an HTTP status with a plain-text reason).
 */
#ifndef TAGENT_MOCK_H
#define TAGENT_MOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- faults (switchable at start with --fault and at run time with POST /mock/faults) ---- */

enum {
    MOCK_FAULT_WRONG_CMS_CERT = 1u << 0, /* TLS serves a leaf other than the one tls_sha384 names */
    MOCK_FAULT_UNAUTHORIZED = 1u << 1,   /* 401 on every service path */
    MOCK_FAULT_SERVER_ERROR = 1u << 2,   /* 500 on every service path */
    MOCK_FAULT_SLOW = 1u << 3,           /* 3 s sleep before answering */
    MOCK_FAULT_MALFORMED_JSON = 1u << 4, /* JSON bodies cut short and followed by junk */
    MOCK_FAULT_TRUNCATED_PEM = 1u << 5,  /* PEM bodies cut in the middle of the base64 */
};
#define MOCK_SLOW_SECONDS 3

/* Bit for a fault name, 0 if unknown. */
unsigned mock_fault_bit(const char *name);
/* Comma-separated names of the set bits into buf ("" when none). */
void mock_fault_names(unsigned faults, char *buf, size_t size);

/* ---- PKI (mock_pki.c): created on first start, reloaded from --dir afterwards ---- */

struct mock_pki {
    X509 *root; /* "CMS Root CA": what GET /cms/v1/ca-certificates serves (ca.pem) */
    EVP_PKEY *root_key;
    X509 *tls_ca; /* "CMS TLS CA": issues the server certificates and the CSRs CMS signs */
    EVP_PKEY *tls_ca_key;
    X509 *leaf; /* served TLS certificate (127.0.0.1, localhost); tls_sha384 is its digest */
    EVP_PKEY *leaf_key;
    X509 *decoy; /* same names, other key: served while wrong-cms-cert is on */
    EVP_PKEY *decoy_key;
    X509 *privacy_ca; /* HVS Privacy CA, self-signed RSA */
    EVP_PKEY *privacy_key;
    X509 *jwt_cert; /* AAS JWT signing certificate (ES384), issued by the root */
    EVP_PKEY *jwt_key;
    char *root_pem;   /* text of ca.pem */
    char *tls_ca_pem; /* text of tls-ca.pem */
    char *jwt_pem;    /* text of jwt-signing.pem */
    char *ca_path;    /* dir/ca.pem */
    char leaf_sha384[97];
    char jwt_kid[41]; /* hex SHA-1 of the JWT signing certificate's DER */
};

int mock_pki_load_or_create(struct mock_pki *pki, const char *dir);
void mock_pki_free(struct mock_pki *pki);
/* PEM (leaf then chain) and key PEM of the served or of the decoy certificate, for GnuTLS. */
int mock_pki_tls_pem(const struct mock_pki *pki, bool decoy, char **ret_chain_pem, char **ret_key_pem);
/* CMS: a TLS server certificate for the CSR, signed by the TLS CA (SHA-384). */
int mock_pki_sign_csr(const struct mock_pki *pki, X509_REQ *csr, X509 **ret_cert, char *why, size_t why_len);
/* HVS: the AIK certificate (spec 3.4 step 8). */
int mock_pki_issue_aik(const struct mock_pki *pki, const uint8_t *modulus, size_t modulus_len,
                       const uint8_t *aik_name, size_t aik_name_len, int validity_years, X509 **ret_cert);

/* ---- MakeCredential and the IdentityChallengePayload (mock_credential.c) ---- */

/* Software TPM2_MakeCredential to an RSA EK (nameAlg SHA-256, AES-128-CFB): *ret_secret is a
 * TPM2B_ENCRYPTED_SECRET and *ret_credential a TPM2B_ID_OBJECT, both with their u16 size prefix. */
int mock_make_credential(EVP_PKEY *ek, const uint8_t *cred, size_t cred_len, const uint8_t *name,
                         size_t name_len, uint8_t **ret_secret, size_t *ret_secret_len,
                         uint8_t **ret_credential, size_t *ret_credential_len);
/* KDFa(SHA-256) as TPM 2.0 Part 1 11.4.10.2 defines it. */
int mock_kdfa_sha256(const uint8_t *key, size_t key_len, const char *label, const uint8_t *context_u,
                     size_t u_len, const uint8_t *context_v, size_t v_len, unsigned bits, uint8_t *out);
/* AES-128-CBC with PKCS#7 padding; iv 16 bytes. */
int mock_aes_cbc(bool encrypt, const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t in_len,
                 uint8_t **ret_out, size_t *ret_len);

struct mock_identity_payload {
    uint8_t modulus[256];
    uint8_t name[34];
    uint8_t *payload; /* decrypted symblob */
    size_t payload_len;
};
/* Parses and decrypts an IdentityChallengePayload with the Privacy CA key. On failure *why says what. */
int mock_identity_payload_open(EVP_PKEY *privacy_key, const char *json, struct mock_identity_payload *ret,
                               char *why, size_t why_len);
void mock_identity_payload_clear(struct mock_identity_payload *p);
/* The IdentityProofRequest JSON: data under a fresh AES key K (random IV), K made into a credential. */
int mock_identity_proof(EVP_PKEY *ek, const uint8_t *aik_name, size_t name_len, const uint8_t *data,
                        size_t len, char **ret_json);

/* ---- NATS accounts for AAS (mock_nats.c; a stub without natsjwt) ---- */

struct mock_nats;
/* --nats-dir DIR and/or --nats-account-seed FILE; both may be NULL (then /aas/v1/credentials is 501). */
int mock_nats_setup(const char *dir, const char *account_seed_file, struct mock_nats **ret, char *why,
                    size_t why_len);
void mock_nats_free(struct mock_nats *nats);
/* A TA user's .creds text for host_id (spec 3.6 permissions). */
int mock_nats_ta_creds(struct mock_nats *nats, const char *host_id, char **ret_text);

/* ---- shared state ---- */

struct mock_host {
    char id[37];
    char *name, *connection_string, *hardware_uuid;
    struct mock_host *next;
};

struct mock_challenge {
    uint8_t challenge[32];
    uint8_t name[34];
    uint8_t modulus[256];
    EVP_PKEY *ek; /* the EK public key the credential went to */
    time_t created;
    struct mock_challenge *next;
};

struct mock {
    char *dir;
    char *bearer; /* expected token */
    int aik_validity_years;
    struct mock_pki pki;
    X509_STORE *ek_store;           /* --ek-ca */
    STACK_OF(X509) * ek_registered; /* --ek-cert */
    struct mock_nats *nats;
    atomic_uint faults;
    int log_fd;           /* requests.log */
    pthread_mutex_t lock; /* everything below */
    struct mock_host *hosts;
    cJSON *flavors;     /* array of the accepted POST /hvs/v2/flavors bodies */
    cJSON *reports;     /* array of the accepted POST /hvs/v2/reports bodies */
    cJSON *tokens;      /* array of {subject, validity_seconds} */
    cJSON *issued_jwts; /* array of the JWTs AAS issued: HVS accepts them as bearer tokens too (the agent's
                         * api-token), as a real HVS accepts any JWT signed by its AAS */
    cJSON *credentials; /* array of host ids */
    cJSON *aik_certs;   /* array of {aik_name (hex), path} */
    cJSON *tls_certs;   /* array of CNs CMS signed */
    struct mock_challenge *challenges;
};

/* ---- requests and responses (mock_main.c) ---- */

struct mock_req {
    void *conn; /* struct MHD_Connection */
    const char *method;
    const char *url;  /* path as requested */
    const char *path; /* what follows the service prefix ("/ca-certificates") */
    const char *body; /* NUL-terminated copy of the request body */
    size_t body_len;
};

struct mock_resp {
    unsigned status;
    const char *type; /* Content-Type; NULL = none */
    char *body;       /* malloc'ed */
    size_t len;
};

const char *mock_header(const struct mock_req *req, const char *name);
const char *mock_query(const struct mock_req *req, const char *key);
/* Media type of a header value equals want (parameters after ';' and case are ignored). */
bool mock_media_is(const char *value, const char *want);
/* Accept lists want itself (wildcards do not count: the Go clients send the exact type). */
bool mock_accepts(const char *accept, const char *want);

void mock_resp_text(struct mock_resp *resp, unsigned status, const char *type, const char *text);
void mock_resp_bytes(struct mock_resp *resp, unsigned status, const char *type, const void *data, size_t len);
/* Takes json (frees it). */
void mock_resp_json(struct mock_resp *resp, unsigned status, cJSON *json);
void mock_resp_error(struct mock_resp *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks "Authorization: Bearer <token>"; false after filling a 401. */
bool mock_check_bearer(struct mock *m, const struct mock_req *req, struct mock_resp *resp);
/* Accept (406) and, for POST, Content-Type (415) checks; false after filling the error. */
bool mock_check_media(const struct mock_req *req, struct mock_resp *resp, const char *accept,
                      const char *content_type);

/* Service handlers. */
void mock_cms_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp);
void mock_aas_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp);
void mock_hvs_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp);
/* Sets the hardware UUID of the registered host named name; -ENOENT when there is none. */
int mock_hvs_host_set_uuid(struct mock *m, const char *name, const char *uuid);

/* ---- small helpers (mock_util.c) ---- */

char *mock_b64_encode(const uint8_t *data, size_t len);
/* base64url without padding (JWT). */
char *mock_b64url_encode(const uint8_t *data, size_t len);
/* Standard base64 (padding required as Go writes it, whitespace not allowed). */
int mock_b64_decode(const char *text, uint8_t **ret_data, size_t *ret_len);
void mock_hex(const uint8_t *data, size_t len, char *out);
int mock_file_read(const char *path, char **ret_data, size_t *ret_len);
/* Writes through a temp file and rename. */
int mock_file_write(const char *path, const void *data, size_t len, int mode);
int mock_path(const char *dir, const char *name, char **ret);
void mock_uuid4(char out[37]);
bool mock_uuid_valid(const char *s);
bool mock_hostname_valid(const char *s);
char *mock_x509_pem(X509 *cert);
/* Every certificate in a PEM or DER file (or buffer). */
int mock_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) * *ret_certs);
/* Logs an OpenSSL failure to stderr. */
int mock_ssl_fail(const char *what);

#endif
