#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# tagent-admin luks policy / luks config, with openssl(1) as the oracle of the signatures and the corpus'
# recorded PCR values as the oracle of the event-log replay (the digests themselves are checked against
# tpm2-tools by integration.luks_policy_oracle):
#  - policy from a tpm2_pcrread-style values file, both TPM types: files, sizes, modes, `openssl dgst -verify`;
#  - policy from a corpus event log equals the policy from a values file holding the log's recorded PCRs;
#  - several logs / --append make several signed states; refusal without --version; bad arguments;
#  - luks config writes spec 3.5's keys.
# Usage: test_admin_luks_cli.sh /path/to/tagent-admin CORPORA
set -u
ADMIN=$1
CORPORA=$2
. "$(dirname "$0")/../lib/check.sh"
out_has() { grep -qF -- "$1" "$WORK/out"; }
err_has() { grep -qF -- "$1" "$WORK/err"; }
unhex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
mode_is() { test "$(stat -c %a "$1")" = "$2"; }
size_is() { test "$(stat -c %s "$1")" = "$2"; }
run() { "$ADMIN" "$@" >"$WORK/out" 2>"$WORK/err"; }

cd "$WORK" || exit 1
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out p256.pem
openssl pkey -in p256.pem -pubout -out p256.pub.pem
openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out p384.pem
openssl pkey -in p384.pem -pubout -out p384.pub.pem

for c in "luks policy" "luks config"; do
    # shellcheck disable=SC2086
    check "$c --help" sh -c "'$ADMIN' $c --help | grep -q '^usage: tagent-admin $c'"
done
check "help lists the luks commands" sh -c "'$ADMIN' help luks | grep -q 'luks   policy'"

# ---- from a values file, both TPM types ----
for t in dtpm ptt; do
    if [[ $t == dtpm ]]; then key=p256 md=sha256 bank=sha256 size=32; else key=p384 md=sha384 bank=sha384 size=48; fi
    head -c $((3 * size)) /dev/urandom >vals-$t.bin
    run luks policy --pol-pub-key $key.pub.pem --pol-priv-key $key.pem --pcr-val-file vals-$t.bin \
        --tpm-type $t --pcr-bank $bank --version 4 -o out-$t
    check "$t: policy from a values file" test $? -eq 0
    check "$t: authorized.policy is 32 bytes, 0644" sh -c "$(declare -f size_is mode_is); size_is out-$t/authorized.policy 32 && mode_is out-$t/authorized.policy 644"
    check "$t: pcr0_7_10.pcr.policy is 32 bytes" size_is out-$t/pcr0_7_10.pcr.policy 32
    check "$t: the signature verifies with openssl dgst -$md" \
        openssl dgst -$md -verify $key.pub.pem -signature out-$t/pcr0_7_10.pcr.policy.signature out-$t/pcr0_7_10.pcr.policy
    check "$t: signed-states.json: bank, version, pol of the file" sh -c "
        jq -e '.${bank} | length == 1 and .[0].version == 4 and .[0].pcrs == [0,7,10]' out-$t/signed-states.json >/dev/null &&
        test \"\$(jq -r '.${bank}[0].pol' out-$t/signed-states.json)\" = \"\$(od -An -v -tx1 out-$t/pcr0_7_10.pcr.policy | tr -d ' \n')\""
    check "$t: sig is the signature file in base64" sh -c "
        test \"\$(jq -r '.${bank}[0].sig' out-$t/signed-states.json)\" = \"\$(base64 -w0 out-$t/pcr0_7_10.pcr.policy.signature)\""
    check "$t: pkfp is SHA-256 of the public key's DER" sh -c "
        test \"\$(jq -r '.${bank}[0].pkfp' out-$t/signed-states.json)\" = \"\$(openssl pkey -pubin -in $key.pub.pem -outform DER | sha256sum | cut -c1-64)\""
    check "$t: pcr_values carry the file's values" sh -c "
        test \"\$(jq -r '.${bank}[0].pcr_values[\"10\"]' out-$t/signed-states.json)\" = \"\$(tail -c $size vals-$t.bin | od -An -v -tx1 | tr -d ' \n')\""
done

# Same key and values, other version: another policy, same authorized.policy.
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file vals-dtpm.bin --tpm-type dtpm \
    --version 5 -o out-v5
check "another version, another policy" sh -c "! cmp -s out-dtpm/pcr0_7_10.pcr.policy out-v5/pcr0_7_10.pcr.policy"
check "the same authorized.policy" cmp -s out-dtpm/authorized.policy out-v5/authorized.policy

