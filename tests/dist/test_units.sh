#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The files in dist/ as systemd reads them: the three units pass `systemd-analyze verify` with not one warning
# (against a temp root holding a stub /opt/trustagent/bin/tagent and a copy of the system's units; a unit with
# a typo must fail the same check); `systemd-analyze security --offline=true` rates tagent.service "OK" or
# better; the directives the service relies on are there; sysusers.d creates a locked system user tagent
# (home /opt/trustagent, shell /bin/false) in group tss; tmpfiles.d creates the spec's layout and modes
# (owners too when run as root); tagent-config-apply.service (a root oneshot) rates OK too and keeps its sandbox;
# tagent-setup.service (provisioning once) rates OK; the boot chain config-apply -> luks -> setup -> init ->
# agent is Requires= + After= all the way (a unit without its Requires= fails the same check), and the
# state-on-luks drop-in verifies with the units.
# Exits 77 (skipped) when systemd's tools are not installed.
# Usage: test_units.sh /path/to/dist
set -u
DIST=$1
. "$(dirname "$0")/../lib/check.sh"
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (apt-get install systemd; scripts/install-deps.sh lists it)"
        exit 77
    fi
done
SERVICE=$DIST/tagent.service
INIT=$DIST/tagent_init.service
APPLY=$DIST/tagent-config-apply.service
LUKS=$DIST/tagent-luks.service
SETUP=$DIST/tagent-setup.service
UNIT_DIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)

# ---- systemd-analyze verify in a temp root: ExecStart exists there, the system's targets are copied ----
# Prints everything verify says (it exits 0 on unknown keys and bad values, so silence is the criterion).
verify_in_root() {
    local root=$1
    shift
    systemd-analyze verify --root="$root" --man=no --generators=no "$@" 2>&1
    echo "rc=$?"
}
V=$WORK/verify
mkdir -p "$V/opt/trustagent/bin" "$V/etc/systemd/system" "$V$(dirname "$UNIT_DIR")"
printf '#!/bin/sh\nexit 0\n' >"$V/opt/trustagent/bin/tagent"
chmod 755 "$V/opt/trustagent/bin/tagent"
mkdir -p "$V/bin" # ExecReload's kill
cp "$V/opt/trustagent/bin/tagent" "$V/bin/kill"
mkdir -p "$V/usr/bin" # tagent-setup's ExecStartPost
cp "$V/opt/trustagent/bin/tagent" "$V/usr/bin/touch"
cp -r "$UNIT_DIR" "$V$UNIT_DIR"
cp "$SERVICE" "$INIT" "$APPLY" "$LUKS" "$SETUP" "$V/etc/systemd/system/"
for u in tagent-setup tagent_init tagent; do
    mkdir -p "$V/etc/systemd/system/$u.service.d"
    cp "$DIST/tagent-state-on-luks.conf" "$V/etc/systemd/system/$u.service.d/state-on-luks.conf"
done
out=$(verify_in_root "$V" tagent.service tagent_init.service tagent-config-apply.service tagent-luks.service \
    tagent-setup.service)
echo "$out" | sed 's/^/# verify: /'
check "systemd-analyze verify: the five units (and the state-on-luks drop-in), no warning at all" test "$out" = "rc=0"

# ---- the boot chain, from the unit files: each unit needs and follows the one before it ----
chain=(tagent-config-apply tagent-luks tagent-setup tagent_init tagent)
needs() { grep -Eq "^Requires=(.* )?$2( .*)?$" "$1" && grep -Eq "^After=(.* )?$2( .*)?$" "$1"; }
for i in 1 2 3 4; do
    check "chain: ${chain[i]} Requires= and After= ${chain[i - 1]}.service" \
        needs "$DIST/${chain[i]}.service" "${chain[i - 1]}.service"
done
sed '/^Requires=/d' "$INIT" >"$WORK/broken_init.service"
check "chain: ... and a unit without its Requires= fails that check (negative control)" \
    bash -c "$(declare -f needs); ! needs \"\$1\" tagent-setup.service" _ "$WORK/broken_init.service"
check "chain: the oneshots before the agent stay active for the boot (a restart of tagent re-runs only init)" \
    bash -c 'for u in "$@"; do grep -qx RemainAfterExit=yes "$u" || exit 1; done' _ "$APPLY" "$LUKS" "$SETUP"
check "chain: init is not RemainAfterExit (it runs before every start of the agent)" \
    bash -c '! grep -q "^RemainAfterExit=yes" "$1"' _ "$INIT"
# the same check must notice a misspelt directive and a bad value
sed -i 's/^Type=notify$/Type=notfy\nProtectSytem=strict/' "$V/etc/systemd/system/tagent.service"
out=$(verify_in_root "$V" tagent.service)
check "... and reports a unit with a typo (negative control)" \
    bash -c '[[ $1 == *notfy* && $1 == *ProtectSytem* ]]' _ "$out"

