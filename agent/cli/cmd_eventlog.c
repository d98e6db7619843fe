/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent eventlog [--file F] [--app-events F]`: the HVS measure-log JSON (Go-agent compatible, indented).
 * `tagent eventlog --replay [--file F] [--ima F]`: the PCR values the log replays to, per bank, as JSON; with
 * --ima also PCR 10 from the IMA log (ascii or binary), with its template-hash check.
 * Without --file the log is read from securityfs, else from the ACPI TPM2 log area in /dev/mem.
 */
#include "agent_paths.h"
#include "boot_log.h"
#include "cli.h"
#include "config.h"
#include "eventlog.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct eventlog_args {
    const char *file;
    const char *ima;
    const char *app_events;
    bool replay;
};

static int parse_args(int argc, char **argv, struct eventlog_args *a)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--replay"))
            a->replay = true;
        else if (!strcmp(argv[i], "--file") && has_value)
            a->file = argv[++i];
        else if (!strcmp(argv[i], "--ima") && has_value)
            a->ima = argv[++i];
        else if (!strcmp(argv[i], "--app-events") && has_value)
            a->app_events = argv[++i];
        else {
            log_error("eventlog: unexpected argument \"%s\"; usage: %s", argv[i], cmd_eventlog.usage);
            return -EINVAL;
        }
    }
    return 0;
}

/* securityfs first; the ACPI area (the Go agent's only source) when securityfs is not there. */
static int load_system_log(const char *root, struct eventlog **ret_log)
{
    const char *source = NULL;
    char *error = NULL;
    int r = boot_log_load(root, ret_log, &source, &error);
    if (r < 0)
        log_error("eventlog: no event log could be read: %s", error ? error : strerror(-r));
    free(error);
    return r;
}

/* The tbootxm application events: the given file, else the default one if it exists. */
static int load_app_events(const char *root, const char *given, char **ret_text, size_t *ret_len)
{
    char *path = given ? strdup(given) : config_path(root, APP_EVENTS_FILE);
    if (!path)
        return -ENOMEM;
    int r = config_read_file(path, APP_EVENTS_MAX, ret_text, ret_len);
    if (r == -ENOENT && !given)
        r = 0, *ret_text = NULL;
    else if (r < 0)
        log_error("eventlog: %s: cannot read: %s", path, strerror(-r));
    free(path);
    return r;
}

/* {"entries":N,"template_hash_failures":K,"pcr10":{"SHA1":..,...}} for the banks the boot log has. */
static int ima_replay_json(const char *path, const struct eventlog_pcrs *pcrs, cJSON *root)
{
    struct ima_log *ima = NULL;
    char *error = NULL;
    int r = ima_load(path, 0, &ima, &error);
    if (r < 0) {
        log_error("eventlog: %s", error);
        free(error);
        return r;
    }
    size_t failures = 0;
    for (size_t i = 0; i < ima->n_entries; i++)
        failures += !ima->entries[i].template_hash_ok;
    cJSON *obj = cJSON_AddObjectToObject(root, "ima"), *pcr10 = cJSON_AddObjectToObject(obj, "pcr10");
    cJSON_AddNumberToObject(obj, "entries", (double)ima->n_entries);
    cJSON_AddNumberToObject(obj, "template_hash_failures", (double)failures);
    for (uint32_t b = 0; b < pcrs->n_banks && r == 0; b++) {
        uint8_t value[EVENTLOG_MAX_DIGEST];
        char hex[2 * EVENTLOG_MAX_DIGEST + 1];
        if (!eventlog_alg_name(pcrs->banks[b].alg) ||
            ima_replay_pcr10(ima, pcrs->banks[b].alg, value, &error) < 0)
            continue; /* a bank IMA cannot replay (reported by its absence) */
        for (size_t k = 0; k < pcrs->banks[b].size; k++)
            snprintf(hex + 2 * k, 3, "%02x", value[k]);
        cJSON_AddStringToObject(pcr10, eventlog_alg_name(pcrs->banks[b].alg), hex);
    }
    free(error);
    ima_log_free(ima);
    if (failures)
        log_warning("eventlog: %zu IMA entries do not match their template hash", failures);
    return 0;
}

static int run(struct tagent_cli *cli, int argc, char **argv)
{
    struct eventlog_args args = {0};
    struct eventlog *log = NULL;
    char *error = NULL, *out = NULL, *app = NULL;
    size_t app_len = 0;
    int r = parse_args(argc, argv, &args);
    if (r == 0 && args.file && (r = eventlog_load(args.file, NULL, &log, &error)) < 0)
        log_error("eventlog: %s", error);
    else if (r == 0 && !args.file)
        r = load_system_log(cli->root, &log);

    if (r == 0 && args.replay) {
        struct eventlog_pcrs pcrs;
        char *text = NULL;
        cJSON *root = NULL;
        if ((r = eventlog_replay(log, &pcrs, &error)) < 0)
            log_error("eventlog: replay failed: %s", error);
        else if (!(text = eventlog_pcrs_json(&pcrs)) || !(root = cJSON_Parse(text)))
            r = -ENOMEM;
        if (r == 0 && args.ima)
            r = ima_replay_json(args.ima, &pcrs, root);
        if (r == 0 && !(out = cJSON_Print(root)))
            r = -ENOMEM;
        cJSON_Delete(root);
        free(text);
    } else if (r == 0) {
        r = load_app_events(cli->root, args.app_events, &app, &app_len);
        if (r == 0 && (r = eventlog_measure_log_json(log, app, app_len, true, &out, &error)) < 0)
            log_error("eventlog: %s", error);
    }
    if (r == 0)
        puts(out);
    free(out);
    free(app);
    free(error);
    eventlog_free(log);
    return r == 0 && fflush(stdout) == 0 ? TAGENT_EXIT_OK : TAGENT_EXIT_ERROR;
}

const struct tagent_command cmd_eventlog = {
    .name = "eventlog",
    .aliases = NULL,
    .usage = "eventlog [--replay [--ima F]] [--file F] [--app-events F]",
    .summary = "print the measure-log JSON HVS gets, or (--replay) the PCR values the log replays to",
    .run = run,
};
