/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host info (spec section 7): the HostInfo JSON HVS stores as platform-info and the host-info-request reply
 * carries, from SMBIOS (/sys/firmware/dmi/tables/DMI), /etc/os-release, /etc/hostname, /sys and the ACPI TPM2
 * table, all under the root prefix. No dmidecode, no shelling out.
 */
#ifndef TAGENT_HOSTINFO_H
#define TAGENT_HOSTINFO_H

#include <stddef.h>
#include <stdint.h>

#define HOSTINFO_DMI_TABLE "/sys/firmware/dmi/tables/DMI"
#define HOSTINFO_DMI_MAX   (1u << 20) /* the kernel exports at most a few tens of KiB */

/* The two layouts the Go agent writes the same HostInfo in; both are its exact bytes (hostinfo_json.c). */
enum hostinfo_format {
    /* The host-info-request reply as the Go agent sends it: json.Marshal of the HostInfo its service read
     * back from platform-info. So a byte of invalid UTF-8, which platform-info has as the escape \ufffd,
     * is the character U+FFFD here. */
    HOSTINFO_COMPACT = 0,
    /* json.MarshalIndent(v, "", "  "), no final newline: the platform-info file `tagent init` writes and,
     * followed by a newline, what `tagent hostinfo` prints. */
    HOSTINFO_INDENTED = 1,
};

/* The HostInfo JSON with the Go agent's keys in its order and its escapes. Fields whose source is missing
 * get the Go agent's empty values ("" / "false"); the only errors are an SMBIOS table that exists but cannot
 * be read (-errno; -EACCES when not root) or is damaged before the structures HostInfo needs (-EBADMSG), and
 * -ENOMEM. *ret_error (on failure) names the file and the problem. Caller frees both. Reads files only (no
 * programs run), so it is cheap to call on every HVS request. */
int hostinfo_json(const char *root, enum hostinfo_format format, char **ret_json, char **ret_error);

/* The system UUID of a raw SMBIOS structure table (type 1 bytes 8..23, the first three fields byte-swapped as
 * SMBIOS 2.6+ stores them, lower case), as HostInfo prints it. 0; -ENODATA when the firmware says there is
 * none (all zeros: "not present", all ones: "not set"; ret_uuid still holds them, printed); -ENOENT without a
 * type 1 structure long enough to hold one; -EBADMSG when the table is damaged before it. */
int hostinfo_smbios_uuid(const uint8_t *table, size_t len, char ret_uuid[37]);
/* The system serial number of the same table (type 1, string at offset 7), as the firmware wrote it, trailing
 * blanks dropped; "" when the firmware has none. *ret_serial is allocated (caller frees). -ENOENT without a
 * type 1 structure, -EBADMSG when the table is damaged before it, -ENOMEM. */
int hostinfo_smbios_serial(const uint8_t *table, size_t len, char **ret_serial);

#endif
