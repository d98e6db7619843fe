/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading the signed-state file (docs/tep-formats.md 5.3): strict, because the device decides with it; an
 * error names the entry ("sha256[1].sig") and what was wrong, so the owner can fix the file that was sent.
 */
#include "cleanup.h"
#include "cleanup_cjson.h"
#include "error.h"
#include "hex.h"
#include "luks_policy.h"
#include "tcg_alg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

static int hex_field(const cJSON *v, const char *where, const char *field, uint8_t *out, size_t size,
                     char **ret_error)
{
    size_t n = 0;
    if (!cJSON_IsString(v))
        return error_set(ret_error, -EINVAL, "%s.%s is not a string", where, field);
    size_t len = strlen(v->valuestring);
    if (len != 2 * size || hex_decode(v->valuestring, len, out, size, &n) < 0 || n != size)
        return error_set(ret_error, -EINVAL, "%s.%s is not %zu hex digits", where, field, 2 * size);
    return 0;
}

/* Standard base64 with padding, nothing else: EVP_DecodeBlock skips blanks and counts the padding as zero
 * bytes, so the characters are checked first and the padding subtracted. */
static int base64_field(const cJSON *v, const char *where, uint8_t *out, size_t cap, size_t *ret_len,
                        char **ret_error)
{
    if (!cJSON_IsString(v))
        return error_set(ret_error, -EINVAL, "%s.sig is not a string", where);
    const char *s = v->valuestring;
    size_t len = strlen(s), pad = 0;
    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    bool ok = len > 0 && len % 4 == 0 && len / 4 * 3 - pad <= cap;
    for (size_t i = 0; ok && i < len - pad; i++)
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '+' || s[i] == '/';
    uint8_t buf[LUKS_POLICY_MAX_SIG + 3];
    if (!ok || EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len) != (int)(len / 4 * 3)) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL, "%s.sig is not base64 of at most %zu bytes", where, cap);
    }
    *ret_len = len / 4 * 3 - pad;
    memcpy(out, buf, *ret_len);
    /* A DER ECDSA-Sig-Value and nothing after it: what `openssl dgst -sign` writes and the device converts.
     */
    const unsigned char *p = out;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)*ret_len);
    ok = sig && p == out + *ret_len;
    ECDSA_SIG_free(sig);
    if (!ok) {
        ERR_clear_error();
        return error_set(ret_error, -EINVAL, "%s.sig is not a DER ECDSA signature", where);
    }
    return 0;
}

static int pcrs_field(const cJSON *v, const char *where, uint32_t *ret_mask, char **ret_error)
{
    uint32_t mask = 0;
    int last = -1;
    const cJSON *e;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return error_set(ret_error, -EINVAL, "%s.pcrs is not a non-empty array", where);
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble <= last ||
            e->valuedouble >= LUKS_POLICY_PCRS)
            return error_set(ret_error, -EINVAL, "%s.pcrs: PCR indexes are integers 0-23 in ascending order",
                             where);
        last = (int)e->valuedouble;
        mask |= 1u << last;
    }
    *ret_mask = mask;
    return 0;
}

static int values_field(const cJSON *v, const char *where, struct luks_pcr_state *st, char **ret_error)
{
    const cJSON *e;
    uint32_t seen = 0;
    if (!cJSON_IsObject(v))
        return error_set(ret_error, -EINVAL, "%s.pcr_values is not an object", where);
    cJSON_ArrayForEach(e, v)
    {
        char *end = NULL, field[48];
        long i = strtol(e->string, &end, 10);
        if (e->string[0] < '0' || e->string[0] > '9' || *end || i < 0 || i >= LUKS_POLICY_PCRS ||
            !(st->pcr_mask & (1u << i)) || (seen & (1u << i)) || (e->string[0] == '0' && e->string[1]))
            return error_set(ret_error, -EINVAL, "%s.pcr_values: \"%s\" is not one of the PCRs in pcrs",
                             where, e->string);
        snprintf(field, sizeof(field), "pcr_values.%ld", i);
        int r = hex_field(e, where, field, st->values[i], tcg_alg_size(st->bank), ret_error);
        if (r < 0)
            return r;
        seen |= 1u << i;
    }
    if (seen != st->pcr_mask)
        return error_set(ret_error, -EINVAL, "%s.pcr_values does not give every PCR of pcrs", where);
    return 0;
}

