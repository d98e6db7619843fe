# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by scripts/demo.sh and tests/integration/test_lifecycle.sh after scripts/lib/world.sh: one boot of
# the platform as systemd runs dist/'s units, read from the unit files themselves (ConditionPathExists=,
# EnvironmentFile=, ExecStart=, ExecStartPost=) so that the boot follows the real units:
#   tagent-config-apply -> tagent-luks -> tagent-setup -> tagent_init -> tagent
# Every absolute path in a unit (conditions, environment files, command arguments) is taken under the root
# prefix $ROOT, and /opt/trustagent/bin/tagent is the built $TAGENT with --root $ROOT. A step whose condition
# does not hold is skipped (systemd counts that as success); the first step that fails stops the boot (the
# units' Requires= chain), and its status line is the command's last output line, which is what
# `systemctl status` shows for a failed oneshot. tagent.service is `tagent startService` in the background,
# attested once by the mock HVS, then stopped with SIGTERM.
# Callers set DIST (the dist/ directory), ROOT, TAGENT, WORK and what world.sh needs.

BOOT_UNITS=(tagent-config-apply tagent-luks tagent-setup tagent_init tagent)

# boot_unit_values UNIT KEY: the values of KEY= in dist/UNIT.service, one a line.
boot_unit_values() {
    sed -n "s/^$2=//p" "$DIST/$1.service"
}

# boot_rooted WORD: an absolute path under the root prefix, anything else unchanged.
boot_rooted() {
    if [[ $1 == /* ]]; then printf '%s\n' "$ROOT$1"; else printf '%s\n' "$1"; fi
}

# boot_unmet UNIT: prints the first ConditionPathExists= of UNIT that does not hold (as written, "!" and all);
# nothing when all hold.
boot_unmet() {
    local cond path
    while read -r cond; do
        path=$(boot_rooted "${cond#!}")
        if [[ $cond == !* ]]; then [[ -e $path ]] && { echo "$cond"; return; }; else
            [[ -e $path ]] || { echo "$cond"; return; }; fi
    done < <(boot_unit_values "$1" ConditionPathExists)
}

# boot_skip_reason CONDITION: the few words a result line gives for a skip.
boot_skip_reason() {
    case $1 in
    */tep_user_config_data.bin) echo "no update" ;;
    */luks_config_file.yaml) echo "no LUKS configuration" ;;
    */trustagent.env) echo "no trustagent.env" ;;
    !*/provisioned) echo "provisioned" ;;
    *) echo "ConditionPathExists=$1" ;;
    esac
}

