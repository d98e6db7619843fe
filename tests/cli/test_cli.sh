#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The tagent CLI as a person uses it: version/help, argv checks, `setup update-service-config` end to end,
# bad input that must change nothing, and secrets that must never reach stdout, stderr or config.yml.
# Usage: test_cli.sh /path/to/tagent
set -u
TAGENT=$1
. "$(dirname "$0")/../lib/check.sh"
run() { # run ROOT args... -> $WORK/out (stdout+stderr), $rc
    "$TAGENT" --root "$@" >"$WORK/out" 2>&1
    rc=$?
}
out_has() { grep -qF -- "$1" "$WORK/out"; }
out_lacks() { ! grep -qF -- "$1" "$WORK/out"; }

# ---- version and help ----
"$TAGENT" version >"$WORK/out" 2>&1
check "version exits 0" test $? -eq 0
check "version has the Go agent's three lines" \
    grep -qzE '^Service Name: Trust Agent
Version: v[0-9]+\.[0-9]+\.[0-9]+-[0-9a-z]+
Build Date: [0-9T:Z-]+
$' "$WORK/out"
"$TAGENT" --version short >"$WORK/out2" 2>&1
check "--version ignores the installer's extra argument" cmp -s "$WORK/out" "$WORK/out2"
"$TAGENT" -v >"$WORK/out2" 2>&1
check "-v is version" cmp -s "$WORK/out" "$WORK/out2"
"$TAGENT" help >"$WORK/out" 2>&1
check "help exits 0 and lists setup" test $? -eq 0 -a -n "$(grep 'update-service-config' "$WORK/out")"

"$TAGENT" 'ver$ion' >"$WORK/out" 2>&1
check "argv outside [a-zA-Z0-9_ /.-] exits 1" test $? -eq 1
check "... with a message that does not repeat the argument" grep -q 'argument 1 contains a character' "$WORK/out"
check "... and prints usage" grep -q '^Usage: tagent' "$WORK/out"
"$TAGENT" setup --file=x >"$WORK/out" 2>&1
check "'=' in an argument is refused too" test $? -eq 1
"$TAGENT" frobnicate >"$WORK/out" 2>&1
check "unknown command exits 1" test $? -eq 1 -a -n "$(grep 'unknown command "frobnicate"' "$WORK/out")"
"$TAGENT" --root /nonexistent/dir version >"$WORK/out" 2>&1
check "a missing root prefix is an error" test $? -eq 1 -a -n "$(grep 'does not exist' "$WORK/out")"

ROOT=$WORK/root
mkdir -p "$ROOT"
run "$ROOT" setup
check "setup without a task exits 1 and lists tasks" test $rc -eq 1 -a -n "$(grep 'Tasks: all, provision-attestation, update-certificates, update-service-config' "$WORK/out")"
run "$ROOT" setup no-such-task
check "unknown task exits 1" test $rc -eq 1

# ---- update-service-config ----
BEARER='eyJhbGciOiJSUzM4NCJ9.eyJCEARERSECRETPART.c2lnX3NlY3JldA'
OWNER='hex:5ec7e75ec7e75ec7e7'
ENDORSE='EndorsementPass123'
cat >"$WORK/ta.env" <<ENV
# TEP guide keys
TA_TLS_CERT_CN=Edge Trust Agent
HVS_URL=https://hvs.example.com:8443/hvs/v2
AAS_API_URL=https://aas.example.com:8444/aas/v1
CMS_BASE_URL=https://cms.example.com:8445/cms/v1
SAN_LIST=127.0.0.1,localhost,edge-01
CMS_TLS_CERT_SHA384=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
BEARER_TOKEN=$BEARER
TPM_OWNER_SECRET=$OWNER
TPM_ENDORSEMENT_SECRET="$ENDORSE"
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:4222
TA_HOST_ID=edge-01
LOG_LEVEL=trace
ENV
run "$ROOT" setup update-service-config -f "$WORK/ta.env"
check "update-service-config succeeds" test $rc -eq 0
check "... and prints its progress line" grep -qE '^\[1/1\] update-service-config \.\.\. ok \([0-9]+ ms\)$' "$WORK/out"
CFG=$ROOT/etc/trustagent/config.yml
check "config.yml is written with mode 0640" test "$(stat -c %a "$CFG" 2>/dev/null)" = 640
check "config.yml has the host id" grep -q 'host-id: "edge-01"' "$CFG"
check "config.yml has the TEP guide's CN" grep -q 'common-name: "Edge Trust Agent"' "$CFG"
check "no temp file left in /etc/trustagent" test "$(ls -A "$ROOT/etc/trustagent")" = config.yml
for s in "$BEARER" "$OWNER" "5ec7e75ec7e7" "$ENDORSE"; do
    check "secret not in output: ${s:0:6}..." out_lacks "$s"
    check "secret not in config.yml: ${s:0:6}..." test -z "$(grep -F -- "$s" "$CFG")"
