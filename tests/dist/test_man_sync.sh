#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The man pages document everything the binaries list (issue 17): every command and setup task `tagent help`
# prints appears in tagent(8) as "tagent <command>" / "<task>", every trustagent.env key and alias it prints
# (and the environment-only variables) in trustagent.env(5), every "GROUP COMMAND" of `tagent-admin help` in
# tagent-admin(1) as "tagent-admin GROUP COMMAND". The lists come from the binaries, so a new command fails
# this test until its man page has it, and the message says which .scd file gets which entry. Negative
# controls: a help text with one more command, task, key and admin command must fail, naming each.
# Pages are checked as man(1) renders them (plain text, whitespace collapsed), so scdoc markup cannot hide
# or fake an entry. Exits 77 (skipped) without man(1).
# Usage: test_man_sync.sh TAGENT TAGENT_ADMIN MAN_BUILD_DIR
set -u
TAGENT=$1
ADMIN=$2
MAN=$3
. "$(dirname "$0")/../lib/check.sh"
if ! command -v man >/dev/null; then
    echo "SKIP: man is not installed (apt-get install man-db; scripts/install-deps.sh lists it)"
    exit 77
fi

# a page as text on one line: no wrapping, no hyphenation, runs of blanks as one space
render() {
    MANWIDTH=1000 MANROFFOPT=-rHY=0 man -l -P cat "$1" 2>/dev/null | col -b | tr -s '[:space:]' ' '
}

# `tagent help` text -> "page<TAB>needle<TAB>what" lines, one per entry the pages must have
tagent_entries() {
    awk '
        /^Commands:/ { s = "cmd"; next }
        /^Setup tasks/ { s = "task"; next }
        /^trustagent.env keys/ || /^Environment only:/ { s = "key"; next }
        /^[^ ]/ || /^$/ { s = ""; next }
        s == "cmd" { print "tagent.8\ttagent " $1 "\tcommand (COMMANDS, or PROVISIONING AND LUKS COMMANDS)" }
        s == "task" { print "tagent.8\t" $1 "\tsetup task (SETUP TASKS)" }
        s == "key" && $1 ~ /^[A-Z]/ {
            print "trustagent.env.5\t" $1 "\tkey (KEYS or ENVIRONMENT ONLY)"
            line = $0
            while (match(line, /also [A-Z][A-Z0-9_]+/)) {
                print "trustagent.env.5\t" substr(line, RSTART + 5, RLENGTH - 5) "\talias of " $1 " (KEYS)"
                line = substr(line, RSTART + RLENGTH)
            }
        }'
}

# `tagent-admin help` text -> entries: the lines "  GROUP COMMAND summary" (not the "help" line)
admin_entries() {
    awk '/^  [a-z][a-z-]* +[a-z][a-z-]* / && $1 != "help" {
        print "tagent-admin.1\ttagent-admin " $1 " " $2 "\tcommand (COMMANDS)" }'
}

# entries on stdin; prints each one its rendered page lacks; exit 0 only when none is missing
missing() {
    local page needle what bad=0
    while IFS=$'\t' read -r page needle what; do
        if ! grep -qwF -- "$needle" "$WORK/$page.txt"; then
            echo "# man/$page.scd lacks the $what \"$needle\": add it there (the binary's help lists it)"
            bad=1
        fi
    done
    return $bad
}

for page in tagent.8 trustagent.env.5 tagent-admin.1; do
    check "$page was built" test -s "$MAN/$page"
    render "$MAN/$page" >"$WORK/$page.txt"
done
"$TAGENT" help >"$WORK/tagent.help"
"$ADMIN" help >"$WORK/admin.help"
tagent_entries <"$WORK/tagent.help" >"$WORK/entries"
admin_entries <"$WORK/admin.help" >>"$WORK/entries"
count() { grep -c "^$1"$'\t'".*$2" "$WORK/entries"; }
echo "# $(count tagent.8 command) commands, $(count tagent.8 'setup task') setup tasks," \
    "$(count trustagent.env.5 .) keys and aliases, $(count tagent-admin.1 .) tagent-admin commands"
check "the help texts list commands, tasks, keys and admin commands (the parsers found them)" \
    bash -c '[[ $(grep -c "" "$1") -gt 60 ]] && grep -q "tagent setup" "$1" && grep -q "provision-aik" "$1" &&
             grep -q "NATS_HOST_ID" "$1" && grep -q "tagent-admin luks policy" "$1"' _ "$WORK/entries"
check "every command, setup task, key and admin command is in its man page" missing <"$WORK/entries"

# negative controls: one more of each in the help texts must fail, and name each
sed -e 's/^Commands:$/&\n  frobnicate                                   a command without a man entry/' \
    -e 's/^Setup tasks.*$/&\n  define-frob-index                            a task without one/' \
    -e 's/^Environment only:$/&\n  TAGENT_FROB              a key without one (also TA_FROB)/' \
    "$WORK/tagent.help" | tagent_entries >"$WORK/entries.neg"
sed 's/^  help \[GROUP/  pki    issue    a group without a man entry\n&/' "$WORK/admin.help" | admin_entries >>"$WORK/entries.neg"
missing <"$WORK/entries.neg" >"$WORK/neg.out"
neg_rc=$?
sed 's/^/# negative control: /' "$WORK/neg.out"
check "... a help text with one more command, task, key, alias and admin command fails" test $neg_rc -ne 0
for n in '"tagent frobnicate"' '"define-frob-index"' '"TAGENT_FROB"' '"TA_FROB"' '"tagent-admin pki issue"'; do
    check "... and names $n" grep -qF -- "$n" "$WORK/neg.out"
done
check "... and nothing else" test "$(grep -c '' "$WORK/neg.out")" -eq 5

check_summary
