/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoders of the NATS request payloads: JSON in, plain structs out; see request_decode.h. */
#include "request_decode.h"

#include "config.h"
#include "tcg_alg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

/* Longest base64 text that can decode to n bytes. */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

int request_invalid(char **ret_error, const char *fmt, ...)
{
    if (!ret_error)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(ret_error, fmt, ap);
    va_end(ap);
    if (n >= 0)
        return -EINVAL;
    *ret_error = NULL;
    return -ENOMEM;
}

/* The member named name, compared as Go's json.Unmarshal does: case-insensitively, the last one wins
 * (cJSON_GetObjectItem would return the first). */
static const cJSON *member(const cJSON *obj, const char *name)
{
    const cJSON *found = NULL, *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && strcasecmp(it->string, name) == 0)
            found = it;
    }
    return found;
}

static bool absent(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

/* True when data holds a NUL byte or the JSON escape \u0000. cJSON turns the escape into a NUL that ends the
 * C string it returns, so "AAAA\u0000junk" would read as "AAAA": a nonce cut short and accepted. No field of
 * any request may hold a NUL (base64, UUIDs, XML, names), so the whole request is refused. A backslash occurs
 * only inside JSON strings, and skipping the character after each one keeps "\\u0000" (a backslash, then
 * text) from matching. */
static bool has_nul(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\0')
            return true;
        if (data[i] != '\\')
            continue;
        if (i + 5 < len && data[i + 1] == 'u' && memcmp(data + i + 2, "0000", 4) == 0)
            return true;
        i++;
    }
    return false;
}

/* Parses data as JSON and requires an object (else not_object is the message); prefix starts the size
 * message. The caller deletes *ret_obj. */
static int parse_object(const char *data, size_t len, const char *prefix, const char *not_object,
                        cJSON **ret_obj, char **ret_error)
{
    if (len > REQUEST_MAX_BYTES)
        return request_invalid(ret_error, "%sthe request is %zu bytes; at most %u are accepted", prefix, len,
                               REQUEST_MAX_BYTES);
    if (has_nul(data, len))
        return request_invalid(ret_error,
                               "%sa string in the request contains a NUL character (\\u0000), which no field "
                               "may hold (a nonce is base64)",
                               prefix);
    cJSON *obj = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return request_invalid(ret_error, "%s", not_object);
    }
    *ret_obj = obj;
    return 0;
}

int request_fields_known(const char *data, size_t len, const char *const *fields, char **ret_error)
{
    cJSON *obj = NULL, *item;
    int r = parse_object(data, len, "", "the request is not a JSON object", &obj, ret_error);
    if (r < 0)
        return r;
    cJSON_ArrayForEach(item, obj)
    {
        bool known = false;
        for (size_t i = 0; fields[i] && !known; i++)
            known = strcasecmp(item->string, fields[i]) == 0; /* Go matches field names case-insensitively */
        if (!known) {
            r = request_invalid(ret_error, "unknown field \"%s\" in the request", item->string);
            break;
        }
    }
    cJSON_Delete(obj);
    return r;
}

bool request_uuid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool request_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return false;
            continue;
        }
        size_t more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        if (more == 0 || c > 0xf4 || (size_t)(end - p) < more)
            return false;
        unsigned cp = c & (0x3fu >> more);
        for (size_t i = 0; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        p += more;
        unsigned min = more == 1 ? 0x80 : more == 2 ? 0x800 : 0x10000;
        /* overlong forms, UTF-16 surrogates, beyond Unicode, and the two non-characters XML excludes */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0xfffe || cp == 0xffff)
            return false;
    }
    return true;
}

/* ---- quote-request ---- */

