#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# tagent-admin pki (docs/dev-pki.md) with openssl(1) as the independent oracle:
#  - pki init: the files, their modes, the loud warning; `openssl verify` of each sub CA up to its root and
#    `openssl x509 -text` for the extensions promised; a second init replaces nothing;
#  - pki sign-csr: certificates `openssl verify` accepts, with the promised extensions, the CSR's SAN and
#    nothing else of its requests (a CSR asking for CA:TRUE cannot sign a certificate that verifies);
#    validity and serial; every refusal (tampered CSR, small RSA key, no CN, unknown --ca, --days, DIR not ours,
#    output exists) exits non-zero with its reason and writes nothing;
#  - a TLS 1.3 handshake on 127.0.0.1: openssl s_server trusting device-ca-chain.pem accepts a client
#    certificate from sign-csr --ca device, and refuses one from another CA;
#  - pki show: text and JSON agree with openssl; a swapped key or a loose mode is reported.
# Usage: test_admin_pki_cli.sh /path/to/tagent-admin
set -u
ADMIN=$1
. "$(dirname "$0")/../lib/check.sh"
out_has() { grep -qF -- "$1" "$WORK/out"; }
mode_is() { test "$(stat -c %a "$1")" = "$2"; }
verifies() { openssl verify "$@" >/dev/null 2>&1; }
text_has() { openssl x509 -in "$1" -noout -text | grep -qF -- "$2"; }
exits() { # exits CODE cmd...: runs cmd with output to $WORK/out, true when its status is CODE
    local want=$1
    shift
    "$@" >"$WORK/out" 2>&1
    test $? -eq "$want"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P=$WORK/pki
cd "$WORK" || exit 1

# ---- help and usage ----
check "pki --help lists init, sign-csr, show" sh -c "'$ADMIN' pki --help | grep -q 'pki    init' &&
    '$ADMIN' pki --help | grep -q 'pki    sign-csr' && '$ADMIN' pki --help | grep -q 'pki    show'"
for c in init sign-csr show; do
    check "pki $c --help" sh -c "'$ADMIN' pki $c --help | grep -q '^usage: tagent-admin pki $c'"
done
# every tagent-admin command: --help, and an unknown option is a usage error naming the command
"$ADMIN" help | awk '/^  [a-z]+ +[a-z-]+ / { print $1, $2 }' >"$WORK/commands"
check "help lists at least the 9 commands" test "$(wc -l <"$WORK/commands")" -ge 9
while read -r group name; do
    check "$group $name --help: usage, exit 0" \
        sh -c "'$ADMIN' $group $name --help | grep -q '^usage: tagent-admin $group $name '"
    check "$group $name --no-such-option: exit 2" exits 2 "$ADMIN" "$group" "$name" --no-such-option
    check "... with the usage and where to look" out_has "(tagent-admin $group $name --help for details)"
done <"$WORK/commands"
check "pki without a command exits 2" exits 2 "$ADMIN" pki
check "pki frob: unknown command, exit 2" exits 2 "$ADMIN" pki frob
check "... saying so" out_has 'unknown command "pki frob"'
check "pki init without DIR exits 2" exits 2 "$ADMIN" pki init
check "... naming what is missing" out_has "the directory DIR is required"
check "pki init --bogus exits 2" exits 2 "$ADMIN" pki init --bogus "$P"
check "pki init --org '' exits 2" exits 2 "$ADMIN" pki init --org "" "$P"
check "pki init DIR1 DIR2 exits 2" exits 2 "$ADMIN" pki init "$P" "$P"2
check "sign-csr without --pki exits 2" exits 2 "$ADMIN" pki sign-csr --ca device x.csr -o x.pem
check "... naming it" out_has "--pki DIR is required"
check "sign-csr without -o exits 2" exits 2 "$ADMIN" pki sign-csr --pki "$P" --ca device x.csr
check "sign-csr --ca frob exits 2" exits 2 "$ADMIN" pki sign-csr --pki "$P" --ca frob x.csr -o x.pem
check "... listing the CAs" out_has "--ca takes device, guestos or ssig"
check "sign-csr --days 0 exits 2" exits 2 "$ADMIN" pki sign-csr --pki "$P" --ca device --days 0 x.csr -o x.pem
check "sign-csr --days 1x exits 2" exits 2 "$ADMIN" pki sign-csr --pki "$P" --ca device --days 1x x.csr -o x.pem
check "show without --pki exits 2" exits 2 "$ADMIN" pki show
check "show --pki of no PKI exits 1" exits 1 "$ADMIN" pki show --pki "$WORK"
check "... saying it is not ours and what to give" out_has "is not a development PKI of tagent-admin"
check "show --pki of a missing DIR exits 1" exits 1 "$ADMIN" pki show --pki "$WORK/none"
check "... saying why" out_has "No such file or directory"

# ---- init ----
"$ADMIN" pki init "$P" >"$WORK/out" 2>"$WORK/err"
check "init exits 0" test $? -eq 0
check "init warns loudly on stderr" grep -q "DEVELOPMENT KEYS ON DISK" "$WORK/err"
check "README.txt says the same" grep -q "DEVELOPMENT KEYS ON DISK" "$P/README.txt"
check "DIR is 0700" mode_is "$P" 700
stems="ssig-root ssig-subca gen-root guestos-subca device-subca"
for s in $stems; do
    check "$s.key is 0600" mode_is "$P/$s.key" 600
    check "$s.pem is 0644" mode_is "$P/$s.pem" 644
    check "$s.key is an unencrypted PKCS#8 P-384 key" \
        sh -c "grep -q 'BEGIN PRIVATE KEY' '$P/$s.key' && openssl pkey -in '$P/$s.key' -noout -text | grep -q 'NIST CURVE: P-384'"
    check "$s.pem is signed with ECDSA-SHA384" text_has "$P/$s.pem" "Signature Algorithm: ecdsa-with-SHA384"
    check "$s.key belongs to $s.pem" \
        test "$(openssl pkey -in "$P/$s.key" -pubout)" = "$(openssl x509 -in "$P/$s.pem" -noout -pubkey)"
done
check "device-ca-chain.pem is 0644" mode_is "$P/device-ca-chain.pem" 644
check "README.txt is 0644" mode_is "$P/README.txt" 644
for s in ssig-root gen-root; do
    check "$s is self-signed and verifies" verifies -CAfile "$P/$s.pem" "$P/$s.pem"
    check "$s: CA:TRUE critical" sh -c "openssl x509 -in '$P/$s.pem' -noout -text | grep -A1 'Basic Constraints: critical' | grep -qx ' *CA:TRUE'"
    check "$s: keyCertSign, cRLSign critical" sh -c "openssl x509 -in '$P/$s.pem' -noout -text | grep -A1 'Key Usage: critical' | grep -q 'Certificate Sign, CRL Sign'"
    check "$s: a subject key identifier" text_has "$P/$s.pem" "Subject Key Identifier"
done
check "the subjects: O = tagent development PKI, CN = role" \
    test "$(openssl x509 -in "$P/device-subca.pem" -noout -subject)" = "subject=O = tagent development PKI, CN = Device Sub CA"
check "ssig-subca verifies up to ssig-root" verifies -CAfile "$P/ssig-root.pem" "$P/ssig-subca.pem"
check "guestos-subca verifies up to gen-root" verifies -CAfile "$P/gen-root.pem" "$P/guestos-subca.pem"
check "device-subca verifies up to gen-root" verifies -CAfile "$P/gen-root.pem" "$P/device-subca.pem"
check "ssig-subca does not verify up to gen-root" \
    sh -c "! openssl verify -CAfile '$P/gen-root.pem' '$P/ssig-subca.pem' >/dev/null 2>&1"
for s in ssig-subca guestos-subca device-subca; do
    check "$s: CA:TRUE, pathlen:0 critical" sh -c "openssl x509 -in '$P/$s.pem' -noout -text | grep -A1 'Basic Constraints: critical' | grep -q 'CA:TRUE, pathlen:0'"
    check "$s: an authority key identifier" text_has "$P/$s.pem" "Authority Key Identifier"
done
check "a root is valid 10 years" sh -c "openssl x509 -in '$P/gen-root.pem' -noout -checkend $((3650 * 86400)) >/dev/null &&
    ! openssl x509 -in '$P/gen-root.pem' -noout -checkend $((3653 * 86400)) >/dev/null"
check "a sub CA is valid 5 years" sh -c "openssl x509 -in '$P/device-subca.pem' -noout -checkend $((1825 * 86400)) >/dev/null &&
    ! openssl x509 -in '$P/device-subca.pem' -noout -checkend $((1827 * 86400)) >/dev/null"
openssl crl2pkcs7 -nocrl -certfile "$P/device-ca-chain.pem" | openssl pkcs7 -print_certs -noout >"$WORK/chain.txt"
check "device-ca-chain.pem: device-subca, then gen-root" \
    test "$(grep -c '^subject=' "$WORK/chain.txt")-$(grep -m1 '^subject=' "$WORK/chain.txt")" = "2-subject=O = tagent development PKI, CN = Device Sub CA"
check "the serials are random and distinct" \
    test "$(for s in $stems; do openssl x509 -in "$P/$s.pem" -noout -serial; done | sort -u | wc -l)" -eq 5
cp "$P/gen-root.key" "$WORK/gen-root.key.before"
check "a second init refuses (exit 1)" exits 1 "$ADMIN" pki init "$P"
check "... saying why" out_has "refusing to overwrite a PKI file"
check "... and leaves the keys alone" cmp -s "$P/gen-root.key" "$WORK/gen-root.key.before"
mkdir "$WORK/half" && touch "$WORK/half/device-subca.key"
check "init refuses a DIR holding any of its files" exits 1 "$ADMIN" pki init "$WORK/half"
check "... writing nothing" test "$(ls "$WORK/half")" = device-subca.key
touch "$WORK/afile"
check "init refuses a DIR that is a file" exits 1 "$ADMIN" pki init "$WORK/afile"
"$ADMIN" pki init --org "Example Org" "$WORK/pki2" >/dev/null 2>&1
(umask 077 && "$ADMIN" pki init "$WORK/pki3" >/dev/null 2>&1)
check "under umask 077 the certificates are still 0644" mode_is "$WORK/pki3/gen-root.pem" 644
check "... and the keys 0600" mode_is "$WORK/pki3/gen-root.key" 600
check "--org sets the O=" test "$(openssl x509 -in "$WORK/pki2/gen-root.pem" -noout -subject)" = "subject=O = Example Org, CN = General Root CA"

# ---- sign-csr --ca device ----
uuid=urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key -subj "/CN=device-1" \
    -addext "subjectAltName=URI:$uuid,DNS:dev1.local,IP:192.0.2.7" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" -out dev.csr 2>/dev/null
"$ADMIN" pki sign-csr --pki "$P" --ca device dev.csr -o dev.pem >"$WORK/out" 2>"$WORK/err"
check "sign-csr --ca device exits 0" test $? -eq 0
check "dev.pem is 0644" mode_is dev.pem 644
check "dev.pem verifies up to gen-root through device-subca" \
    verifies -CAfile "$P/gen-root.pem" -untrusted "$P/device-subca.pem" dev.pem
check "... as a TLS client" verifies -purpose sslclient -CAfile "$P/gen-root.pem" -untrusted "$P/device-subca.pem" dev.pem
check "... and as a TLS server" verifies -purpose sslserver -CAfile "$P/gen-root.pem" -untrusted "$P/device-subca.pem" dev.pem
check "... and with device-ca-chain.pem as the trust anchors" verifies -CAfile "$P/device-ca-chain.pem" dev.pem
check "dev.pem: CA:FALSE, critical" sh -c "openssl x509 -in dev.pem -noout -text | grep -A1 'Basic Constraints: critical' | grep -qx ' *CA:FALSE'"
check "dev.pem: digitalSignature only, critical" sh -c "openssl x509 -in dev.pem -noout -text | grep -A1 'Key Usage: critical' | grep -qx ' *Digital Signature'"
check "dev.pem: TLS Web Client and Server Authentication" text_has dev.pem "TLS Web Client Authentication, TLS Web Server Authentication"
check "dev.pem: subject and authority key identifiers" sh -c "openssl x509 -in dev.pem -noout -text | grep -q 'Subject Key Identifier' &&
    openssl x509 -in dev.pem -noout -text | grep -q 'Authority Key Identifier'"
check "dev.pem keeps the CSR's SAN" text_has dev.pem "URI:$uuid, DNS:dev1.local, IP Address:192.0.2.7"
check "dev.pem keeps the CSR's subject" test "$(openssl x509 -in dev.pem -noout -subject)" = "subject=CN = device-1"
check "dev.pem is not a CA (the requested CA:TRUE ignored)" sh -c "! openssl x509 -in dev.pem -noout -text | grep -q 'CA:TRUE'"
check "... nor keyCertSign" sh -c "! openssl x509 -in dev.pem -noout -text | grep -q 'Certificate Sign'"
check "... a note on stderr names what was ignored" grep -q "ignoring the CSR's requested X509v3 Basic Constraints" "$WORK/err"
check "dev.pem: signed with ECDSA-SHA384" text_has dev.pem "Signature Algorithm: ecdsa-with-SHA384"
# the strongest check of CA:FALSE: a certificate signed with dev.key under dev.pem does not verify
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=leaf" -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA dev.pem -CAkey dev.key -CAcreateserial -days 1 -out leaf.pem 2>/dev/null
cat "$P/device-subca.pem" dev.pem >untrusted.pem
check "a certificate issued under dev.pem does not verify (openssl)" \
    sh -c "! openssl verify -CAfile '$P/gen-root.pem' -untrusted untrusted.pem leaf.pem >/dev/null 2>&1"
serial=$(openssl x509 -in dev.pem -noout -serial | cut -d= -f2)
check "the serial has 128 bits (31 or 32 hex digits)" test "${#serial}" -ge 31 -a "${#serial}" -le 32
check "the printed serial is the certificate's" out_has "$serial"
nb=$(date -d "$(openssl x509 -in dev.pem -noout -startdate | cut -d= -f2)" +%s)
check "notBefore is 5 minutes in the past" test $(($(date +%s) - nb)) -ge 290 -a $(($(date +%s) - nb)) -le 400
check "valid 365 days by default" sh -c "openssl x509 -in dev.pem -noout -checkend $((364 * 86400)) >/dev/null &&
    ! openssl x509 -in dev.pem -noout -checkend $((366 * 86400)) >/dev/null"
"$ADMIN" pki sign-csr --pki "$P" --ca device --days 30 dev.csr -o dev30.pem >/dev/null 2>&1
check "--days 30: valid 30 days" sh -c "openssl x509 -in dev30.pem -noout -checkend $((29 * 86400)) >/dev/null &&
    ! openssl x509 -in dev30.pem -noout -checkend $((31 * 86400)) >/dev/null"
check "a second certificate gets another serial" \
    test "$(openssl x509 -in dev30.pem -noout -serial | cut -d= -f2)" != "$serial"
check "--days past the CA's end exits 1" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device --days 5000 dev.csr -o d.pem
check "... naming the limit" out_has "give --days 1825 or less"
check "... writing nothing" test ! -e d.pem
cp dev.pem dev.before
check "an existing -o is refused (exit 1)" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device dev.csr -o dev.pem
check "... saying how to go on" out_has "refusing to overwrite it"
check "... and left alone" cmp -s dev.pem dev.before
check "--force replaces it" exits 0 "$ADMIN" pki sign-csr --pki "$P" --ca device --force dev.csr -o dev.pem
check "... with a new certificate, 0644" sh -c "! cmp -s dev.pem dev.before && test \$(stat -c %a dev.pem) = 644"

# a sub CA that ends in 10 days (made by openssl for the same key): the default 365 days are clipped to it
cp -r "$P" "$WORK/short"
openssl req -new -x509 -key "$P/device-subca.key" -subj "/O=tagent development PKI/CN=Device Sub CA" \
    -CA "$P/gen-root.pem" -CAkey "$P/gen-root.key" -days 10 -sha384 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$WORK/short/device-subca.pem" 2>/dev/null
check "a CA ending in 10 days: sign-csr with the default --days exits 0" \
    exits 0 "$ADMIN" pki sign-csr --pki "$WORK/short" --ca device dev.csr -o short.pem
check "... noting the clipping" out_has "note: the certificate ends with the device CA's"
check "... and the certificate ends with the CA" \
    test "$(openssl x509 -in short.pem -noout -enddate)" = "$(openssl x509 -in "$WORK/short/device-subca.pem" -noout -enddate)"
check "... an explicit --days 30 is refused" exits 1 "$ADMIN" pki sign-csr --pki "$WORK/short" --ca device --days 30 dev.csr -o short30.pem
check "... naming the limit" grep -qE "ends on .*, (9|10) days from now; give --days (9|10) or less" "$WORK/out"

# ---- sign-csr refusals ----
# a tampered CSR: one byte of the subject changed after signing (device-1 -> device-2)
openssl req -in dev.csr -outform DER -out dev.der
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d.replace(b"device-1", b"device-2", 1))' dev.der bad.der
openssl req -inform DER -in bad.der -out bad.csr
check "a tampered CSR is refused (exit 1)" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device bad.csr -o bad.pem
check "... saying the self-signature does not verify" out_has "self-signature does not verify"
check "... writing nothing" test ! -e bad.pem
openssl req -new -newkey rsa:1024 -nodes -keyout rsa1024.key -subj "/CN=small" -out rsa1024.csr 2>/dev/null
check "a CSR of an RSA-1024 key is refused (exit 1)" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device rsa1024.csr -o r.pem
check "... naming the key and the minimum" out_has "the CSR's key is RSA 1024; this CA certifies EC P-256, EC P-384 or RSA keys of at least 2048"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -keyout p521.key -subj "/CN=big" -out p521.csr 2>/dev/null
check "a CSR of a P-521 key is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device p521.csr -o r.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout nocn.key -subj "/O=NoName" -out nocn.csr 2>/dev/null
check "a CSR without a CN is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device nocn.csr -o r.pem
check "... saying so" out_has "has no commonName"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mail.key -subj "/CN=m" \
    -addext "subjectAltName=email:a@example.org" -out mail.csr 2>/dev/null