# ---- exposure rating ----
sec=$(systemd-analyze security --offline=true --no-pager "$SERVICE" 2>&1)
overall=$(echo "$sec" | grep -o 'Overall exposure level for tagent.service: .*')
echo "# $overall"
rating=$(echo "$overall" | awk '{print $7}')
check "security --offline: tagent.service is OK or better (got \"$rating\")" \
    bash -c '[[ $1 == OK || $1 == SAFE || $1 == PERFECT ]]' _ "$rating"
init_overall=$(systemd-analyze security --offline=true --no-pager "$INIT" 2>&1 | grep -o 'Overall exposure.*')
echo "# (informational, a root oneshot) $init_overall"
apply_overall=$(systemd-analyze security --offline=true --no-pager "$APPLY" 2>&1 | grep -o 'Overall exposure.*')
echo "# $apply_overall"
apply_rating=$(echo "$apply_overall" | awk '{print $7}')
check "security --offline: tagent-config-apply.service (root) is OK or better (got \"$apply_rating\")" \
    bash -c '[[ $1 == OK || $1 == SAFE || $1 == PERFECT ]]' _ "$apply_rating"

# ---- what the agent relies on (a sandbox edit must not drop these) ----
has() { grep -qx "$1" "$2"; }
check "Type=notify, only the main process notifies" bash -c 'grep -qx Type=notify "$1" && grep -qx NotifyAccess=main "$1"' _ "$SERVICE"
check "ExecStart runs tagent startService" has 'ExecStart=/opt/trustagent/bin/tagent startService' "$SERVICE"
check "WatchdogSec=30s, Restart=on-failure" bash -c 'grep -qx WatchdogSec=30s "$1" && grep -qx Restart=on-failure "$1"' _ "$SERVICE"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$SERVICE")
check "TimeoutStopSec (${stop:-none}s) leaves room for the 5 s drain plus 2+2 s" test "${stop:-0}" -ge 10
check "runs as user tagent" has 'User=tagent' "$SERVICE"
check "reload is SIGHUP (README)" has 'ExecReload=/bin/kill -HUP $MAINPID' "$SERVICE"
check "no core files from either unit (they hold secrets)" \
    bash -c 'grep -qx LimitCORE=0 "$1" && grep -qx LimitCORE=0 "$2"' _ "$SERVICE" "$INIT"
check "writes only /opt/trustagent/var and /var/log/trustagent" has 'ReadWritePaths=/opt/trustagent/var /var/log/trustagent' "$SERVICE"
check "/run/tagent (status socket) is 0755" bash -c 'grep -qx RuntimeDirectory=tagent "$1" && grep -qx RuntimeDirectoryMode=0755 "$1"' _ "$SERVICE"
check "the TPM resource manager is the one device" has 'DeviceAllow=/dev/tpmrm0 rw' "$SERVICE"
check "no /dev/mem for the service" bash -c '! grep -q "^DeviceAllow=.*/dev/mem" "$1"' _ "$SERVICE"
check "needs and follows tagent_init.service" bash -c 'grep -qx Requires=tagent_init.service "$1" && grep -qx After=tagent_init.service "$1"' _ "$SERVICE"
check "config-apply: oneshot running tagent config-apply, before the agent, only with a container" \
    bash -c 'grep -qx Type=oneshot "$1" && grep -qx "ExecStart=/opt/trustagent/bin/tagent config-apply" "$1" &&
             grep -Eq "^Before=(.* )?tagent.service( |$)" "$1" &&
             grep -qx ConditionPathExists=/home/update/upload/mnt/tep_user_config_data.bin "$1"' _ "$APPLY"
check "config-apply: writes only the upload folder, no network, the TPM the one device, no cores" \
    bash -c 'grep -qx ProtectSystem=strict "$1" && grep -qx ReadWritePaths=/home/update/upload/mnt "$1" &&
             [[ $(grep -c ^ReadWritePaths= "$1") == 1 ]] && grep -qx PrivateNetwork=yes "$1" &&
             grep -qx "DeviceAllow=/dev/tpmrm0 rw" "$1" && [[ $(grep -c ^DeviceAllow= "$1") == 1 ]] &&
             grep -qx NoNewPrivileges=yes "$1" && grep -qx LimitCORE=0 "$1"' _ "$APPLY"
check "luks: oneshot running tagent luks after config-apply, before the agent, with the TPM and no network or cores" \
    bash -c 'grep -qx Type=oneshot "$1" && grep -qx "ExecStart=/opt/trustagent/bin/tagent luks" "$1" &&
             grep -qx After=tagent-config-apply.service "$1" && grep -Eq "^Before=(.* )?tagent.service( |$)" "$1" &&
             grep -qx "DeviceAllow=/dev/tpmrm0 rw" "$1" && grep -qx DevicePolicy=closed "$1" &&
             grep -qx PrivateNetwork=yes "$1" && grep -qx LimitCORE=0 "$1" && grep -qx NoNewPrivileges=yes "$1"' _ "$LUKS"
