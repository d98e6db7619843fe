#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# tagent-admin end to end, both profiles, with openssl(1) as the independent oracle of docs/tep-formats.md 2:
#  - keys gen -> config seal -> config inspect (valid) -> config open gives back the same files;
#  - a container from tagent-admin, carved with head/tail, verifies with `openssl dgst -verify` and decrypts
#    with `openssl enc -d -aes-*-ctr` to the gzip'ed tar that was sealed;
#  - a container built only with openssl and a printf'd header is accepted by inspect and open.
# Usage: test_admin_cli.sh /path/to/tagent-admin
set -u
ADMIN=$1
. "$(dirname "$0")/../lib/check.sh"
out_has() { grep -qF -- "$1" "$WORK/out"; }
hex_of() { od -An -v -tx1 "$@" | tr -d ' \n'; }
# bytes [off, off+len) of a file as hex
hex_at() { hex_of -j "$2" -N "$3" "$1"; }
# hex digits to bytes, with the shell's printf
unhex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
same() { cmp -s "$1" "$2"; }
mode_is() { test "$(stat -c %a "$1")" = "$2"; }

# the configuration to deliver: nested, an executable, an empty directory
SRC=$WORK/src
mkdir -p "$SRC/etc/app" "$SRC/bin" "$SRC/empty"
echo "setting=1" >"$SRC/etc/app/app.conf"
printf '#!/bin/sh\necho hi\n' >"$SRC/bin/run.sh"
chmod 0755 "$SRC/bin/run.sh"
head -c 5000 /dev/urandom >"$SRC/blob.bin"

check "help lists every command" sh -c "'$ADMIN' help | grep -q 'config inspect'"
for c in "keys gen" "config seal" "config inspect" "config open"; do
    # shellcheck disable=SC2086
    check "$c --help" sh -c "'$ADMIN' $c --help | grep -q '^usage: tagent-admin $c'"
done
"$ADMIN" config seal >/dev/null 2>&1
check "a command without its options exits 2" test $? -eq 2

