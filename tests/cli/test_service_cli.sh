#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Issue 12, also seen: `<command> --help` prints that command's usage (exit 0); `start`/`stop`/`restart`
# forward to systemctl (a stand-in in PATH records what it was asked) and say so when there is none;
# `uninstall` under a root prefix removes the agent's four paths and nothing else, and runs no systemctl;
# where dpkg knows the package tagent (issue 17) it removes nothing and names the apt-get commands.
# Usage: test_service_cli.sh /path/to/tagent
set -u
TAGENT=$1
. "$(dirname "$0")/../lib/check.sh"

for c in setup status startService init uninstall start stop restart; do
    "$TAGENT" "$c" --help >"$WORK/out" 2>&1
    rc=$?
    check "$c --help exits 0" test $rc -eq 0
    check "... and prints its usage" grep -q "^Usage: tagent \[--root DIR\] $c" "$WORK/out"
done
"$TAGENT" setup --help >"$WORK/out" 2>&1
check "setup --help names its arguments" grep -qF 'setup <task...|all> [-f FILE] [--force]' "$WORK/out"

# a systemctl stand-in: records its arguments, exits 3 for stop (as systemctl does for some failures)
mkdir -p "$WORK/bin"
cat >"$WORK/bin/systemctl" <<EOS
#!/bin/sh
echo "\$*" >>"$WORK/systemctl.log"
[ "\$1" = stop ] && exit 3
exit 0
EOS
chmod +x "$WORK/bin/systemctl"
PATH="$WORK/bin:$PATH" "$TAGENT" start >"$WORK/out" 2>&1
rc=$?
check "start exits with systemctl's status (0)" test $rc -eq 0
check "... says where it forwards" grep -qF 'Forwarding to "systemctl start tagent"' "$WORK/out"
check "... and ran systemctl start tagent.service" grep -qx 'start tagent.service' "$WORK/systemctl.log"
PATH="$WORK/bin:$PATH" "$TAGENT" stop >"$WORK/out" 2>&1
rc=$?
check "stop exits with systemctl's status (3)" test $rc -eq 3
check "... and ran systemctl stop tagent.service" grep -qx 'stop tagent.service' "$WORK/systemctl.log"
PATH="$WORK/bin:$PATH" "$TAGENT" restart >"$WORK/out" 2>&1
rc=$?
check "restart exits with systemctl's status (0)" test $rc -eq 0
check "... and ran systemctl restart tagent.service" grep -qx 'restart tagent.service' "$WORK/systemctl.log"
PATH="$WORK/empty" "$TAGENT" start >"$WORK/out" 2>&1
rc=$?
check "start without systemctl exits 1" test $rc -eq 1
check "... and says systemctl was not found and what runs the service" \
    grep -qF 'systemctl was not found in PATH' "$WORK/out"

# uninstall under a root prefix
R=$WORK/root
mkdir -p "$R/opt/trustagent/bin" "$R/opt/trustagent/var" "$R/etc/trustagent/credentials" \
    "$R/var/log/trustagent" "$R/usr/bin" "$R/etc/other" "$R/outside"
echo keep >"$R/outside/file"
echo secret >"$R/etc/trustagent/credentials/ta.creds"
echo x >"$R/opt/trustagent/bin/tagent"
ln -s ../../opt/trustagent/bin/tagent "$R/usr/bin/tagent"
ln -s "$R/outside" "$R/etc/trustagent/link"
: >"$WORK/systemctl.log"
PATH="$WORK/bin:$PATH" "$TAGENT" --root "$R" uninstall >"$WORK/out" 2>&1
rc=$?
check "uninstall under a root prefix exits 0" test $rc -eq 0
for p in /opt/trustagent /usr/bin/tagent /var/log/trustagent /etc/trustagent; do
    check "... removed $p" test ! -e "$R$p" -a ! -L "$R$p"
done
check "... left the rest alone" test -d "$R/etc/other" -a -d "$R/usr/bin"
check "... did not follow a link out of /etc/trustagent" test -f "$R/outside/file"
check "... ran no systemctl under a prefix" test ! -s "$WORK/systemctl.log"
check "... says the TPM's objects stay" grep -qF "TPM's objects and ownership are unchanged" "$WORK/out"
"$TAGENT" --root "$R" uninstall >"$WORK/out" 2>&1
check "a second uninstall finds nothing and exits 0" test $? -eq 0

# uninstall where the Debian package installed tagent: dpkg-query --root knows it, nothing goes
if command -v dpkg-query >/dev/null; then
    P=$WORK/packaged
    mkdir -p "$P/var/lib/dpkg/info" "$P/var/lib/dpkg/updates" "$P/etc/trustagent" "$P/usr/bin"
    printf 'Package: tagent\nStatus: install ok installed\nVersion: 0.1.0\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: t\n\n' \
        >"$P/var/lib/dpkg/status"
    echo x >"$P/usr/bin/tagent"
    echo cfg >"$P/etc/trustagent/config.yml"
    : >"$WORK/systemctl.log"
    PATH="$WORK/bin:$PATH" "$TAGENT" --root "$P" uninstall >"$WORK/out" 2>&1
    rc=$?
    check "uninstall of a packaged install exits 1" test $rc -eq 1
    check "... names apt-get remove and apt-get purge" \
        bash -c 'grep -qF "apt-get remove tagent" "$1" && grep -qF "apt-get purge tagent" "$1"' _ "$WORK/out"
    check "... removed nothing and ran no systemctl" \
        bash -c 'test -f "$1/usr/bin/tagent" -a -f "$1/etc/trustagent/config.yml" && test ! -s "$2"' _ "$P" "$WORK/systemctl.log"
else
    echo "# not a Debian system (no dpkg-query): the packaged-install case is not checked"
fi

check_summary