static int quote_nonce(const cJSON *nonce, struct request_quote *q, char **ret_error)
{
    /* checked on the text first, so a megabyte of "nonce" is refused without decoding it */
    if (cJSON_IsString(nonce) && (strlen(nonce->valuestring) > B64_LEN(REQUEST_NONCE_MAX)))
        return request_invalid(ret_error, "quote-request: \"nonce\" is longer than %d bytes; HVS sends 32",
                               REQUEST_NONCE_MAX);
    if (!cJSON_IsString(nonce) || config_base64_decode(nonce->valuestring, &q->nonce, &q->nonce_len) < 0 ||
        q->nonce_len == 0)
        return request_invalid(ret_error, "quote-request: \"nonce\" must be non-empty base64");
    if (q->nonce_len > REQUEST_NONCE_MAX)
        return request_invalid(ret_error,
                               "quote-request: \"nonce\" is %zu bytes, longer than %d; HVS sends 32",
                               q->nonce_len, REQUEST_NONCE_MAX);
    return 0;
}

static int quote_pcrs(const cJSON *pcrs, struct request_quote *q, char **ret_error)
{
    if (!absent(pcrs) && !cJSON_IsArray(pcrs))
        return request_invalid(ret_error, "quote-request: \"pcrs\" must be an array of PCR indexes 0..23");
    const cJSON *it;
    cJSON_ArrayForEach(it, pcrs)
    {
        double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (v < 0 || v > 23 || (double)(int)v != v)
            return request_invalid(ret_error, "quote-request: \"pcrs\" holds %s; PCR indexes are 0..23",
                                   cJSON_IsNumber(it) ? "a number out of range" : "a non-number");
        q->pcr_mask |= 1u << (unsigned)v;
    }
    if (q->pcr_mask == 0)
        return request_invalid(ret_error, "quote-request: no PCR requested");
    return 0;
}

static int quote_banks(const cJSON *banks, struct request_quote *q, char **ret_error)
{
    if (!absent(banks) && !cJSON_IsArray(banks))
        return request_invalid(ret_error, "quote-request: \"pcrbanks\" must be an array of bank names");
    const cJSON *it;
    cJSON_ArrayForEach(it, banks)
    {
        /* the banks HVS knows, by name as HVS writes them, in any case ("sha256" too) */
        const struct tcg_alg *a = cJSON_IsString(it) ? tcg_alg_from_name(it->valuestring) : NULL;
        if (!a || !a->hvs_pcr_bank)
            return request_invalid(
                ret_error, "quote-request: unknown PCR bank in \"pcrbanks\" (SHA1, SHA256 or SHA384)");
        uint16_t alg = a->id;
        bool dup = false;
        for (size_t i = 0; i < q->n_banks; i++)
            dup |= q->banks[i] == alg;
        if (!dup && q->n_banks < 8)
            q->banks[q->n_banks++] = alg;
    }
    return 0;
}

int request_quote_decode(const char *data, size_t len, struct request_quote *ret, char **ret_error)
{
    struct request_quote q = {0};
    cJSON *req = NULL;
    int r = parse_object(data, len,
                         "quote-request: ", "quote-request: the request is not a JSON TpmQuoteRequest object",
                         &req, ret_error);
    if (r < 0)
        return r;
    if ((r = quote_nonce(member(req, "nonce"), &q, ret_error)) < 0 ||
        (r = quote_pcrs(member(req, "pcrs"), &q, ret_error)) < 0 ||
        (r = quote_banks(member(req, "pcrbanks"), &q, ret_error)) < 0)
        goto out;
    const cJSON *ima = member(req, "ima_measure_enabled");
    if (!absent(ima) && !cJSON_IsBool(ima)) {
        r = request_invalid(ret_error, "quote-request: \"ima_measure_enabled\" must be a boolean");
        goto out;
    }
    q.ima = cJSON_IsTrue(ima);
    *ret = q;
    q.nonce = NULL;
out:
    request_quote_free(&q);
    cJSON_Delete(req);
    return r;
}

void request_quote_free(struct request_quote *q)
{
    if (q->nonce)
        OPENSSL_cleanse(q->nonce, q->nonce_len);
    free(q->nonce);
    q->nonce = NULL;
    q->nonce_len = 0;
}

/* ---- deploy-asset-tag ---- */

