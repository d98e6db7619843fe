# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by scripts/demo.sh and tests/integration/test_lifecycle.sh after world.sh: the owner's and the
# device's sides of the TEP platform lifecycle. Callers set ROOT (the device's root prefix), ADMIN (tagent-admin)
# and what world.sh needs; the owner's keys go to $WORK/owner.

LIFECYCLE_OWNER_SECRET=hex:0011223344556677 # the one world_trustagent_env delivers

# lifecycle_device: the device before its first boot: the TPM owned (TPM_OWNER_SECRET), provision-device with the owner's P-256
# signing key and AES key (from `tagent-admin keys gen`), the operator's root-only environment files the units
# read (EnvironmentFile=: the owner secret for config-apply's sequence write and luks's first seal), the
# package's layout (dist/tmpfiles.d), the upload folder and a 32 MiB image file as the disk to encrypt.
lifecycle_device() {
    local f
    # taken with the secret, unless it already is (the demo's `setup all` took it before)
    { TPM2TOOLS_TCTI=$TCTI tpm2_changeauth -c owner "$LIFECYCLE_OWNER_SECRET" 2>/dev/null ||
        TPM2TOOLS_TCTI=$TCTI tpm2_changeauth -c owner -p "$LIFECYCLE_OWNER_SECRET" "$LIFECYCLE_OWNER_SECRET"; } &&
        "$ADMIN" keys gen --profile dtpm -o "$WORK/owner" >/dev/null &&
        TPM_OWNER_SECRET=$LIFECYCLE_OWNER_SECRET TAGENT_TCTI=$TCTI "$TAGENT" --root "$ROOT" provision-device \
            --pol-pub-key "$WORK/owner/sign-key.pub.pem" --enc-key "$WORK/owner/enc-key.bin" --profile dtpm \
            >"$WORK/provision-device.out" 2>&1 || { cat "$WORK/provision-device.out" >&2; return 1; }
    for f in config-apply luks; do
        (umask 077 && echo "TPM_OWNER_SECRET=$LIFECYCLE_OWNER_SECRET" >"$ROOT/etc/tep/$f.env")
    done
    mkdir -p "$ROOT/opt/trustagent/var" "$ROOT/var/lib/tep" "$ROOT/home/update/upload/mnt"
    truncate -s 32M "$ROOT/var/lib/tep/disk.img"
}

# lifecycle_admin_seal SEQ LOG: the owner's configuration SEQ, sealed into the device's upload folder:
# trustagent.env, the LUKS policy signed for the state the event log LOG boots into (version 0: the value
# provision-device gives NV 0x018A0001), luks_config_file.yaml (the image file, integrity none: no
# dm-integrity here).
lifecycle_admin_seal() {
    local dir=$WORK/config-$1
    mkdir -p "$dir"
    world_trustagent_env "$dir/trustagent.env"
    "$ADMIN" luks policy --pol-pub-key "$WORK/owner/sign-key.pub.pem" --pol-priv-key "$WORK/owner/sign-key.pem" \
        --eventlog "$2" --tpm-type dtpm --version 0 -o "$dir" >"$WORK/admin.out" 2>&1 &&
        "$ADMIN" luks config --dev-part /var/lib/tep/disk.img --integrity none \
            --signed-states /home/update/upload/mnt/signed-states.json -o "$dir/luks_config_file.yaml" \
            >>"$WORK/admin.out" 2>&1 &&
        "$ADMIN" config seal --in "$dir" --sign-key "$WORK/owner/sign-key.pem" --enc-key "$WORK/owner/enc-key.bin" \
            --seq "$1" -o "$ROOT/home/update/upload/mnt/tep_user_config_data.bin" >>"$WORK/admin.out" 2>&1 ||
        { cat "$WORK/admin.out" >&2; return 1; }
}

# lifecycle_le32 N: N as 4 little-endian bytes.
# shellcheck disable=SC2059 # the format is the bytes, as \x escapes
lifecycle_le32() {
    printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))"
    printf "\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 24 & 255)))"
}

# lifecycle_firmware_update OLD NEW: NEW is the log OLD's firmware "update" writes: OLD plus one
# TCG_PCR_EVENT2 record: PCR 0, EV_POST_CODE (1), digests in the three banks the corpus log's Spec ID event
# declares (sha1 0x0004, sha256 0x000B, sha384 0x000C), the event data. OLD is only read.
lifecycle_firmware_update() {
    local data="tagent test firmware 2.0" alg
    {
        cat "$1"
        lifecycle_le32 0
        lifecycle_le32 1
        lifecycle_le32 3
        for alg in 'sha1 \x04\x00' 'sha256 \x0b\x00' 'sha384 \x0c\x00'; do
            # shellcheck disable=SC2059 # the algorithm id as \x escapes
            printf "${alg#* }"
            printf '%s' "$data" | openssl dgst "-${alg%% *}" -binary
        done
        lifecycle_le32 ${#data}
        printf '%s' "$data"
    } >"$2"
}
