#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `cmake --install --prefix P` (issue 17): what compatibility pins stays where systemd and the Go agent's
# scripts look (units, sysusers.d, tmpfiles.d, TAGENT_BIN_DIR and the /usr/bin/tagent link; the command modules
# follow the binary to TAGENT_BIN_DIR/../lib/tagent, where it loads them from); everything else
# (tagent-admin, man pages, bash completion, the example trustagent.env) goes below P, as GNUInstallDirs says.
# Usage: test_install_prefix.sh BUILD_DIR
set -u
BUILD=$1
. "$(dirname "$0")/../lib/check.sh"
D=$WORK/dest
DESTDIR=$D cmake --install "$BUILD" --prefix /srv/tagent >"$WORK/out" 2>&1
check "DESTDIR=... cmake --install --prefix /srv/tagent" test $? -eq 0
bin_dir=$(sed -n 's/^TAGENT_BIN_DIR:PATH=//p' "$BUILD/CMakeCache.txt")
for f in "$bin_dir/tagent" /lib/systemd/system/tagent.service /lib/systemd/system/tagent_init.service \
    /usr/lib/sysusers.d/tagent.conf /usr/lib/tmpfiles.d/tagent.conf; do
    check "pinned: $f" test -f "$D$f"
done
module_dir=$(dirname "$bin_dir")/lib/tagent
for m in eventlog service manage ctl luks config-apply; do
    check "beside the binary: $module_dir/tagent-$m.so" test -f "$D$module_dir/tagent-$m.so"
done
check "the installed tagent loads its modules: version, then eventlog --replay" \
    bash -c '"$1/tagent" version && "$1/tagent" eventlog --replay --file /dev/null 2>&1 | grep -q "event log"' _ "$D$bin_dir"
check "the units run $bin_dir/tagent" grep -qx "ExecStart=$bin_dir/tagent startService" "$D/lib/systemd/system/tagent.service"
for f in bin/tagent-admin share/bash-completion/completions/tagent share/bash-completion/completions/tagent-admin \
    share/doc/tagent/examples/trustagent.env; do
    check "under the prefix: /srv/tagent/$f" test -f "$D/srv/tagent/$f"
done
if grep -q '^TAGENT_MAN:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    for f in man1/tagent-admin.1 man5/trustagent.env.5 man8/tagent.8; do
        check "under the prefix: /srv/tagent/share/man/$f" test -f "$D/srv/tagent/share/man/$f"
    done
fi
check "nothing else outside the prefix" \
    bash -c 'cd "$1" && ! find . \( -type f -o -type l \) | grep -vE "^\./(srv/tagent/|lib/systemd/system/tagent|usr/lib/(sysusers|tmpfiles)\.d/tagent\.conf$|usr/bin/tagent$|${2#/}/tagent$|${3#/}/tagent-[a-z-]+\.so$)"' _ "$D" "$bin_dir" "$module_dir"
check_summary
