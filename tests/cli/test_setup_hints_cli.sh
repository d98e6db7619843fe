#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Issue 12 #10: the second line of a setup failure follows from the cause, not from the task. Each cause is
# triggered through the binary; the hint must name the failing file, setting or user and the action, and must
# not be the task's fixed remedy about unrelated settings.
# Usage: test_setup_hints_cli.sh /path/to/tagent
set -u
TAGENT=$1
. "$(dirname "$0")/../lib/check.sh"
out_has() { grep -qF -- "$1" "$WORK/out"; }
out_lacks() { ! grep -qF -- "$1" "$WORK/out"; }

cat >"$WORK/ta.env" <<EOS
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:4222
HVS_URL=https://127.0.0.1:1/hvs/v2
AAS_API_URL=https://127.0.0.1:1/aas/v1
CMS_BASE_URL=https://127.0.0.1:1/cms/v1
CMS_TLS_CERT_SHA384=$(printf '%096d' 0)
BEARER_TOKEN=abc
TPM_OWNER_SECRET=hex:5e7a11c0ffee5e7a11c0ffee
TA_HOST_ID=h1
EOS

# 1. no SMBIOS table under the root prefix
R=$WORK/r1
mkdir -p "$R"
"$TAGENT" --root "$R" setup download-api-token -f "$WORK/ta.env" >"$WORK/out" 2>&1
check "missing SMBIOS: setup exits 1" test $? -eq 1
check "... names the DMI file" out_has "$R/sys/firmware/dmi/tables/DMI: No such file"
check "... and says to restore it (under --root DIR)" out_has "restore the file named above (with --root DIR"
check "... not the task's AAS hint" out_lacks "check AAS_API_URL and BEARER_TOKEN"

# 2. the TPM cannot be reached
R=$WORK/r2
mkdir -p "$R"
TAGENT_TCTI=swtpm:host=127.0.0.1,port=9 "$TAGENT" --root "$R" setup take-ownership -f "$WORK/ta.env" \
    >"$WORK/out" 2>&1
check "TPM unreachable: setup exits 1" test $? -eq 1
check "... names the TCTI and TAGENT_TCTI" out_has 'cannot open the TPM through "swtpm:host=127.0.0.1,port=9"'
check "... not the owner-secret hint" out_lacks "set TPM_OWNER_SECRET"

# 3a. not root, no root prefix (only meaningful when the test itself is not root: run it as nobody then)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
    AS_NOBODY=()
fi
if [ "$(id -u)" -ne 0 ] || [ ${#AS_NOBODY[@]} -gt 0 ]; then
    chmod 0644 "$WORK/ta.env"
    chmod 0755 "$WORK"
    "${AS_NOBODY[@]}" "$TAGENT" setup update-service-config -f "$WORK/ta.env" >"$WORK/out" 2>&1
    check "not root: setup exits 1" test $? -eq 1
    check "... says root is needed for /etc/trustagent/config.yml" \
        out_has "must run as root: it writes /etc/trustagent/config.yml"
    check "... and says sudo or --root" out_has 'run `sudo tagent setup ...`, or give --root DIR'
    check "... not the trustagent.env hint" out_lacks "fix the settings named above in trustagent.env"
fi

# 3b. cannot write config.yml under a root prefix (a root-owned prefix, setup run as nobody)
if [ ${#AS_NOBODY[@]} -gt 0 ]; then
    R=$WORK/r3
    mkdir -p "$R/etc/trustagent"
    chmod 0755 "$R" "$R/etc" "$R/etc/trustagent"
    "${AS_NOBODY[@]}" "$TAGENT" --root "$R" setup update-service-config -f "$WORK/ta.env" >"$WORK/out" 2>&1
    check "config.yml not writable: setup exits 1" test $? -eq 1
    check "... names the file" out_has "cannot write $R/etc/trustagent/config.yml: Permission denied"
    check "... and says to run as root" out_has "run setup as root (\`sudo tagent setup update-service-config\`)"
    check "... not the trustagent.env hint" out_lacks "fix the settings named above in trustagent.env"
fi

# 3c. disk full: a tiny tmpfs as the prefix's /etc/trustagent (needs root and mount; skipped otherwise)
R=$WORK/r4
mkdir -p "$R/etc/trustagent"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4k tmpfs "$R/etc/trustagent" 2>/dev/null; then
    head -c 4096 /dev/zero >"$R/etc/trustagent/filler" 2>/dev/null
    "$TAGENT" --root "$R" setup update-service-config -f "$WORK/ta.env" >"$WORK/out" 2>&1
    rc=$?
    umount "$R/etc/trustagent"
    check "disk full: setup exits 1" test $rc -eq 1
    check "... names config.yml" out_has "cannot write $R/etc/trustagent/config.yml: No space left"
    check "... and says to free space there" out_has "free space on the file system that holds $R/etc/trustagent"
    check "... not the trustagent.env hint" out_lacks "fix the settings named above in trustagent.env"
else
    echo "skip - disk full (needs root and tmpfs)"
fi

# 4. an empty config.yml (mode defaults to http) and an outbound task
R=$WORK/r5
mkdir -p "$R/etc/trustagent"
: >"$R/etc/trustagent/config.yml"
"$TAGENT" --root "$R" setup download-credential >"$WORK/out" 2>&1
check "empty config.yml: an outbound task exits 1" test $? -eq 1
check "... says where the mode comes from and what to set" \
    out_has "give TA_SERVICE_MODE=outbound in trustagent.env with -f"

check_summary
