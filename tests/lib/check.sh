# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the shell tests (tests/cli, tests/dist): a temp dir $WORK removed on exit, `check "what" cmd...`
# that runs cmd and records ok/FAILED, and `check_summary` that prints the counts and is the script's exit
# status (0 only when every check passed).
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
checks=0

check() {
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok - $what"
    else
        echo "FAILED - $what"
        failures=$((failures + 1))
    fi
}

check_summary() {
    echo "$checks checks, $failures failed"
    test "$failures" -eq 0
}
