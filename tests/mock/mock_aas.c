/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AAS (spec 3.6):
 *   POST /aas/v1/custom-claims-token  Bearer; Content-Type application/json; Accept text/plain.
 *        {"subject":"<hardware uuid>","validity_seconds":N,"claims":{"permissions":[{"service","rules"}]}}
 *        200 text/plain: an ES384 JWT (kid = hex SHA-1 of the signing certificate) carrying the claims.
 *   POST /aas/v1/credentials          same headers; {"type":"TA","parameters":{"host-id":"<host name>"}}
 *        201 text/plain: the NATS .creds file of a user named host-id (mock_nats.c).
 *   GET  /aas/v1/jwt-certificates     Accept application/x-pem-file: the JWT signing certificate (no token).
 *   POST /aas/v1/token                {"username":..,"password":..} (Content-Type application/json, no token,
 *        unknown fields refused, as AAS's CreateJwtToken): 200 application/jwt, the user's token (ES384, 120
 *        minutes, AAS's default) with its roles and permissions. That is how an administrator gets the
 *        installation token the agent is given as BEARER_TOKEN: the Go agent checks its JWT form, and
 *        HVS, CMS and AAS accept it because their AAS signed it. The mock has one user, "installadmin",
 *        whose password is the mock's --bearer secret; the tests (tests/harness/mockcp.c) and the demo hand
 *        the agent the token, never the secret.
 * Every token this AAS issues is a JWT: base64url (no padding) header.payload.signature.
 */
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain"

/* ES384: the JOSE signature is r || s, 48 bytes each, not DER. */
static int jwt_sign(EVP_PKEY *key, const char *signing_input, char **ret_sig_b64)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[256], raw[96];
    const unsigned char *p = der;
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r_bn, *s_bn;
    int r = -EIO;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)signing_input, strlen(signing_input)) !=
            1 ||
        !(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
        goto out;
    ECDSA_SIG_get0(sig, &r_bn, &s_bn);
    if (BN_bn2binpad(r_bn, raw, 48) != 48 || BN_bn2binpad(s_bn, raw + 48, 48) != 48)
        goto out;
    *ret_sig_b64 = mock_b64url_encode(raw, sizeof(raw));
    r = *ret_sig_b64 ? 0 : -ENOMEM;
out:
    if (r == -EIO)
        mock_ssl_fail("signing the JWT");
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return r;
}

static char *json_b64url(cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json), *out = NULL;

    if (text)
        out = mock_b64url_encode((const uint8_t *)text, strlen(text));
    free(text);
    return out;
}

static int jwt_make(struct mock *m, const cJSON *claims, const char *subject, double validity, char **ret_jwt)
{
    cJSON *header = cJSON_CreateObject(), *payload = cJSON_Duplicate(claims, 1);
    char *h64 = NULL, *p64 = NULL, *input = NULL, *sig = NULL, jti[37];
    time_t now = time(NULL);
    int r = -ENOMEM;

    mock_uuid4(jti);
    if (!header || !payload || !cJSON_AddStringToObject(header, "alg", "ES384") ||
        !cJSON_AddStringToObject(header, "typ", "JWT") ||
        !cJSON_AddStringToObject(header, "kid", m->pki.jwt_kid))
        goto out;
    cJSON_DeleteItemFromObjectCaseSensitive(payload, "sub");
    if (!cJSON_AddStringToObject(payload, "sub", subject) ||
        !cJSON_AddNumberToObject(payload, "iat", (double)now) ||
        !cJSON_AddNumberToObject(payload, "nbf", (double)now) ||
        !cJSON_AddNumberToObject(payload, "exp", (double)now + validity) ||
        !cJSON_AddStringToObject(payload, "iss", "AAS JWT Issuer") ||
        !cJSON_AddStringToObject(payload, "jti", jti))
        goto out;
    if (!(h64 = json_b64url(header)) || !(p64 = json_b64url(payload)) ||
        asprintf(&input, "%s.%s", h64, p64) < 0) {
        input = NULL;
        goto out;
    }
    if ((r = jwt_sign(m->pki.jwt_key, input, &sig)) < 0)
        goto out;
    r = asprintf(ret_jwt, "%s.%s", input, sig) < 0 ? -ENOMEM : 0;
out:
    cJSON_Delete(header);
    cJSON_Delete(payload);
    free(h64);
    free(p64);
    free(input);
    free(sig);
    return r;
}

