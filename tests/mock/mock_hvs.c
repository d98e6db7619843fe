/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HVS (spec 3.3 - 3.5, 3.7). Every path needs the bearer token and Accept: application/json (manifests:
 * application/xml); POSTs need Content-Type: application/json.
 *   GET  /hvs/v2/ca-certificates/aik                  {"name","type","certificate": base64 DER Privacy CA}
 *   POST /hvs/v2/privacyca/identity-challenge-request  IdentityChallengePayload (EK certificate[s]) ->
 *        200 IdentityProofRequest over a random 32-byte challenge, credential to the EK bound to aik_name
 *   POST /hvs/v2/privacyca/identity-challenge-response IdentityChallengePayload (the challenge) ->
 *        200 IdentityProofRequest over the AIK certificate's DER (also written to DIR/aik-<name hex>.pem)
 *   GET  /hvs/v2/hosts[?nameEqualTo=N][&hostHardwareId=U]  {"hosts":[...]}
 *   POST /hvs/v2/hosts     {"host_name","connection_string"[,"hardware_uuid","description"]} -> 201 host
 *   POST /hvs/v2/flavors   {"connection_string","partial_flavor_types":[...]} -> 201 {"signed_flavors":[...]}
 *   GET  /hvs/v2/manifests?id=UUID | ?key=label&value=L   (Accept application/xml) -> 200 Manifest XML
 *   POST /hvs/v2/reports[?process=async]  {"hardware_uuid",...} -> 202
 */
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#define JSON_TYPE     "application/json"
#define CHALLENGE_TTL 600 /* seconds a challenge waits for its response */

/* ---- Privacy CA ---- */

static void privacy_ca_cert(struct mock *m, struct mock_resp *resp)
{
    unsigned char *der = NULL;
    int len = i2d_X509(m->pki.privacy_ca, &der);
    char *b64 = len > 0 ? mock_b64_encode(der, (size_t)len) : NULL;
    cJSON *root = cJSON_CreateObject();

    if (!b64 || !root || !cJSON_AddStringToObject(root, "name", "HVS Privacy Certificate") ||
        !cJSON_AddStringToObject(root, "type", "aik") || !cJSON_AddStringToObject(root, "certificate", b64)) {
        cJSON_Delete(root);
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    } else {
        mock_resp_json(resp, MHD_HTTP_OK, root);
    }
    OPENSSL_free(der);
    free(b64);
}

/* Registered (same DER) or chains to an --ek-ca root, with any certificates before the leaf as intermediates.
 */
static bool ek_trusted(struct mock *m, STACK_OF(X509) * certs, X509 *leaf, char *why, size_t why_len)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool ok = false;
    int err;

    for (int i = 0; i < sk_X509_num(m->ek_registered); i++) {
        if (X509_cmp(sk_X509_value(m->ek_registered, i), leaf) == 0) {
            ok = true;
            goto out;
        }
    }
    if (!untrusted || !ctx) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(certs) - 1; i++)
        sk_X509_push(untrusted, sk_X509_value(certs, i));
    if (X509_STORE_CTX_init(ctx, m->ek_store, leaf, untrusted) != 1) {
        snprintf(why, why_len, "cannot set up EK verification");
        goto out;
    }
    if (X509_verify_cert(ctx) == 1) {
        ok = true;
    } else {
        err = X509_STORE_CTX_get_error(ctx);
        snprintf(why, why_len,
                 "the EK certificate is not registered and does not chain to a trusted EK CA: %s",
                 X509_verify_cert_error_string(err));
    }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return ok;
}