# boot_exec UNIT KEY LOG: runs each KEY= command line (ExecStart, ExecStartPost) of UNIT with the unit's
# environment files (under the root prefix; "-" marks an optional one), appending its output to LOG.
boot_exec() {
    local unit=$1 line file words cmd w
    local -a env=()
    while read -r file; do
        local optional=${file%%[!-]*}
        file=$(boot_rooted "${file#-}")
        if [[ -r $file ]]; then
            while IFS= read -r w; do [[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && env+=("$w"); done <"$file"
        elif [[ -z $optional ]]; then
            echo "Failed to load environment files: $file" >>"$3"
            return 1
        fi
    done < <(boot_unit_values "$unit" EnvironmentFile)
    while read -r line; do
        read -ra words <<<"$line"
        cmd=()
        if [[ ${words[0]} == /opt/trustagent/bin/tagent ]]; then cmd=("$TAGENT" --root "$ROOT"); else
            cmd=("${words[0]}"); fi
        for w in "${words[@]:1}"; do cmd+=("$(boot_rooted "$w")"); done
        env TAGENT_TCTI="$TCTI" TAGENT_LOG_TARGET=stderr "${env[@]}" "${cmd[@]}" >>"$3" 2>&1 || return $?
    done < <(boot_unit_values "$unit" "$2")
}

# boot_no_device_mapper: true when this kernel really has no device-mapper: the driver registers neither its
# block major nor its control device. (Not /dev/mapper/control: libdevmapper creates that node itself.)
boot_no_device_mapper() {
    ! grep -qw device-mapper /proc/devices /proc/misc 2>/dev/null
}

# boot_step N UNIT: one unit of boot N. Prints the step's words for the result line; fails when the boot stops.
boot_step() {
    local n=$1 unit=$2 name=${2#tagent-} log=$WORK/boot$1-$2.log unmet rc=0
    [[ $unit == tagent ]] && name=tagent
    unmet=$(boot_unmet "$unit")
    if [[ -n $unmet ]]; then
        echo "$name skipped ($(boot_skip_reason "$unmet"))"
        return 0
    fi
    : >"$log"
    if [[ $unit == tagent ]]; then
        boot_agent "$n"
        return
    fi
    boot_exec "$unit" ExecStart "$log" || rc=$?
    local words
    case $unit:$rc in
    tagent-config-apply:0) words="config-apply applied (sequence $(sed -n 's/^sequence: //p' \
        "$ROOT/home/update/upload/mnt/tep_user_config_data.bin.result"))" ;;
    tagent-luks:0 | tagent-luks:3)
        words=unlocked
        grep -q ": formatted (LUKS2)" "$log" && words="formatted, passphrase sealed"
        if [[ $rc == 3 ]]; then
            if ! boot_no_device_mapper || ! grep -q "has no device-mapper" "$log"; then
                echo "luks FAILED (exit 3): $(tail -n 1 "$log")"
                return 1
            fi
            words="$words (activation skipped: no device-mapper)"
        fi
        words="luks $words"
        ;;
    tagent-setup:0) words="setup done" ;;
    tagent_init:0) words="init done" ;;
    *)
        echo "$name FAILED (exit $rc): $(tail -n 1 "$log")"
        return 1
        ;;
    esac
    # ExecStartPost= runs only after ExecStart= succeeded, as systemd does
    rc=0
    boot_exec "$unit" ExecStartPost "$log" || rc=$?
    [[ $rc == 0 ]] || { echo "$name FAILED (ExecStartPost exit $rc): $(tail -n 1 "$log")"; return 1; }
    echo "$words"
}

# boot_agent N: tagent.service: the agent serves, the mock HVS attests it once, SIGTERM stops it.
boot_agent() {
    local report=$WORK/boot$1-report.json
    if ! world_service_start "$ROOT" "$WORK/boot$1-tagent.log" 2>"$WORK/boot$1-tagent.err"; then
        world_service_stop
        cat "$WORK/boot$1-tagent.err" >&2 # the service's last log lines, for whoever reads the failure
        echo "tagent FAILED: $(tail -n 1 "$WORK/boot$1-tagent.err")"
        return 1
    fi
    local verdict=TRUSTED
    world_attest "$report" 2>"$WORK/boot$1-hvs.err" || verdict="NOT TRUSTED"
    world_service_stop || verdict="$verdict, but tagent did not stop cleanly on SIGTERM"
    echo "attested: $verdict"
    [[ $verdict == TRUSTED ]]
}

# boot_run N: boot N, one line per step as it runs, then "boot N: step | step | ..." (set in BOOT_RESULT).
# Fails when a step failed; the steps after it are not run.
boot_run() {
    local n=$1 unit words rc=0
    local -a steps=()
    for unit in "${BOOT_UNITS[@]}"; do
        words=$(boot_step "$n" "$unit") || rc=1
        echo "  boot $n: $unit.service: $words"
        steps+=("$words")
        [[ $rc == 0 ]] || break
    done
    BOOT_RESULT="boot $n: $(printf '%s | ' "${steps[@]}")"
    BOOT_RESULT=${BOOT_RESULT% | }
    [[ $rc == 0 ]] || BOOT_RESULT="$BOOT_RESULT | later units not started"
    echo "$BOOT_RESULT"
    return $rc
}
