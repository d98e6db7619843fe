#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent eventlog` as a user runs it: --replay agrees with tpm2_eventlog (an independent implementation)
# on every corpus log it can read; the default sources (securityfs, then ACPI + /dev/mem) under a root
# prefix; clear errors for missing, truncated and non-log files.
# Usage: test_eventlog_cli.sh /path/to/tagent /path/to/shared/corpora
set -u
TAGENT=$1
CORPORA=$2
. "$(dirname "$0")/../lib/check.sh"

# "bank index value" lines from tpm2_eventlog's YAML pcrs section and from tagent's --replay JSON
peer_pcrs() {
    tpm2_eventlog "$1" 2>/dev/null | sed -n '/^pcrs:/,$p' |
        awk '/^  [a-z0-9]+:$/ {bank=$1; sub(":", "", bank); next}
             /^    [0-9]+ *:/ {idx=$1; v=$NF; sub("0x", "", v); print bank, idx+0, tolower(v)}' | sort
}
our_pcrs() {
    "$TAGENT" eventlog --replay --file "$1" |
        awk '/"pcrs"/ {on=1; next} /"events"/ {on=0}
             on && /"SHA|"SM3/ {bank=tolower($1); gsub(/[":]/, "", bank); next}
             on && /"[0-9]+":/ {idx=$1; gsub(/[":]/, "", idx); v=$2; gsub(/[",]/, "", v); print bank, idx+0, v}' | sort
}

compared=0
for log in "$CORPORA"/eventlog/uefi/*/*.bin; do
    want=$(peer_pcrs "$log")
    [[ -n $want ]] || continue # tpm2_eventlog cannot read it: nothing to compare
    got=$(our_pcrs "$log")
    check "--replay agrees with tpm2_eventlog: ${log#"$CORPORA"/}" test "$got" = "$want"
    compared=$((compared + 1))
done
check "compared at least 12 logs with tpm2_eventlog" test $compared -ge 12

# ---- IMA: PCR 10 per bank of the boot log, with the manifest's SHA1 value for rust-keylime ----
"$TAGENT" eventlog --replay --file "$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" \
    --ima "$CORPORA/eventlog/ima/rust-keylime/ascii_runtime_measurements" >"$WORK/ima.json" 2>&1
check "--ima replays PCR 10 (SHA1 = the manifest's value)" grep -q '"SHA1":	"82231c67a69da98dc5b3aa10f6343d33109225fc"' "$WORK/ima.json"
check "... for every bank of the boot log" grep -q '"SHA384":	"[0-9a-f]\{96\}"' "$WORK/ima.json"
check "... and checks every template hash" grep -q '"template_hash_failures":	0' "$WORK/ima.json"
"$TAGENT" eventlog --replay --file "$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" \
    --ima "$CORPORA/isecl/hostinfo/purley/DMI" >"$WORK/out" 2>&1
check "--ima with a file that is no IMA log: exit 1" test $? -eq 1
IMA_LIST="$CORPORA/eventlog/ima/rust-keylime/ascii_runtime_measurements"
"$TAGENT" eventlog --replay --file "$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" \
    --ima "$IMA_LIST" --ima "$IMA_LIST" >"$WORK/out" 2>&1
check "--ima twice with two SHA1 lists: exit 1, one list per bank" test $? -eq 1 -a -n "$(grep -i 'sha1' "$WORK/out")"
# --check: no TPM where TAGENT_TCTI points is "could not check" (2), never "a PCR differs" (1).
TAGENT_TCTI="swtpm:host=127.0.0.1,port=9" "$TAGENT" eventlog --check \
    --file "$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" >"$WORK/out" 2>&1
check "--check without a TPM: exit 2" test $? -eq 2
check "... naming the TCTI it tried" grep -q 'port=9' "$WORK/out"

# ---- default sources under a root prefix (links to the corpus, nothing copied) ----
R=$WORK/root
mkdir -p "$R/sys/kernel/security/tpm0" "$R/sys/firmware/acpi/tables" "$R/dev" "$R/opt/trustagent/var/ramfs"
"$TAGENT" --root "$R" eventlog >"$WORK/out" 2>&1
check "no source at all: exit 1" test $? -eq 1
check "... naming both sources tried" grep -q 'no event log could be read: .*binary_bios_measurements.*and from ACPI' "$WORK/out"

ln -s "$CORPORA/isecl/eventlog/tpm2_valid" "$R/sys/firmware/acpi/tables/TPM2"
ln -s "$CORPORA/isecl/eventlog/uefi_event_log.bin" "$R/dev/mem"
ln -s "$CORPORA/isecl/eventlog/pcr_event_log" "$R/opt/trustagent/var/ramfs/pcr_event_log"
"$TAGENT" --root "$R" eventlog >"$WORK/acpi.json" 2>"$WORK/err"
check "ACPI TPM2 table + /dev/mem (the Go agent's source) works" test $? -eq 0
check "... with the application events appended" grep -q '"type_name":	"APPLICATION_AGENT_MEASUREMENT"' "$WORK/acpi.json"
check "... and the UEFI events tagged" grep -q '"tags":	\["Boot0001"\]' "$WORK/acpi.json"

ln -s "$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" "$R/sys/kernel/security/tpm0/binary_bios_measurements"
"$TAGENT" --root "$R" eventlog --replay >"$WORK/fs.json" 2>&1
check "securityfs is preferred when present" grep -q '"SHA384"' "$WORK/fs.json"

# ---- bad input ----
"$TAGENT" eventlog --file "$WORK/missing.bin" >"$WORK/out" 2>&1
check "missing file: exit 1 with the reason" test $? -eq 1 -a -n "$(grep 'missing.bin: cannot open: No such file' "$WORK/out")"
head -c 1000 "$CORPORA/eventlog/uefi/tpm2-tools/event-sd-boot-fedora37.bin" >"$WORK/cut.bin"
"$TAGENT" eventlog --replay --file "$WORK/cut.bin" >"$WORK/out" 2>&1
check "truncated log: exit 1 naming the event and offset" test $? -eq 1 -a -n "$(grep -E 'event [0-9]+ at offset 0x[0-9a-f]+' "$WORK/out")"
: >"$WORK/empty.bin"
"$TAGENT" eventlog --file "$WORK/empty.bin" >"$WORK/out" 2>&1
check "empty file: exit 1, 'empty'" test $? -eq 1 -a -n "$(grep 'empty' "$WORK/out")"
"$TAGENT" eventlog --file "$CORPORA/isecl/hostinfo/purley/DMI" >"$WORK/out" 2>&1
check "not an event log: exit 1" test $? -eq 1
"$TAGENT" eventlog --bogus >"$WORK/out" 2>&1
check "unknown option: exit 1 with usage" test $? -eq 1 -a -n "$(grep 'usage: eventlog' "$WORK/out")"

check_summary
