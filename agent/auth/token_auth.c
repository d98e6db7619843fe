/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Go agent's HTTP authorization (pkg/lib/common/middleware/tokenauth.go, jwt/jwt.go, auth/auth.go and
 * pkg/tagent/router/handlers.go), and what HVS sees of it: every refusal is 401, a bad token and a token
 * without the permission alike (Go answers "Insufficient privileges" with 401 too; it never sends 403).
 *
 * Signing keys: the trusted certificates of /etc/trustagent/jwt, re-read at most once a minute (Go's
 * verifier cache time, JWTCertsCacheTime "1m", so a certificate removed there stops counting within a
 * minute), plus the ones fetched from AAS during this run. A kid that is unknown (or whose certificate has
 * expired) makes one refresh: re-read jwt/, then GET <AAS>/jwt-certificates, saved into jwt/ as Go does.
 * Refreshes are at most one per REFRESH_MIN_MS, whatever the tokens say: Go fetches for every such request,
 * which lets anyone make the agent call AAS as often as they like.
 */
#include "token_auth.h"

#include "cleanup.h"
#include "clock.h"
#include "config.h"
#include "error.h"
#include "jwt.h"
#include "signing_certs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define RELOAD_MS      60000 /* Go's JWTCertsCacheTime */
#define REFRESH_MIN_MS 60000 /* at most one AAS fetch (and the jwt/ re-read before it) per minute */
#define SERVICE        "TA"  /* the service name AAS permissions for the trust agent carry */

struct token_auth {
    char *jwt_dir, *ca_dir, *aas_url; /* aas_url NULL: no fetching */

    pthread_mutex_t lock;        /* keys, fetched, loaded_ms, skipped */
    struct signing_keys keys;    /* from jwt/ */
    struct signing_keys fetched; /* from AAS this run, kept even if saving them failed */
    int64_t loaded_ms;
    struct signing_skips skipped; /* the jwt/ files that gave no trusted key, and why */

    pthread_mutex_t refresh_lock; /* one reload or fetch at a time; last_refresh_ms */
    int64_t last_refresh_ms;
    bool refreshed;
};

/* Re-reads jwt/ (and cacerts/, which anchors it). Only ENOMEM fails; then the old keys stay. */
static int keys_reload(struct token_auth *a)
{
    X509_STORE *anchors = NULL;
    size_t n_anchors = 0;
    struct signing_keys keys = {0};
    struct signing_skips skipped = {0};
    int r = signing_anchors_load(a->ca_dir, &anchors, &n_anchors);
    if (r == 0)
        r = signing_keys_load_dir(a->jwt_dir, anchors, &keys, &skipped);
    X509_STORE_free(anchors);
    if (r < 0) {
        signing_keys_clear(&keys);
        signing_skips_clear(&skipped);
        return r;
    }
    pthread_mutex_lock(&a->lock);
    signing_keys_clear(&a->keys);
    a->keys = keys;
    signing_skips_clear(&a->skipped);
    a->skipped = skipped;
    a->loaded_ms = monotonic_ms();
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int token_auth_new(const char *root, const struct tagent_config *cfg, struct token_auth **ret,
                   char **ret_error)
{
    struct token_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return error_set(ret_error, -ENOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->refresh_lock, NULL);
    a->jwt_dir = config_path(root, TAGENT_JWT_DIR);
    a->ca_dir = config_path(root, TAGENT_CACERTS_DIR);
    bool url = cfg && cfg->aas_base_url && cfg->aas_base_url[0];
    if (!a->jwt_dir || !a->ca_dir || (url && !(a->aas_url = strdup(cfg->aas_base_url))) ||
        keys_reload(a) < 0) {
        token_auth_free(a);
        return error_set(ret_error, -ENOMEM, "out of memory");
    }
    *ret = a;
    return 0;
}

void token_auth_free(struct token_auth *a)
{
    if (!a)
        return;
    signing_keys_clear(&a->keys);
    signing_keys_clear(&a->fetched);
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->refresh_lock);
    signing_skips_clear(&a->skipped);
    free(a->jwt_dir);
    free(a->ca_dir);
    free(a->aas_url);
    free(a);
}

/* The key for kid when a certificate valid now has it (a reference: free it), else NULL. */
static EVP_PKEY *key_find(struct token_auth *a, const char *kid)
{
    EVP_PKEY *key = NULL;
    time_t now = time(NULL);
    pthread_mutex_lock(&a->lock);
    const struct signing_key *k = signing_keys_find(&a->keys, kid);
    if (!k || now > k->not_after)
        k = signing_keys_find(&a->fetched, kid);
    if (k && now <= k->not_after && EVP_PKEY_up_ref(k->key) == 1)
        key = k->key;
    pthread_mutex_unlock(&a->lock);
    return key;
}

