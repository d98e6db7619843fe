/* SPDX-License-Identifier: BSD-3-Clause */
/* A JWT taken apart the way the Go agent's jwt-go does, stricter where strictness costs AAS's tokens nothing
 * (no padding, a kid of SHA-1 shape, exp required). */
#include "jwt.h"

#include "cleanup.h"
#include "cleanup_cjson.h"
#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int jwt_b64url_decode(const char *s, size_t len, uint8_t **ret_data, size_t *ret_len)
{
    if (len % 4 == 1) /* 6 bits cannot end a byte */
        return -EINVAL;
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return -ENOMEM;
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        int v = b64url_value(s[i]);
        ok = v >= 0;
        acc = (acc << 6) | (uint32_t)(ok ? v : 0);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* the leftover bits of the last character are padding and must be zero (one encoding per value) */
    if (!ok || (acc & ((1u << bits) - 1))) {
        free(out);
        return -EINVAL;
    }
    *ret_data = out;
    *ret_len = n;
    return 0;
}

/* A JSON object from one base64url part; what names the part in messages. */
static int part_json(const char *s, size_t len, const char *what, cJSON **ret, char **ret_error)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int r = jwt_b64url_decode(s, len, &raw, &raw_len);
    if (r == -ENOMEM)
        return error_set(ret_error, r, "out of memory");
    if (r < 0)
        return error_set(ret_error, -EBADMSG, "the token's %s is not base64url without padding", what);
    cJSON *json = cJSON_ParseWithLength((const char *)raw, raw_len);
    free(raw);
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return error_set(ret_error, -EBADMSG, "the token's %s is not a JSON object", what);
    }
    *ret = json;
    return 0;
}

/* The alg name for messages when it is one of JOSE's (RFC 7518, 8037), else NULL: never echo free text. */
static const char *alg_known(const char *alg)
{
    static const char *const names[] = {"none",  "HS256",  "HS384", "HS512", "RS256", "RS384",
                                        "RS512", "PS256",  "PS384", "PS512", "ES256", "ES384",
                                        "ES512", "ES256K", "EdDSA", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(alg, *n) == 0)
            return *n;
    return NULL;
}

static int header_alg(const cJSON *header, enum jwt_alg *ret_alg, char **ret_error)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(alg))
        return error_set(ret_error, -EBADMSG, "the token's header has no alg string");
    if (strcmp(alg->valuestring, "RS384") == 0) {
        *ret_alg = JWT_RS384;
        return 0;
    }
    if (strcmp(alg->valuestring, "ES384") == 0) {
        *ret_alg = JWT_ES384;
        return 0;
    }
    const char *name = alg_known(alg->valuestring);
    const char *why = !name                       ? ""
                      : strcmp(name, "none") == 0 ? " (an unsigned token)"
                      : name[0] == 'H'            ? " (a shared-secret MAC, which AAS never uses)"
                                                  : "";
    return error_set(ret_error, -EPROTONOSUPPORT,
                     "the token's alg is %s%s%s%s; AAS signs with RS384 or ES384",
                     name ? "\"" : "not a JOSE algorithm", name ? name : "", name ? "\"" : "", why);
}

static int header_kid(const cJSON *header, char ret_kid[static JWT_KID_LEN + 1], char **ret_error)
{
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(header, "kid");
    if (!cJSON_IsString(kid))
        return error_set(ret_error, -EBADMSG,
                         "the token's header has no kid string (the AAS signing certificate's SHA-1)");
    const char *s = kid->valuestring;
    bool ok = strlen(s) == JWT_KID_LEN;
    for (size_t i = 0; ok && i < JWT_KID_LEN; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
        return error_set(ret_error, -EBADMSG,
                         "the token's kid is not a SHA-1 in lower-case hex (40 digits), so no AAS signing "
                         "certificate can match it");
    memcpy(ret_kid, s, JWT_KID_LEN + 1);
    return 0;
}

/* A NumericDate as Go decodes it into an int64: a whole number in range; absent or null is 0. */
static int claim_time(const cJSON *claims, const char *name, int64_t *ret, char **ret_error)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    *ret = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= -9.2e18 && d <= 9.2e18) || d != floor(d))
        return error_set(ret_error, -EBADMSG, "the token's %s claim is not a whole number of seconds", name);
    *ret = (int64_t)d;
    return 0;
}

static int claims_check(const cJSON *claims, struct jwt *t, char **ret_error)
{
    static const char *const strings[] = {"sub", "iss", "jti", "aud", NULL};
    for (const char *const *n = strings; *n; n++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, *n);
        if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
            return error_set(ret_error, -EBADMSG, "the token's %s claim is not a string", *n);
    }
    int r = claim_time(claims, "exp", &t->exp, ret_error);
    if (r == 0)
        r = claim_time(claims, "nbf", &t->nbf, ret_error);
    if (r == 0)
        r = claim_time(claims, "iat", &t->iat, ret_error);
    if (r == 0 && t->exp == 0)
        return error_set(ret_error, -EBADMSG, "the token has no exp claim (AAS always sets one)");
    return r;
}

/* The dots of "header.claims.signature" into dot; returns how many dots there are (3 parts: 2). */
static size_t split(const char *token, const char *dot[static 2])
{
    size_t n = 0;
    for (const char *p = token; (p = strchr(p, '.')); p++)
        if (n++ < 2)
            dot[n - 1] = p;
    return n;
}

int jwt_parse(const char *token, struct jwt *ret, char **ret_error)
{
    *ret = (struct jwt){0};
    size_t len = strnlen(token, JWT_MAX_LEN + 1);
    if (len > JWT_MAX_LEN)
        return error_set(ret_error, -EBADMSG, "the bearer token is longer than %d bytes; AAS's are a few KiB",
                         JWT_MAX_LEN);
    const char *dot[2];
    size_t n = split(token, dot);
    if (n != 2)
        return error_set(ret_error, -EBADMSG,
                         "the bearer token is not a JWT: it has %zu parts, not 3 separated by '.'", n + 1);
    if (dot[0] == token || dot[1] == dot[0] + 1 || dot[1][1] == '\0')
        return error_set(ret_error, -EBADMSG, "the bearer token is not a JWT: one of its 3 parts is empty");
    int r;
    _cleanup_(cJSON_Deletep) cJSON *header = NULL;
    if ((r = part_json(token, (size_t)(dot[0] - token), "header", &header, ret_error)) < 0 ||
        (r = header_alg(header, &ret->alg, ret_error)) < 0 ||
        (r = header_kid(header, ret->kid, ret_error)) < 0)
        return r;
    struct jwt t = {.alg = ret->alg, .signing_input = token, .signing_input_len = (size_t)(dot[1] - token)};
    memcpy(t.kid, ret->kid, sizeof(t.kid));
    if ((r = part_json(dot[0] + 1, (size_t)(dot[1] - dot[0] - 1), "claims set", &t.claims, ret_error)) < 0)
        return r;
    r = jwt_b64url_decode(dot[1] + 1, strlen(dot[1] + 1), &t.sig, &t.sig_len);
    if (r < 0)
        r = r == -ENOMEM
                ? error_set(ret_error, r, "out of memory")
                : error_set(ret_error, -EBADMSG, "the token's signature is not base64url without padding");
    if (r == 0)
        r = claims_check(t.claims, &t, ret_error);
    if (r < 0) {
        jwt_clear(&t);
        return r;
    }
    *ret = t;
    return 0;
}

void jwt_clear(struct jwt *t)
{
    cJSON_Delete(t->claims);
    free(t->sig);
    *t = (struct jwt){0};
}
