#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent init` as tagent_init.service runs it, against a root prefix of links to the Intel corpus host:
# platform-info (0600, byte for byte the golden purley HostInfo as the Go agent writes the file:
# MarshalIndent with two spaces, no final newline) and measure-log.json (0644, byte for byte the golden
# compact JSON of the ACPI-area log plus the application events); with a user tagent in <root>/etc/passwd:
# the IMA and boot-log group, and /opt/trustagent (but bin/) and /var/log/trustagent chowned without
# following a planted symbolic link; without the user, or in a container, nothing chowned; warnings (not
# failures) for a missing event log, clear errors for no config.yml, a damaged SMBIOS table, an extra
# argument and a non-root caller.
# Usage: test_init_cli.sh /path/to/tagent /path/to/shared/corpora /path/to/tests/golden /path/to/config.yml
set -u
TAGENT=$1
CORPORA=$2
GOLDEN=$3
CONFIG=$4
. "$(dirname "$0")/../lib/check.sh"
owner() { stat -c '%u:%g' "$1"; }
mode() { stat -c '%a' "$1"; }

# As root the test can give files to another id; as anyone else only to itself (chown to self works).
if [[ $(id -u) -eq 0 ]]; then TA_UID=4242 TA_GID=4343; else TA_UID=$(id -u) TA_GID=$(id -g); fi
ME="$(id -u):$(id -g)"

R=$WORK/root
VAR=$R/opt/trustagent/var
mkdir -p "$R/sys/kernel/security/ima" "$R/sys/kernel/security/tpm0" "$R/etc/trustagent" "$VAR/ramfs" \
    "$R/opt/trustagent/bin" "$R/var/log/trustagent"
# the golden purley host, its ACPI TPM2 table the event-log corpus's (for the log area; same HostInfo)
. "$GOLDEN/hostinfo-purley-root.sh"
hostinfo_purley_root "$R" "$CORPORA/isecl/hostinfo/purley" "$CORPORA/isecl/eventlog/tpm2_valid"
ln -s "$CORPORA/isecl/eventlog/uefi_event_log.bin" "$R/dev/mem"
ln -s "$CORPORA/isecl/eventlog/pcr_event_log" "$VAR/ramfs/pcr_event_log"
cp "$CONFIG" "$R/etc/trustagent/config.yml" # ima-measure-enabled: true
: >"$R/sys/kernel/security/ima/ascii_runtime_measurements"
: >"$R/opt/trustagent/bin/tagent"
echo old >"$R/var/log/trustagent/trustagent.log"
echo 'stale from another boot' >"$VAR/measure-log.json"

# ---- no user tagent: files written, nothing chowned ----
"$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
check "init without a tagent user: exit 0" test $? -eq 0
check "... prints the Go agent's completion line" test "$(cat "$WORK/out")" = "tagent 'init' completed successful"
check "... notes that there is no user tagent" grep -q 'there is no user tagent' "$WORK/err"
check "... platform-info is 0600" test "$(mode "$VAR/system-info/platform-info")" = 600
check "... platform-info = golden (the Go agent's bytes, no final newline)" \
    cmp -s <(cat "$VAR/system-info/platform-info" && echo) "$GOLDEN/hostinfo-purley.json"
check "... platform-info has the corpus host's hardware_uuid" \
    grep -qx '  "hardware_uuid": "8032632b-8fa4-e811-906e-00163566263e",' "$VAR/system-info/platform-info"
check "... measure-log.json is 0644" test "$(mode "$VAR/measure-log.json")" = 644
check "... measure-log.json = golden (ACPI log area + application events, compact)" \
    cmp -s <(cat "$VAR/measure-log.json" && echo) "$GOLDEN/measure-log-isecl-uefi.json"
check "... says where the log came from" grep -q 'from the ACPI log area in /dev/mem and the application events' "$WORK/err"
check "... /var/log/trustagent untouched" test "$(owner "$R/var/log/trustagent/trustagent.log")" = "$ME"

# ---- with user tagent in <root>/etc/passwd ----
echo "tagent:x:$TA_UID:$TA_GID:Trust Agent:/opt/trustagent:/bin/false" >"$R/etc/passwd"
echo 'do not chown me' >"$WORK/outside"
ln -s "$WORK/outside" "$VAR/planted-link"
mkdir -p "$VAR/deep/er"
: >"$VAR/deep/er/manifest_x.xml"
: >"$R/sys/kernel/security/tpm0/binary_bios_measurements"
"$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
check "init with a tagent user: exit 0" test $? -eq 0
check "... completion line" grep -qx "tagent 'init' completed successful" "$WORK/out"
check "... /opt/trustagent/var owned by tagent" test "$(owner "$VAR")" = "$TA_UID:$TA_GID"
check "... var/ files too, recursively" test "$(owner "$VAR/deep/er/manifest_x.xml")" = "$TA_UID:$TA_GID"
check "... platform-info too" test "$(owner "$VAR/system-info/platform-info")" = "$TA_UID:$TA_GID"
check "... bin/ stays root's" test "$(owner "$R/opt/trustagent/bin/tagent")" = "$ME"
check "... a planted symbolic link is not followed" test "$(owner "$WORK/outside")" = "$ME"
check "... /var/log/trustagent owned by tagent" test "$(owner "$R/var/log/trustagent/trustagent.log")" = "$TA_UID:$TA_GID"
check "... IMA log group = tagent's" test "$(stat -c %g "$R/sys/kernel/security/ima/ascii_runtime_measurements")" = "$TA_GID"
check "... boot event log group = tagent's" \
    test "$(stat -c %g "$R/sys/kernel/security/tpm0/binary_bios_measurements")" = "$TA_GID"