/* Go's verifier cache: jwt/ read again when the last reading is older than a minute. */
static void keys_reload_if_stale(struct token_auth *a)
{
    pthread_mutex_lock(&a->lock);
    bool stale = monotonic_ms() - a->loaded_ms >= RELOAD_MS;
    pthread_mutex_unlock(&a->lock);
    if (!stale)
        return;
    pthread_mutex_lock(&a->refresh_lock);
    pthread_mutex_lock(&a->lock);
    stale = monotonic_ms() - a->loaded_ms >= RELOAD_MS; /* another thread may have just done it */
    pthread_mutex_unlock(&a->lock);
    if (stale)
        (void)keys_reload(a); /* out of memory: the old keys serve until the next try */
    pthread_mutex_unlock(&a->refresh_lock);
}

/* AAS's current signing certificate: trusted, kept, saved into jwt/. *ret_note says what happened when it
 * does not end with a key for kid. */
static int fetch(struct token_auth *a, const char *kid, char **ret_note)
{
    _cleanup_free_ char *pem = NULL, *why = NULL;
    size_t len = 0;
    int r = signing_cert_fetch(a->aas_url, a->ca_dir, &pem, &len, &why);
    if (r < 0)
        return error_set(ret_note, r, "fetching AAS's signing certificate failed: %s",
                         why ? why : "out of memory");
    X509_STORE *anchors = NULL;
    size_t n_anchors = 0;
    struct signing_key k = {0};
    STACK_OF(X509) *certs = NULL;
    r = signing_anchors_load(a->ca_dir, &anchors, &n_anchors);
    if (r == 0)
        r = signing_cert_trust(pem, len, anchors, &k, &certs, &why);
    X509_STORE_free(anchors);
    if (r < 0) {
        EVP_PKEY_free(k.key);
        return error_set(ret_note, r, "the certificate AAS serves at jwt-certificates %s",
                         why ? why : "cannot be read (out of memory)");
    }
    /* saved even when its kid is another: it is AAS's current key, which the next tokens will name */
    free(why);
    why = NULL;
    bool other = strcmp(k.kid, kid) != 0;
    char other_kid[JWT_KID_LEN + 1];
    memcpy(other_kid, k.kid, sizeof(other_kid));
    (void)signing_cert_save(a->jwt_dir, k.kid, certs, &why); /* best effort: kept in memory regardless */
    sk_X509_pop_free(certs, X509_free);
    pthread_mutex_lock(&a->lock);
    r = signing_keys_add(&a->fetched, &k);
    pthread_mutex_unlock(&a->lock);
    EVP_PKEY_free(k.key);
    if (r < 0)
        return error_set(ret_note, r, "out of memory");
    if (other)
        return error_set(ret_note, -ENOKEY, "AAS's current signing certificate has kid %s, not the token's",
                         other_kid);
    return 0;
}

/* An unknown kid: jwt/ re-read and AAS asked, at most once a minute. *ret_note (caller frees) says why no key
 * came out of it. */
static void refresh(struct token_auth *a, const char *kid, char **ret_note)
{
    pthread_mutex_lock(&a->refresh_lock);
    int64_t now = monotonic_ms();
    bool limited = a->refreshed && now - a->last_refresh_ms < REFRESH_MIN_MS;
    EVP_PKEY *key = NULL;
    if (!limited) {
        a->refreshed = true;
        a->last_refresh_ms = now;
        (void)keys_reload(a); /* out of memory: the old keys stay */
    }
    /* found now: jwt/ had it, or the refresh another request just made brought it */
    if ((key = key_find(a, kid)))
        EVP_PKEY_free(key);
    else if (!a->aas_url)
        (void)error_set(ret_note, -ENOKEY,
                        "no AAS URL is configured (aas.url in config.yml) to fetch it from");
    else if (limited)
        (void)error_set(ret_note, -EAGAIN,
                        "AAS was not asked: the last look for new signing certificates was %lld s ago, and "
                        "there is at most one a minute",
                        (long long)((now - a->last_refresh_ms) / 1000));
    else
        (void)fetch(a, kid, ret_note);
    pthread_mutex_unlock(&a->refresh_lock);
}