check "a SAN with an e-mail name is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device mail.csr -o r.pem
check "not a CSR is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device "$P/README.txt" -o r.pem
check "... saying what it wants" out_has "is not a PEM certificate request"
check "a DIR that is not a PKI is refused" exits 1 "$ADMIN" pki sign-csr --pki "$WORK" --ca device dev.csr -o r.pem
check "... saying so" out_has "is not a development PKI of tagent-admin"
check "nothing was written by a refusal" test ! -e r.pem

# ---- guestos and ssig ----
openssl req -new -newkey rsa:2048 -nodes -keyout gos.key -subj "/CN=guestos-signer" -out gos.csr 2>/dev/null
check "sign-csr --ca guestos (RSA-2048) exits 0" exits 0 "$ADMIN" pki sign-csr --pki "$P" --ca guestos gos.csr -o gos.pem
check "... verifies up to gen-root through guestos-subca" verifies -CAfile "$P/gen-root.pem" -untrusted "$P/guestos-subca.pem" gos.pem
check "... for code signing only" sh -c "openssl x509 -in gos.pem -noout -text | grep -A1 'Extended Key Usage' | grep -qx ' *Code Signing'"
check "... not for a TLS client" sh -c "! openssl verify -purpose sslclient -CAfile '$P/gen-root.pem' -untrusted '$P/guestos-subca.pem' gos.pem >/dev/null 2>&1"
check "sign-csr --ca ssig exits 0" exits 0 "$ADMIN" pki sign-csr --pki "$P" --ca ssig dev.csr -o ssig.pem
check "... verifies up to ssig-root through ssig-subca" verifies -CAfile "$P/ssig-root.pem" -untrusted "$P/ssig-subca.pem" ssig.pem
check "... and not up to gen-root" sh -c "! openssl verify -CAfile '$P/gen-root.pem' -untrusted '$P/ssig-subca.pem' ssig.pem >/dev/null 2>&1"
check "... CA:FALSE, Code Signing" sh -c "openssl x509 -in ssig.pem -noout -text | grep -q CA:FALSE && openssl x509 -in ssig.pem -noout -text | grep -q 'Code Signing'"

