#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Static analysis: clang-tidy (checks in .clang-tidy) and cppcheck over the project's own C sources as the
# plain build compiles them (its compile_commands.json; files in the build tree, such as the generated
# version.c, are left out). Any finding of either tool fails (exit 1). Prints each tool's time.
#   scripts/static-analysis.sh [BUILD_DIR]     (default build/plain; configured here if not yet)
# Suppress a false positive where it occurs, with the reason: /* NOLINT(check): why */ for clang-tidy,
# // cppcheck-suppress id ; why   for cppcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/plain}
jobs=${JOBS:-$(nproc)}
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
if [[ -z $tidy ]] || ! command -v cppcheck >/dev/null || ! command -v jq >/dev/null; then
    echo "static-analysis: needs clang-tidy, cppcheck and jq (bash scripts/install-deps.sh)" >&2
    exit 1
fi
begin=$SECONDS

if [[ ! -f $build/compile_commands.json ]]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
build_abs=$(cd "$build" && pwd)

# One compile database with only our sources, for both tools.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
jq --arg root "$root/" --arg build "$build_abs/" \
    '[.[] | select((.file | startswith($root)) and (.file | startswith($build) | not))] | unique_by(.file)' \
    "$build/compile_commands.json" >"$db/compile_commands.json"
# Largest first, so that no big file starts last while the other jobs sit idle.
jq -r '.[].file' "$db/compile_commands.json" | xargs -d '\n' ls -S >"$db/files"
echo "static analysis: $(wc -l <"$db/files") files, $jobs jobs"

status=0

# clang-tidy, one file per process (given several, clang-tidy 14 reports valist.Uninitialized where there is
# none), $jobs at a time; a file's output is printed only when it has findings, in one piece (so parallel runs
# do not interleave). cmocka tests (those including cmocka.h, directly or through tests/unit/test_util.h) get
# tests/lib/cmocka_analyzer.h: it tells the analyzer that a failed cmocka assertion ends the test.
start=$SECONDS
tidy_file() {
    local out extra=()
    if grep -qE '^#include (<cmocka\.h>|"test_util\.h")' "$1"; then
        extra=(--extra-arg="-include$ROOT/tests/lib/cmocka_analyzer.h")
    fi
    if ! out=$("$TIDY" -p "$DB" --quiet --warnings-as-errors='*' "${extra[@]}" "$1" 2>&1); then
        printf '%s\n' "$out" | grep -v -e '^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$' \
            -e '^Error while processing ' -e '^Suppressed [0-9]* warnings'
        return 1
    fi
}
export -f tidy_file
if ROOT=$root TIDY=$tidy DB=$db xargs -a "$db/files" -d '\n' -P "$jobs" -n 1 bash -c 'tidy_file "$1"' _; then
    echo "clang-tidy: clean ($((SECONDS - start)) s)"
else
    echo "clang-tidy: FINDINGS ($((SECONDS - start)) s)"
    status=1
fi

# cppcheck: warning, portability and performance (style is clang-tidy's and the compiler's job here);
# --inline-suppr honours the suppressions in the code.
start=$SECONDS
if cppcheck --project="$db/compile_commands.json" -j "$jobs" --quiet --inline-suppr --error-exitcode=1 \
    --enable=warning,portability,performance --std=c11 \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' 2>&1 |
    sed "s|^$root/||"; then
    echo "cppcheck: clean ($((SECONDS - start)) s)"
else
    echo "cppcheck: FINDINGS ($((SECONDS - start)) s)"
    status=1
fi
echo "static analysis: $((SECONDS - begin)) s in all"
exit $status
