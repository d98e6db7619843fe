#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent hostinfo` as a person runs it, under a root prefix of links to the purley corpus host (plus TXT on
# in an MSR file, tboot's txt-stat and two CPUs: tests/golden/hostinfo-purley-root.sh): byte for byte
# tests/golden/hostinfo-purley.json, which is what the Go agent's own parser printed for these files
# (see the unit test for how the golden was checked), the keys in the Go struct's order and the corpus's DMI
# values; with /dev/tpm0 gone, the TPM reported off with its empty meta, as Go does; a clear error and exit 1
# for a damaged SMBIOS table and for extra arguments.
# Usage: test_hostinfo_cli.sh /path/to/tagent /path/to/shared/corpora /path/to/tests/golden
set -u
TAGENT=$1
PURLEY=$2/isecl/hostinfo/purley
GOLDEN=$3
. "$(dirname "$0")/../lib/check.sh"

. "$GOLDEN/hostinfo-purley-root.sh"
R=$WORK/root
hostinfo_purley_root "$R" "$PURLEY"

"$TAGENT" --root "$R" hostinfo >"$WORK/out" 2>"$WORK/err"
check "hostinfo on the purley root: exit 0" test $? -eq 0
check "... nothing on stderr" test ! -s "$WORK/err"
check "... byte for byte the golden (the Go agent's MarshalIndent and Println)" \
    cmp "$WORK/out" "$GOLDEN/hostinfo-purley.json"
keys=$(grep -o '^  "[a-z_]*"' "$WORK/out" | tr -d ' "' | tr '\n' ' ')
check "... the Go struct's keys in its order" test "$keys" = "os_name os_version os_type bios_version \
vmm_name vmm_version processor_info host_name bios_name hardware_uuid process_flags no_of_sockets \
tboot_installed is_docker_env hardware_features installed_components "
# each DMI-derived value exactly as the Go agent printed it for this host
for key in bios_name bios_version processor_info process_flags hardware_uuid; do
    want=$(grep -o "\"$key\": *\"[^\"]*\"" "$PURLEY/platform-info.json" | sed 's/.*: *//')
    check "... $key = $want" grep -qxF "  \"$key\": $want," "$WORK/out"
done

rm "$R/dev/tpm0"
"$TAGENT" --root "$R" hostinfo >"$WORK/out" 2>&1
check "no /dev/tpm0: exit 0" test $? -eq 0
tr -d ' \n' <"$WORK/out" >"$WORK/flat"
check "... the TPM off, its meta still there with an empty tpm_version" \
    grep -qF '"TPM":{"enabled":"false","meta":{"tpm_version":""}},' "$WORK/flat"
: >"$R/dev/tpm0"

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
