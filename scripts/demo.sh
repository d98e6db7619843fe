#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on an embedded default, on a fresh Debian 12 machine as root.
# Today: build tagent and the mock control plane, start a private swtpm (with an EK certificate from a
# throw-away CA) and the mock CMS/AAS/HVS (tests/mock) on loopback, and provision the host with
# `tagent setup all` from an embedded trustagent.env into a throw-away root prefix: CMS CA (pinned), Privacy
# CA, TPM ownership, asset-tag index, EK/AIK with HVS's two-round identity challenge, primary key, API
# token and NATS credentials. It grows into provision -> serve -> attested -> trust report as the service
# issue lands.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >/dev/null
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/plain -j"$(nproc)" >/dev/null
TAGENT=$PWD/build/plain/agent/tagent

WORK=$(mktemp -d /tmp/tagent-demo-XXXXXX)
SWTPM_PID=
MOCK_PID=
cleanup() {
    for pid in $MOCK_PID $SWTPM_PID; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
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

# The embedded default: a TEP-guide trustagent.env for a control plane on this machine.
cat >"$WORK/trustagent.env" <<ENV
TA_TLS_CERT_CN=Trust Agent TLS Certificate
HVS_URL=https://127.0.0.1:8443/hvs/v2
AAS_API_URL=https://127.0.0.1:8444/aas/v1
CMS_BASE_URL=https://127.0.0.1:8445/cms/v1
SAN_LIST=127.0.0.1,localhost
CMS_TLS_CERT_SHA384=0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000demo0000
BEARER_TOKEN=eyJhbGciOiJSUzM4NCJ9.ZGVtbw.ZGVtbw
TPM_OWNER_SECRET=hex:0011223344556677
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:4222
TA_HOST_ID=tagent-demo
TAGENT_TCTI=swtpm:host=127.0.0.1,port=$PORT
ENV
echo "== mock CMS/AAS/HVS (tests/mock/tagent-mock-cp) trusting the swtpm EK CA"
"$PWD/build/plain/tests/mock/tagent-mock-cp" --dir "$WORK/mock" --port 0 \
    --ek-ca "$WORK/ca/swtpm-localca-rootca-cert.pem" --ek-ca "$WORK/ca/issuercert.pem" \
    >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 600); do grep -q '^READY' "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
READY=$(grep '^READY' "$WORK/mock.out") || { cat "$WORK/mock.err"; exit 1; }
echo "$READY"
MOCK_PORT=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$READY")
CMS_PIN=$(sed -E 's/.*tls_sha384=([0-9a-f]+).*/\1/' <<<"$READY")
BASE=https://127.0.0.1:$MOCK_PORT

# The hardware UUID comes from SMBIOS: this machine's table if it has one, else a real server's (corpus).
mkdir -p "$ROOT/sys/firmware/dmi/tables"
if [[ -r /sys/firmware/dmi/tables/DMI ]]; then DMI=/sys/firmware/dmi/tables/DMI; else
    DMI=$PWD/../shared/corpora/isecl/hostinfo/purley/DMI; fi
ln -s "$DMI" "$ROOT/sys/firmware/dmi/tables/DMI"

# The embedded default: a TEP-guide trustagent.env for the control plane on this machine.
cat >"$WORK/trustagent.env" <<ENV
TA_TLS_CERT_CN=Trust Agent TLS Certificate
HVS_URL=$BASE/hvs/v2
AAS_API_URL=$BASE/aas/v1
CMS_BASE_URL=$BASE/cms/v1
SAN_LIST=127.0.0.1,localhost
CMS_TLS_CERT_SHA384=${CMS_PIN:0:88}demo0000
BEARER_TOKEN=mock-bearer-token
TPM_OWNER_SECRET=hex:0011223344556677
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:4222
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
