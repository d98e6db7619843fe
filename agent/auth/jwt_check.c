/* SPDX-License-Identifier: BSD-3-Clause */
/* What a parsed JWT must also pass: its signature under the AAS certificate's key (the alg fitting that key,
 * so a token cannot pick how its signature is read), its validity times, and the permission asked for. */
#include "jwt.h"

#include "cleanup.h"
#include "cleanup_openssl.h"
#include "error.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#define RSA_MIN_BITS 2048
#define ES384_HALF   48 /* bytes of r and of s */

DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free)

static bool key_is_p384(EVP_PKEY *key)
{
    char group[64];
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
           strcmp(group, "secp384r1") == 0;
}

static int key_fits(const struct jwt *t, EVP_PKEY *key, char **ret_error)
{
    if (t->alg == JWT_RS384 && EVP_PKEY_is_a(key, "RSA")) {
        if (EVP_PKEY_get_bits(key) < RSA_MIN_BITS)
            return error_set(ret_error, -EKEYREJECTED,
                             "the AAS signing certificate %s has an RSA key of %d bits, under %d", t->kid,
                             EVP_PKEY_get_bits(key), RSA_MIN_BITS);
        return 0;
    }
    if (t->alg == JWT_ES384 && key_is_p384(key))
        return 0;
    return error_set(ret_error, -EKEYREJECTED,
                     "the token's alg %s does not fit the key of the AAS signing certificate %s (%s)",
                     t->alg == JWT_RS384 ? "RS384" : "ES384", t->kid,
                     EVP_PKEY_is_a(key, "RSA") ? "RSA, for RS384"
                     : key_is_p384(key)        ? "EC P-384, for ES384"
                                               : "neither RSA nor EC P-384");
}

/* JOSE's r || s as the DER ECDSA-Sig-Value OpenSSL verifies; -EBADMSG when it is not 96 bytes. */
static int es384_der(const struct jwt *t, unsigned char **ret_der, int *ret_len)
{
    if (t->sig_len != 2 * ES384_HALF)
        return -EBADMSG;
    _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(t->sig, ES384_HALF, NULL), *s = BN_bin2bn(t->sig + ES384_HALF, ES384_HALF, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return -ENOMEM;
    }
    *ret_len = i2d_ECDSA_SIG(sig, ret_der);
    return *ret_len > 0 ? 0 : -ENOMEM;
}

int jwt_verify_signature(const struct jwt *t, EVP_PKEY *key, char **ret_error)
{
    int r = key_fits(t, key, ret_error);
    if (r < 0)
        return r;
    _cleanup_openssl_free_ unsigned char *der = NULL;
    const unsigned char *sig = t->sig;
    size_t sig_len = t->sig_len;
    if (t->alg == JWT_ES384) {
        int der_len = 0;
        r = es384_der(t, &der, &der_len);
        if (r == -EBADMSG)
            return error_set(ret_error, r, "the token's ES384 signature has %zu bytes, not 96 (r || s)",
                             t->sig_len);
        if (r < 0)
            return error_set(ret_error, r, "out of memory");
        sig = der;
        sig_len = (size_t)der_len;
    }
    _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key) != 1) {
        ERR_clear_error();
        return error_set(ret_error, -ENOMEM, "cannot set up signature verification (out of memory)");
    }
    int ok =
        EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)t->signing_input, t->signing_input_len);
    ERR_clear_error();
    if (ok != 1)
        return error_set(ret_error, -EBADMSG,
                         "the token's signature does not verify with the AAS signing certificate %s (forged, "
                         "or altered after AAS signed it)",
                         t->kid);
    return 0;
}

static void utc(int64_t t, char buf[static 32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "%lld", (long long)t);
}

int jwt_check_time(const struct jwt *t, time_t now, char **ret_error)
{
    char when[32];
    if (now > t->exp) {
        utc(t->exp, when);
        return error_set(ret_error, -EKEYEXPIRED,
                         "the token expired at %s (%lld s ago); get a new one from AAS", when,
                         (long long)(now - t->exp));
    }
    if (t->nbf && now < t->nbf) {
        utc(t->nbf, when);
        return error_set(ret_error, -EKEYEXPIRED,
                         "the token is not valid before %s (%lld s from now); check this host's and AAS's "
                         "clocks",
                         when, (long long)(t->nbf - now));
    }
    if (t->iat && now < t->iat) {
        utc(t->iat, when);
        return error_set(ret_error, -EKEYEXPIRED,
                         "the token was issued in the future (%s); check this host's and AAS's clocks", when);
    }
    return 0;
}

/* Go's isAuthorized: a rule "a:b" or "a:b:*..." (a third part other than "*" refuses) against "x:y". */
static bool rule_covers(const char *rule, const char *permission)
{
    const char *colon = strchr(permission, ':');
    if (!colon)
        return false;
    size_t want_a = (size_t)(colon - permission);
    const char *want_b = colon + 1;

    const char *c1 = strchr(rule, ':');
    if (!c1)
        return false;
    const char *c2 = strchr(c1 + 1, ':');
    size_t a_len = (size_t)(c1 - rule), b_len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    if (c2) {
        const char *c3 = strchr(c2 + 1, ':');
        size_t third = c3 ? (size_t)(c3 - c2 - 1) : strlen(c2 + 1);
        if (third != 1 || c2[1] != '*')
            return false;
    }
    bool a_ok = (a_len == 1 && rule[0] == '*') || (a_len == want_a && memcmp(rule, permission, a_len) == 0);
    bool b_ok =
        (b_len == 1 && c1[1] == '*') || (b_len == strcspn(want_b, ":") && memcmp(c1 + 1, want_b, b_len) == 0);
    return a_ok && b_ok;
}

bool jwt_grants(const cJSON *claims, const char *service, const char *permission)
{
    const cJSON *perms = cJSON_GetObjectItemCaseSensitive(claims, "permissions"), *p;
    if (!cJSON_IsArray(perms))
        return false;
    cJSON_ArrayForEach(p, perms)
    {
        const cJSON *svc = cJSON_GetObjectItemCaseSensitive(p, "service");
        const cJSON *rules = cJSON_GetObjectItemCaseSensitive(p, "rules"), *rule;
        if (!cJSON_IsObject(p) || !cJSON_IsString(svc) || strcmp(svc->valuestring, service) != 0 ||
            !cJSON_IsArray(rules))
            continue;
        cJSON_ArrayForEach(rule, rules)
        {
            if (cJSON_IsString(rule) && rule_covers(rule->valuestring, permission))
                return true;
        }
    }
    return false;
}
