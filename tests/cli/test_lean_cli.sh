#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Each command maps only the libraries it uses (issue 19): the front binary is libc alone, the modules load
# from beside it, `eventlog --replay` maps neither OpenSSL nor tss2, the service module links neither
# libsystemd nor libmicrohttpd nor libcurl (both are dlopen()ed when used), and a missing module is a clear
# error that leaves the front's own commands working. The dynamic loader itself is the oracle (LD_DEBUG=files
# lists every object it maps, dlopen() included; readelf -d the DT_NEEDED of each object).
# Usage: test_lean_cli.sh /path/to/tagent CORPORA
set -u
TAGENT=$1
CORPORA=$2
. "$(dirname "$0")/../lib/check.sh"
LOG=$CORPORA/eventlog/uefi/tpm2-tools/event.bin
MODULES=$(dirname "$TAGENT")/../lib/tagent

# the objects a run maps, one soname per line (the sanitizer runtimes of a sanitizer build left out)
mapped() {
    LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/ld" "$@" >/dev/null 2>&1
    cat "$WORK"/ld.* | sed -n 's/.*file=\([^ ]*\) .*generating link map.*/\1/p' |
        grep -vE '^lib(asan|ubsan|stdc\+\+|gcc_s|m)\.so' | sort -u
    rm -f "$WORK"/ld.*
}

check "the front binary needs libc alone" \
    bash -c '[[ "$(readelf -d "$1" | sed -n "s/.*NEEDED.*\[\(.*\)\]/\1/p" | grep -vE "^lib(asan|ubsan)\.so" | tr "\n" " ")" == "libc.so.6 " ]]' _ "$TAGENT"
v=$(mapped "$TAGENT" version | tr '\n' ' ')
check "tagent version maps libc alone (mapped: $v)" test "$v" = "libc.so.6 "
e=$(mapped "$TAGENT" eventlog --replay --file "$LOG" | tr '\n' ' ')
check "eventlog --replay maps its module and libcjson, no OpenSSL, no tss2 (mapped: $e)" \
    bash -c '[[ "$1" == *tagent-eventlog.so* && "$1" == *libcjson* && "$1" != *libcrypto* && "$1" != *tss2* ]]' _ "$e"
for m in service manage ctl luks config-apply eventlog; do
    needed=$(readelf -d "$MODULES/tagent-$m.so" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    check "tagent-$m.so: no libsystemd, libmicrohttpd, libcurl, libgnutls ($needed)" \
        bash -c '[[ -n "$1" && "$1" != *libsystemd* && "$1" != *libmicrohttpd* && "$1" != *libcurl* && "$1" != *gnutls* ]]' _ "$needed"
    exported=$(nm -D --defined-only "$MODULES/tagent-$m.so" | awk '$2 == "T" {print $3}' | tr '\n' ' ')
    check "tagent-$m.so exports its entry point alone ($exported)" test "$exported" = "tagent_module_main "
done
s=$(readelf -d "$MODULES/tagent-service.so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "the service module links neither libcryptsetup nor libarchive ($s)" \
    bash -c '[[ "$1" != *cryptsetup* && "$1" != *archive* ]]' _ "$s"

# ---- a binary without its modules ----
mkdir -p "$WORK/bin"
cp "$TAGENT" "$WORK/bin/tagent"
"$WORK/bin/tagent" eventlog --replay --file "$LOG" >"$WORK/out" 2>&1
rc=$?
check "a missing module: exit 1" test $rc -eq 1
check "... naming the module and what to do" grep -q "cannot load the eventlog module: .*reinstall tagent" "$WORK/out"
"$WORK/bin/tagent" version >"$WORK/out" 2>&1
check "... while version still works" grep -q "^Service Name: Trust Agent" "$WORK/out"
"$WORK/bin/tagent" frobnicate >"$WORK/out" 2>&1
rc=$?
check "... and an unknown command is still named, with the usage (exit $rc)" \
    bash -c '[[ $1 -eq 1 ]] && grep -q "unknown command \"frobnicate\"" "$2" && grep -q "^Usage: tagent" "$2"' _ $rc "$WORK/out"
check_summary
