#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prints what the Go agent v5.1 writes as HostInfo for the host under ROOT (one of the roots that
# `TAGENT_HOSTINFO_ROOTS=DIR test_hostinfo` leaves in DIR), without a final newline, for checking
# tests/golden/hostinfo-*.json by hand:
#   run.sh INTEL_SECL_GIT ROOT [-compact] > out
# INTEL_SECL_GIT: a clone of intel-secl/intel-secl (v5.1.0 or the spec's commit 470edec; a bare or mirror
# clone is fine), read with `git show`; nothing of it enters this repository. Needs Debian's golang-go,
# golang-github-pkg-errors-dev and golang-github-sirupsen-logrus-dev (no module downloads: GOPATH mode).
# The programs the Go parser runs are stubbed: `tagent --version` succeeds (the agent is installed), and
# `txt-stat` exists when ROOT has an executable usr/sbin/txt-stat; docker and virsh are absent. The Go
# runtime's CPU count is taken from ROOT/sys/devices/system/cpu/online through taskset.
set -euo pipefail
REPO=$1
ROOT=$(cd "$2" && pwd)
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

MOD=github.com/intel-secl/intel-secl/v5
SRC=$TMP/gopath/src/$MOD
# The parser, its logger and the one model file it fills (the rest of pkg/model/ta needs more packages).
for f in $(git -C "$REPO" ls-tree -r --name-only HEAD pkg/lib/hostinfo pkg/lib/common/log | grep '\.go$' |
    grep -v '_test\.go$') pkg/model/ta/host_info.go; do
    mkdir -p "$SRC/$(dirname "$f")"
    git -C "$REPO" show "HEAD:$f" >"$SRC/$f"
done
mkdir -p "$TMP/gopath/src/oracle"
cp "$HERE/main.go" "$TMP/gopath/src/oracle/"

X=""
for kv in smbiosFile=/sys/firmware/dmi/tables/DMI osReleaseFile=/etc/os-release msrFile=/dev/cpu/0/msr \
    tpm2AcpiFile=/sys/firmware/acpi/tables/TPM2 hostNameFile=/etc/hostname isDockerFile=/.dockerenv \
    isOCIContainerFile=/.container-env isEFIBootFile=/sys/firmware/efi tpmDeviceFile=/dev/tpm0 \
    secureBootFile=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c; do
    X="$X -X $MOD/pkg/lib/hostinfo.${kv%%=*}=$ROOT${kv#*=}"
done
(cd "$TMP/gopath/src/oracle" && GO111MODULE=off GOPATH=$TMP/gopath:/usr/share/gocode GOCACHE=$TMP/cache \
    go build -o "$TMP/oracle" -ldflags "$X" .)

mkdir "$TMP/bin"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/tagent"
[[ -x $ROOT/usr/sbin/txt-stat ]] && cp "$TMP/bin/tagent" "$TMP/bin/txt-stat"
chmod +x "$TMP/bin"/*
CPUS=$(cat "$ROOT/sys/devices/system/cpu/online")
env -i PATH="$TMP/bin" "$(command -v taskset)" -c "$CPUS" "$TMP/oracle" -o "$TMP/out.json" "$@" >/dev/null 2>&1
cat "$TMP/out.json"
