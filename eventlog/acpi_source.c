/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the UEFI event log comes from: securityfs (the kernel's copy, complete even when the firmware
 * keeps part of the log in the final-events table) or, as the Go agent reads it, the ACPI TPM2 table's
 * log area (LASA, LAML bytes) in /dev/mem.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACPI_TPM2_MIN_LEN 76 /* up to and including LASA */

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int eventlog_acpi_region(const char *table_path, uint64_t *ret_lasa, uint32_t *ret_laml, char **ret_error)
{
    uint8_t t[ACPI_TPM2_MIN_LEN];
    int fd = open(table_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return eventlog_fail(ret_error, -errno, "%s: cannot open: %s", table_path, strerror(errno));
    ssize_t n = read(fd, t, sizeof(t));
    close(fd);
    if (n < 4 || memcmp(t, "TPM2", 4) != 0)
        return eventlog_fail(ret_error, -EBADMSG, "%s: not an ACPI TPM2 table (no \"TPM2\" signature)",
                             table_path);
    if (n < ACPI_TPM2_MIN_LEN || le(t + 4, 4) < ACPI_TPM2_MIN_LEN)
        return eventlog_fail(ret_error, -EBADMSG,
                             "%s: the TPM2 table has no log area fields (LAML/LASA; %zd bytes)", table_path,
                             n);
    *ret_laml = (uint32_t)le(t + 64, 4);
    *ret_lasa = le(t + 68, 8);
    if (*ret_laml == 0)
        return eventlog_fail(ret_error, -ENODATA, "%s: the TPM2 table's log area is empty (LAML 0)",
                             table_path);
    return 0;
}

int eventlog_load_acpi(const char *table_path, const char *mem_path, const struct eventlog_limits *limits,
                       struct eventlog **ret_log, char **ret_error)
{
    struct eventlog_limits lim = limits ? *limits : EVENTLOG_LIMITS_DEFAULT;
    uint64_t lasa;
    uint32_t laml;
    int r = eventlog_acpi_region(table_path, &lasa, &laml, ret_error);
    if (r < 0)
        return r;
    /* region() set both lasa and laml, as it returned 0 */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    if (laml > lim.max_log)
        return eventlog_fail(ret_error, -EFBIG, "%s: the log area is %u bytes; the limit is %zu", table_path,
                             laml, lim.max_log);
    uint8_t *buf = malloc(laml);
    if (!buf)
        return eventlog_fail(ret_error, -ENOMEM, "out of memory");
    int fd = open(mem_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = eventlog_fail(ret_error, -errno, "%s: cannot open: %s", mem_path, strerror(errno));
        goto out;
    }
    ssize_t n = pread(fd, buf, laml, (off_t)lasa);
    close(fd);
    if (n != (ssize_t)laml) {
        r = eventlog_fail(ret_error, n < 0 ? -errno : -EIO,
                          "%s: cannot read %u bytes at 0x%llx (the TPM2 table's log area)", mem_path, laml,
                          (unsigned long long)lasa);
        goto out;
    }
    r = eventlog_parse(buf, laml, &lim, ret_log, ret_error);
out:
    free(buf);
    return r;
}