static void challenges_expire(struct mock *m)
{
    time_t now = time(NULL);

    for (struct mock_challenge **pp = &m->challenges; *pp;) {
        struct mock_challenge *c = *pp;

        if (now - c->created > CHALLENGE_TTL) {
            *pp = c->next;
            EVP_PKEY_free(c->ek);
            OPENSSL_cleanse(c, sizeof(*c));
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

static void identity_challenge_request(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    struct mock_identity_payload p = {0};
    STACK_OF(X509) *certs = NULL;
    struct mock_challenge *c = NULL;
    EVP_PKEY *ek = NULL;
    X509 *leaf;
    char why[256] = "", *json = NULL;

    if (mock_identity_payload_open(m->pki.privacy_key, req->body, &p, why, sizeof(why)) < 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "identity challenge request: %s", why);
        goto out;
    }
    if (mock_certs_parse(p.payload, p.payload_len, &certs) < 0 ||
        memmem(p.payload, p.payload_len, "-----", 5)) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "the payload is not DER EK certificate(s)");
        goto out;
    }
    leaf = sk_X509_value(certs, sk_X509_num(certs) - 1);
    ek = X509_get_pubkey(leaf);
    if (!ek || EVP_PKEY_get_base_id(ek) != EVP_PKEY_RSA) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "the EK certificate's key is not RSA");
        goto out;
    }
    if (!ek_trusted(m, certs, leaf, why, sizeof(why))) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "%s", why);
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (!c || RAND_bytes(c->challenge, sizeof(c->challenge)) != 1) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto out;
    }
    if (mock_identity_proof(ek, p.name, sizeof(p.name), c->challenge, sizeof(c->challenge), &json) < 0) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "MakeCredential failed");
        goto out;
    }
    memcpy(c->name, p.name, sizeof(c->name));
    memcpy(c->modulus, p.modulus, sizeof(c->modulus));
    c->ek = ek;
    c->created = time(NULL);
    ek = NULL;
    pthread_mutex_lock(&m->lock);
    challenges_expire(m);
    c->next = m->challenges;
    m->challenges = c;
    c = NULL;
    pthread_mutex_unlock(&m->lock);
    mock_resp_text(resp, MHD_HTTP_OK, JSON_TYPE, json);
out:
    if (c)
        OPENSSL_cleanse(c, sizeof(*c));
    free(c);
    free(json);
    EVP_PKEY_free(ek);
    sk_X509_pop_free(certs, X509_free);
    mock_identity_payload_clear(&p);
}

static struct mock_challenge *challenge_take(struct mock *m, const uint8_t *challenge)
{
    struct mock_challenge *found = NULL;

    pthread_mutex_lock(&m->lock);
    challenges_expire(m);
    for (struct mock_challenge **pp = &m->challenges; *pp; pp = &(*pp)->next) {
        if (CRYPTO_memcmp((*pp)->challenge, challenge, sizeof((*pp)->challenge)) == 0) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return found;
}

static void identity_challenge_response(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    struct mock_identity_payload p = {0};
    struct mock_challenge *c = NULL;
    unsigned char *der = NULL;
    X509 *cert = NULL;
    char why[256] = "", *json = NULL, *pem = NULL, *path = NULL, name_hex[69];
    int der_len;

    if (mock_identity_payload_open(m->pki.privacy_key, req->body, &p, why, sizeof(why)) < 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "identity challenge response: %s", why);
        goto out;
    }
    if (p.payload_len != sizeof(c->challenge) || !(c = challenge_take(m, p.payload))) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "no outstanding identity challenge matches the payload");
        goto out;
    }
    if (memcmp(c->name, p.name, sizeof(p.name)) != 0 ||
        memcmp(c->modulus, p.modulus, sizeof(p.modulus)) != 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST,
                        "the AIK differs from the one the challenge was made for");
        goto out;
    }
    if (mock_pki_issue_aik(&m->pki, c->modulus, sizeof(c->modulus), c->name, sizeof(c->name),
                           m->aik_validity_years, &cert) < 0 ||
        (der_len = i2d_X509(cert, &der)) <= 0 ||
        mock_identity_proof(c->ek, c->name, sizeof(c->name), der, (size_t)der_len, &json) < 0) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot issue the AIK certificate");
        goto out;
    }
    mock_hex(c->name, sizeof(c->name), name_hex);
    if ((pem = mock_x509_pem(cert)) && asprintf(&path, "%s/aik-%s.pem", m->dir, name_hex) >= 0 &&
        mock_file_write(path, pem, strlen(pem), 0644) == 0) {
        cJSON *record = cJSON_CreateObject();

        pthread_mutex_lock(&m->lock);
        if (record) {
            cJSON_AddStringToObject(record, "aik_name", name_hex);
            cJSON_AddStringToObject(record, "path", path);
            cJSON_AddItemToArray(m->aik_certs, record);
        }
        pthread_mutex_unlock(&m->lock);
    } else {
        free(path);
        path = NULL;
    }
    mock_resp_text(resp, MHD_HTTP_OK, JSON_TYPE, json);
out:
    if (c) {
        EVP_PKEY_free(c->ek);
        OPENSSL_cleanse(c, sizeof(*c));
        free(c);
    }
    OPENSSL_free(der);
    X509_free(cert);
    free(json);
    free(pem);
    free(path);
    mock_identity_payload_clear(&p);
}

/* ---- hosts, flavors, manifests, reports ---- */

static cJSON *host_json(const struct mock_host *h)
{
    cJSON *o = cJSON_CreateObject();

    if (o) {
        cJSON_AddStringToObject(o, "id", h->id);
        cJSON_AddStringToObject(o, "host_name", h->name);
        cJSON_AddStringToObject(o, "connection_string", h->connection_string);
        if (h->hardware_uuid)
            cJSON_AddStringToObject(o, "hardware_uuid", h->hardware_uuid);
    }
    return o;
}

