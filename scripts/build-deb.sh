#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the Debian packages tagent and tagent-admin (debian/) into OUTDIR (default build/deb) and runs
# lintian on them: an error fails, and so does a warning debian/lintian-warnings.md does not explain.
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
# Errors fail; a warning fails too unless debian/lintian-warnings.md names its tag and says why it stays.
lintian --fail-on error --display-level '>=warning' "$changes" 2>&1 | grep -v 'running with root privileges' |
    tee "$out/lintian.txt" || true
if grep -q '^E: ' "$out/lintian.txt"; then
    echo "build-deb: lintian reports errors (above); fix them" >&2
    exit 1
fi
unexplained=0
for tag in $(sed -n 's/^W: [^:]*: \([a-z0-9.+-]*\).*/\1/p' "$out/lintian.txt" | sort -u); do
    if ! grep -qF -- "\`$tag\`" debian/lintian-warnings.md; then
        echo "build-deb: lintian warning $tag is not explained in debian/lintian-warnings.md: fix it or say why it stays" >&2
        unexplained=1
    fi
done
((unexplained == 0)) || exit 1
echo "build-deb: lintian: no errors, every warning explained"
