/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's hardware UUID (hostinfo/'s SMBIOS walker), refused when the firmware says there is none: setup
 * registers the host with HVS under it, and an all-zeros UUID would name every such host alike. */
#include "cleanup.h"
#include "hostinfo.h"
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int provision_hardware_uuid(const char *root, char ret_uuid[37], char **ret_error)
{
    _cleanup_free_ char *path = config_path(root, HOSTINFO_DMI_TABLE), *buf = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, HOSTINFO_DMI_MAX, &buf, &len) : -ENOMEM;
    if (r == 0)
        r = hostinfo_smbios_uuid((const uint8_t *)buf, len, ret_uuid);
    if (r < 0 && ret_error &&
        asprintf(ret_error, "cannot read the hardware UUID from %s: %s", path ? path : HOSTINFO_DMI_TABLE,
                 r == -ENODATA         ? "the firmware reports no UUID (all zeros or ones)"
                 : r == -ENOENT && buf ? "no SMBIOS system information (type 1) structure"
                 : r == -EBADMSG       ? "the SMBIOS table is malformed"
                                       : strerror(-r)) < 0)
        *ret_error = NULL;
    return r;
}