luks_overall=$(systemd-analyze security --offline=true --no-pager "$LUKS" 2>&1 | grep -o 'Overall exposure.*')
echo "# (informational: root with CAP_SYS_ADMIN for device-mapper) $luks_overall"
setup_overall=$(systemd-analyze security --offline=true --no-pager "$SETUP" 2>&1 | grep -o 'Overall exposure.*')
echo "# $setup_overall"
setup_rating=$(echo "$setup_overall" | awk '{print $7}')
check "security --offline: tagent-setup.service (root, network) is OK or better (got \"$setup_rating\")" \
    bash -c '[[ $1 == OK || $1 == SAFE || $1 == PERFECT ]]' _ "$setup_rating"
check "setup: oneshot running setup all from the delivered env once, recorded by ExecStartPost, skipped once recorded" \
    bash -c 'grep -qx Type=oneshot "$1" &&
             grep -qx "ExecStart=/opt/trustagent/bin/tagent setup all -f /home/update/upload/mnt/trustagent.env" "$1" &&
             grep -qx "ExecStartPost=/usr/bin/touch /etc/trustagent/provisioned" "$1" &&
             grep -qx "ConditionPathExists=!/etc/trustagent/provisioned" "$1" &&
             grep -qx ConditionPathExists=/home/update/upload/mnt/trustagent.env "$1"' _ "$SETUP"
check "setup: after network-online, the TPM the one device, no cores, no new privileges" \
    bash -c 'grep -qx Wants=network-online.target "$1" && grep -Eq "^After=network-online.target( |$)" "$1" &&
             grep -qx "DeviceAllow=/dev/tpmrm0 rw" "$1" && [[ $(grep -c ^DeviceAllow= "$1") == 1 ]] &&
             grep -qx LimitCORE=0 "$1" && grep -qx NoNewPrivileges=yes "$1" && grep -qx ProtectSystem=strict "$1"' _ "$SETUP"
check "init: oneshot running tagent init" bash -c 'grep -qx Type=oneshot "$1" && grep -qx "ExecStart=/opt/trustagent/bin/tagent init" "$1"' _ "$INIT"

# ---- sysusers.d: run unprivileged into a temp root ----
S=$WORK/sysusers
mkdir -p "$S/etc"
systemd-sysusers --root="$S" "$(realpath "$DIST/sysusers.d/tagent.conf")" >"$WORK/out" 2>&1
check "systemd-sysusers accepts sysusers.d/tagent.conf" test $? -eq 0
IFS=: read -r name _ uid gid gecos home shell < <(grep '^tagent:' "$S/etc/passwd")
check "... user tagent, a system uid ($uid)" test "${name:-}" = tagent -a "${uid:-9999}" -lt 1000
check "... home /opt/trustagent, shell /bin/false" test "${home:-}:${shell:-}" = /opt/trustagent:/bin/false
chmod u+r "$S/etc/shadow" # sysusers makes it 0000: only root reads it as it is
check "... locked password" grep -q '^tagent:!' "$S/etc/shadow"
check "... member of tss" grep -Eq '^tss:x:[0-9]+:(.*,)?tagent(,.*)?$' "$S/etc/group"
check "... own group tagent" grep -q "^tagent:x:$gid:" "$S/etc/group"

# ---- tmpfiles.d: into the same root (owners resolve against its passwd; chown needs root) ----
systemd-tmpfiles --create --root="$S" "$(realpath "$DIST/tmpfiles.d/tagent.conf")" >"$WORK/out" 2>&1
rc=$?
if [[ $(id -u) -eq 0 ]]; then
    check "systemd-tmpfiles --create accepts tmpfiles.d/tagent.conf" test $rc -eq 0
else
    # unprivileged, only the chowns may fail
    check "systemd-tmpfiles --create: only chown fails (not root)" \
        bash -c '! grep -v "fchownat() of .* failed: Operation not permitted" "$1" | grep -q .' _ "$WORK/out"
fi
sed 's/^/# tmpfiles: /' "$WORK/out"
expect() { # path mode owner(uid or -)
    local got
    got=$(stat -c '%a %u' "$S$1" 2>/dev/null)
    if [[ $(id -u) -ne 0 || $3 == - ]]; then got=${got% *}; set -- "$1" "$2"; else set -- "$1" "$2 $3"; fi
    check "tmpfiles: $1 is ${*:2}" test "$got" = "${*:2}"
}
expect /opt/trustagent 755 0
expect /opt/trustagent/bin 755 0
expect /opt/trustagent/var 755 "$uid"
expect /opt/trustagent/var/system-info 755 "$uid"
expect /opt/trustagent/var/ramfs 755 "$uid"
expect /etc/trustagent 755 "$uid"
expect /etc/trustagent/cacerts 755 "$uid"
expect /etc/trustagent/jwt 755 "$uid"
expect /etc/trustagent/credentials 700 "$uid"
expect /var/log/trustagent 740 "$uid"
check "tmpfiles: /etc/trustagent/tpm-version says 2.0" test "$(cat "$S/etc/trustagent/tpm-version" 2>/dev/null)" = 2.0
check "tmpfiles: /usr/bin/tagent -> /opt/trustagent/bin/tagent" \
    test "$(readlink "$S/usr/bin/tagent")" = /opt/trustagent/bin/tagent

check_summary
