/* SPDX-License-Identifier: BSD-3-Clause */
/* Where the agent finds the platform's measurements and keeps what `tagent init` prepares (spec 6, 8); the
 * install layout itself is in config.h.
 * Every path is absolute and goes through config_path(root, ...). */
#ifndef TAGENT_AGENT_PATHS_H
#define TAGENT_AGENT_PATHS_H

#include "config.h" /* the install layout: TAGENT_VAR_DIR, ... */

#define SECURITYFS_LOG     "/sys/kernel/security/tpm0/binary_bios_measurements"
#define ACPI_TPM2_TABLE    "/sys/firmware/acpi/tables/TPM2"
#define DEV_MEM            "/dev/mem"
#define APP_EVENTS_FILE    TAGENT_RAMFS_DIR "/pcr_event_log" /* tbootxm's application events */
#define APP_EVENTS_MAX     (1u << 20)
#define MEASURE_LOG_FILE   TAGENT_VAR_DIR "/measure-log.json" /* init writes it as root */
#define SYSTEM_INFO_DIR    TAGENT_VAR_DIR "/system-info"
#define PLATFORM_INFO_FILE SYSTEM_INFO_DIR "/platform-info" /* init writes it as root */
#define MEASURE_LOG_MAX    (16u << 20)

#endif
