#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `tagent identity` (docs/device-identity.md) against a swtpm of its own, with independent oracles:
#   - arguments: every subcommand's --help, a bad --subject / --handle / --profile, a serial number over
#     X.520's 64 characters: exit 1, the reason named, nothing written;
#   - csr: `openssl req -verify` passes and the CSR's key is the one `tpm2_readpublic -f pem` reads at the
#     handle; a second csr reuses the key, --new-key replaces it;
#   - install: a test CA made with the openssl CLI (root, device sub CA) signs the CSR; install succeeds; a
#     certificate for another key, from another CA, expired, a CA:TRUE one, one for serverAuth only: each
#     refused with exit 2 and its reason, nothing written (a fresh root stays empty, an installed one keeps its
#     files byte for byte);
#   - self-provision + show mark the certificate SELF-SIGNED (development), in text and JSON;
#   - TLS: `openssl s_server -tls1_3 -Verify 1 -CAfile device-ca.pem` on 127.0.0.1 sees the installed
#     certificate's subject from an `openssl s_client` that signs with the TPM key through the tpm2 provider;
#     a client without a certificate, and one with the self-signed development certificate, are refused.
#
# Why tpm2-abrmd for the TLS part: swtpm has no resource manager and holds three transient objects. In a TLS
# 1.3 handshake OpenSSL duplicates the signature context of the TPM key (EVP_MD_CTX_copy_ex -> the provider's
# ContextSave/ContextLoad), and the copy no longer fits: TPM_RC_OBJECT_MEMORY (0x902), whatever the property
# query (a query that keeps the signature out of the tpm2 provider signs with the exported public key and
# fails with "missing private key"). A real device reaches its TPM through the kernel's resource manager
# (/dev/tpmrm0), which swaps objects out; tpm2-abrmd on a private session D-Bus in front of swtpm does the
# same, so the handshake is tested as a device runs it. tagent itself (csr, self-provision) talks to swtpm
# directly: it needs no resource manager, and that is tested too.
# Usage: test_identity_cli.sh /path/to/tagent [/path/to/tagent-admin]
set -u
TAGENT=$(realpath "$1") # the test changes directory once
ADMIN=${2:+$(realpath "$2")}
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/swtpm.sh"

OWNER=00112233445566778899aabbccddeeff01234567
UUID=11223344-5566-7788-99aa-bbccddeeff00
PROPQ='?provider=tpm2,tpm2.digest!=yes'
out_has() { grep -qF -- "$1" "$WORK/out"; }
# tagent identity with --root R (default $WORK/root)
id_in() {
    local root=$1
    shift
    "$TAGENT" --root "$root" identity "$@" >"$WORK/out" 2>&1
}
id() { id_in "$WORK/root" "$@"; }

# An SMBIOS table: one type 1 structure (UUID $UUID, serial number $2) and the end marker, into root $1.
dmi_make() {
    mkdir -p "$1/sys/firmware/dmi/tables"
    {
        printf '\001\033\001\000\001\002\000\003'
        printf '\104\063\042\021\146\125\210\167\231\252\273\314\335\356\377\000'
        printf '\006\000\000Acme\000Box\000%s\000\000\177\004\002\000\000\000' "$2"
    } >"$1/sys/firmware/dmi/tables/DMI"
}
dmi_make "$WORK/root" SN-12345

# ---- arguments (no TPM needed: all refused before it is opened) ----
for sub in csr install self-provision show; do
    id "$sub" --help
    check "identity $sub --help exits 0" test $? -eq 0
    check "... prints its usage" out_has "Usage: tagent [--root DIR] identity $sub"