int request_asset_tag_decode(const char *data, size_t len, struct request_asset_tag *ret, char **ret_error)
{
    cJSON *req = NULL;
    uint8_t *tag = NULL;
    size_t tag_len = 0;
    int r =
        parse_object(data, len, "deploy-asset-tag: ",
                     "deploy-asset-tag: the request is not a JSON object {\"tag\":...,\"hardware_uuid\":...}",
                     &req, ret_error);
    if (r < 0)
        return r;
    const cJSON *t = member(req, "tag"), *u = member(req, "hardware_uuid");
    /* base64 of 48 bytes is exactly 64 characters: anything else is refused before decoding */
    if (!cJSON_IsString(t) || strlen(t->valuestring) != B64_LEN(REQUEST_ASSET_TAG_SIZE) ||
        config_base64_decode(t->valuestring, &tag, &tag_len) < 0 || tag_len != REQUEST_ASSET_TAG_SIZE) {
        r = request_invalid(ret_error, "deploy-asset-tag: \"tag\" must be base64 of %d bytes",
                            REQUEST_ASSET_TAG_SIZE);
        goto out;
    }
    if (!absent(u) && (!cJSON_IsString(u) || (u->valuestring[0] && !request_uuid_valid(u->valuestring)))) {
        r = request_invalid(ret_error, "deploy-asset-tag: \"hardware_uuid\" is not a UUID");
        goto out;
    }
    memcpy(ret->tag, tag, REQUEST_ASSET_TAG_SIZE);
    snprintf(ret->hardware_uuid, sizeof(ret->hardware_uuid), "%s", cJSON_IsString(u) ? u->valuestring : "");
out:
    if (tag)
        OPENSSL_cleanse(tag, tag_len);
    free(tag);
    cJSON_Delete(req);
    return r;
}

void request_asset_tag_clear(struct request_asset_tag *t)
{
    OPENSSL_cleanse(t->tag, sizeof(t->tag));
}

/* ---- Manifest ---- */

/* A string member of obj (absent or null: ""), bounded and XML-safe; where names it in messages. */
static int manifest_string(const cJSON *obj, const char *name, const char *where, char **ret,
                           char **ret_error)
{
    const cJSON *v = member(obj, name);
    const char *s = "";
    if (!absent(v)) {
        if (!cJSON_IsString(v))
            return request_invalid(ret_error, "\"%s%s\" must be a string", where, name);
        s = v->valuestring;
        size_t n = strlen(s);
        if (n > MANIFEST_MAX_STRING)
            return request_invalid(ret_error, "\"%s%s\" is %zu bytes; at most %u are accepted", where, name,
                                   n, MANIFEST_MAX_STRING);
        if (!request_text_valid(s, n))
            return request_invalid(ret_error,
                                   "\"%s%s\" is not valid UTF-8 text (control characters cannot be carried "
                                   "in XML)",
                                   where, name);
    }
    return (*ret = strdup(s)) ? 0 : -ENOMEM;
}

static const char *const kind_names[] = {"Dir", "File", "Symlink"};

static int manifest_entry(const cJSON *obj, enum manifest_kind kind, size_t index, struct manifest_entry *e,
                          char **ret_error)
{
    char where[48];
    snprintf(where, sizeof(where), "%s[%zu].", kind_names[kind], index);
    /* e is in manifest_lists()' array, sized by cJSON's count of the very items it walks (the analyzer does
     * not relate cJSON_GetArraySize() to the list) */
    e->kind = kind; /* NOLINT(clang-analyzer-core.NullDereference) */
    if (!cJSON_IsObject(obj))
        return request_invalid(ret_error, "\"%s[%zu]\" must be an object", kind_names[kind], index);
    int r = manifest_string(obj, "Path", where, &e->path, ret_error);
    if (r == 0)
        r = manifest_string(obj, "SearchType", where, &e->search_type, ret_error);
    if (kind != MANIFEST_DIR) {
        if (r == 0 &&
            !((e->include = strdup("")) && (e->exclude = strdup("")) && (e->filter_type = strdup(""))))
            r = -ENOMEM;
        return r;
    }
    if (r == 0)
        r = manifest_string(obj, "Include", where, &e->include, ret_error);
    if (r == 0)
        r = manifest_string(obj, "Exclude", where, &e->exclude, ret_error);
    if (r == 0)
        r = manifest_string(obj, "FilterType", where, &e->filter_type, ret_error);
    return r;
}

