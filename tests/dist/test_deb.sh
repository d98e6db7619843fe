#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Debian packages on this host, as an operator meets them (issue 17): `apt-get install` of tagent and
# tagent-admin makes the user tagent and the directories with their owners and modes, enables the units
# without starting anything; `tagent version`, `man tagent` (and trustagent.env(5), tagent-admin(1)), the
# bash completion and `tagent uninstall`'s apt-get hint work; the installed units pass `systemd-analyze
# verify`; the installed binary provisions a staging root (`setup all`, init) against the mock control plane
# and serves as uid tagent, attested (test_integration_packaged_install --installed); a reinstall (the
# upgrade path) keeps /etc/trustagent. Then `apt-get remove` keeps /etc/trustagent and /opt/trustagent/var
# but not the binary, and `apt-get purge` removes them too;
# the user stays (Debian practice) and this test deletes it. Whatever fails, an EXIT trap purges the packages
# and the user it created, and the host's files, users and groups are compared before and after.
# Needs root and the .deb files (CI: scripts/build-deb.sh, then -DTAGENT_DEB_DIR); exits 77 (skipped)
# without them, or when a trust agent is on this host already (the test would replace and purge it).
# Usage: test_deb.sh DEB_DIR PACKAGED_INSTALL_TEST CORPORA
set -u
DEB_DIR=${1:-${TAGENT_DEB_DIR:-}}
SERVICE_TEST=$2
CORPORA=$3
. "$(dirname "$0")/../lib/check.sh"
skip() {
    echo "SKIP: $*"
    exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root (apt-get install, the user tagent)"
[[ -n $DEB_DIR ]] || skip "no package directory: scripts/build-deb.sh build/deb, then configure with -DTAGENT_DEB_DIR=\$PWD/build/deb"
DEB=$(ls "$DEB_DIR"/tagent_*.deb 2>/dev/null | head -n1)
ADMIN_DEB=$(ls "$DEB_DIR"/tagent-admin_*.deb 2>/dev/null | head -n1)
[[ -f $DEB && -f $ADMIN_DEB ]] || skip "no tagent_*.deb and tagent-admin_*.deb in $DEB_DIR (run scripts/build-deb.sh $DEB_DIR)"
for p in tagent tagent-admin; do
    if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
        skip "package $p is on this host already; this test would replace and purge it"
    fi
done
for d in /etc/trustagent /opt/trustagent /var/log/trustagent /usr/bin/tagent; do
    [[ -e $d || -L $d ]] && skip "$d exists (another trust agent?); this test would purge it"
done
export DEBIAN_FRONTEND=noninteractive

# ---- the state the test must leave as it found it ----
snapshot() {
    {
        getent passwd tagent
        getent group tagent tss
        find /etc/systemd/system /lib/systemd/system /usr/lib/sysusers.d /usr/lib/tmpfiles.d /usr/bin \
            /usr/share/man /usr/share/bash-completion /usr/share/doc /opt /etc/trustagent /var/log/trustagent \
            /var/lib/systemd/deb-systemd-helper-enabled -path /usr/share/man/index.db -prune -o \
            \( -name '*tagent*' -o -path '*trustagent*' \) -printf '%p %m %u:%g %l\n' 2>/dev/null
    } | sort
}
snapshot >"$WORK/before"
had_user=$(getent passwd tagent >/dev/null && echo yes || echo no)
had_group=$(getent group tagent >/dev/null && echo yes || echo no)
# the host as it was, whatever happens below (a failed check, a killed step)
cleanup() {
    if dpkg-query -W tagent tagent-admin >/dev/null 2>&1; then
        apt-get purge -y -q tagent tagent-admin >"$WORK/cleanup.log" 2>&1 || cat "$WORK/cleanup.log"
    fi
    [[ $had_user == no ]] && getent passwd tagent >/dev/null && userdel tagent
    [[ $had_group == no ]] && getent group tagent >/dev/null && groupdel tagent
    rm -rf "$WORK"
}
trap cleanup EXIT
# a signal (ctest's timeout, ^C) ends the script through exit, so the EXIT trap cleans up too
trap 'exit 1' INT TERM HUP

# ---- install ----
apt-get install -y -q --no-install-recommends "$(realpath "$DEB")" "$(realpath "$ADMIN_DEB")" >"$WORK/install.log" 2>&1
rc=$?
check "apt-get install ./tagent_*.deb ./tagent-admin_*.deb" test $rc -eq 0
[[ $rc -eq 0 ]] || { tail -n 30 "$WORK/install.log"; check_summary; exit 1; }
check "... postinst says how to provision" grep -qF 'tagent setup all -f trustagent.env' "$WORK/install.log"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd tagent)
check "user tagent: a system uid (${uid:-none}), home /opt/trustagent, shell /bin/false" \
    test "${uid:-9999}" -lt 1000 -a "${home:-}:${shell:-}" = /opt/trustagent:/bin/false
