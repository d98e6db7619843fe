# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the shell tests that need a TPM: `swtpm_start DIR` starts a swtpm of the test's own (state in
# DIR, which must be absolute; loopback only) and sets SWTPM_PID and SWTPM_PORT; the caller stops it by that
# PID. A port another test holds makes swtpm fail, or (as a daemon) exit after it said it started: a start
# counts only once the TPM answers a command, else the next port is tried. Returns 1 when no start worked
# (swtpm's own messages are printed then).
swtpm_start() {
    local dir=$1 try
    mkdir -p "$dir"
    SWTPM_PID=
    for try in 1 2 3 4 5 6 7 8; do
        SWTPM_PORT=$((20000 + (RANDOM % 15000) * 2))
        rm -f "$dir/pid"
        swtpm socket --tpm2 --server type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1 \
            --ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
            --tpmstate dir="$dir" --daemon --pid file="$dir/pid" --log file="$dir/log" >>"$dir/swtpm.err" 2>&1
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            [ -s "$dir/pid" ] && break
            sleep 0.1
        done
        SWTPM_PID=$(cat "$dir/pid" 2>/dev/null)
        if [ -n "$SWTPM_PID" ] &&
            tpm2_getcap -T "swtpm:host=127.0.0.1,port=$SWTPM_PORT" properties-fixed >/dev/null 2>&1; then
            return 0
        fi
        [ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null
        SWTPM_PID=
    done
    cat "$dir/swtpm.err" "$dir/log" 2>/dev/null
    return 1
}