static int entry_parse(const cJSON *o, uint16_t bank, const char *where, struct luks_signed_state *ret,
                       char **ret_error)
{
    static const char *const known[] = {"pcrs", "pkfp", "pol", "sig", "version", "pcr_values", NULL};
    const cJSON *e;
    if (!cJSON_IsObject(o))
        return error_set(ret_error, -EINVAL, "%s is not an object", where);
    unsigned seen = 0;
    cJSON_ArrayForEach(e, o)
    {
        size_t k = 0;
        while (known[k] && strcmp(known[k], e->string) != 0)
            k++;
        if (!known[k])
            return error_set(ret_error, -EINVAL, "%s has an unknown key \"%s\"", where, e->string);
        /* cJSON keeps both and finds the first: which one a reader takes would be an accident. */
        if (seen & (1u << k))
            return error_set(ret_error, -EINVAL, "%s has \"%s\" twice", where, e->string);
        seen |= 1u << k;
    }
    *ret = (struct luks_signed_state){.state.bank = bank};
    int r = pcrs_field(cJSON_GetObjectItemCaseSensitive(o, "pcrs"), where, &ret->state.pcr_mask, ret_error);
    if (r == 0)
        r = hex_field(cJSON_GetObjectItemCaseSensitive(o, "pkfp"), where, "pkfp", ret->pkfp, 32, ret_error);
    if (r == 0)
        r = hex_field(cJSON_GetObjectItemCaseSensitive(o, "pol"), where, "pol", ret->pol, 32, ret_error);
    if (r == 0)
        r = base64_field(cJSON_GetObjectItemCaseSensitive(o, "sig"), where, ret->sig, LUKS_POLICY_MAX_SIG,
                         &ret->sig_len, ret_error);
    if (r < 0)
        return r;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "version");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)LUKS_POLICY_MAX_VERSION ||
            v->valuedouble != floor(v->valuedouble))
            return error_set(ret_error, -EINVAL, "%s.version is not an integer from 0 to 2^53-1", where);
        ret->state.has_version = true;
        ret->state.version = (uint64_t)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "pcr_values");
    if (v) {
        r = values_field(v, where, &ret->state, ret_error);
        ret->has_values = r == 0;
    }
    return r;
}

int luks_signed_states_parse(const char *json, size_t len, struct luks_signed_states *ret, char **ret_error)
{
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_ParseWithLength(json, len);
    struct luks_signed_states out = {0};
    const cJSON *bank;
    int r = 0;
    if (!cJSON_IsObject(root))
        return error_set(ret_error, -EINVAL, "the signed states are not a JSON object");
    cJSON_ArrayForEach(bank, root)
    {
        uint16_t alg = strcmp(bank->string, "sha256") == 0   ? TCG_ALG_SHA256
                       : strcmp(bank->string, "sha384") == 0 ? TCG_ALG_SHA384
                                                             : 0;
        if (!alg) {
            r = error_set(ret_error, -EINVAL, "\"%s\": the signed states name banks sha256 and sha384 only",
                          bank->string);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(root, bank->string) != bank) {
            r = error_set(ret_error, -EINVAL, "\"%s\" is given twice", bank->string);
            break;
        }
        if (!cJSON_IsArray(bank)) {
            r = error_set(ret_error, -EINVAL, "\"%s\" is not an array of signed states", bank->string);
            break;
        }
        const cJSON *o;
        size_t i = 0;
        cJSON_ArrayForEach(o, bank)
        {
            char where[32];
            struct luks_signed_state s;
            snprintf(where, sizeof(where), "%s[%zu]", bank->string, i++);
            r = entry_parse(o, alg, where, &s, ret_error);
            if (r == 0)
                r = luks_signed_states_add(&out, &s);
            if (r == -ENOMEM)
                error_set(ret_error, r, "out of memory reading the signed states");
            if (r < 0)
                break;
        }
        if (r < 0)
            break;
    }
    if (r < 0) {
        luks_signed_states_clear(&out);
        return r;
    }
    *ret = out;
    return 0;
}

int luks_signed_states_add(struct luks_signed_states *states, const struct luks_signed_state *s)
{
    struct luks_signed_state *p = reallocarray(states->states, states->n + 1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p[states->n++] = *s;
    states->states = p;
    return 0;
}

void luks_signed_states_clear(struct luks_signed_states *states)
{
    free(states->states);
    *states = (struct luks_signed_states){0};
}
