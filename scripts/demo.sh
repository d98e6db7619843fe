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
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >/dev/null
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/plain -j"$(nproc)" >/dev/null
TAGENT=$PWD/build/plain/agent/cli/tagent

WORK=$(mktemp -d /tmp/tagent-demo-XXXXXX)
SWTPM_PID=
MOCK_PID=
NATS_PID=
SERVICE_PID=
cleanup() {
    for pid in $SERVICE_PID $NATS_PID $MOCK_PID $SWTPM_PID; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
ROOT=$WORK/root
mkdir -p "$ROOT" "$WORK/tpm" "$WORK/ca"

echo "== swtpm with an EK certificate (private CA in $WORK/ca)"
cat >"$WORK/localca.conf" <<CONF
statedir = $WORK/ca
signingkey = $WORK/ca/signkey.pem
issuercert = $WORK/ca/issuercert.pem
certserial = $WORK/ca/certserial
CONF
printf -- '--platform-manufacturer tagent-demo\n--platform-version 2.1\n--platform-model swtpm\n' >"$WORK/localca.options"
cat >"$WORK/swtpm_setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $WORK/localca.conf
create_certs_tool_options = $WORK/localca.options
CONF
swtpm_setup --tpm2 --tpmstate "$WORK/tpm" --config "$WORK/swtpm_setup.conf" --pcr-banks sha1,sha256,sha384 \
    --create-ek-cert >"$WORK/swtpm_setup.log" 2>&1
# Two consecutive free loopback ports (server, control): nothing answers on either.
for PORT in $(seq 24321 2 25321); do
    (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null || (echo >/dev/tcp/127.0.0.1/$((PORT + 1))) 2>/dev/null || break
done
swtpm socket --tpm2 --tpmstate dir="$WORK/tpm" --server type=tcp,port="$PORT",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear &
SWTPM_PID=$!
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
echo "swtpm pid $SWTPM_PID on 127.0.0.1:$PORT"

echo "== tagent version"
"$TAGENT" version

echo "== mock CMS/AAS/HVS (tests/mock/tagent-mock-cp) trusting the swtpm EK CA"
"$PWD/build/plain/tests/mock/tagent-mock-cp" --dir "$WORK/mock" --port 0 --nats-dir "$WORK/mock/nats" \
    --ek-ca "$WORK/ca/swtpm-localca-rootca-cert.pem" --ek-ca "$WORK/ca/issuercert.pem" \
    >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 600); do grep -q '^READY' "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
READY=$(grep '^READY' "$WORK/mock.out") || { cat "$WORK/mock.err"; exit 1; }
echo "$READY"
MOCK_PORT=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$READY")
CMS_PIN=$(sed -E 's/.*tls_sha384=([0-9a-f]+).*/\1/' <<<"$READY")
BASE=https://127.0.0.1:$MOCK_PORT
# The installation token, as an administrator gets it: a login at AAS (the mock's user "installadmin", whose
# password is the mock's --bearer secret) returns a JWT signed by AAS, which the agent is given as BEARER_TOKEN.
LOGIN='{"username":"installadmin","password":"mock-bearer-token"}'
BEARER_TOKEN=$(printf 'POST /aas/v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#LOGIN}" "$LOGIN" | openssl s_client -quiet -connect "127.0.0.1:$MOCK_PORT" -CAfile "$WORK/mock/ca.pem" \
    -verify_return_error 2>/dev/null | tail -n 1)
[[ $BEARER_TOKEN =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || { echo "no token from AAS"; exit 1; }
echo "installation token from AAS: ${BEARER_TOKEN:0:24}... (a JWT, ${#BEARER_TOKEN} characters)"

# The hardware UUID comes from SMBIOS: this machine's table if it has one, else a real server's (corpus).
mkdir -p "$ROOT/sys/firmware/dmi/tables"
if [[ -r /sys/firmware/dmi/tables/DMI ]]; then DMI=/sys/firmware/dmi/tables/DMI; else
    DMI=$PWD/../shared/corpora/isecl/hostinfo/purley/DMI; fi
ln -s "$DMI" "$ROOT/sys/firmware/dmi/tables/DMI"
mkdir -p "$ROOT/etc"
for f in os-release hostname; do [[ -e /etc/$f ]] && ln -s "/etc/$f" "$ROOT/etc/$f"; done

echo "== nats-server in operator mode (TLS; trusts the account the mock's AAS signs agent credentials with)"
mkdir -p "$WORK/nats"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=demo NATS CA" \
    -keyout "$WORK/nats/ca.key" -out "$WORK/nats/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$WORK/nats/server.key" -out "$WORK/nats/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$WORK/nats/san.ext"
openssl x509 -req -in "$WORK/nats/server.csr" -CA "$WORK/nats/ca.pem" -CAkey "$WORK/nats/ca.key" \
    -CAcreateserial -days 1 -extfile "$WORK/nats/san.ext" -out "$WORK/nats/server.pem" 2>/dev/null
for NPORT in $(seq 24422 25422); do (echo >/dev/tcp/127.0.0.1/"$NPORT") 2>/dev/null || break; done
{
    printf 'listen: "127.0.0.1:%s"\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' "$NPORT" \
        "$WORK/nats/server.pem" "$WORK/nats/server.key"
    cat "$WORK/mock/nats/nats-server-auth.conf"
} >"$WORK/nats/nats.conf"
nats-server -c "$WORK/nats/nats.conf" >"$WORK/nats/nats.log" 2>&1 &
NATS_PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$NPORT") 2>/dev/null && break; sleep 0.1; done
echo "nats-server pid $NATS_PID on tls://127.0.0.1:$NPORT"

# The boot event log the agent reads from securityfs: a real firmware log (RHEL 8 on GCE, from the corpus).
mkdir -p "$ROOT/sys/kernel/security/tpm0"
ln -s "$PWD/../shared/corpora/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin" \
    "$ROOT/sys/kernel/security/tpm0/binary_bios_measurements"
echo "== extending the swtpm's PCRs with that log's measurements (what firmware would have done at boot)"
"$TAGENT" eventlog --file "$ROOT/sys/kernel/security/tpm0/binary_bios_measurements" |
    jq -r '.[] | .pcr.index as $i | (.pcr.bank | ascii_downcase) as $b | .tpm_events[]
           | select(.type_name != "EV_NO_ACTION") | "\($i):\($b)=\(.measurement)"' >"$WORK/extends.txt"
xargs -n 32 env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT" tpm2_pcrextend <"$WORK/extends.txt"
echo "$(wc -l <"$WORK/extends.txt") measurements extended"

# The embedded default: a TEP-guide trustagent.env for the control plane on this machine.
cat >"$WORK/trustagent.env" <<ENV
TA_TLS_CERT_CN=Trust Agent TLS Certificate
HVS_URL=$BASE/hvs/v2
AAS_API_URL=$BASE/aas/v1
CMS_BASE_URL=$BASE/cms/v1
SAN_LIST=127.0.0.1,localhost
CMS_TLS_CERT_SHA384=${CMS_PIN:0:88}demo0000
BEARER_TOKEN=$BEARER_TOKEN
TPM_OWNER_SECRET=hex:0011223344556677
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:$NPORT
TA_HOST_ID=tagent-demo
TAGENT_TCTI=swtpm:host=127.0.0.1,port=$PORT
ENV
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
cp "$WORK/nats/ca.pem" "$ROOT/etc/trustagent/cacerts/demo-nats-ca.pem" # the NATS server's CA, as CMS would issue it
TAGENT_TCTI="swtpm:host=127.0.0.1,port=$PORT" TAGENT_LOG_TARGET=stderr \
    "$TAGENT" --root "$ROOT" startService >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
HVS=$PWD/build/plain/tests/mock/tagent-hvs
for _ in $(seq 50); do "$TAGENT" --root "$ROOT" status >/dev/null 2>&1 && grep -q "serving" "$WORK/service.log" && break; sleep 0.2; done
echo "service pid $SERVICE_PID"

echo "== the mock HVS attests the host over NATS: trust report"
set +e
"$HVS" --url "tls://127.0.0.1:$NPORT" --creds "$WORK/mock/nats/hvs.creds" --ca "$WORK/nats/ca.pem" \
    --host-id tagent-demo >"$WORK/report.json"
RC=$?
set -e
jq 'del(.host_info) | .checks |= map(if .pcrs then del(.pcrs) else . end)' "$WORK/report.json"
jq -c '.host_info | {os_name, os_version, host_name, hardware_uuid, no_of_sockets}' "$WORK/report.json"
echo "== a manifest HVS could not deploy (no Uuid): what HVS's client concludes, and the agent's reason"
"$HVS" --url "tls://127.0.0.1:$NPORT" --creds "$WORK/mock/nats/hvs.creds" --ca "$WORK/nats/ca.pem" \
    --host-id tagent-demo --call deploy-manifest --payload '{"Label":"demo"}' 2>/dev/null | jq -c . || true
echo "== tagent status (from the running service's status socket)"
"$TAGENT" --root "$ROOT" status
kill -TERM "$SERVICE_PID" && wait "$SERVICE_PID" && SERVICE_PID=
echo "== tagent stopped cleanly on SIGTERM"
[[ $RC -eq 0 ]] && echo "RESULT: host tagent-demo is TRUSTED" || { echo "RESULT: NOT trusted (tagent-hvs exit $RC)"; exit 1; }