static bool permissions_valid(const cJSON *perms, char *why, size_t why_len)
{
    const cJSON *p;

    if (!cJSON_IsArray(perms) || cJSON_GetArraySize(perms) == 0) {
        snprintf(why, why_len, "claims.permissions must be a non-empty array");
        return false;
    }
    cJSON_ArrayForEach(p, perms)
    {
        const cJSON *service = cJSON_GetObjectItemCaseSensitive(p, "service");
        const cJSON *rules = cJSON_GetObjectItemCaseSensitive(p, "rules"), *rule;

        if (!cJSON_IsObject(p) || !cJSON_IsString(service) || !service->valuestring[0] ||
            !cJSON_IsArray(rules)) {
            snprintf(why, why_len, "each permission needs a \"service\" string and a \"rules\" array");
            return false;
        }
        cJSON_ArrayForEach(rule, rules)
        {
            if (!cJSON_IsString(rule) || !rule->valuestring[0]) {
                snprintf(why, why_len, "permission rules must be non-empty strings");
                return false;
            }
        }
    }
    return true;
}

static void custom_claims_token(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = NULL, *record;
    const cJSON *subject, *validity, *claims;
    char why[256] = "", *jwt = NULL;

    if (!mock_check_bearer(m, req, resp) || !mock_check_media(req, resp, TEXT_TYPE, JSON_TYPE))
        return;
    body = cJSON_Parse(req->body);
    subject = cJSON_GetObjectItemCaseSensitive(body, "subject");
    validity = cJSON_GetObjectItemCaseSensitive(body, "validity_seconds");
    claims = cJSON_GetObjectItemCaseSensitive(body, "claims");
    if (!cJSON_IsObject(body))
        snprintf(why, sizeof(why), "the body is not a JSON object");
    else if (!cJSON_IsString(subject) || !mock_uuid_valid(subject->valuestring))
        snprintf(why, sizeof(why), "subject must be the hardware UUID");
    else if (!cJSON_IsNumber(validity) || validity->valuedouble < 1 ||
             validity->valuedouble > 10.0 * 365 * 86400 ||
             validity->valuedouble != (double)(long long)validity->valuedouble)
        snprintf(why, sizeof(why), "validity_seconds must be a positive whole number");
    else if (!cJSON_IsObject(claims))
        snprintf(why, sizeof(why), "claims must be an object");
    else
        permissions_valid(cJSON_GetObjectItemCaseSensitive(claims, "permissions"), why, sizeof(why));
    if (why[0]) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "%s", why);
        goto out;
    }
    if (jwt_make(m, claims, subject->valuestring, validity->valuedouble, &jwt) < 0) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot make the token");
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    if ((record = cJSON_CreateObject())) {
        cJSON_AddStringToObject(record, "subject", subject->valuestring);
        cJSON_AddNumberToObject(record, "validity_seconds", validity->valuedouble);
        cJSON_AddItemToArray(m->tokens, record);
    }
    cJSON_AddItemToArray(m->issued_jwts, cJSON_CreateString(jwt));
    pthread_mutex_unlock(&m->lock);
    mock_resp_text(resp, MHD_HTTP_OK, TEXT_TYPE, jwt);
out:
    free(jwt);
    cJSON_Delete(body);
}

#define INSTALL_USER    "installadmin"
#define USER_TOKEN_SECS (120 * 60) /* AAS's jwt.token-duration-mins default */

