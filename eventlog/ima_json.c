/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HVS's imaLogs value (spec section 6): the Go agent's struct serialised in field order
 * {"pcr":{"index":10,"bank":..},"ima_measurements":[{"file":..,"measurement":..}],"ima_template":..}.
 * The Go agent splits lines at spaces and so cuts a name at its first space; this one keeps the whole name.
 */
#include "hex.h"
#include "ima_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

static cJSON *measurement_json(const struct ima_entry *e)
{
    char hex[2 * sizeof(e->file_hash) + 1];
    cJSON *m = cJSON_CreateObject();
    hex_encode(e->file_hash, e->file_hash_len, hex);
    if (!m || !cJSON_AddStringToObject(m, "file", e->path ? e->path : "") ||
        !cJSON_AddStringToObject(m, "measurement", hex)) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static cJSON *logs_json(const struct ima_log *log, const char *bank)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *pcr = cJSON_AddObjectToObject(root, "pcr");
    bool ok =
        pcr && cJSON_AddNumberToObject(pcr, "index", IMA_PCR) && cJSON_AddStringToObject(pcr, "bank", bank);
    cJSON *list = ok ? cJSON_AddArrayToObject(root, "ima_measurements") : NULL;
    ok = list != NULL;
    for (size_t i = 0; ok && i < log->n_entries; i++) {
        cJSON *m = measurement_json(&log->entries[i]);
        ok = m && cJSON_AddItemToArray(list, m);
        if (!ok)
            cJSON_Delete(m);
    }
    /* The kernel's default template names an empty log. */
    const char *tmpl = log->n_entries ? ima_template_name(log->entries[0].template_kind) : "ima-ng";
    if (!ok || !cJSON_AddStringToObject(root, "ima_template", tmpl)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int ima_logs_json(const struct ima_log *log, uint16_t bank, char **ret_json, char **ret_error)
{
    const char *bank_name = eventlog_alg_name(bank);
    if (!bank_name)
        return ima_fail(ret_error, -EINVAL, "PCR bank 0x%04x has no name", bank);
    cJSON *root = logs_json(log, bank_name);
    char *json = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json)
        return ima_fail(ret_error, -ENOMEM, "out of memory");
    *ret_json = json;
    return 0;
}
