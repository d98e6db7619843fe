/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test-side NATS decentralised auth: nkeys (ed25519 keys in NATS's base32 + CRC16 text form) and JWTs
 * (operator, account, user) signed as nats-server expects them, plus the .creds file AAS hands the agent.
 * Used by the mock AAS (/aas/v1/credentials) and by the harness to run nats-server in operator mode.
 *
 * Functions return 0 or a negative errno (-EINVAL bad argument, -ENOMEM, -EIO OpenSSL failure) and
 * write their out-parameters only on success; returned strings are malloc'ed and the caller frees them.
 * Seeds are secrets: nkey_wipe() a struct nkey when done, and treat .creds text the same way.
 *
 * What nats-server 2.9.10 (jwt v2) requires of these (checked against the real server):
 * - a JWT is header.payload.signature, each base64url without padding, the header being
 *   {"typ":"JWT","alg":"ed25519-nkey"}; the ed25519 signature covers the text "header.payload" (v2; v1
 *   signed only the payload);
 * - claims carry "nats":{"type":...,"version":2}; iss is the issuer's public nkey of the right kind (the
 *   operator for accounts, an account for users), sub the subject's; the server does not check jti, which
 *   is set as jwt v2 sets it (base32, no padding, of SHA-512/256 over the standard claims with jti empty);
 * - a limit left out is 0, and 0 means none: an account without "limits" gets "maximum account active
 *   connections exceeded"; a user without "subs" is disconnected ("maximum subscriptions exceeded") at its
 *   first SUB; a user without "payload" is told max_payload 0 and cnats refuses every publish. So every
 *   limit here is -1 (unlimited), as nsc writes them;
 * - "resp" {max, ttl (ns)} lets a user publish to the reply subject of a message it received even under
 *   publish deny ">"; ttl 0 means the server default (2 min);
 * - the operator JWT (inline is fine: nats-server takes a value starting "eyJ" as the JWT itself),
 *   system_account and every account JWT go into the config (natsjwt_server_conf()); a user of an account
 *   the MEMORY resolver does not know is refused with "Authorization Violation".
 */
#ifndef TAGENT_MOCK_NATSJWT_H
#define TAGENT_MOCK_NATSJWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NKEY_PUBLIC_LEN 56 /* characters, without the NUL */
#define NKEY_SEED_LEN   58

struct nkey {
    char type;        /* 'O' operator, 'A' account, 'U' user ('N' server, 'C' cluster also encode) */
    uint8_t seed[32]; /* ed25519 private seed */
    uint8_t pub[32];
};

int nkey_create(char type, struct nkey *ret_key);
/* Parses "SO..."/"SA..."/"SU..." text (checks base32, CRC16 and prefix bytes). -EINVAL if malformed. */
int nkey_from_seed(const char *seed_text, struct nkey *ret_key);
/* Parses public key text; either out-parameter may be NULL. -EINVAL if malformed. */
int nkey_public_decode(const char *text, char *ret_type, uint8_t ret_pub[32]);
/* "O..."/"A..."/"U..." (56 characters) and "SO..."/"SA..."/"SU..." (58 characters), NUL-terminated. */
void nkey_public_string(const struct nkey *key, char out[57]);
void nkey_seed_string(const struct nkey *key, char out[59]);
/* Signs data with the key (ed25519, 64 bytes). */
int nkey_sign(const struct nkey *key, const void *data, size_t len, uint8_t ret_sig[64]);
/* 0 if sig is the signature of data by the public key in text form; -EBADMSG if not. */
int nkey_verify(const char *public_text, const void *data, size_t len, const uint8_t sig[64]);
/* OPENSSL_cleanse of the whole struct; NULL is fine. */
void nkey_wipe(struct nkey *key);

struct natsjwt_user_perms {
    const char *const *pub_allow; /* NULL-terminated subject lists, each may be NULL */
    const char *const *pub_deny;
    const char *const *sub_allow;
    const char *const *sub_deny;
    int resp_max;        /* > 0: allow responses to requests, at most this many messages; 0: none */
    int64_t resp_ttl_ms; /* how long a reply subject stays allowed; 0: server default (2 min) */
    int64_t expires;     /* "exp" claim, Unix seconds; 0: never (nats-server refuses expired JWTs) */
};

/* JWTs (caller frees). */
int natsjwt_operator(const struct nkey *op, const char *name, char **ret_jwt);
int natsjwt_account(const struct nkey *op, const struct nkey *account, const char *name, char **ret_jwt);
/* perms may be NULL: no permission claims (everything allowed), unlimited, no expiry. */
int natsjwt_user(const struct nkey *account, const struct nkey *user, const char *name,
                 const struct natsjwt_user_perms *perms, char **ret_jwt);
/* The .creds file text: the user JWT and the user's seed between the NATS armour lines. */
int natsjwt_creds(const char *user_jwt, const struct nkey *user, char **ret_text);
/* nats-server configuration lines for operator mode with a memory resolver preloading the given accounts
 * (NULL-terminated arrays of account public keys and their JWTs). The system account must be among them. */
int natsjwt_server_conf(const char *operator_jwt, const char *const *account_pubs,
                        const char *const *account_jwts, const char *system_account_pub, char **ret_conf);

/* ---- an ISecL-like deployment in one call ----
 * One operator, a system account "SYS" and one application account whose users are the trust agents and
 * HVS, like the account AAS signs .creds with. server_conf goes into natsd_opts.extra_conf (or
 * natsd_start_operator() of the harness). */
struct natsjwt_deployment {
    struct nkey op, sys, account;
    char op_pub[57], sys_pub[57], account_pub[57];
    char *operator_jwt;
    char *sys_jwt;
    char *account_jwt;
    char *server_conf;
};

/* account_name NULL = "ISecL-account". */
int natsjwt_deployment_create(const char *account_name, struct natsjwt_deployment **ret_dep);
/* Wipes the seeds; NULL is fine. */
void natsjwt_deployment_free(struct natsjwt_deployment *dep);
/* .creds of a new user of dep's account with perms (NULL: unrestricted); name is the JWT "name". */
int natsjwt_deployment_user_creds(const struct natsjwt_deployment *dep, const char *name,
                                  const struct natsjwt_user_perms *perms, char **ret_creds);
/* The agent's .creds as AAS mints them for host_id (named host_id): publish deny ">", subscribe allow
 * "trust-agent.<host_id>.>", responses allowed, max 1. -EINVAL if host_id is empty or holds a wildcard,
 * space or control character. */
int natsjwt_creds_trust_agent(const struct natsjwt_deployment *dep, const char *host_id, char **ret_creds);
/* HVS's .creds: publish allow "trust-agent.>", subscribe allow "_INBOX.>" (named "HVS"). */
int natsjwt_creds_hvs(const struct natsjwt_deployment *dep, char **ret_creds);

#endif
