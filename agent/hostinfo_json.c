/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostinfo_json(): the HostInfo document, keys in the Go agent's order (spec section 7). The values Go
 * gets by running programs we do not run (we never shell out from the agent):
 *   vmm_name, vmm_version  Go asks `docker --version`, else `virsh -v`: which container runtime or
 *                          hypervisor CLI is installed, something no PCR or event of the quote covers. We
 *                          report "" for both (the Go model's zero value) rather than run another
 *                          program from a root daemon for a label nobody can verify.
 *   installed_components   Go lists "tagent" when `tagent --version` runs: we are tagent. The workload agent
 *                          (wlagent) is not part of this agent's deployments, so it is never listed.
 */
#include "config.h"
#include "hostinfo.h"
#include "hostinfo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SMBIOS fields; a table that does not exist (no SMBIOS on this platform) gives empty ones. */
static int smbios_load(const char *root, struct hostinfo_smbios *ret, char **ret_error)
{
    char *path = config_path(root, HOSTINFO_DMI_TABLE), *buf = NULL, *why = NULL;
    size_t len = 0;
    int r = path ? config_read_file(path, HOSTINFO_DMI_MAX, &buf, &len) : -ENOMEM;
    if (r == -ENOENT)
        r = 0, len = 0;
    if (r == 0)
        r = hostinfo_smbios_parse((const uint8_t *)(buf ? buf : ""), len, ret, &why);
    else if (r == -EACCES || r == -EPERM)
        why = strdup("permission denied (only root may read it)");
    else if (r == -EFBIG)
        why = strdup("larger than 1 MiB, which no SMBIOS table is");
    else if (r == -EINVAL)
        why = strdup("not a regular file");
    else if (r != -ENOMEM)
        why = strdup(strerror(-r));
    if (r < 0 && asprintf(ret_error, "cannot read host info from %s: %s", path ? path : HOSTINFO_DMI_TABLE,
                          why ? why : "out of memory") < 0)
        *ret_error = NULL;
    free(why);
    free(buf);
    free(path);
    return r;
}

/* Adds each (key, value) string; false on out of memory. */
static bool add_strings(cJSON *obj, const char *const *kv, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (!cJSON_AddStringToObject(obj, kv[i], kv[i + 1]))
            return false;
    return true;
}

int hostinfo_json(const char *root, int pretty, char **ret_json, char **ret_error)
{
    struct hostinfo_smbios smbios = {0};
    struct hostinfo_os os = {0};
    cJSON *doc = NULL, *features, *components;
    char *error = NULL, *json = NULL;
    int r = smbios_load(root, &smbios, &error);
    if (r == 0)
        r = hostinfo_os_read(root, &os);
    if (r < 0)
        goto out;

    r = -ENOMEM;
    const char *const head[] = {
        "os_name",         os.os_name,
        "os_version",      os.os_version,
        "os_type",         "linux",
        "bios_version",    smbios.bios_version,
        "bios_name",       smbios.bios_name,
        "vmm_name",        "",
        "vmm_version",     "",
        "processor_info",  smbios.processor_info,
        "host_name",       os.host_name,
        "hardware_uuid",   smbios.hardware_uuid,
        "process_flags",   smbios.process_flags,
        "no_of_sockets",   os.no_of_sockets,
        "tboot_installed", os.tboot_installed ? "true" : "false",
        "is_docker_env",   os.is_docker_env ? "true" : "false",
    };
    if (!(doc = cJSON_CreateObject()) || !add_strings(doc, head, sizeof(head) / sizeof(head[0])) ||
        !(features = cJSON_AddObjectToObject(doc, "hardware_features")) ||
        hostinfo_features_add(root, features) < 0 ||
        !(components = cJSON_AddArrayToObject(doc, "installed_components")) ||
        !cJSON_AddItemToArray(components, cJSON_CreateString("tagent")))
        goto out;
    if (!(json = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc)))
        goto out;
    r = 0;
    *ret_json = json;
out:
    if (r == -ENOMEM && !error)
        error = strdup("out of memory while building host info");
    if (r < 0 && ret_error) {
        *ret_error = error;
        error = NULL;
    }
    free(error);
    cJSON_Delete(doc);
    hostinfo_smbios_clear(&smbios);
    hostinfo_os_clear(&os);
    return r;
}