done
"$TAGENT" identity --help >"$WORK/out" 2>&1
check "identity --help lists the subcommands" out_has "identity csr|install|self-provision|show"
"$TAGENT" help >"$WORK/out" 2>&1
check "tagent help lists identity" out_has "identity csr|install|self-provision|show"
id
check "no subcommand: exit 1" test $? -eq 1
check "... says so" out_has "a subcommand is missing"
id frobnicate
check "unknown subcommand: exit 1" test $? -eq 1
check "... names it" out_has 'unknown subcommand "frobnicate"'
id csr
check "csr without -o: exit 1" test $? -eq 1
check "... names -o" out_has "-o FILE (where the CSR goes) is required"
id csr -o "$WORK/x.csr" --bogus
check "unknown option: exit 1" test $? -eq 1
check "... names it" out_has 'unknown or repeated argument "--bogus"'
id csr -o "$WORK/x.csr" -o "$WORK/y.csr"
check "-o twice: exit 1" test $? -eq 1
check "... says so" out_has 'given twice: "-o"'
id show --new-key
check "an option of another subcommand: exit 1" test $? -eq 1
id install --cert c.pem
check "install without --ca: exit 1" test $? -eq 1
check "... names --ca" out_has "--ca (the device trust anchor) is required"
id csr -o "$WORK/x.csr" --handle 0x81010000
check "--handle of the EK: exit 1" test $? -eq 1
check "... says another key lives there" out_has "another key of this device lives there"
id csr -o "$WORK/x.csr" --handle 0x8100A000
check "--handle of the TEP AES key: exit 1" test $? -eq 1
id csr -o "$WORK/x.csr" --handle 0x01000000
check "--handle outside the owner persistent range: exit 1" test $? -eq 1
check "... names the range" out_has "0x81000000 to 0x817fffff"
id csr -o "$WORK/x.csr" --handle 8100a010
check "--handle without 0x: exit 1" test $? -eq 1
check "... shows the form" out_has "hex such as 0x8100a010"
id csr -o "$WORK/x.csr" --profile tpm
check "unknown --profile: exit 1" test $? -eq 1
check "... lists dtpm and ptt" out_has '"dtpm" (ECC P-256, SHA-256) or "ptt"'
id csr -o "$WORK/x.csr" --subject CN=x
check "--subject not in one-line form: exit 1" test $? -eq 1
check "... shows the form" out_has "one-line form"
id csr -o "$WORK/x.csr" --subject /FOO=x
check "--subject with an unknown attribute: exit 1" test $? -eq 1
check "... names it" out_has 'unknown attribute type "FOO"'
id csr -o "$WORK/x.csr" --subject /CN=
check "--subject with an empty value: exit 1" test $? -eq 1
check "... says so" out_has "CN has an empty value"
id csr -o "$WORK/x.csr" --subject "/CN=x/serialNumber=PID:$UUID SN:$UUID"
check "--subject with project-machine's 80-character serialNumber: exit 1" test $? -eq 1
check "... names X.520's limit" out_has "X.520 allows 64"
dmi_make "$WORK/longroot" "PID:$UUID-SN:$UUID"
id_in "$WORK/longroot" csr -o "$WORK/x.csr"
check "an SMBIOS serial number over 64 characters: exit 1" test $? -eq 1
check "... says to use --subject" out_has "give a shorter one with --subject"
mkdir -p "$WORK/nodmi"
id_in "$WORK/nodmi" csr -o "$WORK/x.csr"
check "no SMBIOS table: exit 1" test $? -eq 1
check "... names --subject as the way out" out_has "give the subject with --subject"
check "nothing written by the refused runs" test ! -e "$WORK/root/etc" -a ! -e "$WORK/x.csr"

# ---- against swtpm ----
if ! command -v swtpm >/dev/null || ! command -v tpm2_readpublic >/dev/null; then
    echo "skipping the swtpm part: swtpm or tpm2-tools missing"
    check_summary
    exit
