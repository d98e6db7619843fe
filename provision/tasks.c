/* SPDX-License-Identifier: BSD-3-Clause */
/* The task table in `setup all` order (spec section 2), the groups, and the plan for a command line. */
#include "provision.h"
#include "tasks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const struct provision_task *const provision_tasks[] = {
    &task_update_service_config,
    &task_download_ca_cert,
    &task_download_privacy_ca,
    &task_take_ownership,
    &task_define_tag_index,
    &task_provision_aik,
    &task_provision_primary_key,
    &task_download_api_token,
    &task_download_credential, /* outbound mode */
    &task_download_cert,       /* http mode */
    &task_create_host,         /* optional */
    &task_create_host_unique_flavor,
    NULL,
};

/* The tasks whose validate cannot see their result (provision_task_checkable()). */
static const struct provision_task *const uncheckable[] = {
    &task_create_host_unique_flavor, /* HVS has no "does this host's flavor exist" query */
    NULL,
};

bool provision_task_checkable(const struct provision_task *t)
{
    for (size_t i = 0; uncheckable[i]; i++)
        if (uncheckable[i] == t)
            return false;
    return true;
}

static const struct {
    const char *name;
    const struct provision_task *const *tasks;
} groups[] = {
    {"provision-attestation",
     (const struct provision_task *const[]){&task_download_privacy_ca, &task_take_ownership,
                                            &task_define_tag_index, &task_provision_aik,
                                            &task_provision_primary_key, NULL}},
    {"update-certificates",
     (const struct provision_task *const[]){&task_download_ca_cert, &task_download_cert, NULL}},
};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

const struct provision_task *provision_task_find(const char *name)
{
    for (size_t i = 0; provision_tasks[i]; i++)
        if (strcmp(provision_tasks[i]->name, name) == 0)
            return provision_tasks[i];
    return NULL;
}

bool provision_name_known(const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        if (!strcmp(name, groups[g].name))
            return true;
    return !strcmp(name, "all") || provision_task_find(name);
}

static bool mode_fits(const struct provision_task *t, enum config_mode mode)
{
    return t->mode == TASK_MODE_ANY || (t->mode == TASK_MODE_OUTBOUND) == (mode == CONFIG_MODE_OUTBOUND);
}

static int add(const struct provision_task *t, const struct provision_task **out, size_t max, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i] == t)
            return 0;
    if (*n == max)
        return -E2BIG;
    out[(*n)++] = t;
    return 0;
}

int provision_plan(const char *const *names, size_t n_names, enum config_mode mode,
                   const struct provision_task **out, size_t max, size_t *ret_n, char **ret_error)
{
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; i < n_names && r == 0; i++) {
        const struct provision_task *const *list = NULL;
        if (!strcmp(names[i], "all"))
            list = provision_tasks;
        for (size_t g = 0; g < N_GROUPS && !list; g++)
            if (!strcmp(names[i], groups[g].name))
                list = groups[g].tasks;
        if (list) {
            for (size_t k = 0; list[k] && r == 0; k++)
                if (mode_fits(list[k], mode) && !(list == provision_tasks && list[k]->optional))
                    r = add(list[k], out, max, &n);
            continue;
        }
        const struct provision_task *t = provision_task_find(names[i]);
        if (!t)
            r = -ENOENT;
        else if (!mode_fits(t, mode)) {
            if (ret_error &&
                asprintf(
                    ret_error,
                    "%s is only for TA_SERVICE_MODE=%s, and this host's mode is %s (TA_SERVICE_MODE from "
                    "-f FILE or the environment, else config.yml's mode, else the default http): give "
                    "TA_SERVICE_MODE=%s in trustagent.env with -f, or run the %s tasks",
                    t->name, t->mode == TASK_MODE_OUTBOUND ? "outbound" : "http", config_mode_name(mode),
                    t->mode == TASK_MODE_OUTBOUND ? "outbound" : "http", config_mode_name(mode)) < 0)
                *ret_error = NULL;
            return -EINVAL;
        } else
            r = add(t, out, max, &n);
    }
    *ret_n = n;
    return r;
}