check "... says what it chowned" grep -q 'opt/trustagent/var: [0-9]* entries now owned by tagent' "$WORK/err"
check "... /opt/trustagent itself stays root's (else tagent could swap bin/)" \
    test "$(owner "$R/opt/trustagent")" = "$ME"
# A host the Go agent was installed on: its installer gave tagent the whole tree. As root, init takes the top
# directory back (the service user could otherwise rename bin/ and plant the binary init runs as root).
if [[ $(id -u) -eq 0 ]]; then
    chown "$TA_UID:$TA_GID" "$R/opt/trustagent"
    "$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
    check "init on a Go-agent tree: exit 0" test $? -eq 0
    check "... /opt/trustagent is root's again" test "$(owner "$R/opt/trustagent")" = "0:0"
    check "... and says so" grep -q "it is root's now" "$WORK/err"
fi
rm "$R/sys/kernel/security/tpm0/binary_bios_measurements" # an empty securityfs log would hide the ACPI one

# ---- IMA enabled but no IMA log: a warning that says what to do ----
rm "$R/sys/kernel/security/ima/ascii_runtime_measurements"
"$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
check "IMA enabled, no IMA log: exit 0" test $? -eq 0
check "... warns that quotes will fail and how to fix it" grep -q 'no IMA log.*IMA_MEASURE_ENABLED=false' "$WORK/err"

# ---- no event log at all: a warning, and the stale file from the last run is removed ----
rm "$R/dev/mem" "$VAR/ramfs/pcr_event_log"
"$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
check "no event log: still exit 0 (only a warning)" test $? -eq 0
check "... warns about an empty event log" grep -q 'quotes will carry an empty event log' "$WORK/err"
check "... names both sources tried" grep -q 'binary_bios_measurements.*and from ACPI' "$WORK/err"
check "... the previous measure-log.json is gone" test ! -e "$VAR/measure-log.json"

# ---- in a container: files written, nothing handed over ----
touch "$R/.container-env"
echo 'tagent:x:1:1::/:/bin/false' >"$R/etc/passwd"
rm "$VAR/system-info/platform-info"
"$TAGENT" --root "$R" init >"$WORK/out" 2>"$WORK/err"
check "in a container: exit 0" test $? -eq 0
check "... platform-info written" test -s "$VAR/system-info/platform-info"
check "... nothing chowned" test "$(owner "$VAR")" = "$TA_UID:$TA_GID"
rm "$R/.container-env"

# ---- errors ----
mv "$R/etc/trustagent/config.yml" "$WORK/config.yml"
"$TAGENT" --root "$R" init >"$WORK/out" 2>&1
check "no config.yml: exit 1" test $? -eq 1
check "... says to run setup" grep -q 'config.yml does not exist: run `tagent setup all` first' "$WORK/out"
check "... no completion line" test "$(grep -c completed "$WORK/out")" = 0
mv "$WORK/config.yml" "$R/etc/trustagent/config.yml"

head -c 300 "$CORPORA/isecl/hostinfo/purley/DMI" >"$WORK/DMI.cut"
ln -sf "$WORK/DMI.cut" "$R/sys/firmware/dmi/tables/DMI"
"$TAGENT" --root "$R" init >"$WORK/out" 2>&1
check "damaged SMBIOS table: exit 1" test $? -eq 1
check "... naming the table and platform-info" grep -q 'DMI: the SMBIOS table is damaged.*platform-info is not written' "$WORK/out"

"$TAGENT" --root "$R" init extra >"$WORK/out" 2>&1
check "an extra argument: exit 1" test $? -eq 1
check "... with the usage" grep -q 'usage: init' "$WORK/out"

# Without --root init works on the real system, so it must refuse anyone but root. Never run it as root
# here: as root, drop to nobody first.
if [[ $(id -u) -eq 0 ]]; then
    if command -v setpriv >/dev/null; then
        env -u TAGENT_ROOT setpriv --reuid=65534 --regid=65534 --clear-groups "$TAGENT" init >"$WORK/out" 2>&1
        rc=$?
    else
        echo "# setpriv is missing: root-only check not run" && rc=skip
    fi
else
    env -u TAGENT_ROOT "$TAGENT" init >"$WORK/out" 2>&1
    rc=$?
fi
if [[ $rc != skip ]]; then
    check "not root, no --root: exit 1" test "$rc" -eq 1
    check "... must run as root" grep -q 'init: must run as root' "$WORK/out"
fi

check_summary
