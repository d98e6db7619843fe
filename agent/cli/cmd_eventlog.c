/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `tagent eventlog [--file F] [--app-events F]`: the HVS measure-log JSON (Go-agent compatible, indented).
 * `tagent eventlog --replay [--file F] [--ima F]...`: the PCR values the log replays to, per bank, as JSON;
 * with --ima also PCR 10 from the IMA lists (ascii or binary; one per bank at most, each bank replayed from
 * its own list when given), with their template-hash check.
 * `tagent eventlog --check [--file F] [--ima F]... [--json] [--verbose]`: the replay against the TPM's own
 * PCRs, one line per bank and PCR, and for a mismatch the event that touched it last and why it may differ
 * (eventlog/pcr_check.c). Exit 0 when all match, 1 on a mismatch, 2 when it could not check.
 * Without --file the log is read from securityfs, else from the ACPI TPM2 log area in /dev/mem.
 */
#include "agent_paths.h"
#include "boot_log.h"
#include "cleanup.h"
#include "cli.h"
#include "cmd_eventlog.h"
#include "config.h"
#include "eventlog.h"
#include "hex.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int parse_args(int argc, char **argv, struct eventlog_args *a)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--replay"))
            a->replay = true;
        else if (!strcmp(argv[i], "--check"))
            a->check = true;
        else if (!strcmp(argv[i], "--json"))
            a->json = true;
        else if (!strcmp(argv[i], "--verbose"))
            a->verbose = true;
        else if (!strcmp(argv[i], "--file") && has_value)
            a->file = argv[++i];
        else if (!strcmp(argv[i], "--ima") && has_value && a->n_ima == IMA_FILES_MAX) {
            log_error("eventlog: more than %d --ima lists; the kernel keeps one per PCR bank", IMA_FILES_MAX);
            return -EINVAL;
        } else if (!strcmp(argv[i], "--ima") && has_value)
            a->ima[a->n_ima++] = argv[++i];
        else if (!strcmp(argv[i], "--app-events") && has_value)
            a->app_events = argv[++i];
        else {
            log_error("eventlog: unexpected argument \"%s\"; usage: %s", argv[i], cmd_eventlog.usage);
            return -EINVAL;
        }
    }
    if ((a->json || a->verbose) && !a->check) {
        log_error("eventlog: --json and --verbose go with --check; usage: %s", cmd_eventlog.usage);
        return -EINVAL;
    }
    if (a->check && a->replay) {
        log_error("eventlog: --check and --replay are two commands, give one; usage: %s", cmd_eventlog.usage);
        return -EINVAL;
    }
    return 0;
}

/* securityfs first; the ACPI area (the Go agent's only source) when securityfs is not there. */
static int load_system_log(const char *root, struct eventlog **ret_log, const char **ret_source)
{
    char *error = NULL;
    int r = boot_log_load(root, ret_log, ret_source, &error);
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

int eventlog_load_ima_files(const struct eventlog_args *a, struct ima_lists *ret)
{
    for (size_t i = 0; i < a->n_ima; i++) {
        _cleanup_free_ char *error = NULL;
        int r = ima_lists_add_file(ret, a->ima[i], 0, &error);
        if (r < 0) {
            log_error("eventlog: %s", error ? error : strerror(-r));
            return r;
        }
    }
    return 0;
}

/* {"entries":N,"template_hash_failures":K,"lists":[..],"pcr10":{"SHA1":..,...}} for the banks the boot log
 * has, each from its own list when there is one. */
static int ima_replay_json(const struct ima_lists *lists, const struct eventlog_pcrs *pcrs, cJSON *root)
{
    size_t failures = 0;
    for (size_t l = 0; l < lists->n; l++)
        for (size_t i = 0; i < lists->logs[l]->n_entries; i++)
            failures += !lists->logs[l]->entries[i].template_hash_ok;
    cJSON *obj = cJSON_AddObjectToObject(root, "ima"), *pcr10 = cJSON_AddObjectToObject(obj, "pcr10");
    cJSON *sources = cJSON_AddArrayToObject(obj, "lists");
    if (!obj || !pcr10 || !sources)
        return -ENOMEM;
    cJSON_AddNumberToObject(obj, "entries", (double)lists->logs[0]->n_entries);
    cJSON_AddNumberToObject(obj, "template_hash_failures", (double)failures);
    for (size_t l = 0; l < lists->n; l++)
        cJSON_AddItemToArray(sources, cJSON_CreateString(lists->sources[l]));
    for (uint32_t b = 0; b < pcrs->n_banks; b++) {
        _cleanup_free_ char *error = NULL;
        uint8_t value[EVENTLOG_MAX_DIGEST];
        char hex[2 * EVENTLOG_MAX_DIGEST + 1];
        if (!eventlog_alg_name(pcrs->banks[b].alg) ||
            ima_lists_replay_pcr10(lists, pcrs->banks[b].alg, value, &error) < 0)
            continue; /* a bank IMA cannot replay (reported by its absence) */
        hex_encode(value, pcrs->banks[b].size, hex);
        cJSON_AddStringToObject(pcr10, eventlog_alg_name(pcrs->banks[b].alg), hex);
    }
    if (failures)
        log_warning("eventlog: %zu IMA entries do not match their template hash", failures);
    return 0;
}

int cmd_eventlog_run(struct tagent_cli *cli, int argc, char **argv)
{
    struct eventlog_args args = {0};
    struct eventlog *log = NULL;
    char *error = NULL, *out = NULL, *app = NULL;
    const char *source = NULL;
    size_t app_len = 0;
    int r = parse_args(argc, argv, &args);
    if (r == 0 && args.file && (r = eventlog_load(args.file, NULL, &log, &error)) < 0)
        log_error("eventlog: %s", error);
    else if (r == 0 && !args.file)
        r = load_system_log(cli->root, &log, &source);

    if (r == 0 && args.check) {
        int status = cmd_eventlog_check(cli->root, &args, log, args.file ? args.file : source);
        free(error);
        eventlog_free(log);
        return status;
    }
    if (r == 0 && args.replay) {
        struct eventlog_pcrs pcrs;
        char *text = NULL;
        cJSON *root = NULL;
        if ((r = eventlog_replay(log, &pcrs, &error)) < 0)
            log_error("eventlog: replay failed: %s", error);
        else if (!(text = eventlog_pcrs_json(&pcrs)) || !(root = cJSON_Parse(text)))
            r = -ENOMEM;
        if (r == 0 && args.n_ima) {
            struct ima_lists lists = {0};
            if ((r = eventlog_load_ima_files(&args, &lists)) == 0)
                r = ima_replay_json(&lists, &pcrs, root);
            ima_lists_clear(&lists);
        }
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
