/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NATS JWT v2 claims (operator, account, user) signed with nkeys, the .creds text, and the operator-mode
 * nats-server configuration. Field order follows the Go jwt library's JSON so the text looks like what
 * nsc/AAS produce; nats-server itself does not depend on the order.
 */
#include "natsjwt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define JWT_HEADER "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}"
#define NO_LIMIT   (-1)

/* ---- encodings ---- */

/* base64url without padding (RFC 4648 section 5) of len bytes; OpenSSL does the base64. */
static char *base64url(const void *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1, n;
    char *out = malloc(cap);
    int enc;

    if (!out)
        return NULL;
    enc = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    if (enc < 0) {
        free(out);
        return NULL;
    }
    n = (size_t)enc;
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* base32 without padding of 32 bytes: 52 characters. */
static void base32_32(const uint8_t in[32], char out[53])
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < 32; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* ---- claims ---- */

struct std_claims {
    const char *name;
    const char *iss;
    const char *sub;
    int64_t iat;
    int64_t exp;
};

/* The standard claims in jwt v2's order (aud, exp, jti, iat, iss, name, nbf, sub), empty ones omitted. */
static int add_std_claims(cJSON *obj, const struct std_claims *c, const char *jti)
{
    if (c->exp > 0 && !cJSON_AddNumberToObject(obj, "exp", (double)c->exp))
        return -ENOMEM;
    if (jti && !cJSON_AddStringToObject(obj, "jti", jti))
        return -ENOMEM;
    if (!cJSON_AddNumberToObject(obj, "iat", (double)c->iat) || !cJSON_AddStringToObject(obj, "iss", c->iss))
        return -ENOMEM;
    if (c->name && *c->name && !cJSON_AddStringToObject(obj, "name", c->name))
        return -ENOMEM;
    if (!cJSON_AddStringToObject(obj, "sub", c->sub))
        return -ENOMEM;
    return 0;
}

/* jti as jwt v2 computes it: base32 (no padding) of SHA-512/256 over the JSON of the standard claims
 * with jti left empty. */
static int claims_jti(const struct std_claims *c, char out[53])
{
    cJSON *obj = cJSON_CreateObject();
    char *json = NULL;
    uint8_t md[32];
    unsigned int md_len = 0;
    int r = -ENOMEM;

    if (!obj || add_std_claims(obj, c, NULL) < 0 || !(json = cJSON_PrintUnformatted(obj)))
        goto out;
    r = EVP_Digest(json, strlen(json), md, &md_len, EVP_sha512_256(), NULL) == 1 && md_len == 32 ? 0 : -EIO;
    if (r == 0)
        base32_32(md, out);
out:
    cJSON_free(json);
    cJSON_Delete(obj);
    return r;
}

/* Takes ownership of nats (the "nats" object) and signs the whole claim set with signer. */
static int jwt_encode(const struct nkey *signer, const struct std_claims *c, cJSON *nats, char **ret_jwt)
{
    cJSON *claims = cJSON_CreateObject();
    char jti[53], *payload_json = NULL, *header = NULL, *payload = NULL, *sig_text = NULL, *signing = NULL;
    char *jwt = NULL;
    uint8_t sig[64];
    int r;

    if (!claims || !nats) {
        cJSON_Delete(nats);
        r = -ENOMEM;
        goto out;
    }
    r = claims_jti(c, jti);
    if (r == 0)
        r = add_std_claims(claims, c, jti);
    if (r < 0) {
        cJSON_Delete(nats);
        goto out;
    }
    cJSON_AddItemToObject(claims, "nats", nats);
    r = -ENOMEM;
    if (!(payload_json = cJSON_PrintUnformatted(claims)) ||
        !(header = base64url(JWT_HEADER, strlen(JWT_HEADER))) ||
        !(payload = base64url(payload_json, strlen(payload_json))) ||
        asprintf(&signing, "%s.%s", header, payload) < 0) {
        signing = NULL;
        goto out;
    }
    r = nkey_sign(signer, signing, strlen(signing), sig);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    if (!(sig_text = base64url(sig, sizeof(sig))) || asprintf(&jwt, "%s.%s", signing, sig_text) < 0)
        goto out;
    *ret_jwt = jwt;
    r = 0;
out:
    free(sig_text);
    free(signing);
    free(payload);
    free(header);
    cJSON_free(payload_json);
    cJSON_Delete(claims);
    return r;
}

static bool key_is(const struct nkey *key, char type)
{
    return key && key->type == type;
}

static int add_type_version(cJSON *nats, const char *type)
{
    return cJSON_AddStringToObject(nats, "type", type) && cJSON_AddNumberToObject(nats, "version", 2)
               ? 0
               : -ENOMEM;
}

int natsjwt_operator(const struct nkey *op, const char *name, char **ret_jwt)
{
    char pub[57];
    struct std_claims c = {.name = name, .iss = pub, .sub = pub, .iat = time(NULL)};
    cJSON *nats;

    if (!key_is(op, 'O') || !ret_jwt)
        return -EINVAL;
    nkey_public_string(op, pub);
    nats = cJSON_CreateObject();
    if (nats && add_type_version(nats, "operator") < 0) {
        cJSON_Delete(nats);
        return -ENOMEM;
    }
    return jwt_encode(op, &c, nats, ret_jwt);
}

/* Every limit unlimited, JetStream off: what nsc writes for a new account. */
static cJSON *account_limits(void)
{
    static const char *const unlimited[] = {"subs", "data", "payload", "imports", "exports"};
    cJSON *lim = cJSON_CreateObject();
    bool ok = lim != NULL;

    for (size_t i = 0; ok && i < sizeof(unlimited) / sizeof(unlimited[0]); i++)
        ok = cJSON_AddNumberToObject(lim, unlimited[i], NO_LIMIT) != NULL;
    ok = ok && cJSON_AddBoolToObject(lim, "wildcards", 1) && cJSON_AddNumberToObject(lim, "conn", NO_LIMIT) &&
         cJSON_AddNumberToObject(lim, "leaf", NO_LIMIT);
    if (!ok) {
        cJSON_Delete(lim);
        return NULL;
    }
    return lim;
}

int natsjwt_account(const struct nkey *op, const struct nkey *account, const char *name, char **ret_jwt)
{
    char iss[57], sub[57];
    struct std_claims c = {.name = name, .iss = iss, .sub = sub, .iat = time(NULL)};
    cJSON *nats, *lim, *perms;

    if (!key_is(op, 'O') || !key_is(account, 'A') || !ret_jwt)
        return -EINVAL;
    nkey_public_string(op, iss);
    nkey_public_string(account, sub);
    nats = cJSON_CreateObject();
    if (!nats)
        return -ENOMEM;
    lim = account_limits();
    if (!lim)
        goto fail;
    cJSON_AddItemToObject(nats, "limits", lim);
    if (!(perms = cJSON_AddObjectToObject(nats, "default_permissions")) ||
        !cJSON_AddObjectToObject(perms, "pub") || !cJSON_AddObjectToObject(perms, "sub") ||
        add_type_version(nats, "account") < 0)
        goto fail;
    return jwt_encode(op, &c, nats, ret_jwt);
fail:
    cJSON_Delete(nats);
    return -ENOMEM;
}

/* {"allow":[...],"deny":[...]} with empty lists omitted, like Go's omitempty. */
static cJSON *subject_perm(const char *const *allow, const char *const *deny)
{
    const char *const *lists[2] = {allow, deny};
    static const char *const names[2] = {"allow", "deny"};
    cJSON *obj = cJSON_CreateObject();

    if (!obj)
        return NULL;
    for (int i = 0; i < 2; i++) {
        cJSON *arr;

        if (!lists[i] || !lists[i][0])
            continue;
        arr = cJSON_AddArrayToObject(obj, names[i]);
        if (!arr)
            goto fail;
        for (const char *const *s = lists[i]; *s; s++) {
            cJSON *str = cJSON_CreateString(*s);

            if (!str)
                goto fail;
            cJSON_AddItemToArray(arr, str);
        }
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *user_nats(const struct natsjwt_user_perms *perms)
{
    static const struct natsjwt_user_perms none;
    cJSON *nats = cJSON_CreateObject(), *item;

    if (!perms)
        perms = &none;
    if (!nats)
        return NULL;
    if (!(item = subject_perm(perms->pub_allow, perms->pub_deny)))
        goto fail;
    cJSON_AddItemToObject(nats, "pub", item);
    if (!(item = subject_perm(perms->sub_allow, perms->sub_deny)))
        goto fail;
    cJSON_AddItemToObject(nats, "sub", item);
    if (perms->resp_max > 0) {
        if (!(item = cJSON_AddObjectToObject(nats, "resp")) ||
            !cJSON_AddNumberToObject(item, "max", perms->resp_max) ||
            /* a Go time.Duration: nanoseconds */
            !cJSON_AddNumberToObject(item, "ttl", (double)perms->resp_ttl_ms * 1e6))
            goto fail;
    }
    if (!cJSON_AddNumberToObject(nats, "subs", NO_LIMIT) ||
        !cJSON_AddNumberToObject(nats, "data", NO_LIMIT) ||
        !cJSON_AddNumberToObject(nats, "payload", NO_LIMIT) || add_type_version(nats, "user") < 0)
        goto fail;
    return nats;
fail:
    cJSON_Delete(nats);
    return NULL;
}

int natsjwt_user(const struct nkey *account, const struct nkey *user, const char *name,
                 const struct natsjwt_user_perms *perms, char **ret_jwt)
{
    char iss[57], sub[57];
    struct std_claims c = {.name = name, .iss = iss, .sub = sub, .iat = time(NULL)};
    cJSON *nats;

    if (!key_is(account, 'A') || !key_is(user, 'U') || !ret_jwt || (perms && perms->resp_max < 0) ||
        (perms && perms->resp_ttl_ms < 0))
        return -EINVAL;
    if (perms)
        c.exp = perms->expires;
    nkey_public_string(account, iss);
    nkey_public_string(user, sub);
    nats = user_nats(perms);
    if (!nats)
        return -ENOMEM;
    return jwt_encode(account, &c, nats, ret_jwt);
}

/* ---- files ---- */

int natsjwt_creds(const char *user_jwt, const struct nkey *user, char **ret_text)
{
    char seed[59], *text = NULL;
    int r;

    if (!user_jwt || !*user_jwt || strpbrk(user_jwt, "\r\n") || !key_is(user, 'U') || !ret_text)
        return -EINVAL;
    nkey_seed_string(user, seed);
    r = asprintf(&text,
                 "-----BEGIN NATS USER JWT-----\n"
                 "%s\n"
                 "------END NATS USER JWT------\n"
                 "\n"
                 "************************* IMPORTANT *************************\n"
                 "NKEY Seed printed below can be used to sign and prove identity.\n"
                 "NKEYs are sensitive and should be treated as secrets.\n"
                 "\n"
                 "-----BEGIN USER NKEY SEED-----\n"
                 "%s\n"
                 "------END USER NKEY SEED------\n"
                 "\n"
                 "*************************************************************\n",
                 user_jwt, seed);
    OPENSSL_cleanse(seed, sizeof(seed));
    if (r < 0)
        return -ENOMEM;
    *ret_text = text;
    return 0;
}

static bool conf_token_ok(const char *s)
{
    return s && *s && !strpbrk(s, "\"\\\r\n \t{}");
}

int natsjwt_server_conf(const char *operator_jwt, const char *const *account_pubs,
                        const char *const *account_jwts, const char *system_account_pub, char **ret_conf)
{
    char *text = NULL;
    size_t size = 0;
    bool has_system = false;
    FILE *f;

    if (!conf_token_ok(operator_jwt) || !account_pubs || !account_jwts ||
        !conf_token_ok(system_account_pub) || !ret_conf)
        return -EINVAL;
    for (size_t i = 0; account_pubs[i] || account_jwts[i]; i++) {
        if (!conf_token_ok(account_pubs[i]) || !conf_token_ok(account_jwts[i]))
            return -EINVAL;
        has_system = has_system || strcmp(account_pubs[i], system_account_pub) == 0;
    }
    if (!has_system)
        return -EINVAL;
    f = open_memstream(&text, &size);
    if (!f)
        return -ENOMEM;
    /* An inline operator JWT is accepted when it starts with "eyJ" (nats-server reads it as a path first). */
    fprintf(f, "# NATS decentralised auth (operator mode), written by tests/mock/natsjwt.c\n");
    fprintf(f, "operator: \"%s\"\n", operator_jwt);
    fprintf(f, "system_account: \"%s\"\n", system_account_pub);
    fprintf(f, "resolver: MEMORY\n");
    fprintf(f, "resolver_preload: {\n");
    for (size_t i = 0; account_pubs[i]; i++)
        fprintf(f, "  %s: \"%s\"\n", account_pubs[i], account_jwts[i]);
    fprintf(f, "}\n");
    if (fclose(f) != 0) {
        free(text);
        return -ENOMEM;
    }
    *ret_conf = text;
    return 0;
}

/* ---- deployment ---- */

void natsjwt_deployment_free(struct natsjwt_deployment *dep)
{
    if (!dep)
        return;
    free(dep->operator_jwt);
    free(dep->sys_jwt);
    free(dep->account_jwt);
    free(dep->server_conf);
    OPENSSL_cleanse(dep, sizeof(*dep));
    free(dep);
}

int natsjwt_deployment_create(const char *account_name, struct natsjwt_deployment **ret_dep)
{
    struct natsjwt_deployment *dep = calloc(1, sizeof(*dep));
    int r;

    if (!ret_dep) {
        free(dep);
        return -EINVAL;
    }
    if (!dep)
        return -ENOMEM;
    if ((r = nkey_create('O', &dep->op)) < 0 || (r = nkey_create('A', &dep->sys)) < 0 ||
        (r = nkey_create('A', &dep->account)) < 0)
        goto out;
    nkey_public_string(&dep->op, dep->op_pub);
    nkey_public_string(&dep->sys, dep->sys_pub);
    nkey_public_string(&dep->account, dep->account_pub);
    if ((r = natsjwt_operator(&dep->op, "tagent-test-operator", &dep->operator_jwt)) < 0 ||
        (r = natsjwt_account(&dep->op, &dep->sys, "SYS", &dep->sys_jwt)) < 0 ||
        (r = natsjwt_account(&dep->op, &dep->account, account_name ? account_name : "ISecL-account",
                             &dep->account_jwt)) < 0)
        goto out;
    {
        const char *pubs[] = {dep->sys_pub, dep->account_pub, NULL};
        const char *jwts[] = {dep->sys_jwt, dep->account_jwt, NULL};

        r = natsjwt_server_conf(dep->operator_jwt, pubs, jwts, dep->sys_pub, &dep->server_conf);
    }
out:
    if (r < 0) {
        natsjwt_deployment_free(dep);
        return r;
    }
    *ret_dep = dep;
    return 0;
}

int natsjwt_deployment_user_creds(const struct natsjwt_deployment *dep, const char *name,
                                  const struct natsjwt_user_perms *perms, char **ret_creds)
{
    struct nkey user;
    char *jwt = NULL;
    int r;

    if (!dep || !ret_creds)
        return -EINVAL;
    r = nkey_create('U', &user);
    if (r == 0)
        r = natsjwt_user(&dep->account, &user, name, perms, &jwt);
    if (r == 0)
        r = natsjwt_creds(jwt, &user, ret_creds);
    nkey_wipe(&user);
    free(jwt);
    return r;
}

static bool host_id_ok(const char *host_id)
{
    if (!host_id || !*host_id)
        return false;
    for (const unsigned char *p = (const unsigned char *)host_id; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '*' || *p == '>')
            return false;
    return true;
}

int natsjwt_creds_trust_agent(const struct natsjwt_deployment *dep, const char *host_id, char **ret_creds)
{
    char *sub = NULL;
    int r;

    if (!host_id_ok(host_id))
        return -EINVAL;
    if (asprintf(&sub, "trust-agent.%s.>", host_id) < 0)
        return -ENOMEM;
    {
        const char *const pub_deny[] = {">", NULL};
        const char *const sub_allow[] = {sub, NULL};
        const struct natsjwt_user_perms perms = {.pub_deny = pub_deny, .sub_allow = sub_allow, .resp_max = 1};

        r = natsjwt_deployment_user_creds(dep, host_id, &perms, ret_creds);
    }
    free(sub);
    return r;
}

int natsjwt_creds_hvs(const struct natsjwt_deployment *dep, char **ret_creds)
{
    const char *const pub_allow[] = {"trust-agent.>", NULL};
    const char *const sub_allow[] = {"_INBOX.>", NULL};
    const struct natsjwt_user_perms perms = {.pub_allow = pub_allow, .sub_allow = sub_allow};

    return natsjwt_deployment_user_creds(dep, "HVS", &perms, ret_creds);
}
