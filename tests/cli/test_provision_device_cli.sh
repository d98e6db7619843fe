#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent provision-device`: argument errors (exit 1, a message naming the argument, nothing touched), then a
# run against a swtpm of its own (loopback, ended by its PID): keys made with openssl, the report, the
# root-only files, a second run refused without --force, and a wrong owner secret named as such.
# Usage: test_provision_device_cli.sh /path/to/tagent
set -u
TAGENT=$1
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/swtpm.sh"

OWNER=00112233445566778899aabbccddeeff01234567
out_has() { grep -qF -- "$1" "$WORK/out"; }
run() { "$TAGENT" --root "$WORK/root" provision-device "$@" >"$WORK/out" 2>&1; }
mkdir -p "$WORK/root"

# ---- arguments ----
run
check "no arguments: exit 1" test $? -eq 1
check "... names --pol-pub-key" out_has "--pol-pub-key is required"
run --pol-pub-key p.pem
check "no --enc-key: exit 1" test $? -eq 1
check "... names --enc-key" out_has "--enc-key is required"
run --pol-pub-key p.pem --enc-key k.bin --bogus
check "unknown argument: exit 1" test $? -eq 1
check "... names it" out_has 'unknown argument "--bogus"'
run --pol-pub-key p.pem --enc-key k.bin --enc-key k2.bin
check "an option twice: exit 1" test $? -eq 1
check "... says so" out_has 'given twice: "--enc-key"'
run --pol-pub-key p.pem --enc-key k.bin --profile foo
check "unknown profile: exit 1" test $? -eq 1
check "... lists the profiles" out_has "ptt"
run --pol-pub-key
check "a value missing: exit 1" test $? -eq 1
check "... says which" out_has 'a value is missing after "--pol-pub-key"'
"$TAGENT" provision-device --help >"$WORK/out" 2>&1
check "--help exits 0" test $? -eq 0
check "... prints the usage" out_has "provision-device --pol-pub-key PUB.pem --enc-key KEY.bin [--profile ptt|dtpm] [--force]"
"$TAGENT" help >"$WORK/out" 2>&1
check "tagent help lists provision-device" out_has "provision-device"
check "nothing written by the refused runs" test ! -e "$WORK/root/etc"

# ---- against swtpm ----
if ! command -v swtpm >/dev/null || ! command -v tpm2_changeauth >/dev/null; then
    echo "skipping the swtpm part: swtpm or tpm2-tools missing"
    check_summary
    exit
fi
SWTPM_PID=
trap '[ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
swtpm_start "$WORK/tpm"
check "swtpm started" test -n "$SWTPM_PID"
export TAGENT_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
tpm2_changeauth -T "$TAGENT_TCTI" -c o "hex:$OWNER" >"$WORK/out" 2>&1
check "owner secret set (tpm2_changeauth)" test $? -eq 0

openssl ecparam -name secp384r1 -genkey -noout -out "$WORK/priv.pem" 2>/dev/null
openssl ec -in "$WORK/priv.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
openssl rand -out "$WORK/key.bin" 32
TPM_OWNER_SECRET=$OWNER run --pol-pub-key "$WORK/pub.pem" --enc-key "$WORK/key.bin"
rc=$?
check "provision-device exits 0" test $rc -eq 0
[ $rc -eq 0 ] || cat "$WORK/out"
check "... reports the read-back" out_has "read back: attributes, sizes, the policy key and a test decryption"
check "... names the profile" out_has "profile ptt"
check "/etc/tep is 0755" test "$(stat -c %a "$WORK/root/etc/tep")" = 755
check "enc-key.auth is 0600, 32 bytes" test "$(stat -c %a:%s "$WORK/root/etc/tep/enc-key.auth")" = 600:32
check "srk.name is 0644 (the service reads it)" test "$(stat -c %a "$WORK/root/etc/tep/srk.name")" = 644
check "the owner secret is not in the output" test "$(grep -c "$OWNER" "$WORK/out")" -eq 0

cp "$WORK/root/etc/tep/enc-key.auth" "$WORK/auth.before"
TPM_OWNER_SECRET=$OWNER run --pol-pub-key "$WORK/pub.pem" --enc-key "$WORK/key.bin"
check "a second run without --force exits 1" test $? -eq 1
check "... says --force" out_has "Run with --force"
check "... and left the authValue file alone" cmp -s "$WORK/auth.before" "$WORK/root/etc/tep/enc-key.auth"

TPM_OWNER_SECRET=$OWNER run --pol-pub-key "$WORK/pub.pem" --enc-key "$WORK/key.bin" --profile dtpm --force
check "the wrong profile for the files: exit 1" test $? -eq 1
check "... names the curve" out_has "prime256v1"

TPM_OWNER_SECRET=ffffffffffffffffffffffffffffffffffffffff run --pol-pub-key "$WORK/pub.pem" --enc-key "$WORK/key.bin" --force
check "a wrong owner secret: exit 1" test $? -eq 1
check "... says the authorization is wrong" out_has "the authorization value is wrong"
check "... names TPM_OWNER_SECRET" out_has "TPM_OWNER_SECRET"

TPM_OWNER_SECRET=$OWNER run --pol-pub-key "$WORK/pub.pem" --enc-key "$WORK/key.bin" --force
check "--force with the right secret exits 0" test $? -eq 0
check "... replaced the authValue" bash -c '! cmp -s "$1" "$2"' _ "$WORK/auth.before" "$WORK/root/etc/tep/enc-key.auth"
check_summary