/* 401 with prefix + detail as the reason (detail NULL: a failed allocation). */
static int refuse(char **ret_reason, const char *prefix, const char *detail)
{
    if (asprintf(ret_reason, "%s%s", prefix, detail ? detail : "out of memory") < 0)
        *ret_reason = NULL;
    return 401;
}

/* The token from "Bearer <token>" (spaces around it dropped), a copy: the caller wipes it. */
static int bearer_token(const char *authorization, char **ret_token, char **ret_reason)
{
    const char *s = authorization ? authorization + strspn(authorization, " \t") : "";
    if (!*s)
        return refuse(ret_reason, "",
                      "no bearer token: send \"Authorization: Bearer <JWT>\" with a token AAS issued");
    if (strncmp(s, "Bearer ", 7) != 0)
        return refuse(ret_reason, "",
                      "the Authorization header is not \"Bearer <JWT>\" (the scheme must be Bearer, "
                      "capitalised, followed by one space)");
    s += 7 + strspn(s + 7, " \t");
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return refuse(ret_reason, "", "the Authorization header has \"Bearer\" but no token after it");
    if (!(*ret_token = strndup(s, n)))
        return refuse(ret_reason, "", NULL);
    return 0;
}

/* Why kid has no key: the jwt/ file holding its certificate and why it is not trusted when there is one,
 * else how many files were skipped; then what the refresh found (note). NULL on allocation failure. */
static char *no_key_reason(struct token_auth *a, const char *kid, const char *note)
{
    char *reason = NULL, skipped[64] = "";
    const char *why = NULL;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->skipped.n && !why; i++)
        if (strcmp(a->skipped.v[i].kid, kid) == 0)
            why = a->skipped.v[i].why;
    if (!why && a->skipped.n)
        snprintf(skipped, sizeof(skipped), "; %zu file%s there gave no trusted certificate", a->skipped.n,
                 a->skipped.n == 1 ? "" : "s");
    int r =
        why ? asprintf(&reason,
                       "the AAS signing certificate with the token's kid %s is not trusted: %s/%s; %s", kid,
                       TAGENT_JWT_DIR, why, note ? note : "out of memory")
            : asprintf(&reason,
                       "no trusted AAS signing certificate has the token's kid %s (none in %s valid now and "
                       "chaining to %s%s); %s",
                       kid, TAGENT_JWT_DIR, TAGENT_CACERTS_DIR, skipped, note ? note : "out of memory");
    pthread_mutex_unlock(&a->lock);
    return r < 0 ? NULL : reason;
}

/* The key that signs t, found or fetched; 401 with the reason when none. */
static int signing_key(struct token_auth *a, const struct jwt *t, EVP_PKEY **ret_key, char **ret_reason)
{
    keys_reload_if_stale(a);
    EVP_PKEY *key = key_find(a, t->kid);
    _cleanup_free_ char *note = NULL;
    if (!key) {
        refresh(a, t->kid, &note);
        key = key_find(a, t->kid);
    }
    if (key) {
        *ret_key = key;
        return 0;
    }
    *ret_reason = no_key_reason(a, t->kid, note);
    return 401;
}

/* The token's checks in order: parse, key, signature, times, permission. 0 or 401 with *ret_reason. */
static int token_check(struct token_auth *a, const char *token, const char *permission, char **ret_reason)
{
    struct jwt t;
    _cleanup_free_ char *why = NULL;
    if (jwt_parse(token, &t, &why) < 0)
        return refuse(ret_reason, "invalid bearer token: ", why);
    EVP_PKEY *key = NULL;
    int status = signing_key(a, &t, &key, ret_reason);
    if (status == 0 && jwt_verify_signature(&t, key, &why) < 0)
        status = refuse(ret_reason, "invalid bearer token: ", why);
    if (status == 0 && jwt_check_time(&t, time(NULL), &why) < 0)
        status = refuse(ret_reason, "invalid bearer token: ", why);
    if (status == 0 && !jwt_grants(t.claims, SERVICE, permission)) {
        if (asprintf(ret_reason,
                     "insufficient privileges: the token has no " SERVICE " permission rule granting %s",
                     permission) < 0)
            *ret_reason = NULL;
        status = 401;
    }
    EVP_PKEY_free(key);
    jwt_clear(&t);
    return status;
}

int token_auth_check(struct token_auth *a, const char *authorization, const char *permission,
                     char **ret_reason)
{
    char *token = NULL;
    *ret_reason = NULL;
    int status = bearer_token(authorization, &token, ret_reason);
    if (status == 0)
        status = token_check(a, token, permission, ret_reason);
    wipe_freep(&token); /* a credential: not left in freed memory */
    return status;
}
