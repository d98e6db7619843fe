#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent hostinfo` as a person runs it: under a root prefix of links to the purley corpus host, the indented
# HostInfo JSON with the spec's keys in order and the Go agent's DMI values; a clear error and exit 1 for a
# damaged SMBIOS table and for extra arguments.
# Usage: test_hostinfo_cli.sh /path/to/tagent /path/to/shared/corpora
set -u
TAGENT=$1
PURLEY=$2/isecl/hostinfo/purley
. "$(dirname "$0")/../lib/check.sh"

R=$WORK/root
mkdir -p "$R/sys/firmware/dmi/tables" "$R/sys/firmware/acpi/tables" "$R/etc" "$R/dev"
ln -s "$PURLEY/DMI" "$R/sys/firmware/dmi/tables/DMI"
ln -s "$PURLEY/TPM2" "$R/sys/firmware/acpi/tables/TPM2"
ln -s "$PURLEY/os-release" "$R/etc/os-release"
ln -s "$PURLEY/hostname" "$R/etc/hostname"
: >"$R/dev/tpm0"

"$TAGENT" --root "$R" hostinfo >"$WORK/out" 2>"$WORK/err"
check "hostinfo on the purley root: exit 0" test $? -eq 0
check "... nothing on stderr" test ! -s "$WORK/err"
keys=$(grep -o $'^\t"[a-z_]*"' "$WORK/out" | tr -d '\t"' | tr '\n' ' ')
check "... the spec's keys in its order" test "$keys" = "os_name os_version os_type bios_version bios_name \
vmm_name vmm_version processor_info host_name hardware_uuid process_flags no_of_sockets tboot_installed \
is_docker_env hardware_features installed_components "
# each DMI-derived value exactly as the Go agent printed it for this host
for key in bios_name bios_version processor_info process_flags hardware_uuid; do
    want=$(grep -o "\"$key\": *\"[^\"]*\"" "$PURLEY/platform-info.json" | sed 's/.*: *//')
    check "... $key = $want" grep -qF $'\t'"\"$key\":"$'\t'"$want," "$WORK/out"
done
check "... os_name RedHatEnterprise" grep -qF $'"os_name":\t"RedHatEnterprise"' "$WORK/out"
check "... TPM 2.0 enabled (string)" grep -qF $'"enabled":\t"true"' "$WORK/out"

head -c 300 "$PURLEY/DMI" >"$WORK/DMI.cut"
rm "$R/sys/firmware/dmi/tables/DMI"
ln -s "$WORK/DMI.cut" "$R/sys/firmware/dmi/tables/DMI"
"$TAGENT" --root "$R" hostinfo >"$WORK/out" 2>&1
check "truncated SMBIOS table: exit 1" test $? -eq 1
check "... naming the file and the offset" grep -q 'DMI: the SMBIOS table is damaged at offset 209 of 300' "$WORK/out"

"$TAGENT" --root "$R" hostinfo extra >"$WORK/out" 2>&1
check "an extra argument: exit 1" test $? -eq 1
check "... with the usage" grep -q 'usage: hostinfo' "$WORK/out"

check_summary
