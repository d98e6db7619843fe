/* SPDX-License-Identifier: BSD-3-Clause */
/* `tagent eventlog`'s arguments, shared by the replay side (cmd_eventlog.c, module "eventlog": libc and
 * libcjson only) and --check (cmd_eventlog_check.c, module "manage": it reads the TPM). */
#ifndef TAGENT_CMD_EVENTLOG_H
#define TAGENT_CMD_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "eventlog.h"

/* --check's statuses, as diff(1) and cmp(1) have them: a script tells "a PCR differs" from "could not check".
 */
#define TAGENT_EXIT_CHECK_MISMATCH 1
#define TAGENT_EXIT_CHECK_ERROR    2

/* --ima may name one list per PCR bank (the kernel's ..._runtime_measurements_<alg> files). */
#define IMA_FILES_MAX EVENTLOG_MAX_BANKS

struct eventlog_args {
    const char *file;
    const char *ima[IMA_FILES_MAX];
    size_t n_ima;
    const char *app_events;
    bool replay;
    bool check, json, verbose; /* --check and its output options */
};

struct tagent_cli;

/* The --ima files, one per bank at most (each list's algorithm from its name or content); every failure is
 * reported. */
int eventlog_load_ima_files(const struct eventlog_args *a, struct ima_lists *ret);

/* --check: the log against the TPM's PCRs. Exit status: 0 all match, 1 a mismatch, 2 could not check. */
int cmd_eventlog_check(const char *root, const struct eventlog_args *a, const struct eventlog *log,
                       const char *log_source);

#endif
