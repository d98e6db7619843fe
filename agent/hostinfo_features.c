/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HostInfo's hardware_features object (spec section 7): TXT, TPM, CBNT, UEFI, in that order, every "enabled"
 * a JSON string as the Go agent's `json:",string"` tags make it.
 *
 * TXT and CBNT come from MSRs through the msr driver (/dev/cpu/0/msr), which needs root, CAP_SYS_RAWIO and
 * the msr module. When the MSR cannot be read the object is left out rather than reported "false": these are
 * optional members of the Go model (omitempty), so HVS copes with their absence, while a "false" we did not
 * measure would be a claim about the platform that may be wrong.
 */
#include "config.h"
#include "hostinfo_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSR_DEVICE               "/dev/cpu/0/msr"
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_BOOT_GUARD_SACM_INFO 0x13a
#define ACPI_TPM2_TABLE          "/sys/firmware/acpi/tables/TPM2"
#define TPM_SYSFS_VERSION        "/sys/class/tpm/tpm0/tpm_version_major"
#define EFI_DIR                  "/sys/firmware/efi"
#define EFI_SECURE_BOOT_VAR      "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

/* 0 with the MSR's value; -errno when it cannot be read (no driver, not root, an MSR the CPU lacks: EIO). */
static int msr_read(const char *root, uint32_t index, uint64_t *ret)
{
    char *path = config_path(root, MSR_DEVICE);
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -errno;
    uint8_t b[8];
    ssize_t n = pread(fd, b, sizeof(b), index); /* the msr driver takes the file offset as the MSR number */
    int r = n == (ssize_t)sizeof(b) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    if (r == 0) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | b[i]; /* little endian, as the driver hands it over on x86 */
        *ret = v;
    }
    return r;
}

/* Up to max bytes from the start of a file under root; -errno when it cannot be read. */
static int read_head(const char *root, const char *abs, uint8_t *buf, size_t max, size_t *ret_len)
{
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    free(path);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    int r = 0;
    while (len < max) {
        ssize_t n = read(fd, buf + len, max - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (r == 0)
        *ret_len = len;
    return r;
}

static int exists(const char *root, const char *abs, bool want_dir, bool *ret)
{
    struct stat st;
    char *path = config_path(root, abs);
    if (!path)
        return -ENOMEM;
    *ret = stat(path, &st) == 0 && (!want_dir || S_ISDIR(st.st_mode));
    free(path);
    return 0;
}

/* {"enabled": "true"|"false"} added to parent under name; the object, or NULL on out of memory. */
static cJSON *feature_add(cJSON *parent, const char *name, bool enabled)
{
    cJSON *f = cJSON_AddObjectToObject(parent, name);
    if (f && !cJSON_AddStringToObject(f, "enabled", enabled ? "true" : "false"))
        return NULL;
    return f;
}

static int txt_add(const char *root, cJSON *obj)
{
    uint64_t v = 0;
    int r = msr_read(root, MSR_IA32_FEATURE_CONTROL, &v);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return 0; /* not known: left out (see the top of the file) */
    /* Bit 0 locks the register, bit 1 enables VMX inside SMX: both set is how firmware leaves TXT on. */
    return feature_add(obj, "TXT", (v & 3) == 3) ? 0 : -ENOMEM;
}

/* The TPM the Go agent reports: a device node and an ACPI TPM2 table (the TPM 1.2 table is "TCPA"). Hosts
 * without ACPI (device-tree edge boards with an SPI/I2C TPM), or whose table we may not read, have no table
 * to check; for them the kernel's own answer, the tpm0 major version, stands in for the table's magic. */
static int tpm_add(const char *root, cJSON *obj)
{
    bool tpm0 = false, tpmrm0 = false, is_tpm2 = false;
    uint8_t head[4];
    size_t n = 0;
    int r = exists(root, "/dev/tpm0", false, &tpm0);
    if (r == 0)
        r = exists(root, "/dev/tpmrm0", false, &tpmrm0);
    if (r == 0 && (tpm0 || tpmrm0)) {
        r = read_head(root, ACPI_TPM2_TABLE, head, sizeof(head), &n);
        if (r == 0) {
            is_tpm2 = n == 4 && memcmp(head, "TPM2", 4) == 0;
        } else if (r != -ENOMEM) {
            r = read_head(root, TPM_SYSFS_VERSION, head, 2, &n);
            if (r == 0)
                is_tpm2 = n >= 1 && head[0] == '2' && (n == 1 || head[1] == '\n');
            else if (r != -ENOMEM)
                r = 0; /* neither says TPM 2.0 */
        }
    }
    if (r < 0)
        return r;
    cJSON *tpm = feature_add(obj, "TPM", is_tpm2), *meta = NULL;
    if (tpm && is_tpm2 &&
        (!(meta = cJSON_AddObjectToObject(tpm, "meta")) ||
         !cJSON_AddStringToObject(meta, "tpm_version", "2.0")))
        tpm = NULL;
    return tpm ? 0 : -ENOMEM;
}

static int cbnt_add(const char *root, cJSON *obj)
{
    uint64_t v = 0;
    int r = msr_read(root, MSR_BOOT_GUARD_SACM_INFO, &v);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return 0; /* not known: left out */
    bool enabled = v & (UINT64_C(1) << 32);
    cJSON *cbnt = feature_add(obj, "CBNT", enabled), *meta = NULL;
    if (!cbnt)
        return -ENOMEM;
    if (!enabled)
        return 0;
    /* Bits 7:0 are the Boot Guard policy bits (measured/verified boot, ...); three combinations are the
     * profiles Intel names. "mk ris kfm" is what the Go agent reports for every enabled CBNT. */
    uint8_t bits = (uint8_t)(v & 0xff);
    const char *profile = bits == 0x6d ? "BTGP3" : bits == 0x51 ? "BTGP4" : bits == 0x7d ? "BTGP5" : "";
    if (!(meta = cJSON_AddObjectToObject(cbnt, "meta")) ||
        !cJSON_AddStringToObject(meta, "profile", profile) ||
        !cJSON_AddStringToObject(meta, "msr", "mk ris kfm"))
        return -ENOMEM;
    return 0;
}

static int uefi_add(const char *root, cJSON *obj)
{
    bool efi = false, secure_boot = false;
    uint8_t var[5];
    size_t n = 0;
    int r = exists(root, EFI_DIR, true, &efi);
    if (r < 0)
        return r;
    /* efivarfs files are 4 bytes of attributes, then the value: SecureBoot is one byte, 1 when enforcing. */
    if (efi && (r = read_head(root, EFI_SECURE_BOOT_VAR, var, sizeof(var), &n)) == -ENOMEM)
        return r;
    secure_boot = efi && r == 0 && n == sizeof(var) && var[4] == 1;
    cJSON *uefi = feature_add(obj, "UEFI", efi), *meta = NULL;
    if (!uefi || !(meta = cJSON_AddObjectToObject(uefi, "meta")) ||
        !cJSON_AddBoolToObject(meta, "secure_boot_enabled", secure_boot))
        return -ENOMEM;
    return 0;
}

int hostinfo_features_add(const char *root, cJSON *obj)
{
    int r = txt_add(root, obj);
    if (r == 0)
        r = tpm_add(root, obj);
    if (r == 0)
        r = cbnt_add(root, obj);
    if (r == 0)
        r = uefi_add(root, obj);
    return r;
}
