/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing the signed-state file (docs/tep-formats.md 5.3): the form luks_signed_states_parse reads back. */
#include "cleanup_cjson.h"
#include "hex.h"
#include "luks_policy.h"
#include "tcg_alg.h"

#include <stdio.h>

#include <openssl/evp.h>

static cJSON *entry_format(const struct luks_signed_state *s)
{
    char hex[2 * LUKS_POLICY_MAX_DIGEST + 1], b64[4 * ((LUKS_POLICY_MAX_SIG + 2) / 3) + 1];
    _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
    cJSON *pcrs = cJSON_AddArrayToObject(o, "pcrs");
    if (!pcrs)
        return NULL;
    for (int i = 0; i < LUKS_POLICY_PCRS; i++)
        if ((s->state.pcr_mask & (1u << i)) && !cJSON_AddItemToArray(pcrs, cJSON_CreateNumber(i)))
            return NULL;
    hex_encode(s->pkfp, sizeof(s->pkfp), hex);
    if (!cJSON_AddStringToObject(o, "pkfp", hex))
        return NULL;
    hex_encode(s->pol, sizeof(s->pol), hex);
    if (!cJSON_AddStringToObject(o, "pol", hex))
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, s->sig, (int)s->sig_len);
    if (!cJSON_AddStringToObject(o, "sig", b64))
        return NULL;
    /* A double holds versions up to 2^53 exactly; the parser rejects larger ones, the admin tool refuses
     * them. */
    if (s->state.has_version && !cJSON_AddNumberToObject(o, "version", (double)s->state.version))
        return NULL;
    if (s->has_values) {
        cJSON *values = cJSON_AddObjectToObject(o, "pcr_values");
        if (!values)
            return NULL;
        for (int i = 0; i < LUKS_POLICY_PCRS; i++)
            if (s->state.pcr_mask & (1u << i)) {
                char key[4];
                snprintf(key, sizeof(key), "%d", i);
                hex_encode(s->state.values[i], tcg_alg_size(s->state.bank), hex);
                if (!cJSON_AddStringToObject(values, key, hex))
                    return NULL;
            }
    }
    return TAKE_PTR(o);
}

char *luks_signed_states_format(const struct luks_signed_states *states)
{
    static const struct {
        uint16_t alg;
        const char *name;
    } banks[] = {{TCG_ALG_SHA256, "sha256"}, {TCG_ALG_SHA384, "sha384"}};
    _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    for (size_t b = 0; b < 2; b++) {
        cJSON *arr = NULL;
        for (size_t i = 0; i < states->n; i++) {
            if (states->states[i].state.bank != banks[b].alg)
                continue;
            if (!arr && !(arr = cJSON_AddArrayToObject(root, banks[b].name)))
                return NULL;
            cJSON *e = entry_format(&states->states[i]);
            if (!e || !cJSON_AddItemToArray(arr, e)) {
                cJSON_Delete(e);
                return NULL;
            }
        }
    }
    return cJSON_Print(root);
}