check "... in group tss (/dev/tpmrm0)" bash -c 'id -nG tagent | grep -qw tss'
expect() { # path mode owner
    local is
    is=$(stat -c '%a %U:%G' "$1" 2>/dev/null)
    check "$1: mode $2, owner $3${is:+ (is: $is)}" test "$is" = "$2 $3"
}
expect /opt/trustagent 755 root:root
expect /opt/trustagent/bin 755 root:root
expect /opt/trustagent/var 755 tagent:tagent
expect /opt/trustagent/var/system-info 755 tagent:tagent
expect /opt/trustagent/var/ramfs 755 tagent:tagent
expect /etc/trustagent 755 tagent:tagent
expect /etc/trustagent/cacerts 755 tagent:tagent
expect /etc/trustagent/jwt 755 tagent:tagent
expect /etc/trustagent/credentials 700 tagent:tagent
expect /var/log/trustagent 740 tagent:tagent
expect /usr/bin/tagent 755 root:root
expect /usr/bin/tagent-admin 755 root:root
check "/opt/trustagent/bin/tagent -> /usr/bin/tagent (postinst, for Go-agent scripts)" \
    test "$(readlink /opt/trustagent/bin/tagent)" = /usr/bin/tagent
check "/etc/trustagent/tpm-version says 2.0" test "$(cat /etc/trustagent/tpm-version 2>/dev/null)" = 2.0
check "/usr/share/doc/tagent/examples/trustagent.env is the answer file template" \
    grep -q '^TA_SERVICE_MODE=' /usr/share/doc/tagent/examples/trustagent.env

check "tagent version: v$(dpkg-query -W -f '${Version}' tagent)" \
    bash -c '/usr/bin/tagent version | grep -q "^Version: v$1-"' _ "$(dpkg-query -W -f '${Version}' tagent)"
check "/opt/trustagent/bin/tagent version works too" bash -c "/opt/trustagent/bin/tagent version >/dev/null"
check "the command modules are in /usr/lib/tagent and load through both paths (help: manage; hostinfo: ctl)" \
    bash -c 'ls /usr/lib/tagent/tagent-{eventlog,service,manage,ctl,luks,config-apply}.so >/dev/null &&
             /opt/trustagent/bin/tagent help | grep -q update-service-config &&
             /usr/bin/tagent hostinfo --help | grep -q "^Usage: tagent"'
