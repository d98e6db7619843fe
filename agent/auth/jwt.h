/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to agent/auth/: a compact JWS as AAS issues it (header.claims.signature, base64url without padding)
 * taken apart, and the checks on it that need no certificate. Pure functions (fuzzed by
 * tests/fuzz/fuzz_jwt.c).
 *
 * No message here ever quotes the token: only what the token is missing or breaks, and an alg or kid only
 * when it has a known shape (a name from the JOSE registry, 40 hex digits).
 */
#ifndef TAGENT_AUTH_JWT_H
#define TAGENT_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#define JWT_MAX_LEN 16384 /* AAS tokens are 1-3 KiB; bounds the work an unauthenticated caller can cause */
#define JWT_KID_LEN                                                                                          \
    40 /* hex SHA-1 of the signing certificate's DER, lower case as Go's hex.EncodeToString                  \
        */

enum jwt_alg { JWT_RS384, JWT_ES384 };

struct jwt {
    enum jwt_alg alg;
    char kid[JWT_KID_LEN + 1];
    const char *signing_input; /* "header.claims", pointing into the token given to jwt_parse() */
    size_t signing_input_len;
    uint8_t *sig;
    size_t sig_len;
    cJSON *claims;    /* the claims object */
    int64_t exp;      /* seconds since the epoch; always present (checked by jwt_parse) */
    int64_t nbf, iat; /* 0 when absent, as Go's StandardClaims reads them */
};

/* base64url as JWS uses it: only A-Z a-z 0-9 - _, no padding, unused trailing bits zero. -EINVAL / -ENOMEM.
 */
int jwt_b64url_decode(const char *s, size_t len, uint8_t **ret_data, size_t *ret_len);

/* Takes token (NUL-terminated, at most JWT_MAX_LEN) apart: three base64url parts; a header object whose alg
 * is RS384 or ES384 and whose kid is 40 lower-case hex digits; a claims object with an integral exp, and
 * nbf/iat/sub/iss/jti/aud of the types Go's StandardClaims decodes (else Go refuses the token too). Fills
 * *ret (free with jwt_clear()); -EBADMSG, -EPROTONOSUPPORT (an alg other than RS384/ES384), -ENOMEM with
 * *ret_error (caller frees). */
int jwt_parse(const char *token, struct jwt *ret, char **ret_error);
void jwt_clear(struct jwt *t);

/* The signature over the signing input with key: RS384 is RSASSA-PKCS1-v1_5 with SHA-384 and an RSA key of
 * 2048 bits or more; ES384 is ECDSA P-384 with SHA-384, JOSE's r || s (96 bytes). The alg must fit the key:
 * -EKEYREJECTED when it does not, -EBADMSG when the signature does not verify. */
int jwt_verify_signature(const struct jwt *t, EVP_PKEY *key, char **ret_error);

/* exp, nbf, iat against now, without leeway (Go's jwt-go has none; AAS back-dates nbf and iat by 30 s).
 * -EKEYEXPIRED with *ret_error. */
int jwt_check_time(const struct jwt *t, time_t now, char **ret_error);

/* True when the claims' "permissions" hold an entry for service whose rules cover permission
 * ("quote:create"), with the Go agent's rule: "a:b" or "a:b:*", a and b each "*" or equal. Malformed entries
 * are skipped, as Go's decoder skips what does not fit. */
bool jwt_grants(const cJSON *claims, const char *service, const char *permission);

#endif
