/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP service mode authorization: `Authorization: Bearer <JWT>` as the Go agent checks it
 * (isecl-hvs-protocol.md 4.1). A token is an RS384 or ES384 JWT signed by AAS; its `kid` is the hex SHA-1 of
 * the signing certificate's DER. Signing certificates come from /etc/trustagent/jwt and are trusted only when
 * they chain to a CA in /etc/trustagent/cacerts; an unknown kid is fetched from AAS (rate limited).
 */
#ifndef TAGENT_TOKEN_AUTH_H
#define TAGENT_TOKEN_AUTH_H

struct tagent_config;
struct token_auth; /* the verifier: trusted signing certificates by kid, AAS fetch state; thread-safe */

/* Loads the *.pem files of /etc/trustagent/jwt (under root) that chain to /etc/trustagent/cacerts;
 * cfg->aas_base_url for fetching unknown kids. A missing or empty jwt dir is fine (fetch on demand). */
int token_auth_new(const char *root, const struct tagent_config *cfg, struct token_auth **ret,
                   char **ret_error);
void token_auth_free(struct token_auth *a);

/* authorization: the raw Authorization header value (NULL when absent); permission: e.g. "quote:create"
 * (service "TA"). Returns 0 when allowed; otherwise the HTTP status to answer (401 or 403) with *ret_reason a
 * plain-text reason for the body and the log (caller frees; never contains the token). */
int token_auth_check(struct token_auth *a, const char *authorization, const char *permission,
                     char **ret_reason);

#endif
