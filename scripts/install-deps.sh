#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs every Debian 12 package tagent needs to build, test and fuzz. Needs root (or does nothing and
# says so). One list, used by .ci/run and scripts/demo.sh.
set -euo pipefail

PACKAGES=(
    # build; static analysis and formatting (scripts/static-analysis.sh, scripts/format-check.sh)
    build-essential cmake pkg-config git clang libclang-rt-14-dev clang-tidy cppcheck clang-format
    # libraries (design.md: dependencies)
    libtss2-dev libnats-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    libcryptsetup-dev libyaml-dev libarchive-dev libexpat1-dev
    # tests: unit framework, mock control plane, real components and independent oracles
    libcmocka-dev libmicrohttpd-dev swtpm swtpm-tools tpm2-tools nats-server openssl jq
    # more oracles: cryptsetup (luksDump of the volumes tagent formats), Python's YAML reader (the LUKS
    # config tagent-admin writes) and Python for small test helpers
    cryptsetup-bin python3 python3-yaml
    # the device identity: OpenSSL's tpm2 provider; a resource manager in front of swtpm for the TLS test
    tpm2-openssl tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon
    # dist/ checks: systemd-analyze verify|security, systemd-sysusers, systemd-tmpfiles
    systemd
    # the Debian package (scripts/build-deb.sh, dist.deb), the man pages (scdoc; man for dist.man_sync) and
    # the bash completion the package test runs
    debhelper dpkg-dev fakeroot lintian scdoc man-db bash-completion
)

# --list: print the package names (one list for .ci/run and the demo)
if [[ ${1:-} == --list ]]; then
    echo "${PACKAGES[*]}"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: not root; assuming these are installed: ${PACKAGES[*]}" >&2
    exit 0
fi
# Nothing to do when every package is installed already (no index download, no dpkg lock taken).
missing=()
for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0
export DEBIAN_FRONTEND=noninteractive
# Another apt run (unattended-upgrades, a second job) holds the dpkg lock for a while: wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
