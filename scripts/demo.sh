#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on an embedded default, on a fresh Debian 12 machine as root.
# Provision -> serve -> get attested -> trust report, all on loopback with real components:
#   a private swtpm (EK certificate from a throw-away CA), the mock CMS/AAS/HVS (tests/mock, real crypto),
#   nats-server in operator mode (TLS, the accounts the mock's AAS signs credentials with);
#   `tagent setup all` from an embedded trustagent.env into a throw-away root prefix, then
#   `tagent startService`, then the mock HVS (tagent-hvs) asks over NATS as HVS's connector does (host info,
#   AIK, quote), judges each reply as HVS's own client would, verifies the quote as HVS does (AIK
#   certificate and signature, nonce, PCR digest, event-log replay) and prints a trust report; it also shows
#   what HVS concludes from a request the agent must refuse.
# The boot event log is a real firmware log from ../shared/corpora; its measurements are extended into the
# swtpm first so that the log and the quoted PCRs agree, as on a real machine.
# Then the TEP platform lifecycle through dist/'s units: four boots (provisioned and attested; unlocked and
# attested without provisioning again; a firmware update refused naming PCR 0; the new state signed, attested),
# one result line each.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >/dev/null
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/plain -j"$(nproc)" >/dev/null
B=$PWD/build/plain
TAGENT=$B/agent/cli/tagent
ADMIN=$B/tools/tagent-admin
MOCK_CP=$B/tests/mock/tagent-mock-cp
HVS=$B/tests/mock/tagent-hvs
CORPORA=$PWD/../shared/corpora
DIST=$PWD/dist
# shellcheck source=lib/world.sh
. scripts/lib/world.sh
# shellcheck source=lib/boot.sh
. scripts/lib/boot.sh
# shellcheck source=lib/lifecycle.sh
. scripts/lib/lifecycle.sh

WORK=$(mktemp -d /tmp/tagent-demo-XXXXXX)
trap 'world_stop; rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"

echo "== swtpm with an EK certificate (private CA in $WORK/ca)"
world_swtpm
echo "swtpm pid $SWTPM_PID on 127.0.0.1:$PORT"

echo "== tagent version"
"$TAGENT" version

echo "== mock CMS/AAS/HVS (tests/mock/tagent-mock-cp) trusting the swtpm EK CA"
world_mock_cp
grep '^READY' "$WORK/mock.out"
world_aas_token
echo "installation token from AAS: ${BEARER_TOKEN:0:24}... (a JWT, ${#BEARER_TOKEN} characters)"

echo "== nats-server in operator mode (TLS; trusts the account the mock's AAS signs agent credentials with)"
world_nats
echo "nats-server pid $NATS_PID on tls://127.0.0.1:$NPORT"

# The hardware UUID comes from SMBIOS: this machine's table if it has one, else a real server's (corpus).
# The boot event log the agent reads from securityfs: a real firmware log (RHEL 8 on GCE, from the corpus).
EVENTLOG=$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin
world_root "$ROOT" "$EVENTLOG"
echo "== extending the swtpm's PCRs with that log's measurements (what firmware would have done at boot)"
echo "$(world_extend_eventlog "$EVENTLOG") measurements extended"

# The embedded default: a TEP-guide trustagent.env for the control plane on this machine.
world_trustagent_env "$WORK/trustagent.env"
sed -i "s/^CMS_TLS_CERT_SHA384=.*/CMS_TLS_CERT_SHA384=${CMS_PIN:0:88}demo0000/" "$WORK/trustagent.env"
echo "== tagent setup all (root prefix $ROOT); the default has one deliberate mistake to show an error:"
"$TAGENT" --root "$ROOT" setup all -f "$WORK/trustagent.env" || true
sed -i "s/^CMS_TLS_CERT_SHA384=.*/CMS_TLS_CERT_SHA384=$CMS_PIN/" "$WORK/trustagent.env"
echo "-- fixed, again:"
"$TAGENT" --root "$ROOT" setup all -f "$WORK/trustagent.env"
echo "-- and once more (nothing left to do):"
"$TAGENT" --root "$ROOT" setup all -f "$WORK/trustagent.env"

