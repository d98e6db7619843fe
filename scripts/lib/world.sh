# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by scripts/demo.sh and tests/integration/test_lifecycle.sh: the world an agent is provisioned and
# attested in, all on loopback: a private swtpm with an EK certificate, the mock CMS/AAS/HVS
# (tests/mock/tagent-mock-cp), an AAS installation token, nats-server in operator mode, a root prefix that
# shows the agent this machine's SMBIOS table and a corpus firmware event log.
# Callers set WORK (a private temp dir), TAGENT, MOCK_CP (tests/mock/tagent-mock-cp), HVS (tests/mock/tagent-hvs)
# and CORPORA before calling;
# the functions set the variables named in their comments. world_stop stops, by PID, what they started.

SWTPM_PID=
MOCK_PID=
NATS_PID=
SERVICE_PID=

# world_free_ports FIRST STEP COUNT: prints the first port P from FIRST on (in steps of STEP) where nothing
# answers on P .. P+COUNT-1.
world_free_ports() {
    local p i busy
    for p in $(seq "$1" "$2" $(($1 + 1000))); do
        busy=
        for ((i = 0; i < $3; i++)); do (echo >/dev/tcp/127.0.0.1/$((p + i))) 2>/dev/null && busy=1; done
        [[ -z $busy ]] && { echo "$p"; return 0; }
    done
    return 1
}

# world_wait_port PORT: up to 10 s for something to listen there.
world_wait_port() {
    local _
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
    echo "nothing listens on 127.0.0.1:$1 after 10 s" >&2
    return 1
}

# world_swtpm: a TPM with sha1/sha256/sha384 banks and an EK certificate from a throw-away CA ($WORK/ca),
# listening on 127.0.0.1:$PORT, its control channel on PORT+1. Sets PORT, SWTPM_PID, TCTI.
world_swtpm() {
    mkdir -p "$WORK/tpm" "$WORK/ca"
    cat >"$WORK/localca.conf" <<CONF
statedir = $WORK/ca
signingkey = $WORK/ca/signkey.pem
issuercert = $WORK/ca/issuercert.pem
certserial = $WORK/ca/certserial
CONF
    printf -- '--platform-manufacturer tagent-demo\n--platform-version 2.1\n--platform-model swtpm\n' \
        >"$WORK/localca.options"
    cat >"$WORK/swtpm_setup.conf" <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $WORK/localca.conf
create_certs_tool_options = $WORK/localca.options
CONF
    swtpm_setup --tpm2 --tpmstate "$WORK/tpm" --config "$WORK/swtpm_setup.conf" --pcr-banks sha1,sha256,sha384 \
        --create-ek-cert >"$WORK/swtpm_setup.log" 2>&1 || { cat "$WORK/swtpm_setup.log" >&2; return 1; }
    PORT=$(world_free_ports 24321 2 2)
    swtpm socket --tpm2 --tpmstate dir="$WORK/tpm" --server type=tcp,port="$PORT",bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear &
    SWTPM_PID=$!
    TCTI=swtpm:host=127.0.0.1,port=$PORT
    world_wait_port "$PORT"
}

# world_mock_cp: the mock CMS/AAS/HVS trusting the swtpm's EK CA, its files in $WORK/mock (requests.log: one
# line per request). Sets MOCK_PID, MOCK_PORT, CMS_PIN (the TLS certificate's SHA-384), BASE (its URL).
world_mock_cp() {
    "$MOCK_CP" --dir "$WORK/mock" --port 0 --nats-dir "$WORK/mock/nats" \
        --ek-ca "$WORK/ca/swtpm-localca-rootca-cert.pem" --ek-ca "$WORK/ca/issuercert.pem" \
        >"$WORK/mock.out" 2>"$WORK/mock.err" &
    MOCK_PID=$!
    local ready _
    for _ in $(seq 600); do grep -q '^READY' "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
    ready=$(grep '^READY' "$WORK/mock.out") || { cat "$WORK/mock.err" >&2; return 1; }
    MOCK_PORT=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$ready")
    CMS_PIN=$(sed -E 's/.*tls_sha384=([0-9a-f]+).*/\1/' <<<"$ready")
    BASE=https://127.0.0.1:$MOCK_PORT
}