# ---- TLS 1.3 on loopback: s_server trusting device-ca-chain.pem takes dev.pem as a client certificate ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout srv.key -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out srv.csr 2>/dev/null
"$ADMIN" pki sign-csr --pki "$P" --ca device srv.csr -o srv.pem >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -subj "/CN=device-1" \
    -days 1 -out rogue.pem 2>/dev/null
tls_try() { # tls_try CERT KEY: one handshake; true when the client completed it with its certificate accepted
    local port pid rc
    port=$(free_port)
    openssl s_server -accept "127.0.0.1:$port" -tls1_3 -Verify 1 -verify_return_error \
        -CAfile "$P/device-ca-chain.pem" -cert srv.pem -key srv.key -naccept 1 -www >srv.log 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q ACCEPT srv.log 2>/dev/null && break; sleep 0.1; done
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -cert "$1" \
        -key "$2" -CAfile "$P/device-ca-chain.pem" -verify_return_error -verify_hostname localhost -ign_eof \
        >cli.log 2>&1
    rc=$?
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    test $rc -eq 0 && grep -q 'HTTP/1.0 200 ok' cli.log
}
tls_try dev.pem dev.key
check "TLS 1.3: s_server (-Verify, device-ca-chain.pem) accepts dev.pem" test $? -eq 0
check "... having verified it up to the general root" \
    sh -c "grep -q 'depth=0 CN = device-1' srv.log && grep -q 'depth=2 O = tagent development PKI, CN = General Root CA' srv.log"