static void hosts_search(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    const char *name = mock_query(req, "nameEqualTo"), *hw = mock_query(req, "hostHardwareId");
    cJSON *root = cJSON_CreateObject(), *list = root ? cJSON_AddArrayToObject(root, "hosts") : NULL;

    if (hw && !mock_uuid_valid(hw)) {
        cJSON_Delete(root);
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "hostHardwareId is not a UUID");
        return;
    }
    pthread_mutex_lock(&m->lock);
    for (const struct mock_host *h = m->hosts; list && h; h = h->next) {
        if (name && strcmp(h->name, name) != 0)
            continue;
        if (hw && (!h->hardware_uuid || strcasecmp(h->hardware_uuid, hw) != 0))
            continue;
        cJSON_AddItemToArray(list, host_json(h));
    }
    pthread_mutex_unlock(&m->lock);
    mock_resp_json(resp, MHD_HTTP_OK, root);
}

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool connection_string_valid(const char *s)
{
    return s && (strncmp(s, "intel:https://", 14) == 0 || strncmp(s, "intel:nats://", 13) == 0) &&
           strlen(s) > 14;
}

static void host_create(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = cJSON_Parse(req->body);
    const char *name = json_string(body, "host_name"), *conn = json_string(body, "connection_string");
    const char *hw = json_string(body, "hardware_uuid");
    struct mock_host *h = NULL;
    cJSON *out;

    if (!cJSON_IsObject(body) || !name || !name[0] || !connection_string_valid(conn) ||
        (hw && !mock_uuid_valid(hw))) {
        mock_resp_error(
            resp, MHD_HTTP_BAD_REQUEST,
            "expected {\"host_name\":..., \"connection_string\":\"intel:https://...|intel:nats://...\"}");
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    for (const struct mock_host *e = m->hosts; e; e = e->next) {
        if (strcmp(e->name, name) == 0) {
            pthread_mutex_unlock(&m->lock);
            mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "host with name %s already exists", name);
            goto out;
        }
    }
    h = calloc(1, sizeof(*h));
    if (h) {
        mock_uuid4(h->id);
        h->name = strdup(name);
        h->connection_string = strdup(conn);
        h->hardware_uuid = hw ? strdup(hw) : NULL;
    }
    if (!h || !h->name || !h->connection_string || (hw && !h->hardware_uuid)) {
        pthread_mutex_unlock(&m->lock);
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto out;
    }
    /* Appended, so listings keep creation order. */
    struct mock_host **tail = &m->hosts;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
    out = host_json(h);
    h = NULL;
    pthread_mutex_unlock(&m->lock);
    mock_resp_json(resp, MHD_HTTP_CREATED, out);
out:
    if (h) {
        free(h->name);
        free(h->connection_string);
        free(h->hardware_uuid);
        free(h);
    }
    cJSON_Delete(body);
}

static bool flavor_part_valid(const char *s)
{
    static const char *const parts[] = {"PLATFORM", "OS", "HOST_UNIQUE", "SOFTWARE", "ASSET_TAG"};

    for (size_t i = 0; s && i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strcmp(s, parts[i]) == 0)
            return true;
    return false;
}

static void flavor_create(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = cJSON_Parse(req->body), *root = NULL, *list;
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(body, "partial_flavor_types"), *part;
    const char *conn = json_string(body, "connection_string");

    if (!cJSON_IsObject(body) || !connection_string_valid(conn) || !cJSON_IsArray(parts) ||
        cJSON_GetArraySize(parts) == 0) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST,
                        "expected {\"connection_string\":..., \"partial_flavor_types\":[...]}");
        goto out;
    }
    root = cJSON_CreateObject();
    list = root ? cJSON_AddArrayToObject(root, "signed_flavors") : NULL;
    cJSON_ArrayForEach(part, parts)
    {
        cJSON *flavor, *meta, *desc;
        char id[37];

        if (!cJSON_IsString(part) || !flavor_part_valid(part->valuestring)) {
            mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "unknown flavor part");
            goto out;
        }
        mock_uuid4(id);
        if (!list || !(flavor = cJSON_CreateObject()))
            continue;
        meta = cJSON_AddObjectToObject(cJSON_AddObjectToObject(flavor, "flavor"), "meta");
        cJSON_AddStringToObject(meta, "id", id);
        desc = cJSON_AddObjectToObject(meta, "description");
        cJSON_AddStringToObject(desc, "flavor_part", part->valuestring);
        cJSON_AddStringToObject(desc, "source", conn);
        cJSON_AddStringToObject(flavor, "signature", "");
        cJSON_AddItemToArray(list, flavor);
    }
    pthread_mutex_lock(&m->lock);
    cJSON_AddItemToArray(m->flavors, cJSON_Duplicate(body, 1));
    pthread_mutex_unlock(&m->lock);
    mock_resp_json(resp, MHD_HTTP_CREATED, root);
    root = NULL;
