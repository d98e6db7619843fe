#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Formatting: every C source and header git tracks is laid out as .clang-format says (clang-format 14, as
# Debian 12 ships it). Any difference fails (exit 1) and is shown; `scripts/format-check.sh --fix` rewrites
# the files in place. A region that must keep its hand layout (a table) is fenced with
# /* clang-format off */ ... /* clang-format on */ and a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $cf ]]; then
    echo "format-check: needs clang-format (bash scripts/install-deps.sh)" >&2
    exit 1
fi
mapfile -t files < <(git ls-files '*.c' '*.h' '*.c.in')
if [[ ${1:-} == --fix ]]; then
    "$cf" -i "${files[@]}"
    exit 0
fi
begin=$SECONDS
bad=()
for f in "${files[@]}"; do
    if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if ((${#bad[@]})); then
    for f in "${bad[@]:0:5}"; do
        diff -u "$f" <("$cf" "$f") | head -20 || true
    done
    echo "clang-format: ${#bad[@]} of ${#files[@]} files differ (${bad[*]:0:10}...); run scripts/format-check.sh --fix"
    exit 1
fi
echo "clang-format: clean (${#files[@]} files, $((SECONDS - begin)) s)"
