#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent config-apply` without a TPM (TAGENT_TCTI points at a closed loopback port): the help and its exit
# codes; no upload folder and an empty one are exit 0 with nothing written; a file that is no container is
# exit 1 and renamed to .rejected with the result file naming the check, before any TPM is needed; a
# well-formed-looking container on an unprovisioned device is exit 2, left in place, with the reason; an
# unknown argument is exit 2 and changes nothing; a leftover staging directory is removed.
# Usage: test_config_apply_cli.sh /path/to/tagent
set -u
TAGENT=$1
. "$(dirname "$0")/../lib/check.sh"

UP=$WORK/root/home/update/upload/mnt
export TAGENT_TCTI=swtpm:host=127.0.0.1,port=1 # nothing listens: every TPM call fails at once
out_has() { grep -qF -- "$1" "$WORK/out"; }
run() { "$TAGENT" --root "$WORK/root" config-apply "$@" >"$WORK/out" 2>&1; }

"$TAGENT" config-apply --help >"$WORK/out" 2>&1
check "--help exits 0" test $? -eq 0
check "... documents the exit codes" out_has "exit 0 applied or nothing to do, 1 rejected, 2 failed"
"$TAGENT" help >"$WORK/out" 2>&1
check "tagent help lists config-apply" out_has "config-apply"

mkdir -p "$WORK/root"
run
check "no upload folder: exit 0" test $? -eq 0
check "... nothing to apply" out_has "nothing to apply"
mkdir -p "$UP"
run
check "empty upload folder: exit 0" test $? -eq 0
check "... no result file" test ! -e "$UP/tep_user_config_data.bin.result"

mkdir -p "$UP/.tep-staging-AbCdEf/new/x"
run
check "a crash's staging directory is removed" test ! -e "$UP/.tep-staging-AbCdEf"

echo "not a container" >"$UP/tep_user_config_data.bin"
run --bogus
check "unknown argument: exit 2" test $? -eq 2
check "... the container untouched" test -f "$UP/tep_user_config_data.bin"
run
check "not a container: exit 1 (rejected)" test $? -eq 1
check "... says which check" out_has "rejected: not a valid TEPC v1 container"
check "... renamed to .rejected" test -f "$UP/tep_user_config_data.bin.rejected" -a ! -e "$UP/tep_user_config_data.bin"
check "... the result file says so" grep -qx "outcome: rejected" "$UP/tep_user_config_data.bin.result"
check "... mode 0644" test "$(stat -c %a "$UP/tep_user_config_data.bin.result")" = 644

# a header that parses (magic, version, lengths, P-384 profile, TGZ flag) with 1 byte of "ciphertext" and an
# 8-byte "signature": the profile check needs the TPM, which is not there
{
    printf 'TEPC\x00\x01\x00\x80\x00\x06\x00\x40\x01\x00\x00\x18\x00\x0c\x00\x04\x00\x00\x00\x01\x81\x00\xa0\x00'
    printf '\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x01'
    head -c 88 /dev/zero
    printf '\x00\x00\x08\x30\x06\x02\x01\x01\x02\x01\x01'
} >"$UP/tep_user_config_data.bin"
run
check "no TPM: exit 2 (failed)" test $? -eq 2
check "... at the first TPM step (the header parsed)" out_has "failed: cannot tell this device's profile"
check "... the container stays for the next boot" test -f "$UP/tep_user_config_data.bin"
check "... the result file says failed" grep -qx "outcome: failed" "$UP/tep_user_config_data.bin.result"

check_summary