echo "== what setup wrote under $ROOT/etc/trustagent (mode, size, file)"
(cd "$ROOT/etc/trustagent" && find . -type f -printf '%m %6s %p\n' | sort -k3)
echo "== the AIK certificate HVS's privacy CA issued for this TPM's AIK"
openssl x509 -in "$ROOT/etc/trustagent/aik.pem" -noout -subject -issuer -dates
echo "== tagent fetch-ekcert-with-issuer"
TAGENT_TCTI="swtpm:host=127.0.0.1,port=$PORT" TPM_OWNER_SECRET=hex:0011223344556677 \
    "$TAGENT" fetch-ekcert-with-issuer | cut -c1-120

echo "== tagent startService (outbound NATS)"
world_service_start "$ROOT" "$WORK/service.log"
echo "service pid $SERVICE_PID"

echo "== the mock HVS attests the host over NATS: trust report"
set +e
world_attest "$WORK/report.json"
RC=$?
set -e
jq 'del(.host_info) | .checks |= map(if .pcrs then del(.pcrs) else . end)' "$WORK/report.json"
jq -c '.host_info | {os_name, os_version, host_name, hardware_uuid, no_of_sockets}' "$WORK/report.json"
echo "== a manifest HVS could not deploy (no Uuid): what HVS's client concludes, and the agent's reason"
world_attest "$WORK/manifest.json" --call deploy-manifest --payload '{"Label":"demo"}' 2>/dev/null || true
jq -c . "$WORK/manifest.json"
echo "== tagent status (from the running service's status socket)"
"$TAGENT" --root "$ROOT" status
world_service_stop
echo "== tagent stopped cleanly on SIGTERM"
[[ $RC -eq 0 ]] && echo "RESULT: host tagent-demo is TRUSTED" || { echo "RESULT: NOT trusted (tagent-hvs exit $RC)"; exit 1; }

# The TEP platform lifecycle on the same TPM and control plane, through dist/'s boot chain as its unit files
# say (scripts/lib/boot.sh): config-apply -> luks -> setup (once) -> tagent_init -> tagent, attested each boot.
# A fresh device root; the LUKS volume is a 32 MiB image file with a cheap test KDF (the variable is honoured
# only for image files); without device-mapper the volume is checked, not activated, and the line says so.
echo "== the platform lifecycle: the owner provisions a device and seals its configuration, then four boots"
ROOT=$WORK/device
export TAGENT_LUKS_TEST_PBKDF=pbkdf2
world_root "$ROOT" "$EVENTLOG"
lifecycle_device
lifecycle_admin_seal 1 "$EVENTLOG"
RESULTS=()
boot_run 1 >"$WORK/boot1.out" || true
RESULTS+=("$BOOT_RESULT")
world_reboot "$EVENTLOG"
boot_run 2 >"$WORK/boot2.out" || true
RESULTS+=("$BOOT_RESULT")
echo "-- a firmware update (one more PCR 0 measurement), before the owner signed its state:"
lifecycle_firmware_update "$EVENTLOG" "$WORK/firmware-2.bin"
world_root "$ROOT" "$WORK/firmware-2.bin"
world_reboot "$WORK/firmware-2.bin"
boot_run 3 >"$WORK/boot3.out" || true
RESULTS+=("$BOOT_RESULT")
echo "-- the owner signs the new state from the new firmware's event log (configuration 2), reboot:"
lifecycle_admin_seal 2 "$WORK/firmware-2.bin"
world_reboot "$WORK/firmware-2.bin"
boot_run 4 >"$WORK/boot4.out" || true
RESULTS+=("$BOOT_RESULT")
printf '%s\n' "${RESULTS[@]}"
