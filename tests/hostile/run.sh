#!/usr/bin/env bash
# run.sh - hostile-input suite: bad data folders, bad files and raw protocol
# abuse against the real gateway and pipeline. Each case asserts the exact
# client-visible outcome (ERROR code + text, the client's message and exit
# status, or the rejected-row counts) AND that a well-behaved client started
# alongside it still gets results byte-identical to the reference.
#
# One pipeline serves every case, its gateway with IDLE_TIMEOUT_S=3 (idle and
# slowloris cases). Waits are on events (process exit, log lines), bounded.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init hostile
HOSTILE=tests/hostile
IDLE=3

"$B/bin/gen-dataset" --out "$DATA/witness" --scale 0.001 --seed 3 --quiet > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$WORK/src" --scale 0.0005 --seed 4 --quiet > /dev/null 2>&1
python3 "$HOSTILE/mkdata.py" "$WORK/src" "$DATA"
for d in witness rej bom crlf quoted; do
    python3 tests/reference/reference.py "$DATA/$d" "$WORK/expected/$d" > /dev/null
done

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2"
export IDLE_TIMEOUT_S=$IDLE # pipeline_start's env(1) passes it on to the gateway
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null
unset IDLE_TIMEOUT_S

# client NAME OUT [flags]: the real client on $DATA/NAME; status in $?
client() {
    local f=$1 o=$2; shift 2
    timeout 120 "$B/bin/client" --data-folder "$f" --data-root "$DATA" --output "$o" \
        --gateway "$GATEWAY_ADDR" --no-progress "$@" > "$o.out" 2> "$o.err"
}

# The well-behaved session started alongside every case.
nwit=0
witness_start() {
    nwit=$((nwit + 1))
    WIT="$WORK/witness-$nwit"
    client witness "$WIT" & WIT_PID=$!
}
witness_check() { # LABEL
    local st=0
    wait "$WIT_PID" || st=$?
    if [ "$st" -eq 0 ] &&
        python3 tests/reference/compare.py --exact "$WORK/expected/witness" "$WIT" > "$WIT.cmp" 2>&1; then
        ok "$1: the concurrent well-behaved session got byte-exact results"
    else
        ko "$1: the concurrent well-behaved session failed (exit $st): $(tail -n 2 "$WIT.err" "$WIT.cmp" 2>/dev/null | tr '\n' ' ')"
    fi
}

# expect_client_fail LABEL OUT MESSAGE: exit status 1 and MESSAGE on stderr.
expect_client_fail() {
    local label=$1 o=$2 msg=$3 st=$4
    if [ "$st" -eq 1 ] && grep -qF -- "$msg" "$o.err"; then
        ok "$label: exit 1 with '$msg'"
    else
        ko "$label: exit $st, stderr: $(grep -v ' INFO ' "$o.err" | tail -n 3 | tr '\n' ' '); expected exit 1 and '$msg'"
    fi
}

# expect_exact LABEL DATASET OUT STATUS: exit 0, exact results, rejected counts.
expect_exact() {
    local label=$1 d=$2 o=$3 st=$4
    if [ "$st" -ne 0 ]; then
        ko "$label: client exit $st: $(tail -n 2 "$o.err" | tr '\n' ' ')"
        return
    fi
    if python3 tests/reference/compare.py --exact "$WORK/expected/$d" "$o" > "$o.cmp" 2>&1 &&
        python3 tests/e2e/check_rejected.py "$WORK/expected/$d/rejected.json" "$o.out" > "$o.rej" 2>&1; then
        ok "$label: exit 0, results byte-exact, $(cat "$o.rej")"
    else
        ko "$label: $(head -n 5 "$o.cmp" "$o.rej" | tr '\n' ' ')"
    fi
}

# ---- data cases: the real client on a bad folder ---------------------------
data_case() { # LABEL DATASET expect(exact|fail) [MESSAGE] [client flags...]
    local label=$1 d=$2 kind=$3 msg=${4:-} st=0 o="$WORK/case-$2"; shift 4 || shift $#
    witness_start
    client "$d" "$o" "$@" || st=$?
    if [ "$kind" = exact ]; then expect_exact "$label" "$d" "$o" "$st"; else
        expect_client_fail "$label" "$o" "$msg" "$st"; fi
    witness_check "$label"
}

data_case "malformed rows of each kind" rej exact ""
data_case "BOM before every header" bom exact ""
data_case "CRLF files" crlf exact ""
data_case "quoted fields with commas, \"\" and newlines" quoted exact ""
data_case "missing data folder" nope fail \
    "data folder '$DATA/nope' not found; folders under '$DATA': "