for profile in ptt dtpm; do
    if [[ $profile == ptt ]]; then
        bits=256 md=sha384 hash=000c curve=0004 other=dtpm
    else
        bits=128 md=sha256 hash=000b curve=0003 other=ptt
    fi
    K=$WORK/keys-$profile
    P="[$profile]"

    # ---- keys gen ----
    "$ADMIN" keys gen --profile "$profile" -o "$K" >"$WORK/out" 2>&1
    check "$P keys gen exits 0" test $? -eq 0
    for f in sign-key.pem sign-key.pub.pem enc-key.bin; do
        check "$P $f is 0600" mode_is "$K/$f" 600
    done
    check "$P enc-key.bin has $((bits / 8)) bytes" test "$(stat -c %s "$K/enc-key.bin")" -eq $((bits / 8))
    check "$P the private key is PKCS#8" grep -q 'BEGIN PRIVATE KEY' "$K/sign-key.pem"
    kid=$(openssl pkey -pubin -in "$K/sign-key.pub.pem" -outform DER | sha256sum | cut -c1-64)
    check "$P the printed key id is SHA-256 of the DER SPKI (openssl)" out_has "$kid"
    check "$P keys gen prints no private key material" \
        test -z "$(grep -F -e "$(sed -n 2p "$K/sign-key.pem")" -e "$(hex_of "$K/enc-key.bin")" "$WORK/out")"
    cp "$K/enc-key.bin" "$WORK/enc-before"
    "$ADMIN" keys gen --profile "$profile" -o "$K" >"$WORK/out" 2>&1
    check "$P a second keys gen refuses (exit 1)" test $? -eq 1
    check "$P ... saying why" out_has "refusing to overwrite"
    check "$P ... and leaves the key alone" same "$K/enc-key.bin" "$WORK/enc-before"

    # ---- seal, inspect, open ----
    B=$WORK/$profile.bin
    SOURCE_DATE_EPOCH=1700000000 "$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pem" \
        --enc-key "$K/enc-key.bin" --seq 7 -o "$B" >"$WORK/out" 2>&1
    check "$P config seal exits 0" test $? -eq 0
    "$ADMIN" config inspect "$B" --pub-key "$K/sign-key.pub.pem" >"$WORK/out" 2>&1
    check "$P inspect: exit 0" test $? -eq 0
    check "$P inspect: signature valid" out_has "signature:      valid"
    check "$P inspect: profile" out_has "profile:        $profile"
    check "$P inspect: sequence" out_has "sequence:       7"
    check "$P inspect: created in UTC" out_has "created:        2023-11-14T22:13:20Z"
    check "$P inspect: signer key id" out_has "$kid"
    "$ADMIN" config open "$B" --enc-key "$K/enc-key.bin" --pub-key "$K/sign-key.pub.pem" -o "$WORK/open-$profile" \
        >"$WORK/out" 2>&1
    check "$P open: exit 0" test $? -eq 0
    check "$P open: the same files" diff -r "$SRC" "$WORK/open-$profile"
    check "$P open: the executable stays executable" test -x "$WORK/open-$profile/bin/run.sh"

    # ---- openssl checks a container tagent-admin wrote ----
    n=$((16#$(hex_at "$B" 32 8)))
    head -c $((128 + n)) "$B" >"$WORK/signed.bin"
    tail -c +$((131 + n)) "$B" >"$WORK/sig.der"
    check "$P sig_len matches the carved signature" \
        test $((16#$(hex_at "$B" $((128 + n)) 2))) -eq "$(stat -c %s "$WORK/sig.der")"
    check "$P openssl dgst -$md -verify accepts tagent-admin's signature" \
        openssl dgst -"$md" -verify "$K/sign-key.pub.pem" -signature "$WORK/sig.der" "$WORK/signed.bin"
    check "$P header fields: key bits, hash, curve" \
        test "$(hex_at "$B" 12 2)$(hex_at "$B" 16 4)" = "$(printf %04x $bits)$hash$curve"
    check "$P signer_kid is openssl's SHA-256 of the SPKI" test "$(hex_at "$B" 64 32)" = "$kid"
    iv=$(hex_at "$B" 48 16)
    check "$P the IV ends in 00000000" test "${iv:24}" = 00000000
    tail -c +129 "$B" | head -c "$n" >"$WORK/ct.bin"
    openssl enc -d -aes-$bits-ctr -K "$(hex_of "$K/enc-key.bin")" -iv "$iv" -in "$WORK/ct.bin" -out "$WORK/pt.tgz"
    mkdir -p "$WORK/tar-$profile"
    check "$P openssl enc -d -aes-$bits-ctr gives a tgz GNU tar extracts" \
        tar -xzf "$WORK/pt.tgz" -C "$WORK/tar-$profile"
    check "$P ... to the same files" diff -r "$SRC" "$WORK/tar-$profile"
    # sealing the same directory again (same SOURCE_DATE_EPOCH) gives the same tgz: deterministic payload
    SOURCE_DATE_EPOCH=1700000000 "$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pem" \
        --enc-key "$K/enc-key.bin" --seq 8 -o "$WORK/again.bin" >/dev/null 2>&1
    tail -c +129 "$WORK/again.bin" | head -c "$n" >"$WORK/ct2.bin"
    openssl enc -d -aes-$bits-ctr -K "$(hex_of "$K/enc-key.bin")" -iv "$(hex_at "$WORK/again.bin" 48 16)" \
        -in "$WORK/ct2.bin" -out "$WORK/pt2.tgz"
    check "$P the same directory gives the same tgz" same "$WORK/pt.tgz" "$WORK/pt2.tgz"
    check "$P ... under a fresh IV" test "$(hex_at "$WORK/again.bin" 48 12)" != "${iv:0:24}"
    # a ready .tgz is sealed as given: openssl decrypts it back byte for byte
    tar -C "$SRC" -czf "$WORK/given.tgz" .
    "$ADMIN" config seal --in "$WORK/given.tgz" --sign-key "$K/sign-key.pem" --enc-key "$K/enc-key.bin" --seq 9 \
        -o "$WORK/given.bin" >/dev/null 2>&1
    n2=$((16#$(hex_at "$WORK/given.bin" 32 8)))
    tail -c +129 "$WORK/given.bin" | head -c "$n2" >"$WORK/ct3.bin"
    openssl enc -d -aes-$bits-ctr -K "$(hex_of "$K/enc-key.bin")" -iv "$(hex_at "$WORK/given.bin" 48 16)" \
        -in "$WORK/ct3.bin" -out "$WORK/pt3.tgz"
    check "$P --in FILE.tgz: openssl decrypts the very tgz given" same "$WORK/given.tgz" "$WORK/pt3.tgz"

    # ---- a container built with openssl and printf only is accepted ----
    ivr=$(openssl rand -hex 12)
    openssl enc -aes-$bits-ctr -K "$(hex_of "$K/enc-key.bin")" -iv "${ivr}00000000" -in "$WORK/given.tgz" \
        -out "$WORK/o-ct.bin"
    ctlen=$(stat -c %s "$WORK/o-ct.bin")
    # magic, version 1, header_len 128, AES, CTR, key bits, ECDSA, hash, curve, flags 1, handle 0x8100A000
    hdr="544550430001008000060040$(printf %04x "$bits")0018$hash${curve}000000018100a000"
    hdr+=$(printf %08x 11)$(printf %016x "$ctlen")$(printf %016x 1700000000)${ivr}00000000$kid$(printf '%064d' 0)
    check "$P the printf header has 128 bytes" test ${#hdr} -eq 256
    { unhex "$hdr"; cat "$WORK/o-ct.bin"; } >"$WORK/o-signed.bin"
    openssl dgst -"$md" -sign "$K/sign-key.pem" -out "$WORK/o-sig.der" "$WORK/o-signed.bin"
    O=$WORK/openssl-$profile.bin
    { cat "$WORK/o-signed.bin"; unhex "$(printf %04x "$(stat -c %s "$WORK/o-sig.der")")"; cat "$WORK/o-sig.der"; } >"$O"
    "$ADMIN" config inspect "$O" --pub-key "$K/sign-key.pub.pem" >"$WORK/out" 2>&1
    check "$P openssl-built container: inspect exit 0" test $? -eq 0
    check "$P ... signature valid" out_has "signature:      valid"
    check "$P ... sequence 11" out_has "sequence:       11"
    "$ADMIN" config open "$O" --enc-key "$K/enc-key.bin" --pub-key "$K/sign-key.pub.pem" -o "$WORK/o-open-$profile" \
        >"$WORK/out" 2>&1
    check "$P ... open exit 0" test $? -eq 0
    check "$P ... the same files" diff -r "$SRC" "$WORK/o-open-$profile"

    # ---- what inspect and open refuse ----
    cp "$O" "$WORK/flip.bin"
    printf '\x55' | dd of="$WORK/flip.bin" bs=1 seek=$((128 + ctlen / 2)) conv=notrunc status=none
    "$ADMIN" config inspect "$WORK/flip.bin" --pub-key "$K/sign-key.pub.pem" >"$WORK/out" 2>&1
    check "$P a changed ciphertext byte: inspect exit 1" test $? -eq 1
    check "$P ... signature INVALID" out_has "signature:      INVALID"
    "$ADMIN" config open "$WORK/flip.bin" --enc-key "$K/enc-key.bin" --pub-key "$K/sign-key.pub.pem" \
        -o "$WORK/flip-open" >"$WORK/out" 2>&1
    check "$P ... open exit 1" test $? -eq 1
    check "$P ... and nothing extracted" test ! -e "$WORK/flip-open"
    head -c $(($(stat -c %s "$O") - 1)) "$O" >"$WORK/short.bin"
    "$ADMIN" config inspect "$WORK/short.bin" >"$WORK/out" 2>&1
    check "$P a truncated container: inspect exit 2" test $? -eq 2
    check "$P ... naming the length check" out_has "sig_len"
    "$ADMIN" config inspect "$O" --pub-key "$WORK/keys-$other/sign-key.pub.pem" >"$WORK/out" 2>&1 ||
        true
    [[ -e $WORK/keys-$other ]] && check "$P the other profile's key: inspect exit 1" out_has "INVALID"
    "$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pem" --enc-key "$K/enc-key.bin" --seq 1 \
        --profile "$other" -o "$WORK/x.bin" >"$WORK/out" 2>&1
    check "$P seal --profile $other with a $profile key: exit 1" test $? -eq 1
    check "$P ... and no output" test ! -e "$WORK/x.bin"
done

# ---- what the owner is told to fix ----
K=$WORK/keys-ptt
mkdir -p "$WORK/withlink" && echo x >"$WORK/withlink/f" && ln -s /etc/passwd "$WORK/withlink/pw"
"$ADMIN" config seal --in "$WORK/withlink" --sign-key "$K/sign-key.pem" --enc-key "$K/enc-key.bin" --seq 1 \
    -o "$WORK/x.bin" >"$WORK/out" 2>&1
check "a symlink in the source: seal exits 1" test $? -eq 1
check "... naming it" out_has '"pw" is not a regular file or directory (a symlink)'
mkdir -p "$WORK/notempty" && touch "$WORK/notempty/old"
"$ADMIN" config open "$WORK/ptt.bin" --enc-key "$K/enc-key.bin" -o "$WORK/notempty" >"$WORK/out" 2>&1
check "open into a non-empty directory: exit 1" test $? -eq 1
check "... saying so" out_has "is not empty"
head -c 20 "$K/enc-key.bin" >"$WORK/short-key.bin"
"$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pem" --enc-key "$WORK/short-key.bin" --seq 1 \
    -o "$WORK/x.bin" >"$WORK/out" 2>&1
check "a 20-byte AES key file: seal exits 1" test $? -eq 1
check "... saying what it should hold" out_has "exactly 16 (dtpm) or 32"
"$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pub.pem" --enc-key "$K/enc-key.bin" --seq 1 \
    -o "$WORK/x.bin" >"$WORK/out" 2>&1
check "the public key given as --sign-key: exit 1" test $? -eq 1
check "... pointing at sign-key.pem" out_has "use the sign-key.pem"
"$ADMIN" config seal --in "$SRC" --sign-key "$K/sign-key.pem" --enc-key "$K/enc-key.bin" --seq 0 \
    -o "$WORK/x.bin" >"$WORK/out" 2>&1
check "--seq 0: exit 1, the devices never apply it" out_has "give a decimal number from 1"

check_summary