out:
    cJSON_Delete(root);
    cJSON_Delete(body);
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void manifest_get(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    const char *id = mock_query(req, "id"), *key = mock_query(req, "key"), *value = mock_query(req, "value");
    char uuid[37], *xml = NULL;
    size_t size = 0;
    FILE *f;

    if (!mock_check_media(req, resp, "application/xml", NULL))
        return;
    if (id && !mock_uuid_valid(id)) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "id is not a UUID");
        return;
    }
    if (!id && (!key || strcmp(key, "label") != 0 || !value || !value[0])) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "expected ?id=<uuid> or ?key=label&value=<label>");
        return;
    }
    if (id)
        snprintf(uuid, sizeof(uuid), "%s", id);
    else
        mock_uuid4(uuid);
    f = open_memstream(&xml, &size);
    if (!f) {
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
          "<Manifest xmlns=\"lib:wml:manifests:1.0\" Label=\"",
          f);
    xml_escape(f, id ? "mock_manifest" : value);
    fprintf(f,
            "\" Uuid=\"%s\" DigestAlg=\"SHA384\">\n"
            "    <File Path=\"/opt/trustagent/bin/tagent\" SearchType=\"regex\"/>\n"
            "    <Dir Exclude=\"\" FilterType=\"regex\" Include=\".*\" Path=\"/opt/trustagent/bin\" "
            "SearchType=\"regex\"/>\n"
            "</Manifest>\n",
            uuid);
    if (fclose(f) != 0) {
        free(xml);
        mock_resp_error(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    mock_resp_bytes(resp, MHD_HTTP_OK, "application/xml", xml, size);
    free(xml);
}

static void report_create(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    cJSON *body = cJSON_Parse(req->body);
    const char *hw = json_string(body, "hardware_uuid");

    if (!cJSON_IsObject(body) || !hw || !mock_uuid_valid(hw)) {
        mock_resp_error(resp, MHD_HTTP_BAD_REQUEST, "expected {\"hardware_uuid\":<uuid>, ...}");
        cJSON_Delete(body);
        return;
    }
    pthread_mutex_lock(&m->lock);
    cJSON_AddItemToArray(m->reports, body);
    pthread_mutex_unlock(&m->lock);
    mock_resp_bytes(resp, MHD_HTTP_ACCEPTED, NULL, "", 0);
}

int mock_hvs_host_set_uuid(struct mock *m, const char *name, const char *uuid)
{
    int r = -ENOENT;
    pthread_mutex_lock(&m->lock);
    for (struct mock_host *h = m->hosts; h && r < 0; h = h->next) {
        if (strcmp(h->name, name) != 0)
            continue;
        char *copy = strdup(uuid);
        if (!copy) {
            r = -ENOMEM;
            break;
        }
        free(h->hardware_uuid);
        h->hardware_uuid = copy;
        r = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}

void mock_hvs_handle(struct mock *m, const struct mock_req *req, struct mock_resp *resp)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *p = req->path;

    if (!mock_check_bearer(m, req, resp))
        return;
    if (get && strcmp(p, "/manifests") == 0) {
        manifest_get(m, req, resp);
        return;
    }
    if (!mock_check_media(req, resp, JSON_TYPE, JSON_TYPE))
        return;
    if (get && strcmp(p, "/ca-certificates/aik") == 0)
        privacy_ca_cert(m, resp);
    else if (post && strcmp(p, "/privacyca/identity-challenge-request") == 0)
        identity_challenge_request(m, req, resp);
    else if (post && strcmp(p, "/privacyca/identity-challenge-response") == 0)
        identity_challenge_response(m, req, resp);
    else if (get && strcmp(p, "/hosts") == 0)
        hosts_search(m, req, resp);
    else if (post && strcmp(p, "/hosts") == 0)
        host_create(m, req, resp);
    else if (post && strcmp(p, "/flavors") == 0)
        flavor_create(m, req, resp);
    else if (post && strcmp(p, "/reports") == 0)
        report_create(m, req, resp);
    else
        mock_resp_error(resp, MHD_HTTP_NOT_FOUND, "HVS has no %s %s", req->method, p);
}