# ---- from a corpus event log; its recorded PCRs as the oracle ----
LOG=$CORPORA/eventlog/uefi/google-go-eventlog/rhel8-uefi.bin
EXP=$CORPORA/eventlog/EXPECTED_PCRS.json
{
    unhex "$(jq -r '.files["uefi/google-go-eventlog/rhel8-uefi.bin"].expected_pcrs.sha256["0"]' "$EXP")"
    unhex "$(jq -r '.files["uefi/google-go-eventlog/rhel8-uefi.bin"].expected_pcrs.sha256["7"]' "$EXP")"
} >rhel8-0-7.bin
check "the recorded values make 64 bytes" size_is rhel8-0-7.bin 64
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --eventlog "$LOG" --pcrs 0,7 --tpm-type dtpm \
    --version 1 -o out-log
check "policy from an event log" test $? -eq 0
check "the file is named for the PCRs" test -f out-log/pcr0_7.pcr.policy
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file rhel8-0-7.bin --pcrs 0,7 \
    --tpm-type dtpm --version 1 -o out-rec
check "log replay = the recorded PCRs: the same policy" cmp out-log/pcr0_7.pcr.policy out-rec/pcr0_7.pcr.policy
check "the log's signature verifies" \
    openssl dgst -sha256 -verify p256.pub.pem -signature out-log/pcr0_7.pcr.policy.signature out-log/pcr0_7.pcr.policy

run luks policy --pol-pub-key p384.pub.pem --pol-priv-key p384.pem --eventlog "$LOG" --pcrs 0,7 --tpm-type ptt \
    --pcr-bank sha384 --version 1 -o out-log384
check "ptt: a log's sha384 bank, signature verifies with -sha384" \
    openssl dgst -sha384 -verify p384.pub.pem -signature out-log384/pcr0_7.pcr.policy.signature out-log384/pcr0_7.pcr.policy
check "ptt: sha384 values are 48 bytes" sh -c "jq -e '.sha384[0].pcr_values[\"7\"] | length == 96' out-log384/signed-states.json >/dev/null"

# PCR 10 is never extended by the firmware log: signed at zero, with a warning.
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --eventlog "$LOG" --tpm-type dtpm --version 1 \
    -o out-log10
check "PCR 10 from a log: a warning" err_has "never extends PCR 10"
check "PCR 10 from a log: zeros" sh -c "jq -e '.sha256[0].pcr_values[\"10\"] == \"$(printf '0%.0s' {1..64})\"' out-log10/signed-states.json >/dev/null"

# Several logs: one signed state each; --append keeps the earlier ones in front.
LOG2=$CORPORA/eventlog/uefi/google-go-eventlog/arch-linux-workstation.bin
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --eventlog "$LOG" "$LOG2" --pcrs 0,7 \
    --tpm-type dtpm --version 2 -o out-two
check "two logs: two signed states" sh -c "jq -e '.sha256 | length == 2' out-two/signed-states.json >/dev/null"
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file rhel8-0-7.bin --pcrs 0,7 \
    --tpm-type dtpm --version 3 --append out-two/signed-states.json -o out-app
check "--append: three states, the new one last" sh -c "
    jq -e '.sha256 | length == 3 and .[2].version == 3 and .[0].version == 2' out-app/signed-states.json >/dev/null"
check "--append: the pol file is the new state's" sh -c "
    test \"\$(jq -r '.sha256[2].pol' out-app/signed-states.json)\" = \"\$(od -An -v -tx1 out-app/pcr0_7.pcr.policy | tr -d ' \n')\""
echo '{"sha256": [{"pcrs": [0], "bogus": 1}]}' >bad-states.json
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file rhel8-0-7.bin --pcrs 0,7 \
    --tpm-type dtpm --version 3 --append bad-states.json -o out-bad
check "--append of a bad file is refused, naming the entry" sh -c "test $? -eq 1 && grep -q 'sha256\[0\]' '$WORK/err'"

# ---- the version rule ----
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file vals-dtpm.bin --tpm-type dtpm -o out-nov
check "without --version: refused (exit 1)" test $? -eq 1
check "the refusal says why" err_has "can never be revoked"
check "nothing written when refused" test ! -e out-nov
run luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --pcr-val-file vals-dtpm.bin --tpm-type dtpm \
    --no-version -o out-nov
check "--no-version signs, with a warning" sh -c "test $? -eq 0 && grep -q 'never be revoked' '$WORK/err'"
check "--no-version: no version in the states" sh -c "jq -e '.sha256[0] | has(\"version\") | not' out-nov/signed-states.json >/dev/null"
check "--no-version: a policy other than version 4's" sh -c "! cmp -s out-nov/pcr0_7_10.pcr.policy out-dtpm/pcr0_7_10.pcr.policy"

