/* SPDX-License-Identifier: BSD-3-Clause */
/* HVS's quote verification and measure-log replay; see hvs_verify.h. */
#include "hvs_verify.h"
#include "go_x509.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define HVS_PCR_CAP 2304 /* 32 * 24 * 3: HVS only appends a value while offset + size < this */

uint8_t *hvs_b64_decode(const char *s, size_t *ret_len)
{
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 4);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    if (n && s[n - 1] == '=')
        len--;
    if (n > 1 && s[n - 2] == '=')
        len--;
    *ret_len = (size_t)len;
    return out;
}

char *hvs_b64_encode(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

void hvs_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static struct hvs_check *check(struct hvs_quote *q, const char *name)
{
    struct hvs_check *c = &q->checks[q->nchecks++];
    c->name = name;
    c->ok = false;
    c->msg[0] = '\0';
    return c;
}

__attribute__((format(printf, 2, 3))) static bool fail(struct hvs_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    c->ok = false;
    return false;
}

static void bank_info(struct hvs_bank *b)
{
    b->name = b->alg == 0x0004 ? "SHA1" : b->alg == 0x000b ? "SHA256" : b->alg == 0x000c ? "SHA384" : NULL;
    b->size = b->alg == 0x0004 ? 20 : b->alg == 0x000b ? 32 : b->alg == 0x000c ? 48 : 0;
}

static const char *str_item(const cJSON *j, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

struct parsed {
    const uint8_t *attest, *extra, *digest, *sig, *values;
    size_t attest_len, extra_len, digest_len, sig_len, values_len;
};

/* TPMS_ATTEST + TPMT_SIGNATURE as HVS reads them. */
static bool parse_blob(const uint8_t *blob, size_t len, struct hvs_quote *q, struct parsed *o,
                       struct hvs_check *c)
{
    if (len < 2)
        return fail(c, "quote blob of %zu bytes", len);
    o->attest_len = be16(blob);
    o->attest = blob + 2;
    const uint8_t *end = o->attest + o->attest_len, *p = o->attest, *blob_end = blob + len;
    if (end + 6 > blob_end)
        return fail(c, "attestSize %zu overruns the %zu-byte blob", o->attest_len, len);
#define NEED(n)                                                                                              \
    do {                                                                                                     \
        if ((size_t)(end - p) < (size_t)(n))                                                                 \
            return fail(c, "TPMS_ATTEST truncated at offset %zu", (size_t)(p - o->attest));                  \
    } while (0)
    NEED(6);
    if (p[0] != 0xff || p[1] != 'T' || p[2] != 'C' || p[3] != 'G')
        return fail(c, "TPMS_ATTEST magic %02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
    if (be16(p + 4) != 0x8018)
        return fail(c, "TPMS_ATTEST type %#x is not TPM_ST_ATTEST_QUOTE", be16(p + 4));
    p += 6;
    NEED(2);
    size_t signer = be16(p);
    NEED(2 + signer);
    p += 2 + signer;
    NEED(2);
    o->extra_len = be16(p);
    NEED(2 + o->extra_len);
    o->extra = p + 2;
    p += 2 + o->extra_len;
    NEED(17 + 8 + 4);
    p += 17 + 8;
    uint32_t count = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    p += 4;
    if (count > HVS_MAX_BANKS)
        return fail(c, "PCR selection count %u > %d", count, HVS_MAX_BANKS);
    q->nbanks = count;
    for (uint32_t i = 0; i < count; i++) {
        struct hvs_bank *b = &q->banks[i];
        NEED(3);
        b->alg = be16(p);
        size_t sz = p[2];
        b->select_size = p[2];
        NEED(3 + sz);
        memset(b->bits, 0, 3);
        memcpy(b->bits, p + 3, sz < 3 ? sz : 3);
        bank_info(b);
        p += 3 + sz;
        if (!b->name)
            return fail(c, "PCR selection: unknown hash algorithm %#x", b->alg);
    }
    NEED(2);
    o->digest_len = be16(p);
    NEED(2 + o->digest_len);
    o->digest = p + 2;
#undef NEED
    const uint8_t *s = end;
    if (be16(s) != 0x0014 || be16(s + 2) != 0x000b)
        return fail(c, "signature scheme %#x/%#x is not RSASSA/SHA256", be16(s), be16(s + 2));
    o->sig_len = be16(s + 4);
    o->sig = s + 6;
    if (o->sig + o->sig_len > blob_end)
        return fail(c, "signature of %zu bytes overruns the blob", o->sig_len);
    o->values = o->sig + o->sig_len;
    o->values_len = (size_t)(blob_end - o->values);
    c->ok = true;
    return true;
}

bool hvs_verify_quote(const cJSON *resp, const uint8_t *nonce, size_t nonce_len, struct hvs_quote *q)
{
    memset(q, 0, sizeof(*q));
    struct hvs_check *c_resp = check(q, "response"), *c_aik = check(q, "aik-certificate"),
                     *c_parse = check(q, "quote-parse"), *c_sig = check(q, "aik-signature"),
                     *c_nonce = check(q, "nonce"), *c_pcr = check(q, "pcr-digest");
    const char *na = "not checked: an earlier check failed";
    X509 *x = NULL;
    uint8_t *pem = NULL, *blob = NULL, *tag = NULL;
    size_t pem_len = 0, blob_len = 0, tag_len = 0;
    struct parsed o = {0};

    /* response */
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(resp, "ErrorCode");
    const char *aik_b64 = str_item(resp, "Aik"), *quote_b64 = str_item(resp, "Quote");
    if (!cJSON_IsObject(resp))
        fail(c_resp, "reply is not a JSON object");
    else if (!cJSON_IsNumber(code) || code->valueint != 0)
        fail(c_resp, "ErrorCode %d: %s", cJSON_IsNumber(code) ? code->valueint : -1,
             str_item(resp, "ErrorMessage") ? str_item(resp, "ErrorMessage") : "?");
    else if (!aik_b64 || !quote_b64)
        fail(c_resp, "Aik or Quote missing");
    else
        c_resp->ok = true;
    if (c_resp->ok) {
        q->tag_provisioned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "IsTagProvisioned"));
        if (q->tag_provisioned) {
            const char *t = str_item(resp, "AssetTag");
            tag = t ? hvs_b64_decode(t, &tag_len) : NULL;
            if (tag && tag_len == 48)
                memcpy(q->tag, tag, 48);
            else
                fail(c_resp, "IsTagProvisioned but AssetTag is not 48 base64 bytes");
            c_resp->ok = c_resp->msg[0] == '\0';
        }
    }

    /* aik-certificate */
    if (!c_resp->ok)
        fail(c_aik, "%s", na);
    else if (!(pem = hvs_b64_decode(aik_b64, &pem_len)))
        fail(c_aik, "Aik is not base64");
    else if (go_x509_hvs_aik(pem, pem_len, &x, c_aik->msg, sizeof(c_aik->msg)) == 0)
        c_aik->ok = true; /* as strict as Go's x509.ParseCertificate, which HVS runs on it (go_x509.h) */

    /* quote-parse */
    if (!c_resp->ok)
        fail(c_parse, "%s", na);
    else if (!(blob = hvs_b64_decode(quote_b64, &blob_len)))
        fail(c_parse, "Quote is not base64");
    else
        parse_blob(blob, blob_len, q, &o, c_parse);

    /* aik-signature */
    if (!c_aik->ok || !c_parse->ok)
        fail(c_sig, "%s", na);
    else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)) == 1 &&
            EVP_DigestVerify(md, o.sig, o.sig_len, o.attest, o.attest_len) == 1)
            c_sig->ok = true;
        else
            fail(c_sig, "RSASSA-PKCS1v1.5-SHA256 signature over the %zu-byte attest does not verify",
                 o.attest_len);
        EVP_MD_CTX_free(md);
    }

    /* nonce */
    if (!c_parse->ok)
        fail(c_nonce, "%s", na);
    else {
        uint8_t want[32];
        SHA256(nonce, nonce_len, want);
        if (q->tag_provisioned) {
            uint8_t buf[32 + 48];
            memcpy(buf, want, 32);
            memcpy(buf + 32, q->tag, 48);
            SHA256(buf, sizeof(buf), want);
        }
        if (o.extra && o.extra_len == 32 && memcmp(o.extra, want, 32) == 0)
            c_nonce->ok = true;
        else {
            char got[2 * 64 + 1], exp[65];
            hvs_hex(o.extra, o.extra_len < 64 ? o.extra_len : 64, got);
            hvs_hex(want, 32, exp);
            fail(c_nonce, "extraData %s != %s%s", got, exp,
                 q->tag_provisioned ? " (SHA-256(SHA-256(nonce)||tag))" : " (SHA-256(nonce))");
        }
    }

    /* pcr-digest: walk the selection (bank order, bit order), consuming values after the signature */
    if (!c_parse->ok)
        fail(c_pcr, "%s", na);
    else {
        size_t off = 0;
        bool capped = false, short_blob = false;
        for (uint32_t i = 0; i < q->nbanks; i++) {
            struct hvs_bank *b = &q->banks[i];
            for (int k = 0; k < 24; k++) {
                if (!(b->bits[k / 8] & (1u << (k % 8))))
                    continue;
                if (off + b->size >= HVS_PCR_CAP) {
                    capped = true;
                    continue;
                }
                if (!o.values || off + b->size > o.values_len) {
                    short_blob = true;
                    continue;
                }
                memcpy(b->value[k], o.values + off, b->size);
                b->have[k] = true;
                off += b->size;
            }
        }
        uint8_t got[32];
        SHA256(o.values ? o.values : got, off, got); /* off is 0 when there are no values */
        if (capped)
            fail(c_pcr, "selected PCR values exceed HVS's %d-byte cap", HVS_PCR_CAP);
        else if (short_blob)
            fail(c_pcr, "quote blob holds %zu bytes of PCR values, fewer than the selection needs",
                 o.values_len);
        else if (off != o.values_len)
            fail(c_pcr, "%zu trailing bytes after the selected PCR values", o.values_len - off);
        else if (!o.digest || o.digest_len != 32 || memcmp(got, o.digest, 32) != 0)
            fail(c_pcr, "SHA-256 of the %zu bytes of PCR values != pcrDigest", off);
        else
            c_pcr->ok = true;
    }

    X509_free(x);
    free(pem);
    free(blob);
    free(tag);
    for (size_t i = 0; i < q->nchecks; i++)
        if (!q->checks[i].ok)
            return false;
    return true;
}

