#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the Debian packages tagent and tagent-admin (debian/) into OUTDIR (default build/deb) and runs
# lintian on them: any lintian error fails (warnings are explained in debian/lintian-warnings.md).
# dpkg-buildpackage writes its results beside the source tree, so the tree is copied into OUTDIR/src
# first (without build/ and .git); the commit goes in through TAGENT_GIT_HASH for `tagent version`.
# Tests are off in the package build (DEB_BUILD_OPTIONS=nocheck): CI runs them from the source tree.
# Usage: scripts/build-deb.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/deb}")
version=$(dpkg-parsechangelog -S Version)
rm -rf "$out"
mkdir -p "$out/src/tagent-$version"
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$out/src/tagent-$version"
TAGENT_GIT_HASH=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export TAGENT_GIT_HASH
export DEB_BUILD_OPTIONS="nocheck parallel=${TAGENT_DEB_JOBS:-$(nproc)}"
(cd "$out/src/tagent-$version" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log"
    echo "build-deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
}
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
rm -rf "$out/src"
changes=$(echo "$out"/tagent_*.changes)
echo "build-deb: $(cd "$out" && echo *.deb)"
# --fail-on error: warnings are listed (and explained in debian/lintian-warnings.md) but do not fail
lintian --fail-on error --info --display-level '>=warning' "$changes"
echo "build-deb: lintian: no errors"
