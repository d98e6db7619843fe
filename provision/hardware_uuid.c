/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's hardware UUID from the SMBIOS type 1 structure, as HostInfo reports it (spec section 7):
 * bytes 8..23 of the structure, the first three fields byte-swapped (SMBIOS 2.6+ mixed-endian), lower case. */
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMBIOS_DMI_TABLE "/sys/firmware/dmi/tables/DMI"
#define SMBIOS_MAX       (1u << 20)

int smbios_uuid_parse(const uint8_t *t, size_t len, char ret_uuid[37])
{
    for (size_t off = 0; off + 4 <= len;) {
        uint8_t type = t[off], flen = t[off + 1];
        if (flen < 4 || off + flen > len)
            return -EBADMSG;
        if (type == 1 && flen >= 24) {
            const uint8_t *u = t + off + 8;
            bool zeros = true, ones = true;
            for (int i = 0; i < 16; i++) {
                zeros &= u[i] == 0;
                ones &= u[i] == 0xff;
            }
            if (zeros || ones)
                return -ENODATA; /* "not present" / "not set" by the firmware */
            snprintf(ret_uuid, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3], u[2],
                     u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
            return 0;
        }
        if (type == 127)
            break; /* end of table */
        /* skip the formatted area and the string set, which ends with two NULs */
        size_t s = off + flen;
        while (s + 1 < len && !(t[s] == 0 && t[s + 1] == 0))
            s++;
        off = s + 2;
    }
    return -ENOENT;
}

int provision_hardware_uuid(const char *root, char ret_uuid[37], char **ret_error)
{
    char *path = config_path(root, SMBIOS_DMI_TABLE), *buf = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, SMBIOS_MAX, &buf, &len) : -ENOMEM;
    if (r == 0)
        r = smbios_uuid_parse((const uint8_t *)buf, len, ret_uuid);
    if (r < 0 && ret_error &&
        asprintf(ret_error, "cannot read the hardware UUID from %s: %s", path ? path : SMBIOS_DMI_TABLE,
                 r == -ENODATA ? "the firmware reports no UUID (all zeros or ones)"
                 : r == -ENOENT && buf ? "no SMBIOS system information (type 1) structure"
                 : r == -EBADMSG ? "the SMBIOS table is malformed" : strerror(-r)) < 0)
        *ret_error = NULL;
    free(buf);
    free(path);
    return r;
}
