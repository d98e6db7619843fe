/* SPDX-License-Identifier: BSD-3-Clause */
/* The platform's boot measurements as the agent reads them (spec 6): for `tagent eventlog`, `tagent init` and
 * the quotes of the service. */
#ifndef TAGENT_BOOT_LOG_H
#define TAGENT_BOOT_LOG_H

struct eventlog;

/* The TCG boot log: securityfs first, else the ACPI log area in /dev/mem (the Go agent's only source).
 * *ret_source names where it came from; on failure *ret_error (caller frees) gives both reasons. */
int boot_log_load(const char *root, struct eventlog **ret_log, const char **ret_source, char **ret_error);

/* The measure-log JSON HVS gets (spec 6) from the boot log and tbootxm's application events. -ENODATA when
 * there is neither; *ret_what says what it was built from, *ret_error (caller frees) why it failed. */
int boot_measure_log_build(const char *root, char **ret_json, const char **ret_what, char **ret_error);

#endif