done

run "$ROOT" setup update-service-config -f "$WORK/ta.env"
check "a second run is already done" out_has "already done"
TAGENT_ROOT=$ROOT "$TAGENT" setup update-service-config --force -f "$WORK/ta.env" >"$WORK/out" 2>&1
check "--force runs it again (root from TAGENT_ROOT)" out_has "update-service-config ... ok"

# ---- bad input changes nothing and leaks nothing ----
before=$(sha256sum "$CFG")
cat >"$WORK/bad.env" <<ENV
HVS_URL=http://hvs.example.com:8443/hvs/v2
BEARER_TOKEN="$BEARER
TPM_OWNER_SECRET=hex:${OWNER#hex:}zz
TPM_ENDORSEMENT_SECRET='$ENDORSE' trailing
NO_EQUALS_LINE
TA_HOST_ID=edge_01
ENV
run "$ROOT" setup update-service-config -f "$WORK/bad.env"
check "bad trustagent.env exits 1" test $rc -eq 1
check "... names the unterminated quote's line" out_has "bad.env:2: BEARER_TOKEN: the value opens a double quote"
check "... names the bad hex secret's line" out_has "bad.env:3: TPM_OWNER_SECRET:"
check "... names the line with text after a quote" out_has "bad.env:4: TPM_ENDORSEMENT_SECRET: unexpected text"
check "... names the line without '='" out_has "bad.env:5: expected KEY=VALUE"
check "... says nothing was changed" out_has "nothing was changed"
check "... and config.yml is unchanged" test "$before" = "$(sha256sum "$CFG")"
for s in "$BEARER" "${OWNER#hex:}" "$ENDORSE"; do
    check "secret not in error output: ${s:0:6}..." out_lacks "$s"
done

cat >"$WORK/badvalues.env" <<ENV
HVS_URL=http://hvs.example.com:8443/hvs/v2
TA_HOST_ID=edge_01
ENV
BEARER_TOKEN="bad token $BEARER" TPM_OWNER_SECRET="hex:nothex$ENDORSE" \
    "$TAGENT" --root "$ROOT" setup update-service-config -f "$WORK/badvalues.env" >"$WORK/out" 2>&1
rc=$?
check "bad values exit 1" test $rc -eq 1
check "... http HVS URL named" out_has "badvalues.env:1: HVS_URL: must be an https:// URL"
check "... bad host id named" out_has "badvalues.env:2: TA_HOST_ID: must be a valid host name"
check "... bad environment token named" out_has "environment: BEARER_TOKEN: must be a token without spaces"
check "... environment secrets not shown" out_lacks "$BEARER"
check "... environment owner secret not shown" out_lacks "nothex$ENDORSE"
check "... and config.yml is unchanged" test "$before" = "$(sha256sum "$CFG")"

FRESH=$WORK/fresh
mkdir -p "$FRESH"
run "$FRESH" setup update-service-config -f "$WORK/bad.env"
check "a bad file on a fresh root writes nothing at all" test -z "$(find "$FRESH" -mindepth 1)"
run "$FRESH" setup update-service-config -f "$WORK/missing.env"
check "a missing env file is a clear error" test $rc -eq 1 -a -n "$(grep 'missing.env: cannot be read: No such file' "$WORK/out")"

printf '\x00\x01\x02binary\xff\xfe' >"$WORK/junk.env"
run "$FRESH" setup update-service-config -f "$WORK/junk.env"
check "a binary file is refused with a clear error" test $rc -eq 1 -a -n "$(grep 'junk.env:1: contains the control byte 0x00' "$WORK/out")"

check_summary