const uint8_t *hvs_quoted_pcr(const struct hvs_quote *q, const char *bank, int pcr, size_t *ret_size)
{
    if (pcr < 0 || pcr > 23)
        return NULL;
    for (uint32_t i = 0; i < q->nbanks; i++)
        if (q->banks[i].name && strcmp(q->banks[i].name, bank) == 0 && q->banks[i].have[pcr]) {
            *ret_size = q->banks[i].size;
            return q->banks[i].value[pcr];
        }
    return NULL;
}

/* ---- replay ---- */

static const struct {
    const char *name;
    size_t size;
} replay_banks[] = {{"SHA1", 20}, {"SHA256", 32}, {"SHA384", 48}};
#define NREPLAY (sizeof(replay_banks) / sizeof(replay_banks[0]))

struct replay_state {
    bool seen[NREPLAY][24];
    uint8_t value[NREPLAY][24][48];
};

static bool unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]))
            return false;
        char h[3] = {s[2 * i], s[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(h, NULL, 16);
    }
    return true;
}

static bool has_tag(const cJSON *ev, const char *tag)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(ev, "tags")) if (cJSON_IsString(t) &&
                                                                            strcmp(t->valuestring, tag) ==
                                                                                0) return true;
    return false;
}

static bool replay_fail(struct hvs_replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool replay_fail(struct hvs_replay *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    return false;
}

static bool replay_groups(const cJSON *log, struct replay_state *st, struct hvs_replay *r)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, log)
    {
        const cJSON *pcr = cJSON_GetObjectItemCaseSensitive(g, "pcr");
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(pcr, "index");
        const char *bank = str_item(pcr, "bank");
        if (!cJSON_IsNumber(idx) || idx->valueint < 0 || idx->valueint > 23 || !bank)
            return replay_fail(r, "event group without a valid pcr index/bank");
        size_t b = 0;
        while (b < NREPLAY && strcmp(replay_banks[b].name, bank) != 0)
            b++;
        if (b == NREPLAY)
            return replay_fail(r, "unknown bank %s", bank);
        int k = idx->valueint;
        size_t size = replay_banks[b].size;
        const EVP_MD *md = size == 20 ? EVP_sha1() : size == 32 ? EVP_sha256() : EVP_sha384();
        const cJSON *ev;
        cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(g, "tpm_events"))
        {
            const char *type = str_item(ev, "type_name");
            bool no_action = type && strcmp(type, "EV_NO_ACTION") == 0;
            if (!st->seen[b][k]) { /* first event of this bank/pcr after merging */
                st->seen[b][k] = true;
                memset(st->value[b][k], 0, size);
                if (k == 0 && no_action && has_tag(ev, "StartupLocality3"))
                    st->value[b][k][size - 1] = 3;
            }
            if (no_action)
                continue;
            const char *m = str_item(ev, "measurement");
            uint8_t buf[96];
            if (!m || !unhex(m, buf + size, size))
                return replay_fail(r, "%s pcr %d: measurement %.100s is not %zu hex bytes", bank, k,
                                   m ? m : "(none)", size);
            memcpy(buf, st->value[b][k], size);
            unsigned int outl = 0;
            EVP_Digest(buf, 2 * size, st->value[b][k], &outl, md, NULL);
        }
    }
    return true;
}