tls_try rogue.pem rogue.key
check "TLS 1.3: a client certificate of another CA is refused" test $? -ne 0

# ---- show ----
"$ADMIN" pki show --pki "$P" >"$WORK/out" 2>"$WORK/err"
check "show exits 0" test $? -eq 0
cp "$WORK/out" "$WORK/show.txt"
check "show repeats the warning" grep -q "DEVELOPMENT KEYS ON DISK" "$WORK/err"
check "show: every CA verifies" test "$(grep -c 'verifies:    yes' "$WORK/out")" -eq 5
check "show: every key matches" test "$(grep -c 'key file:    matches the certificate' "$WORK/out")" -eq 5
fp=$(openssl x509 -in "$P/device-subca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
check "show: the SHA-256 fingerprint is openssl's" out_has "SHA-256:     $fp"
check "show: the serial is openssl's" \
    out_has "serial:      $(openssl x509 -in "$P/device-subca.pem" -noout -serial | cut -d= -f2)"
check "show: key type" out_has "key:         EC P-384"
"$ADMIN" pki show --pki "$P" --json >"$WORK/json" 2>/dev/null
check "show --json exits 0" test $? -eq 0
check "show --json: five CAs, all verified and matched" \
    test "$(jq '[.cas[] | select(.verifies and .key_matches and .key_mode_ok)] | length' "$WORK/json")" = 5
check "show --json: the fingerprint" \
    test "$(jq -r '.cas[] | select(.name == "device-subca") | .sha256_fingerprint' "$WORK/json")" = "$fp"
check "show: the chain file is right" grep -qF "device-ca-chain.pem: device-subca.pem + gen-root.pem" "$WORK/show.txt"
check "show --json: the chain file is right" test "$(jq '.device_chain_ok' "$WORK/json")" = true
cp "$P/device-ca-chain.pem" "$WORK/chain.good"
cat "$P/gen-root.pem" "$P/device-subca.pem" >"$P/device-ca-chain.pem"
check "show with the chain file in the wrong order exits 1" exits 1 "$ADMIN" pki show --pki "$P"
check "... saying what the chain file should hold" out_has "device-ca-chain.pem does not hold exactly device-subca.pem then gen-root.pem"
cp "$WORK/chain.good" "$P/device-ca-chain.pem"
chmod 0644 "$P/guestos-subca.key"
check "show with a 0644 key still exits 0" exits 0 "$ADMIN" pki show --pki "$P"
check "... and flags the mode" out_has "guestos-subca.key 0644 (WARNING: not 0600"
chmod 0600 "$P/guestos-subca.key"
cp "$P/device-subca.key" "$WORK/device-subca.key.good"
cp "$P/gen-root.key" "$P/device-subca.key"
check "show with a swapped key exits 1" exits 1 "$ADMIN" pki show --pki "$P"
check "... naming the key file" out_has "device-subca.key does not hold the certificate's key"
check "sign-csr with a swapped key is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device dev.csr -o r.pem
check "... saying the pair does not belong together" out_has "device-subca.key does not belong to"
echo garbage >"$P/device-subca.key"
check "sign-csr with an unreadable CA key is refused" exits 1 "$ADMIN" pki sign-csr --pki "$P" --ca device dev.csr -o r.pem
check "... saying which file and what to do" out_has "device-subca.key: cannot read a PEM private key"
check "... and to restore it" out_has "restore it from a backup"
cp "$WORK/device-subca.key.good" "$P/device-subca.key"
cp "$WORK/pki2/gen-root.pem" "$P/gen-root.pem"
check "show with a foreign root exits 1" exits 1 "$ADMIN" pki show --pki "$P"
check "... the sub CAs no longer verify" test "$(grep -c 'verifies:    NO' "$WORK/out")" -eq 2

check_summary