man_has() { MANWIDTH=200 man -P cat "$1" 2>/dev/null | grep -qF -- "$2"; }
check "man tagent" man_has tagent 'tagent - TPM 2.0 remote attestation agent'
check "man 5 trustagent.env" man_has trustagent.env 'TPM_OWNER_SECRET'
check "man tagent-admin" man_has tagent-admin 'tagent-admin keys gen'
check "tagent-admin help" bash -c 'tagent-admin help | grep -q "luks   policy"'
complete_words() { # bash completion of the words given, the last one being completed
    bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"; shift
             COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
             "$(complete -p "$1" | awk "{print \$3}")"; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
check "bash completion: tagent re<TAB> offers restart" \
    grep -qx restart <<<"$(complete_words /usr/share/bash-completion/completions/tagent tagent re)"
check "bash completion: tagent setup provision-a<TAB> offers provision-aik" \
    grep -qx provision-aik <<<"$(complete_words /usr/share/bash-completion/completions/tagent tagent setup provision-a)"
check "bash completion: tagent-admin luks p<TAB> offers policy" \
    grep -qx policy <<<"$(complete_words /usr/share/bash-completion/completions/tagent-admin tagent-admin luks p)"

# ---- the units: as installed, enabled, running /usr/bin/tagent ----
UNITS=(tagent.service tagent_init.service tagent-config-apply.service tagent-luks.service tagent-setup.service)
for u in "${UNITS[@]}"; do
    check "$u is enabled (multi-user.target.wants)" test -L "/etc/systemd/system/multi-user.target.wants/$u"
done
check "tagent.service runs /usr/bin/tagent startService" \
    grep -qx 'ExecStart=/usr/bin/tagent startService' /lib/systemd/system/tagent.service
out=$(cd /lib/systemd/system && systemd-analyze verify --man=no --generators=no "${UNITS[@]}" 2>&1)
rc=$?
echo "$out" | sed 's/^/# verify: /'
check "systemd-analyze verify: the installed units, no warning at all" test "$rc:$out" = "0:"

# ---- tagent uninstall on a packaged install ----
/usr/bin/tagent uninstall >"$WORK/uninstall.out" 2>&1
rc=$?
check "tagent uninstall exits 1 and names apt-get remove/purge" \
    bash -c '[[ $1 == 1 ]] && grep -qF "apt-get remove tagent" "$2" && grep -qF "apt-get purge tagent" "$2"' _ "$rc" "$WORK/uninstall.out"
check "... and removed nothing" test -x /usr/bin/tagent -a -d /etc/trustagent

# ---- setup all + the service as uid tagent, attested (the installed binary, the package's layout) ----
"$SERVICE_TEST" /usr/bin/tagent "$CORPORA" --installed >"$WORK/service.log" 2>&1
rc=$?
grep -E '^\[ *(OK|FAILED|SKIPPED|ERROR) *\]|fail|error' "$WORK/service.log" | head -n 20 | sed 's/^/# service: /'
check "setup all + startService as tagent (packaged binary) gets attested" test $rc -eq 0
check "... and ran (not skipped)" grep -q '^\[  PASSED  \] 1 test' "$WORK/service.log"

# ---- upgrade (the same version again: postinst configure with the old version, as an upgrade runs it) ----
echo "kept" >/etc/trustagent/marker
apt-get install -y -q --reinstall "$(realpath "$DEB")" >"$WORK/upgrade.log" 2>&1
check "apt-get install --reinstall (the upgrade path)" test $? -eq 0
check "... /etc/trustagent and what was in it stay" test -f /etc/trustagent/marker
check "... same user, the link still there, tagent.service still enabled" \
    bash -c '[[ $(id -u tagent) == "$1" && $(readlink /opt/trustagent/bin/tagent) == /usr/bin/tagent ]] &&
             test -L /etc/systemd/system/multi-user.target.wants/tagent.service' _ "$uid"
check "... no first-install hint this time" bash -c '! grep -qF "tagent setup all" "$1"' _ "$WORK/upgrade.log"

# ---- remove: the binary goes, configuration and state stay ----
apt-get remove -y -q tagent >"$WORK/remove.log" 2>&1
check "apt-get remove tagent" test $? -eq 0
check "... /usr/bin/tagent, the units and man page are gone" \
    test ! -e /usr/bin/tagent -a ! -e /lib/systemd/system/tagent.service -a ! -e /usr/share/man/man8/tagent.8.gz
check "... the /opt/trustagent/bin/tagent link is gone" test ! -L /opt/trustagent/bin/tagent
check "... /etc/trustagent and what was in it stay" test -f /etc/trustagent/marker -a -f /etc/trustagent/tpm-version
check "... /opt/trustagent/var and /var/log/trustagent stay" test -d /opt/trustagent/var -a -d /var/log/trustagent
check "... dpkg keeps the package's configuration state (rc)" \
    test "$(dpkg-query -W -f '${db:Status-Status}' tagent)" = config-files
check "... tagent-admin is still installed and works" bash -c "tagent-admin help >/dev/null"

# ---- purge: every file goes; the user stays (then this test removes it) ----
apt-get purge -y -q tagent tagent-admin >"$WORK/purge.log" 2>&1
check "apt-get purge tagent tagent-admin" test $? -eq 0
for d in /etc/trustagent /opt/trustagent /var/log/trustagent /usr/bin/tagent-admin; do
    check "... $d is gone" test ! -e "$d" -a ! -L "$d"
done
check "... no unit is enabled any more" bash -c '! ls /etc/systemd/system/*/tagent* 2>/dev/null | grep -q .'
check "... dpkg forgot both packages" bash -c '! dpkg-query -W tagent tagent-admin >/dev/null 2>&1'
check "... the system user tagent stays (Debian practice)" bash -c "getent passwd tagent >/dev/null"
[[ $had_user == no ]] && userdel tagent
[[ $had_group == no ]] && getent group tagent >/dev/null && groupdel tagent
snapshot >"$WORK/after"
diff "$WORK/before" "$WORK/after" | sed 's/^/# before|after: /'
check "the host's files, users and groups are as before the test" cmp -s "$WORK/before" "$WORK/after"

check_summary
