/* SPDX-License-Identifier: BSD-3-Clause */
/* The platform's boot event log and the measure-log JSON built from it (for init, eventlog, startService). */
#include "agent_paths.h"
#include "boot_log.h"
#include "config.h"
#include "eventlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int boot_log_load(const char *root, struct eventlog **ret_log, const char **ret_source, char **ret_error)
{
    char *fs = config_path(root, SECURITYFS_LOG), *table = config_path(root, ACPI_TPM2_TABLE);
    char *mem = config_path(root, DEV_MEM), *fs_error = NULL, *acpi_error = NULL;
    int r = fs && table && mem ? eventlog_load(fs, NULL, ret_log, &fs_error) : -ENOMEM;
    if (r == 0)
        *ret_source = "securityfs";
    else if (r != -ENOMEM) {
        r = eventlog_load_acpi(table, mem, NULL, ret_log, &acpi_error);
        if (r == 0)
            *ret_source = "the ACPI log area in /dev/mem";
        else if (asprintf(ret_error, "%s; and from ACPI: %s%s", fs_error ? fs_error : "?",
                          acpi_error ? acpi_error : "?",
                          r == -EACCES || r == -EPERM ? " (reading them needs root)" : "") < 0)
            *ret_error = NULL;
    }
    free(fs);
    free(table);
    free(mem);
    free(fs_error);
    free(acpi_error);
    return r;
}

int boot_measure_log_build(const char *root, char **ret_json, const char **ret_what, char **ret_error)
{
    struct eventlog *log = NULL;
    const char *source = NULL;
    char *apps_path = config_path(root, APP_EVENTS_FILE), *apps = NULL, *log_error = NULL;
    size_t apps_len = 0;
    if (!apps_path)
        return -ENOMEM;
    int r = boot_log_load(root, &log, &source, &log_error);
    if (r == -ENOMEM)
        goto out;
    if (config_read_file(apps_path, APP_EVENTS_MAX, &apps, &apps_len) < 0) {
        apps = NULL; /* tbootxm is optional */
        apps_len = 0;
    }
    if (!log && !apps) {
        r = -ENODATA;
        *ret_error = log_error;
        log_error = NULL;
        goto out;
    }
    r = eventlog_measure_log_json(log, apps, apps_len, false, ret_json, ret_error);
    if (r == 0)
        *ret_what = !source ? "the application events only"
                    : apps  ? (strcmp(source, "securityfs") == 0
                                   ? "securityfs and the application events"
                                   : "the ACPI log area in /dev/mem and the application events")
                            : source;
out:
    eventlog_free(log);
    free(apps_path);
    free(apps);
    free(log_error);
    return r;
}