# world_aas_token: the installation token, as an administrator gets it: a login at AAS (the mock's user
# "installadmin", whose password is the mock's --bearer secret) returns a JWT signed by AAS. Sets BEARER_TOKEN.
world_aas_token() {
    local login='{"username":"installadmin","password":"mock-bearer-token"}'
    BEARER_TOKEN=$(printf 'POST /aas/v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "${#login}" "$login" | openssl s_client -quiet -connect "127.0.0.1:$MOCK_PORT" -CAfile "$WORK/mock/ca.pem" \
        -verify_return_error 2>/dev/null | tail -n 1)
    [[ $BEARER_TOKEN =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || { echo "no token from AAS" >&2; return 1; }
}

# world_nats: nats-server in operator mode with TLS (a private CA, $WORK/nats/ca.pem), trusting the account
# the mock's AAS signs agent credentials with. Sets NPORT, NATS_PID.
world_nats() {
    local n=$WORK/nats
    mkdir -p "$n"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=demo NATS CA" \
        -keyout "$n/ca.key" -out "$n/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$n/server.key" -out "$n/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$n/san.ext"
    openssl x509 -req -in "$n/server.csr" -CA "$n/ca.pem" -CAkey "$n/ca.key" \
        -CAcreateserial -days 1 -extfile "$n/san.ext" -out "$n/server.pem" 2>/dev/null
    NPORT=$(world_free_ports 24422 1 1)
    {
        printf 'listen: "127.0.0.1:%s"\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' "$NPORT" \
            "$n/server.pem" "$n/server.key"
        cat "$WORK/mock/nats/nats-server-auth.conf"
    } >"$n/nats.conf"
    nats-server -c "$n/nats.conf" >"$n/nats.log" 2>&1 &
    NATS_PID=$!
    world_wait_port "$NPORT"
}

# world_root ROOT EVENTLOG: the host as the agent sees it under the root prefix ROOT: the hardware UUID from
# this machine's SMBIOS table if it has one, else a real server's (corpus); os-release and hostname; the
# boot event log in securityfs (a symlink to EVENTLOG, replaced when called again).
world_root() {
    local root=$1 dmi=/sys/firmware/dmi/tables/DMI f
    [[ -r $dmi ]] || dmi=$CORPORA/isecl/hostinfo/purley/DMI
    mkdir -p "$root/sys/firmware/dmi/tables" "$root/etc" "$root/sys/kernel/security/tpm0"
    ln -sfn "$dmi" "$root/sys/firmware/dmi/tables/DMI"
    for f in os-release hostname; do [[ -e /etc/$f ]] && ln -sfn "/etc/$f" "$root/etc/$f"; done
    ln -sfn "$2" "$root/sys/kernel/security/tpm0/binary_bios_measurements"
}

# world_extend_eventlog LOG: extends the log's measurements into the swtpm's PCRs (what firmware would have
# done at boot), so that the log and the quoted PCRs agree. Prints how many.
world_extend_eventlog() {
    "$TAGENT" eventlog --file "$1" |
        jq -r '.[] | .pcr.index as $i | (.pcr.bank | ascii_downcase) as $b | .tpm_events[]
               | select(.type_name != "EV_NO_ACTION") | "\($i):\($b)=\(.measurement)"' >"$WORK/extends.txt"
    xargs -n 32 env TPM2TOOLS_TCTI="$TCTI" tpm2_pcrextend <"$WORK/extends.txt"
    wc -l <"$WORK/extends.txt"
}

# world_reboot LOG: a platform reset as the TPM sees it: TPM2_Shutdown(CLEAR), swtpm's reset through its
# control channel, TPM2_Startup(CLEAR) (PCRs back to their reset values, persistent objects and NV kept),
# then the firmware's measurements of LOG extended again.
world_reboot() {
    TPM2TOOLS_TCTI=$TCTI tpm2_shutdown -c &&
        swtpm_ioctl --tcp 127.0.0.1:$((PORT + 1)) -i &&
        TPM2TOOLS_TCTI=$TCTI tpm2_startup -c &&
        world_extend_eventlog "$1" >/dev/null
}

# world_trustagent_env FILE: a TEP-guide trustagent.env for this world's control plane, swtpm and NATS.
world_trustagent_env() {
    cat >"$1" <<ENV
TA_TLS_CERT_CN=Trust Agent TLS Certificate
HVS_URL=$BASE/hvs/v2
AAS_API_URL=$BASE/aas/v1
CMS_BASE_URL=$BASE/cms/v1
SAN_LIST=127.0.0.1,localhost
CMS_TLS_CERT_SHA384=$CMS_PIN
BEARER_TOKEN=$BEARER_TOKEN
TPM_OWNER_SECRET=hex:0011223344556677
TA_SERVICE_MODE=outbound
NATS_SERVERS=tls://127.0.0.1:$NPORT
TA_HOST_ID=tagent-demo
TAGENT_TCTI=$TCTI
ENV
}

# world_service_start ROOT LOG: `tagent startService` in the background on the root prefix ROOT, its log in LOG,
# the NATS server's CA given to it as CMS would issue it; returns once the status socket answers and the agent
# says it is serving (up to 60 s: other builds may share the machine; the unit allows 90 s). Sets SERVICE_PID.
# On failure one line on stderr says why, with the agent's last log line.
world_service_start() {
    local _ rc
    cp "$WORK/nats/ca.pem" "$1/etc/trustagent/cacerts/demo-nats-ca.pem"
    TAGENT_TCTI=$TCTI TAGENT_LOG_TARGET=stderr "$TAGENT" --root "$1" startService >"$2" 2>&1 &
    SERVICE_PID=$!
    for _ in $(seq 300); do
        grep -q "serving" "$2" && "$TAGENT" --root "$1" status >/dev/null 2>&1 && return 0
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
            wait "$SERVICE_PID" && rc=0 || rc=$?
            SERVICE_PID=
            echo "tagent startService exited (status $rc): $(tail -n 1 "$2")" >&2
            return 1
        fi
        sleep 0.2
    done
    # both halves of the condition, so that a failure here can be told apart afterwards
    grep -q "serving" "$2" && _="the log says serving" || _="the log never says serving"
    sed 's/^/  service log: /' "$2" | tail -n 20 >&2
    echo "tagent startService is not serving after 60 s ($_; tagent status: $("$TAGENT" --root "$1" status 2>&1 >/dev/null | tail -n 1)): $(tail -n 1 "$2")" >&2
    return 1
}

# world_service_stop: SIGTERM to the service; its exit status.
world_service_stop() {
    local rc=0
    [[ -n $SERVICE_PID ]] || return 0
    kill -TERM "$SERVICE_PID" 2>/dev/null
    wait "$SERVICE_PID" || rc=$?
    SERVICE_PID=
    return $rc
}

# world_attest OUT [ARGS...]: the mock HVS (tagent-hvs, $HVS) asks the agent over NATS as HVS's connector does
# and writes its trust report (JSON) to OUT; exit 0 only for a trusted host.
world_attest() {
    local out=$1
    shift
    "$HVS" --url "tls://127.0.0.1:$NPORT" --creds "$WORK/mock/nats/hvs.creds" --ca "$WORK/nats/ca.pem" \
        --host-id tagent-demo "$@" >"$out"
}

# world_stop: stops, by PID, the processes the functions above started.
world_stop() {
    local pid
    # "|| true": under set -e (the demo), a wait that reports the SIGTERM must not end the caller's trap
    for pid in $SERVICE_PID $NATS_PID $MOCK_PID $SWTPM_PID; do { kill "$pid" && wait "$pid"; } 2>/dev/null || true; done
    SERVICE_PID='' NATS_PID='' MOCK_PID='' SWTPM_PID=''
}