if grep -q "folders under.*witness" "$WORK/case-nope.err" && grep -q "folders under.*crlf" "$WORK/case-nope.err"; then
    ok "missing data folder: the message lists the folders that exist"
else ko "missing data folder: existing folders not listed: $(tail -n1 "$WORK/case-nope.err")"; fi
data_case "missing table folder" nousers fail \
    "table folder 'users' missing in data folder '$DATA/nousers': No such file or directory"
data_case "empty file" empty fail \
    "$DATA/empty/users/users_000000.csv: no header line (the file is empty or its first line is too long); expected 'user_id,gender,birthdate,registered_at'"
data_case "header that does not match" badhdr fail \
    "$DATA/badhdr/stores/stores.csv: header does not match table stores: got 'store_id,name,street,postal_code,city,state,latitude,longitude', expected 'store_id,store_name,street,postal_code,city,state,latitude,longitude'"
data_case "binary file" binary fail \
    "$DATA/binary/stores/stores.csv: header does not match table stores: got '"
data_case "line longer than the batch limit" long fail \
    "$DATA/long/transactions/transactions_000000.csv:3: line of 2001 bytes is longer than the batch limit (1024 bytes, see --batch-bytes)" \
    --batch-bytes 1024

# gateway unreachable: a port nobody listens on, 2 retries
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
witness_start
o="$WORK/case-unreachable"; st=0; t0=$(date +%s)
timeout 60 "$B/bin/client" --data-folder witness --data-root "$DATA" --output "$o" \
    --gateway "127.0.0.1:$port" --connect-retries 2 --no-progress > "$o.out" 2> "$o.err" || st=$?
expect_client_fail "gateway unreachable" "$o" \
    "cannot start a session: the gateway at 127.0.0.1:$port is unreachable (Connection refused) after 3 attempts" "$st"
if [ "$(grep -c 'retry [12]/2' "$o.err")" -eq 2 ] && [ $(($(date +%s) - t0)) -le 10 ]; then
    ok "gateway unreachable: exactly 2 retries with backoff, gave up within 10 s"
else ko "gateway unreachable: retries: $(grep -c retry "$o.err"), $(($(date +%s) - t0)) s"; fi
witness_check "gateway unreachable"

# ---- protocol cases: raw bytes from rawproto.py ----------------------------
raw_case() { # LABEL CASE
    local o="$WORK/raw-$2" st=0
    witness_start
    timeout 60 python3 "$HOSTILE/rawproto.py" "$GATEWAY_ADDR" "$2" "$IDLE" > "$o" 2>&1 || st=$?
    if [ "$st" -eq 0 ]; then ok "$1: $(grep -v '^session' "$o")"; else
        ko "$1: $(tr '\n' ' ' < "$o")"; fi
    RAW_SID=$(sed -n 's/^session //p' "$o")
    witness_check "$1"
}

raw_case "unknown message type before HELLO" unknown-type-first
raw_case "unknown message type after the handshake" unknown-type
raw_case "wrong protocol version" bad-version
raw_case "bad magic" bad-magic
raw_case "first frame not a HELLO" not-hello-first
raw_case "HELLO with trailing bytes" hello-trailing
raw_case "garbage bytes (an HTTP request)" garbage
raw_case "frame over the size cap (refused from its header)" too-big
raw_case "table id out of range" bad-table
raw_case "batch outside its table" batch-outside
raw_case "batch not whole lines" batch-not-whole
raw_case "row count mismatch in TABLE_END" row-mismatch
raw_case "table sent twice" table-twice
raw_case "DATA_END with a table open" data-end-open
raw_case "truncated frame then close" truncated
raw_case "idle client (IDLE_TIMEOUT_S=$IDLE)" idle
raw_case "slowloris, a byte a second" slowloris
raw_case "client vanishes mid-batch" vanish
if [ -n "$RAW_SID" ] &&
    pipeline_wait_log "$PIPELINE_LOGS/coordinator.log" "session=$RAW_SID.*abort" 20 2> /dev/null; then
    ok "client vanishes mid-batch: the coordinator aborted session $RAW_SID"
else
    ko "client vanishes mid-batch: no abort of session '${RAW_SID}' in the coordinator log"
fi

if pipeline_stop; then ok "every process exited 0 on SIGTERM after the abuse"; else
    ko "a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"; fi
e2e_summary