bool hvs_replay_eventlog(const char *eventlog, const struct hvs_quote *q, struct hvs_replay *r)
{
    memset(r, 0, sizeof(*r));
    r->pcrs = cJSON_CreateObject();
    r->details = cJSON_CreateObject();
    cJSON *log = cJSON_Parse(eventlog ? eventlog : "");
    if (!cJSON_IsArray(log)) {
        cJSON_Delete(log);
        return replay_fail(r, "EventLog is not a measure-log JSON array");
    }
    struct replay_state *st = calloc(1, sizeof(*st));
    bool ok = replay_groups(log, st, r);
    cJSON_Delete(log);
    for (size_t b = 0; ok && b < NREPLAY; b++) {
        cJSON *bank = NULL, *det = NULL;
        for (int k = 0; k < 24; k++) {
            if (!st->seen[b][k])
                continue;
            if (!bank)
                cJSON_AddItemToObject(r->pcrs, replay_banks[b].name, bank = cJSON_CreateObject());
            char key[4];
            snprintf(key, sizeof(key), "%d", k);
            size_t size = 0;
            const uint8_t *quoted = hvs_quoted_pcr(q, replay_banks[b].name, k, &size);
            if (!quoted) {
                r->unquoted++;
                cJSON_AddStringToObject(bank, key, "not-quoted");
                continue;
            }
            r->compared++;
            if (memcmp(quoted, st->value[b][k], size) == 0) {
                cJSON_AddStringToObject(bank, key, "match");
                continue;
            }
            r->mismatched++;
            cJSON_AddStringToObject(bank, key, "mismatch");
            if (!det)
                cJSON_AddItemToObject(r->details, replay_banks[b].name, det = cJSON_CreateObject());
            char hex[97];
            cJSON *d = cJSON_AddObjectToObject(det, key);
            hvs_hex(st->value[b][k], size, hex);
            cJSON_AddStringToObject(d, "replayed", hex);
            hvs_hex(quoted, size, hex);
            cJSON_AddStringToObject(d, "quoted", hex);
        }
    }
    free(st);
    return ok && r->mismatched == 0;
}
