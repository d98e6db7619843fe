/* SPDX-License-Identifier: BSD-3-Clause */
/* The parts of hostinfo_json(), one file each, exposed only to the JSON builder and the unit tests. */
#ifndef TAGENT_HOSTINFO_INTERNAL_H
#define TAGENT_HOSTINFO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostinfo.h" /* HOSTINFO_DMI_TABLE, hostinfo_smbios_uuid() */

/* ---- hostinfo_smbios.c ---- */

/* What HostInfo takes from SMBIOS. Every string is allocated (possibly ""), never NULL after a parse. */
struct hostinfo_smbios {
    char *bios_name;      /* type 0, string at offset 4 (vendor) */
    char *bios_version;   /* type 0, string at offset 5 */
    char *processor_info; /* type 4 bytes 8..15, "54 06 05 00 FF FB EB BF" */
    char *process_flags;  /* names of the CPUID EDX bits in type 4 bytes 12..15 */
    char hardware_uuid[37];
};

/* Parses the raw structure table (/sys/firmware/dmi/tables/DMI). A damaged structure (length below 4, a
 * formatted area or string set running past the end) stops the walk: when that happens before the types
 * HostInfo needs (0, 1 and a populated 4) were all seen, it is -EBADMSG with *ret_error saying where;
 * types simply absent from an intact table give "". */
int hostinfo_smbios_parse(const uint8_t *table, size_t len, struct hostinfo_smbios *ret, char **ret_error);
void hostinfo_smbios_clear(struct hostinfo_smbios *s);
/* The flag names of a CPUID leaf 1 EDX value, space separated (caller frees; NULL on out of memory). */
char *hostinfo_cpuid_edx_flags(uint32_t edx);

/* ---- hostinfo_os.c ---- */

struct hostinfo_os {
    char *os_name;    /* os-release NAME, "RedHatEnterprise" for RHEL; "" when unknown */
    char *os_version; /* os-release VERSION_ID */
    char *host_name;  /* first line of /etc/hostname */
    char *no_of_sockets;
    bool tboot_installed;
    bool is_docker_env;
};

/* Never fails for a missing or unreadable file (that field is ""/false); only -ENOMEM. */
int hostinfo_os_read(const char *root, struct hostinfo_os *ret);
void hostinfo_os_clear(struct hostinfo_os *o);
/* NAME and VERSION_ID of an os-release text (need not be NUL-terminated). */
int hostinfo_os_release_parse(const char *buf, size_t len, char **ret_name, char **ret_version);
/* The number of CPUs in a sysfs CPU list ("0-3,8,10-11\n"), or -EINVAL. */
int hostinfo_cpu_list_count(const char *list, size_t len, unsigned *ret_count);

enum hostinfo_path_kind {
    HOSTINFO_PATH_ANY,
    HOSTINFO_PATH_DIR,
    HOSTINFO_PATH_EXECUTABLE, /* a regular file with an x bit */
};
/* Whether abs under the root prefix exists (stat: links followed) as kind. Only -ENOMEM: a path that cannot
 * be looked at does not exist, as for the Go agent. */
int hostinfo_path_exists(const char *root, const char *abs, enum hostinfo_path_kind kind, bool *ret);

/* ---- hostinfo_features.c ---- */

/* hardware_features as the Go agent fills it (pkg/lib/hostinfo: msr_parser, tpminfo_parser, file_parser,
 * secureboot_parser): which members exist and what they hold. TXT and CBNT exist only when their MSR could be
 * read; TPM and UEFI always exist. */
struct hostinfo_features {
    bool txt_present, txt_enabled;
    bool tpm_enabled;                /* meta.tpm_version is "2.0" when enabled, else "" */
    bool cbnt_present, cbnt_enabled; /* meta.msr is "mk ris kfm" when enabled, else "" */
    const char *cbnt_profile;        /* static: "BTGP3", "BTGP4", "BTGP5" or "" */
    bool uefi_enabled, secure_boot;  /* meta.secure_boot_enabled is a JSON bool */
};

/* Only -ENOMEM: whatever cannot be read is absent or false, as in the Go agent. */
int hostinfo_features_read(const char *root, struct hostinfo_features *ret);

/* ---- hostinfo_json.c: encoding/json's text ---- */

/* s as a JSON string literal, quotes included, byte for byte as Go's encoding/json writes it (NULL on out of
 * memory). */
char *hostinfo_go_string(const char *s);
/* compact JSON (valid, as hostinfo_json writes it) laid out as json.Indent(dst, src, "", "  ") does (NULL on
 * out of memory). */
char *hostinfo_go_indent(const char *compact);

#endif
