# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the shell tests. hostinfo_purley_root ROOT PURLEY [TPM2] lays out under ROOT the inputs of
# hostinfo-purley.json, the golden purley host (tests/unit/test_hostinfo.c builds the same host):
#   - links to the corpus host's DMI, os-release and hostname (PURLEY: shared/corpora/isecl/hostinfo/purley)
#     and to its ACPI TPM2 table, or to TPM2 (another table with the same "TPM2" magic gives the same
#     HostInfo); an empty /dev/tpm0;
#   - the msr driver's file with MSR 0x3A = 3 (TXT on), ending before MSR 0x13A (no CBNT, as the driver
#     fails an MSR the CPU lacks);
#   - an executable usr/sbin/txt-stat (tboot installed) and two online CPUs.
hostinfo_purley_root() {
    local root=$1 purley=$2 tpm2=${3:-$2/TPM2}
    mkdir -p "$root/sys/firmware/dmi/tables" "$root/sys/firmware/acpi/tables" "$root/etc" "$root/dev/cpu/0" \
        "$root/usr/sbin" "$root/sys/devices/system/cpu"
    ln -s "$purley/DMI" "$root/sys/firmware/dmi/tables/DMI"
    ln -s "$tpm2" "$root/sys/firmware/acpi/tables/TPM2"
    ln -s "$purley/os-release" "$root/etc/os-release"
    ln -s "$purley/hostname" "$root/etc/hostname"
    : >"$root/dev/tpm0"
    head -c $((0x3a + 8)) /dev/zero >"$root/dev/cpu/0/msr"
    printf '\003' | dd of="$root/dev/cpu/0/msr" bs=1 seek=$((0x3a)) conv=notrunc status=none
    printf '#!/bin/sh\n' >"$root/usr/sbin/txt-stat"
    chmod 755 "$root/usr/sbin/txt-stat"
    echo 0-1 >"$root/sys/devices/system/cpu/online"
}