static int manifest_lists(const cJSON *req, struct manifest *m, char **ret_error)
{
    const cJSON *lists[3];
    size_t total = 0;
    for (int k = MANIFEST_DIR; k <= MANIFEST_SYMLINK; k++) {
        lists[k] = member(req, kind_names[k]);
        if (!absent(lists[k]) && !cJSON_IsArray(lists[k]))
            return request_invalid(ret_error, "\"%s\" must be an array of objects", kind_names[k]);
        total += (size_t)cJSON_GetArraySize(lists[k]); /* 0 for NULL and null */
    }
    if (total > MANIFEST_MAX_ENTRIES)
        return request_invalid(ret_error, "the manifest has %zu entries; at most %u are accepted", total,
                               MANIFEST_MAX_ENTRIES);
    if (total && !(m->entries = calloc(total, sizeof(*m->entries))))
        return -ENOMEM;
    for (int k = MANIFEST_DIR; k <= MANIFEST_SYMLINK; k++) {
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, lists[k])
        {
            /* counted first so manifest_free() frees a half-filled entry */
            int r = manifest_entry(it, (enum manifest_kind)k, i++, &m->entries[m->n_entries++], ret_error);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int request_manifest_decode(const char *data, size_t len, struct manifest *ret, char **ret_error)
{
    struct manifest m = {0};
    cJSON *req = NULL;
    int r = parse_object(data, len, "", "the request is not a JSON Manifest object", &req, ret_error);
    if (r < 0)
        return r;
    /* XMLName and Text (Go's xml bookkeeping) are ignored: the XML written is always the canonical one */
    if ((r = manifest_string(req, "Xmlns", "", &m.xmlns, ret_error)) < 0 ||
        (r = manifest_string(req, "Label", "", &m.label, ret_error)) < 0 ||
        (r = manifest_string(req, "Uuid", "", &m.uuid, ret_error)) < 0 ||
        (r = manifest_string(req, "DigestAlg", "", &m.digest_alg, ret_error)) < 0 ||
        (r = manifest_lists(req, &m, ret_error)) < 0)
        goto out;
    *ret = m;
    memset(&m, 0, sizeof(m));
out:
    manifest_free(&m);
    cJSON_Delete(req);
    return r;
}

void manifest_free(struct manifest *m)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        struct manifest_entry *e = &m->entries[i];
        free(e->path);
        free(e->search_type);
        free(e->include);
        free(e->exclude);
        free(e->filter_type);
    }
    free(m->entries);
    free(m->xmlns);
    free(m->label);
    free(m->uuid);
    free(m->digest_alg);
    memset(m, 0, sizeof(*m));
}

/* The Go agent's UUIDv4 pattern: version nibble 4, variant nibble 8, 9, a or b (any case). */
static bool uuid_v4(const char *s)
{
    return request_uuid_valid(s) && s[14] == '4' && strchr("89abAB", s[19]);
}

int manifest_check(const struct manifest *m, char **ret_error)
{
    if (!uuid_v4(m->uuid))
        return request_invalid(
            ret_error, "\"Uuid\" must be a version-4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)");
    if (!m->label[0])
        return request_invalid(ret_error, "the manifest has no \"Label\"");
    for (const char *p = m->label; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_ /.-", *p)))
            return request_invalid(ret_error, "\"Label\" may only hold letters, digits, space and _ / . -");
    /* Go tests "contains", not "starts with" */
    if (strstr(m->label, MANIFEST_DEFAULT_APPLICATION_PREFIX) ||
        strstr(m->label, MANIFEST_DEFAULT_WORKLOAD_PREFIX))
        return request_invalid(
            ret_error, "\"%s\" is a default flavor's manifest; those are part of the installation", m->label);
    return 0;
}
