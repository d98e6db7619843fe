/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's hardware UUID (hostinfo/'s SMBIOS walker), refused when the firmware says there is none: setup
 * registers the host with HVS under it, and an all-zeros UUID would name every such host alike. And the
 * system serial number, for the device identity's subject (identity/). */
#include "cleanup.h"
#include "hostinfo.h"
#include "provision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The raw SMBIOS table under root; *ret_path names it for messages (both caller frees). */
static int dmi_read(const char *root, char **ret_path, char **ret_buf, size_t *ret_len)
{
    *ret_path = config_path(root, HOSTINFO_DMI_TABLE);
    return *ret_path ? config_read_file(*ret_path, HOSTINFO_DMI_MAX, ret_buf, ret_len) : -ENOMEM;
}

static const char *smbios_problem(int r, bool read)
{
    return r == -ENODATA          ? "the firmware reports no UUID (all zeros or ones)"
           : r == -ENOENT && read ? "no SMBIOS system information (type 1) structure"
           : r == -EBADMSG        ? "the SMBIOS table is malformed"
                                  : strerror(-r);
}

int provision_hardware_uuid(const char *root, char ret_uuid[37], char **ret_error)
{
    _cleanup_free_ char *path = NULL, *buf = NULL;
    size_t len = 0;
    int r = dmi_read(root, &path, &buf, &len);
    if (r == 0)
        r = hostinfo_smbios_uuid((const uint8_t *)buf, len, ret_uuid);
    if (r < 0 && ret_error &&
        asprintf(ret_error, "cannot read the hardware UUID from %s: %s", path ? path : HOSTINFO_DMI_TABLE,
                 smbios_problem(r, buf != NULL)) < 0)
        *ret_error = NULL;
    return r;
}

int provision_hardware_serial(const char *root, char **ret_serial, char **ret_error)
{
    _cleanup_free_ char *path = NULL, *buf = NULL;
    size_t len = 0;
    int r = dmi_read(root, &path, &buf, &len);
    if (r == 0)
        r = hostinfo_smbios_serial((const uint8_t *)buf, len, ret_serial);
    if (r < 0 && ret_error &&
        asprintf(ret_error, "cannot read the system serial number from %s: %s",
                 path ? path : HOSTINFO_DMI_TABLE, smbios_problem(r, buf != NULL)) < 0)
        *ret_error = NULL;
    return r;
}