# ---- bad arguments ----
bad() { # what, expected exit, expected text, args...
    local what=$1 rc=$2 text=$3
    shift 3
    run "$@"
    local got=$?
    check "$what" sh -c "test $got -eq $rc && grep -qF -- '$text' '$WORK/err'"
}
P=(luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --tpm-type dtpm -o out-x)
bad "no values" 2 "either --pcr-val-file or --eventlog" "${P[@]}" --version 1
bad "both value sources" 2 "either --pcr-val-file or --eventlog" "${P[@]}" --version 1 --pcr-val-file vals-dtpm.bin --eventlog "$LOG"
bad "--version and --no-version" 2 "exclude each other" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 1 --no-version
bad "a version that is not a number" 1 "--version \"x\"" "${P[@]}" --pcr-val-file vals-dtpm.bin --version x
bad "a version past 2^53" 1 "9007199254740991" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 9007199254740992
bad "a values file of the wrong size" 1 "tpm2_pcrread sha256:0,7,10" "${P[@]}" --pcr-val-file vals-ptt.bin --version 1
bad "a sha1 bank" 1 "sha256 or sha384" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 1 --pcr-bank sha1
bad "PCRs out of order" 1 "ascending" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 1 --pcrs 7,0,10
bad "PCR 24" 1 "0-23" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 1 --pcrs 0,24
bad "a trailing comma" 1 "ascending" "${P[@]}" --pcr-val-file vals-dtpm.bin --version 1 --pcrs 0,7,
bad "ptt with a P-256 key" 1 "--tpm-type ptt needs a secp384r1 key" \
    luks policy --pol-pub-key p256.pub.pem --pol-priv-key p256.pem --tpm-type ptt -o out-x --pcr-val-file vals-dtpm.bin --version 1
bad "a public key that is not the pair" 1 "is not the public half" \
    luks policy --pol-pub-key p384.pub.pem --pol-priv-key p256.pem --tpm-type dtpm -o out-x --pcr-val-file vals-dtpm.bin --version 1
bad "a missing key file" 1 "cannot open nokey.pem" \
    luks policy --pol-pub-key nokey.pem --pol-priv-key p256.pem --tpm-type dtpm -o out-x --pcr-val-file vals-dtpm.bin --version 1
bad "an unknown TPM type" 1 "foo" "${P[@]/dtpm/foo}" --pcr-val-file vals-dtpm.bin --version 1
bad "a log that is not a log" 1 "--eventlog vals-dtpm.bin" "${P[@]}" --eventlog vals-dtpm.bin --version 1
bad "a log without the sha256 bank (SHA-1 only)" 1 "has no sha256 bank" "${P[@]}" --version 1 \
    --eventlog "$CORPORA/eventlog/uefi/google-go-eventlog/debian-10.bin"
bad "no options" 2 "are required" luks policy
check "no output directory was made by a failure" test ! -e out-x

# ---- luks config ----
run luks config --dev-part /dev/sda3 -o luks.yaml
check "config: defaults" test $? -eq 0
for line in "version: 1" "dev_part: /dev/sda3" "auth_pol: /home/update/upload/mnt/authorized.policy" \
    "pol_file: /home/update/upload/mnt/pcr0_7_10.pcr.policy" \
    "pol_file_sign: /home/update/upload/mnt/pcr0_7_10.pcr.policy.signature" "pcr_bank: sha256" "pcrs: [0, 7, 10]" \
    "sealed_handle: 0x8100A001" "pubkey_nv_index: 0x018A0000" "mapper_name: tep_luks" "integrity: hmac-sha256"; do
    check "config: $line" grep -qxF -- "$line" luks.yaml
done
check "config: no signed_states unless given" sh -c "! grep -q signed_states luks.yaml"
check "config: mode 0644" mode_is luks.yaml 644
check "config: YAML that python reads" python3 -c "import yaml,sys; d=yaml.safe_load(open('luks.yaml')); sys.exit(0 if d['pcrs']==[0,7,10] and d['sealed_handle']==0x8100A001 else 1)"
run luks config --dev-part /dev/nvme0n1p3 --pcr-bank sha384 --pcrs 0,7 --signed-states /etc/tep/signed-states.json \
    --mapper-name data --integrity none --pol-file /etc/tep/p.policy --pol-file-sign /etc/tep/p.sig -o luks2.yaml
check "config: options" sh -c "grep -qx 'pcr_bank: sha384' luks2.yaml && grep -qx 'pcrs: \[0, 7\]' luks2.yaml &&
    grep -qx 'signed_states: /etc/tep/signed-states.json' luks2.yaml && grep -qx 'integrity: none' luks2.yaml &&
    grep -qx 'mapper_name: data' luks2.yaml && grep -qx 'pol_file: /etc/tep/p.policy' luks2.yaml &&
    grep -qx 'pol_file_sign: /etc/tep/p.sig' luks2.yaml"
bad "config: a relative path" 1 "absolute path" luks config --dev-part sda3 -o x.yaml
bad "config: a path with a space" 1 "absolute path" luks config --dev-part /dev/sda3 --auth-pol "/a b" -o x.yaml
bad "config: integrity other" 1 "hmac-sha256" luks config --dev-part /dev/sda3 --integrity aes -o x.yaml
bad "config: a mapper name with /" 1 "mapper-name" luks config --dev-part /dev/sda3 --mapper-name a/b -o x.yaml
bad "config: no -o" 2 "are required" luks config --dev-part /dev/sda3
check "config: nothing written on errors" test ! -e x.yaml

check_summary