static bool secret_equal(const char *got, const char *want)
{
    size_t n = strlen(want);
    return strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

/* The roles and permissions AAS's populate-users gives the trust agent's installation user. */
static cJSON *install_claims(void)
{
    static const char text[] =
        "{\"roles\":[{\"service\":\"CMS\",\"name\":\"CertApprover\",\"context\":\"CERTTYPE=TLS\"},"
        "{\"service\":\"HVS\",\"name\":\"AttestationRegister\"},{\"service\":\"HVS\",\"name\":\"Certifier\"},"
        "{\"service\":\"AAS\",\"name\":\"CustomClaimsCreator\"},"
        "{\"service\":\"AAS\",\"name\":\"CredentialCreator\",\"context\":\"type=TA\"}],"
        "\"permissions\":[{\"service\":\"HVS\",\"rules\":[\"flavors:create:*\",\"host_aiks:certify:*\","
        "\"hosts:create:*\",\"hosts:search:*\",\"reports:create:*\"]}]}";
    return cJSON_Parse(text);
}

static void user_token(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = NULL, *claims = NULL, *item;
    const cJSON *user, *password;
    char *jwt = NULL;
    bool other_fields = false;

    if (!mock_check_media(req, resp, NULL, JSON_TYPE))
        return;
    body = cJSON_Parse(req->body);
    user = cJSON_GetObjectItemCaseSensitive(body, "username");
    password = cJSON_GetObjectItemCaseSensitive(body, "password");
    cJSON_ArrayForEach(item, body)
    {
        const char *key = item->string ? item->string : "";
        other_fields |= strcmp(key, "username") != 0 && strcmp(key, "password") != 0;
    }
    if (!cJSON_IsObject(body) || other_fields) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "expected {\"username\":...,\"password\":...}");
        goto out;
    }
    if (!cJSON_IsString(user) || !cJSON_IsString(password) || strcmp(user->valuestring, INSTALL_USER) != 0 ||
        !secret_equal(password->valuestring, m->bearer)) {
        mock_resp_error(resp, MHD_HTTP_UNAUTHORIZED, "username or password is wrong");
        goto out;
    }
    if (!(claims = install_claims()) || jwt_make(m, claims, INSTALL_USER, USER_TOKEN_SECS, &jwt) < 0) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot make the token");
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    cJSON_AddItemToArray(m->issued_jwts, cJSON_CreateString(jwt));
    pthread_mutex_unlock(&m->lock);
    mock_resp_text(resp, MHD_HTTP_OK, "application/jwt", jwt);
out:
    if (jwt)
        OPENSSL_cleanse(jwt, strlen(jwt));
    free(jwt);
    cJSON_Delete(claims);
    cJSON_Delete(body);
}

static void credentials(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = NULL;
    const cJSON *type, *params, *host;
    char *creds = NULL;
    int r;

    if (!mock_check_bearer(m, req, resp) || !mock_check_media(req, resp, TEXT_TYPE, JSON_TYPE))
        return;
    body = cJSON_Parse(req->body);
    type = cJSON_GetObjectItemCaseSensitive(body, "type");
    params = cJSON_GetObjectItemCaseSensitive(body, "parameters");
    host = cJSON_GetObjectItemCaseSensitive(params, "host-id");
    if (!cJSON_IsObject(body) || !cJSON_IsString(type) || strcmp(type->valuestring, "TA") != 0 ||
        !cJSON_IsObject(params)) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST,
                        "expected {\"type\":\"TA\",\"parameters\":{\"host-id\":...}}");
        goto out;
    }
    if (!cJSON_IsString(host) || !mock_hostname_valid(host->valuestring)) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "parameters.host-id must be a valid host name");
        goto out;
    }
    r = mock_nats_ta_creds(m->nats, host->valuestring, &creds);
    if (r == -EOPNOTSUPP) {
        mock_resp_error(resp, MHD_HTTP_NOT_IMPLEMENTED, "this mock was built without NATS JWT support");
        goto out;
    }
    if (r < 0) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot mint the credentials: %s",
                        strerror(-r));
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    cJSON_AddItemToArray(m->credentials, cJSON_CreateString(host->valuestring));
    pthread_mutex_unlock(&m->lock);
    mock_resp_text(resp, MHD_HTTP_CREATED, TEXT_TYPE, creds);
out:
    if (creds)
        OPENSSL_cleanse(creds, strlen(creds));
    free(creds);
    cJSON_Delete(body);
}

void mock_aas_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    if (strcmp(req->path, "/custom-claims-token") == 0 && strcmp(req->method, "POST") == 0) {
        custom_claims_token(m, req, resp);
    } else if (strcmp(req->path, "/credentials") == 0 && strcmp(req->method, "POST") == 0) {
        credentials(m, req, resp);
    } else if (strcmp(req->path, "/token") == 0 && strcmp(req->method, "POST") == 0) {
        user_token(m, req, resp);
    } else if (strcmp(req->path, "/jwt-certificates") == 0 && strcmp(req->method, "GET") == 0) {
        if (mock_check_media(req, resp, "application/x-pem-file", NULL))
            mock_resp_text(resp, MHD_HTTP_OK, "application/x-pem-file", m->pki.jwt_pem);
    } else {
        mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "AAS has no %s %s", req->method, req->path);
    }
}
