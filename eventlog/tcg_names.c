/* SPDX-License-Identifier: BSD-3-Clause */
/* Names of event types (TCG PC Client PFP, Intel TXT) as HVS expects them; digest algorithms are
 * common/tcg_alg.h. */
#include "eventlog.h"

#include <stddef.h>

struct type_name {
    uint32_t type;
    const char *name;
};

static const struct type_name type_names[] = {
    {0x0, "EV_PREBOOT_CERT"},
    {0x1, "EV_POST_CODE"},
    {0x2, "EV_UNUSED"},
    {0x3, "EV_NO_ACTION"},
    {0x4, "EV_SEPARATOR"},
    {0x5, "EV_ACTION"},
    {0x6, "EV_EVENT_TAG"},
    {0x7, "EV_S_CRTM_CONTENTS"},
    {0x8, "EV_S_CRTM_VERSION"},
    {0x9, "EV_CPU_MICROCODE"},
    {0xa, "EV_PLATFORM_CONFIG_FLAGS"},
    {0xb, "EV_TABLE_OF_DEVICES"},
    {0xc, "EV_COMPACT_HASH"},
    {0xd, "EV_IPL"},
    {0xe, "EV_IPL_PARTITION_DATA"},
    {0xf, "EV_NONHOST_CODE"},
    {0x10, "EV_NONHOST_CONFIG"},
    {0x11, "EV_NONHOST_INFO"},
    {0x12, "EV_OMIT_BOOT_DEVICE_EVENTS"},
    /* Intel TXT event types (tboot / SINIT log) */
    {0x401, "PCR_MAPPING"},
    {0x402, "HASH_START"},
    {0x403, "COMBINED_HASH"},
    {0x404, "MLE_HASH"},
    {0x40a, "BIOSAC_REG_DATA"},
    {0x40b, "CPU_SCRTM_STAT"},
    {0x40c, "LCP_CONTROL_HASH"},
    {0x40d, "ELEMENTS_HASH"},
    {0x40e, "STM_HASH"},
    {0x40f, "OSSINITDATA_CAP_HASH"},
    {0x410, "SINIT_PUBKEY_HASH"},
    {0x411, "LCP_HASH"},
    {0x412, "LCP_DETAILS_HASH"},
    {0x413, "LCP_AUTHORITIES_HASH"},
    {0x414, "NV_INFO_HASH"},
    {0x415, "COLD_BOOT_BIOS_HASH"},
    {0x416, "KM_HASH"},
    {0x417, "BPM_HASH"},
    {0x418, "KM_INFO_HASH"},
    {0x419, "BPM_INFO_HASH"},
    {0x41a, "BOOT_POL_HASH"},
    {0x4ff, "CAP_VALUE"},
    /* UEFI */
    {0x80000000, "EV_EFI_EVENT_BASE"},
    {0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
    {0x80000002, "EV_EFI_VARIABLE_BOOT"},
    {0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
    {0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
    {0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
    {0x80000006, "EV_EFI_GPT_EVENT"},
    {0x80000007, "EV_EFI_ACTION"},
    {0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
    {0x80000009, "EV_EFI_HANDOFF_TABLES"},
    {0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
    {0x8000000b, "EV_EFI_HANDOFF_TABLES2"},
    {0x8000000c, "EV_EFI_VARIABLE_BOOT2"},
    {0x80000010, "EV_EFI_HCRTM_EVENT"},
    {0x800000e0, "EV_EFI_VARIABLE_AUTHORITY"},
    {0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
    {0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
};

const char *eventlog_type_name(uint32_t type)
{
    size_t lo = 0, hi = sizeof(type_names) / sizeof(type_names[0]);
    while (lo < hi) { /* the table is sorted by type */
        size_t mid = (lo + hi) / 2;
        if (type_names[mid].type == type)
            return type_names[mid].name;
        if (type_names[mid].type < type)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
