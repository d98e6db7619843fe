#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on an embedded default, on a fresh Debian 12 machine as root.
# Today (foundation): build tagent, provision its configuration from a default trustagent.env into a
# throw-away root prefix, and prove the real components the later steps use (swtpm answers ESAPI,
# nats-server carries request/reply). It grows into provision -> serve -> attested -> trust report.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >/dev/null
cmake -S . -B build/plain -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/plain -j"$(nproc)" >/dev/null
TAGENT=build/plain/agent/tagent

ROOT=$(mktemp -d /tmp/tagent-demo-XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

echo "== tagent version"
"$TAGENT" version

echo "== tagent setup update-service-config (root prefix $ROOT)"
# The embedded default: a TEP-guide trustagent.env for a control plane on this machine.
cat >"$ROOT/trustagent.env" <<'ENV'
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
ENV
# The default above has one deliberate mistake ("demo" is not hex) to show how errors read:
"$TAGENT" --root "$ROOT" setup update-service-config -f "$ROOT/trustagent.env" || true
sed -i 's/demo0000$/00000000/' "$ROOT/trustagent.env"
echo "-- fixed, again:"
"$TAGENT" --root "$ROOT" setup update-service-config -f "$ROOT/trustagent.env"

echo "== $ROOT/etc/trustagent/config.yml ($(stat -c %a "$ROOT/etc/trustagent/config.yml"))"
cat "$ROOT/etc/trustagent/config.yml"

echo "== real components: swtpm (ESAPI GetRandom, EK certificate) and nats-server (request/reply, TLS)"
ctest --test-dir build/plain -R '^integration\.smoke$' --output-on-failure | grep -E 'tests passed|Failed|\*\*\*'
