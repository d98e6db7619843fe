/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What HostInfo's hardware_features object holds (spec section 7), decided as the Go agent v5.1 decides it
 * (pkg/lib/hostinfo), so HVS sees the same features for the same host:
 *   TXT   MSR 0x3A through the msr driver (/dev/cpu/0/msr: root, CAP_SYS_RAWIO, the msr module); present only
 *         when the MSR was read (Go leaves the pointer nil otherwise, and omitempty drops it). A "false" we
 *         did not measure would be a claim about the platform that may be wrong.
 *   TPM   always present: enabled when /dev/tpm0 exists and the ACPI TPM2 table starts with "TPM2".
 *   CBNT  MSR 0x13A; present, like TXT, only when it was read, also when Boot Guard is off.
 *   UEFI  always present: enabled when /sys/firmware/efi exists; secure boot from the SecureBoot variable.
 * One deliberate difference: a host without ACPI at all (device-tree boards with an SPI/I2C TPM, the edge
 * platforms tagent is for) has no TPM2 table to check, and Go would call its TPM off. There the kernel's own
 * answer, the tpm0 major version, stands in for the table's magic. Every ACPI host gets Go's answer.
 */
#include "config.h"
#include "hostinfo_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MSR_DEVICE               "/dev/cpu/0/msr"
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_BOOT_GUARD_SACM_INFO 0x13a
#define ACPI_TABLES_DIR          "/sys/firmware/acpi/tables"
#define ACPI_TPM2_TABLE          ACPI_TABLES_DIR "/TPM2"
#define TPM_DEVICE               "/dev/tpm0"
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

/* TXT and CBNT. Go reads each MSR on its own, so one that fails (EIO: the CPU lacks it) loses only its
 * member. */
static int msr_features(const char *root, struct hostinfo_features *f)
{
    uint64_t v = 0;
    int r = msr_read(root, MSR_IA32_FEATURE_CONTROL, &v);
    if (r == -ENOMEM)
        return r;
    /* Bit 0 locks the register, bit 1 enables VMX inside SMX: both set is how firmware leaves TXT on. */
    f->txt_present = r == 0;
    f->txt_enabled = r == 0 && (v & 3) == 3;

    r = msr_read(root, MSR_BOOT_GUARD_SACM_INFO, &v);
    if (r == -ENOMEM)
        return r;
    f->cbnt_present = r == 0;
    f->cbnt_enabled = r == 0 && (v & (UINT64_C(1) << 32)); /* meta.msr: see hostinfo_json.c */
    /* Bits 7:0 are the Boot Guard policy bits (measured/verified boot, ...); three combinations are the
     * profiles Intel names. Another combination keeps CBNT enabled with an empty profile, as in Go. */
    uint8_t bits = (uint8_t)(v & 0xff);
    f->cbnt_profile = !f->cbnt_enabled ? ""
                      : bits == 0x6d   ? "BTGP3"
                      : bits == 0x51   ? "BTGP4"
                      : bits == 0x7d   ? "BTGP5"
                                       : "";
    return 0;
}

static int tpm_feature(const char *root, struct hostinfo_features *f)
{
    bool tpm0 = false, acpi = false;
    uint8_t head[4];
    size_t n = 0;
    int r = hostinfo_path_exists(root, TPM_DEVICE, HOSTINFO_PATH_ANY, &tpm0);
    if (r == 0 && tpm0)
        r = hostinfo_path_exists(root, ACPI_TABLES_DIR, HOSTINFO_PATH_DIR, &acpi);
    if (r < 0 || !tpm0)
        return r;
    if (acpi) {
        /* Go: a missing, unreadable or short table is "off" */
        r = read_head(root, ACPI_TPM2_TABLE, head, sizeof(head), &n);
        f->tpm_enabled = r == 0 && n == 4 && memcmp(head, "TPM2", 4) == 0;
    } else {
        r = read_head(root, TPM_SYSFS_VERSION, head, 2, &n);
        f->tpm_enabled = r == 0 && n >= 1 && head[0] == '2' && (n == 1 || head[1] == '\n');
    }
    return r == -ENOMEM ? r : 0;
}

static int uefi_feature(const char *root, struct hostinfo_features *f)
{
    uint8_t var[5];
    size_t n = 0;
    int r = hostinfo_path_exists(root, EFI_DIR, HOSTINFO_PATH_ANY, &f->uefi_enabled);
    if (r < 0)
        return r;
    /* efivarfs files are 4 bytes of attributes, then the value: SecureBoot is one byte, not 0 when
     * enforcing. Go reads the variable whether or not the EFI directory exists (it cannot without it). */
    r = read_head(root, EFI_SECURE_BOOT_VAR, var, sizeof(var), &n);
    if (r == -ENOMEM)
        return r;
    f->secure_boot = r == 0 && n == sizeof(var) && var[4] != 0;
    return 0;
}

int hostinfo_features_read(const char *root, struct hostinfo_features *ret)
{
    struct hostinfo_features f = {.cbnt_profile = ""};
    int r = msr_features(root, &f);
    if (r == 0)
        r = tpm_feature(root, &f);
    if (r == 0)
        r = uefi_feature(root, &f);
    if (r == 0)
        *ret = f;
    return r;
}
