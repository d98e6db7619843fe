/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HVS measure-log JSON (spec section 6), as the Go agent writes /opt/trustagent/var/measure-log.json:
 *   [{"pcr":{"index":N,"bank":"SHA256"},"tpm_events":[{"type_id":"0x8","type_name":"EV_S_CRTM_VERSION",
 *     "tags":["..."],"measurement":"<hex>"}]}]
 * One group per (PCR, bank) in first-seen order; each digest of an event is one entry in its bank's group.
 * Groups of different sources (UEFI log, tbootxm application events) are not merged.
 */
#include "hex.h"
#include "tcg_internal.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define EV_NO_ACTION    0x3
#define EV_TBOOT_MODULE 0x501 /* tboot's module measurements, named by their order */
#define EV_APPLICATION  0x90000001

struct groups {
    cJSON *root;  /* the JSON array */
    size_t first; /* groups of the current source start here */
};

/* The tpm_events array of the (pcr, bank) group of the current source, created on first use. */
static cJSON *group_events(struct groups *g, uint32_t pcr, const char *bank)
{
    size_t i = 0;
    cJSON *grp;
    cJSON_ArrayForEach(grp, g->root)
    {
        if (i++ < g->first)
            continue;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(grp, "pcr");
        if ((uint32_t)cJSON_GetObjectItemCaseSensitive(p, "index")->valueint == pcr &&
            !strcmp(cJSON_GetObjectItemCaseSensitive(p, "bank")->valuestring, bank))
            return cJSON_GetObjectItemCaseSensitive(grp, "tpm_events");
    }
    grp = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(grp, "pcr");
    cJSON_AddNumberToObject(p, "index", pcr);
    cJSON_AddStringToObject(p, "bank", bank);
    cJSON *events = cJSON_AddArrayToObject(grp, "tpm_events");
    cJSON_AddItemToArray(g->root, grp);
    return events;
}

static void add_event(cJSON *events, uint32_t type, const char *type_name, const char *tag,
                      const char *measurement)
{
    char id[16];
    snprintf(id, sizeof(id), "0x%x", type);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type_id", id);
    if (type_name)
        cJSON_AddStringToObject(e, "type_name", type_name);
    if (tag) {
        cJSON *tags = cJSON_AddArrayToObject(e, "tags");
        cJSON_AddItemToArray(tags, cJSON_CreateString(tag));
    }
    cJSON_AddStringToObject(e, "measurement", measurement);
    cJSON_AddItemToArray(events, e);
}

/* 1st and 2nd tboot module: tb_policy, 3rd vmlinuz, 4th initrd, 5th asset-tag (the Go agent's naming). */
static const char *tboot_module_name(unsigned nth)
{
    static const char *const names[] = {"tb_policy", "tb_policy", "vmlinuz", "initrd", "asset-tag"};
    return nth < 5 ? names[nth] : NULL;
}

static int add_uefi_log(struct groups *g, const struct eventlog *log, char **ret_error)
{
    unsigned tboot_modules = 0;
    for (size_t i = 0; i < log->n_events; i++) {
        struct eventlog_event ev, *e = &ev;
        eventlog_event(log, i, &ev);
        const char *type_name = eventlog_type_name(e->type);
        char *tag = NULL;
        if (e->type == EV_TBOOT_MODULE) {
            type_name = tboot_module_name(tboot_modules++);
            tag = type_name ? strdup(type_name) : NULL;
        } else if (e->type >= 0x400 && e->type < 0x500 && type_name)
            tag = strdup(type_name); /* TXT events are tagged with their name */
        else
            tag = tcg_event_tag(e);
        /* HVS's replay crashes on an untagged EV_NO_ACTION that starts PCR 0; it skips the others anyway. */
        if (e->type == EV_NO_ACTION && !tag)
            continue;
        for (uint32_t d = 0; d < e->n_digests; d++) {
            const char *bank = eventlog_alg_name(e->digests[d].alg);
            char measurement[2 * EVENTLOG_MAX_DIGEST + 1];
            if (!bank)
                continue; /* HVS knows no name for it */
            hex_encode(e->digests[d].value, e->digests[d].size, measurement);
            cJSON *events = group_events(g, e->pcr, bank);
            if (!events) {
                free(tag);
                return eventlog_fail(ret_error, -ENOMEM, "out of memory");
            }
            add_event(events, e->type, type_name, tag, measurement);
        }
        free(tag);
    }
    return 0;
}

/* One line of tbootxm's pcr_event_log: bank \t pcr \t name \t hex measurement. */
static int add_app_line(struct groups *g, char *line, unsigned lineno, char **ret_error)
{
    char *fields[4], *save = NULL;
    size_t n = 0;
    for (char *f = strtok_r(line, "\t", &save); f && n < 4; f = strtok_r(NULL, "\t", &save))
        fields[n++] = f;
    if (n != 4 || strtok_r(NULL, "\t", &save))
        return eventlog_fail(ret_error, -EBADMSG,
                             "application event line %u: expected 4 tab-separated fields", lineno);
    const struct tcg_alg *bank = tcg_alg_from_name(fields[0]);
    char *end;
    long pcr = strtol(fields[1], &end, 10);
    size_t mlen = strlen(fields[3]);
    if (!bank)
        return eventlog_fail(ret_error, -EBADMSG, "application event line %u: unknown bank \"%.16s\"", lineno,
                             fields[0]);
    if (*end || end == fields[1] || pcr < 0 || pcr >= EVENTLOG_PCRS)
        return eventlog_fail(ret_error, -EBADMSG, "application event line %u: PCR index must be 0 to 23",
                             lineno);
    if (mlen != 2 * bank->size || !hex_is_digits(fields[3], mlen))
        return eventlog_fail(ret_error, -EBADMSG,
                             "application event line %u: the measurement must be %zu hex digits", lineno,
                             2 * bank->size);
    for (char *p = fields[3]; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    cJSON *events = group_events(g, (uint32_t)pcr, bank->name);
    if (!events)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    add_event(events, EV_APPLICATION, "APPLICATION_AGENT_MEASUREMENT", fields[2], fields[3]);
    return 0;
}

static int add_app_events(struct groups *g, const char *text, size_t len, char **ret_error)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (strlen(copy) != len) {
        free(copy);
        return eventlog_fail(ret_error, -EBADMSG, "the application event file contains a NUL byte");
    }
    g->first = (size_t)cJSON_GetArraySize(g->root);
    int r = 0;
    unsigned lineno = 0;
    for (char *line = copy, *next; line && r == 0; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n)
            r = add_app_line(g, line, lineno, ret_error);
    }
    free(copy);
    return r;
}

int eventlog_measure_log_json(const struct eventlog *log, const char *app_events, size_t app_events_len,
                              bool pretty, char **ret_json, char **ret_error)
{
    struct groups g = {.root = cJSON_CreateArray()};
    if (ret_error)
        *ret_error = NULL;
    if (!g.root)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    int r = log ? add_uefi_log(&g, log, ret_error) : 0;
    if (r == 0 && app_events)
        r = add_app_events(&g, app_events, app_events_len, ret_error);
    if (r == 0) {
        *ret_json = pretty ? cJSON_Print(g.root) : cJSON_PrintUnformatted(g.root);
        if (!*ret_json)
            r = eventlog_fail(ret_error, -ENOMEM, "out of memory");
    }
    cJSON_Delete(g.root);
    return r;
}