fi
SWTPM_PID= BUS_PID= ABRMD_PID= SERVER_PID=
stop_all() {
    for pid in $SERVER_PID $ABRMD_PID $BUS_PID $SWTPM_PID; do kill "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap stop_all EXIT
swtpm_start "$WORK/tpm"
check "swtpm started" test -n "$SWTPM_PID"
export TAGENT_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
tpm2_changeauth -T "$TAGENT_TCTI" -c o "hex:$OWNER" >"$WORK/out" 2>&1
check "owner secret set (tpm2_changeauth)" test $? -eq 0

id csr -o "$WORK/dev.csr"
check "csr without TPM_OWNER_SECRET (the key must be created): exit 1" test $? -eq 1
check "... names the owner authorization" out_has "TPM_OWNER_SECRET"
TPM_OWNER_SECRET=$OWNER id csr -o "$WORK/dev.csr"
rc=$?
check "csr exits 0" test $rc -eq 0
[ $rc -eq 0 ] || cat "$WORK/out"
check "... says the key was created" out_has "identity key 0x8100a010: ECC P-256, created"
check "... the owner secret is not in the output" test "$(grep -c "$OWNER" "$WORK/out")" -eq 0
openssl req -in "$WORK/dev.csr" -noout -verify >"$WORK/out" 2>&1
check "openssl req -verify accepts the CSR" out_has "verify OK"
tpm2_readpublic -T "$TAGENT_TCTI" -c 0x8100A010 -f pem -o "$WORK/tpm.pem" >"$WORK/tpmpub.txt" 2>&1
openssl req -in "$WORK/dev.csr" -noout -pubkey >"$WORK/csr.pub"
check "the CSR's key is the TPM's (tpm2_readpublic)" cmp -s "$WORK/tpm.pem" "$WORK/csr.pub"
check "... a fixedTPM, noDA, sign-only key" grep -q "value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign$" "$WORK/tpmpub.txt"
openssl req -in "$WORK/dev.csr" -noout -subject -nameopt RFC2253 >"$WORK/out"
check "subject: CN = product UUID, serialNumber = SMBIOS serial" out_has "serialNumber=SN-12345,CN=$UUID"
openssl req -in "$WORK/dev.csr" -noout -text >"$WORK/out"
check "SAN URI urn:uuid:<product UUID>" out_has "URI:urn:uuid:$UUID"
check "signed with ECDSA-SHA256" out_has "ecdsa-with-SHA256"

TPM_OWNER_SECRET= id csr -o "$WORK/dev2.csr" --subject "/CN=$UUID/serialNumber=OTHER-1/O=Test Org"
check "a second csr reuses the key (no owner secret needed): exit 0" test $? -eq 0
check "... says reused" out_has "(reused)"
openssl req -in "$WORK/dev2.csr" -noout -pubkey | cmp -s - "$WORK/tpm.pem"
check "... same key" test $? -eq 0
openssl req -in "$WORK/dev2.csr" -noout -subject -nameopt RFC2253 >"$WORK/out"
check "... with the --subject given" out_has "O=Test Org,serialNumber=OTHER-1,CN=$UUID"
(cd "$WORK" && "$TAGENT" --root "$WORK/root" identity csr -o rel.csr >"$WORK/out" 2>&1)
check "csr -o with a relative path: exit 0" test $? -eq 0
check "... written there" test -s "$WORK/rel.csr"
id csr -o "$WORK/dev2.csr" --profile ptt
check "--profile ptt against the existing P-256 key: exit 1" test $? -eq 1
check "... says --new-key" out_has "replace it with --new-key"

# ---- a test device CA (openssl CLI): root, device sub CA ----
ca_make() { # name, issuer name or "" for self-signed
    local n=$1 i=$2
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/$n.key" 2>/dev/null
    if [ -z "$i" ]; then
        openssl req -x509 -new -key "$WORK/$n.key" -subj "/CN=$n" -days 30 -out "$WORK/$n.pem" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    else
        openssl req -new -key "$WORK/$n.key" -subj "/CN=$n" 2>/dev/null |
            openssl x509 -req -CA "$WORK/$i.pem" -CAkey "$WORK/$i.key" -CAcreateserial -days 30 \
                -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n') \
                -out "$WORK/$n.pem" 2>/dev/null
    fi
}
ca_make rootca ""
ca_make subca rootca
ca_make otherca ""
LEAF_EXT='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'
sign() { # csr, ca, out, [extensions]
    openssl x509 -req -in "$1" -CA "$WORK/$2.pem" -CAkey "$WORK/$2.key" -CAcreateserial -days 7 \
        -copy_extensions copy -extfile <(printf "${4:-$LEAF_EXT}") -out "$3" 2>/dev/null
}
sign "$WORK/dev.csr" subca "$WORK/device.pem"
check "the test CA signed the CSR" test -s "$WORK/device.pem"
openssl verify -CAfile "$WORK/rootca.pem" -untrusted "$WORK/subca.pem" -purpose sslclient "$WORK/device.pem" >/dev/null 2>&1
check "... openssl verify accepts the chain" test $? -eq 0

# refusals on a fresh root: nothing may appear
mkdir -p "$WORK/fresh"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/other.key" 2>/dev/null
openssl req -new -key "$WORK/other.key" -subj "/CN=$UUID" -out "$WORK/other.csr" 2>/dev/null
sign "$WORK/other.csr" subca "$WORK/otherkey.pem"
id_in "$WORK/fresh" install --cert "$WORK/otherkey.pem" --ca "$WORK/subca.pem"
check "install of a certificate for another key: exit 2" test $? -eq 2
check "... says it is not the TPM's key" out_has "not this TPM's identity key"
check "... and that nothing was written" out_has "refused, nothing written"
sign "$WORK/dev.csr" otherca "$WORK/otherca.pem"
id_in "$WORK/fresh" install --cert "$WORK/otherca.pem" --ca "$WORK/subca.pem"
check "install of a certificate of another CA: exit 2" test $? -eq 2
check "... says it does not verify against the anchor" out_has "does not verify against the device trust anchor"
cat >"$WORK/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $WORK/index.txt
new_certs_dir = $WORK
certificate = $WORK/subca.pem
private_key = $WORK/subca.key
serial = $WORK/ca.serial
default_md = sha256
policy = any
copy_extensions = copy
x509_extensions = leaf
[any]
commonName = supplied
serialNumber = optional
[leaf]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = clientAuth
EOF
: >"$WORK/index.txt"
echo 01 >"$WORK/ca.serial"
openssl ca -batch -config "$WORK/ca.cnf" -in "$WORK/dev.csr" -startdate 20200101000000Z \
    -enddate 20200201000000Z -out "$WORK/expired.pem" >/dev/null 2>&1
check "the test CA made an expired certificate" test -s "$WORK/expired.pem"
id_in "$WORK/fresh" install --cert "$WORK/expired.pem" --ca "$WORK/subca.pem"
check "install of an expired certificate: exit 2" test $? -eq 2
check "... says it expired" out_has "the certificate has expired"
sign "$WORK/dev.csr" subca "$WORK/ca-true.pem" 'basicConstraints=critical,CA:TRUE\n'
id_in "$WORK/fresh" install --cert "$WORK/ca-true.pem" --ca "$WORK/subca.pem"
check "install of a CA:TRUE certificate: exit 2" test $? -eq 2
check "... says it is a CA certificate" out_has "is a CA certificate"
sign "$WORK/dev.csr" subca "$WORK/server-only.pem" 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
id_in "$WORK/fresh" install --cert "$WORK/server-only.pem" --ca "$WORK/subca.pem"
check "install of a serverAuth-only certificate: exit 2" test $? -eq 2
check "... says it is not for TLS client authentication" out_has "not for TLS client authentication"
echo "not a certificate" >"$WORK/junk.pem"
id_in "$WORK/fresh" install --cert "$WORK/junk.pem" --ca "$WORK/subca.pem"
check "install of a file without a certificate: exit 1" test $? -eq 1
check "... says so" out_has "holds no PEM certificate"
id_in "$WORK/fresh" install --cert "$WORK/device.pem" --ca "$WORK/subca.pem" --handle 0x8100a013
check "install with no key at the handle: exit 1" test $? -eq 1
check "... says to create it with csr" out_has "there is no identity key at 0x8100a013"
check "nothing written by the refused installs" test -z "$(ls -A "$WORK/fresh")"

# ---- install ----
id install --cert "$WORK/device.pem" --ca "$WORK/subca.pem"
rc=$?
check "install (the sub CA as the anchor) exits 0" test $rc -eq 0
[ $rc -eq 0 ] || cat "$WORK/out"
ID="$WORK/root/etc/tep/identity"
check "device.pem is 0644" test "$(stat -c %a "$ID/device.pem")" = 644
check "device-ca.pem is 0644" test "$(stat -c %a "$ID/device-ca.pem")" = 644
check "the directory is 0755" test "$(stat -c %a "$ID")" = 755
check "device.pem is the CA's certificate" cmp -s <(openssl x509 -in "$WORK/device.pem" -outform DER) \
    <(openssl x509 -in "$ID/device.pem" -outform DER)
id show
check "show exits 0" test $? -eq 0
check "... key matches" out_has "key matches:  yes"
check "... status valid" out_has "status:       valid"
check "... not marked development" test "$(grep -c "SELF-SIGNED" "$WORK/out")" -eq 0
check "... the subject" out_has "CN = $UUID, serialNumber = SN-12345"
id show --json
check "show --json: key_matches true" grep -q '"key_matches":[[:space:]]*true' "$WORK/out"
check "... development false" grep -q '"development":[[:space:]]*false' "$WORK/out"
TAGENT_TCTI=swtpm:host=127.0.0.1,port=1 id show
check "show without a TPM: exit 1" test $? -eq 1
check "... says the TPM could not be read" out_has "the TPM could not be read"
check "... key match unknown" out_has "key matches:  unknown"
cp "$ID/device.pem" "$WORK/installed.before"
id install --cert "$WORK/otherca.pem" --ca "$WORK/subca.pem"
check "a refused install over an installed identity: exit 2" test $? -eq 2
check "... keeps device.pem byte for byte" cmp -s "$WORK/installed.before" "$ID/device.pem"
cat "$WORK/subca.pem" "$WORK/rootca.pem" >"$WORK/chain.pem"
id install --cert "$WORK/device.pem" --ca "$WORK/chain.pem"
check "install with root + sub CA as anchors exits 0" test $? -eq 0

# ---- self-provision (another root) ----
dmi_make "$WORK/dev" SN-12345
TPM_OWNER_SECRET=$OWNER id_in "$WORK/dev" self-provision --handle 0x8100a011 --days 30
rc=$?
check "self-provision at 0x8100a011 exits 0" test $rc -eq 0
[ $rc -eq 0 ] || cat "$WORK/out"
check "... says SELF-SIGNED (development)" out_has "SELF-SIGNED (development)"
openssl x509 -in "$WORK/dev/etc/tep/identity/device.pem" -noout -subject >"$WORK/out"
check "... the certificate carries the marker" out_has "OU = tagent development self-signed"
openssl verify -CAfile "$WORK/dev/etc/tep/identity/device-ca.pem" "$WORK/dev/etc/tep/identity/device.pem" >/dev/null 2>&1
check "... openssl verifies it against itself" test $? -eq 0
id_in "$WORK/dev" show --handle 0x8100a011
check "show exits 0" test $? -eq 0
check "... marks it SELF-SIGNED (development)" out_has "certificate:  SELF-SIGNED (development)"
id_in "$WORK/dev" show --handle 0x8100a011 --json
check "show --json: development true" grep -q '"development":[[:space:]]*true' "$WORK/out"
check "... the label" grep -q '"label":[[:space:]]*"SELF-SIGNED (development)"' "$WORK/out"
id_in "$WORK/dev" show
check "show with the key at another handle: exit 2" test $? -eq 2
check "... key matches NO" out_has "key matches:  NO"
id_in "$WORK/fresh" show
check "show without an identity: exit 1" test $? -eq 1
check "... says none installed" out_has "none installed"

# an object at the handle that is not an identity-like key (a storage primary): refused, kept; --new-key
# replaces it
tpm2_createprimary -T "$TAGENT_TCTI" -C o -P "hex:$OWNER" -c "$WORK/storage.ctx" >/dev/null 2>&1 &&
    tpm2_evictcontrol -T "$TAGENT_TCTI" -C o -P "hex:$OWNER" -c "$WORK/storage.ctx" 0x8100a012 >/dev/null 2>&1
check "a storage key persisted at 0x8100a012 (tpm2-tools)" test $? -eq 0
tpm2_flushcontext -T "$TAGENT_TCTI" -t >/dev/null 2>&1
TPM_OWNER_SECRET=$OWNER id csr -o "$WORK/x.csr" --handle 0x8100a012
check "csr at a handle holding another kind of key: exit 1" test $? -eq 1
check "... says it is not an identity key" out_has "is not a device identity key"
check "... and wrote no CSR" test ! -e "$WORK/x.csr"
TPM_OWNER_SECRET=$OWNER id csr -o "$WORK/x.csr" --handle 0x8100a012 --new-key
check "... --new-key replaces it: exit 0" test $? -eq 0
check "... and says so" out_has "a NEW key REPLACED the old one"

# --new-key replaces the key: the installed certificate stops matching
TPM_OWNER_SECRET=$OWNER id csr -o "$WORK/new.csr" --new-key
check "csr --new-key exits 0" test $? -eq 0
check "... says so loudly" out_has "a NEW key REPLACED the old one"
openssl req -in "$WORK/new.csr" -noout -pubkey | cmp -s - "$WORK/tpm.pem"
check "... the key changed" test $? -ne 0
id show
check "show after --new-key: exit 2" test $? -eq 2
check "... key matches NO" out_has "key matches:  NO"
sign "$WORK/new.csr" subca "$WORK/device.pem"
id install --cert "$WORK/device.pem" --ca "$WORK/chain.pem"
check "install of the new key's certificate exits 0" test $? -eq 0

# ---- the owner's PKI (tagent-admin pki, docs/dev-pki.md) issues the device certificate ----
# The issue's flow: the device makes the CSR, the owner signs it with the Device sub CA, the device installs
# the certificate with the chain file the PKI hands out; the TLS part below then uses this certificate.
if [ -n "$ADMIN" ]; then
    "$ADMIN" pki init "$WORK/pki" >"$WORK/out" 2>&1
    check "tagent-admin pki init exits 0" test $? -eq 0
    "$ADMIN" pki sign-csr --pki "$WORK/pki" --ca device "$WORK/new.csr" -o "$WORK/pki-device.pem" >"$WORK/out" 2>&1
    check "tagent-admin pki sign-csr --ca device signs the TPM key's CSR" test $? -eq 0
    id install --cert "$WORK/pki-device.pem" --ca "$WORK/pki/device-ca-chain.pem"
    check "install of the PKI's certificate with its device-ca-chain.pem exits 0" test $? -eq 0
    id show
    check "... show: exit 0 (installed, the TPM's key, chain valid)" test $? -eq 0
    check "... issued by the Device Sub CA" out_has "Device Sub CA"
    cmp -s "$WORK/root/etc/tep/identity/device-ca.pem" "$WORK/pki/device-ca-chain.pem"
    check "... the anchor file is the PKI's chain" test $? -eq 0
else
    echo "SKIPPED - the owner's PKI part (no tagent-admin given)"
fi

# ---- TLS 1.3 with the TPM-held key (tpm2-abrmd in front of swtpm: see the header) ----
if ! command -v tpm2-abrmd >/dev/null || ! command -v dbus-daemon >/dev/null; then
    echo "FAILED - the TLS part needs tpm2-abrmd and dbus-daemon (scripts/install-deps.sh)"
    check_summary
    exit 1
fi
dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$WORK/bus.addr" 4>"$WORK/bus.pid"
BUS_PID=$(cat "$WORK/bus.pid")
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$WORK/bus.addr")
tpm2-abrmd --session --allow-root --tcti="swtpm:host=127.0.0.1,port=$SWTPM_PORT" >"$WORK/abrmd.log" 2>&1 &
ABRMD_PID=$!
export TPM2OPENSSL_TCTI=tabrmd:bus_type=session
for _ in $(seq 50); do tpm2_getcap -T "$TPM2OPENSSL_TCTI" handles-persistent >/dev/null 2>&1 && break; sleep 0.1; done
check "tpm2-abrmd answers" bash -c 'tpm2_getcap -T "$1" handles-persistent >/dev/null' _ "$TPM2OPENSSL_TCTI"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/srv.key" \
    -out "$WORK/srv.pem" -subj /CN=127.0.0.1 -days 2 2>/dev/null
# one server per client: answers one handshake, reports the peer it saw
server_start() {
    local try
    for try in 1 2 3 4 5 6 7 8; do
        TLS_PORT=$((20000 + RANDOM % 30000))
        : >"$WORK/srv.out"
        # stdin kept open (s_server quits at its end) by a sleep that ends by itself
        openssl s_server -accept "127.0.0.1:$TLS_PORT" -tls1_3 -Verify 1 \
            -CAfile "$WORK/root/etc/tep/identity/device-ca.pem" -cert "$WORK/srv.pem" -key "$WORK/srv.key" \
            -naccept 1 < <(sleep 20) >"$WORK/srv.out" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 30); do grep -q ACCEPT "$WORK/srv.out" && return 0; sleep 0.1; done
        kill $SERVER_PID 2>/dev/null
    done
    return 1
}
server_wait() {
    for _ in $(seq 100); do grep -qE "^DONE|ERROR|shutting down" "$WORK/srv.out" && break; sleep 0.1; done
    kill "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}
client() { # extra s_client arguments
    (sleep 1; echo Q) | timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" -tls1_3 \
        -CAfile "$WORK/srv.pem" "$@" >"$WORK/cli.out" 2>&1
}
server_start
check "s_server listens" test -n "$SERVER_PID"
client -provider tpm2 -provider default -propquery "$PROPQ" -key handle:0x8100A010 \
    -cert "$WORK/root/etc/tep/identity/device.pem"
rc=$?
server_wait
check "the TLS 1.3 handshake with the TPM key succeeds" test $rc -eq 0
[ $rc -eq 0 ] || cat "$WORK/cli.out" "$WORK/srv.out"
check "... the server saw the device certificate's subject" grep -qF "subject=CN = $UUID, serialNumber = SN-12345" "$WORK/srv.out"
check "... TLSv1.3" grep -q "TLSv1.3" "$WORK/cli.out"

server_start
client
server_wait
check "a client without a certificate is refused by the server" grep -qE "peer did not return a certificate|ERROR" "$WORK/srv.out"
check "... and saw no subject" test "$(grep -c "^subject=CN = $UUID" "$WORK/srv.out")" -eq 0

server_start
client -provider tpm2 -provider default -propquery "$PROPQ" -key handle:0x8100A011 \
    -cert "$WORK/dev/etc/tep/identity/device.pem"
server_wait
check "a client with the self-signed development certificate is refused" grep -qE "verify error|ERROR" "$WORK/srv.out"
check "... no handshake completed" test "$(grep -c "^subject=CN = $UUID, serialNumber = SN-12345$" "$WORK/srv.out")" -eq 0
check_summary
