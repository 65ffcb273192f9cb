#!/usr/bin/env bash
# gateway_kill.sh - the client survives the death of the gateway, end to end:
# a real broker, the real pipeline (2 replicas of every worker kind) and the
# real client on a generated data set large enough that streaming takes a
# while; results must be byte-identical to the independent reference.
#  a. kill -9 of the gateway while a client streams, gateway restarted on the
#     same port: the client runs the session again (new session id, data sent
#     again), exits 0 with exact results and says so on stderr and stdout;
#  b. the same once the client has sent everything and waits for results;
#  c. the gateway killed for good: a client with --session-retries 1
#     --connect-retries 1 exits 1 within 60 s with an error naming the gateway
#     and the attempts, and leaves no result or temporary file; a client
#     started while it is down fails fast, without re-runs.
# Sessions abandoned by a dead gateway may stay in the pipeline, so the
# pipeline is torn down with pipeline_kill; graceful shutdown is not checked.
source "$(dirname "$0")/lib.sh"
e2e_init gwkill

# scale 0.1: about 300 MB, a few seconds of streaming
"$B/bin/gen-dataset" --out "$DATA/big" --scale 0.1 --seed 5 --quiet > /dev/null 2>&1
python3 tests/reference/reference.py "$DATA/big" "$WORK/expected/big" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2"
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null
GW_LOG="$PIPELINE_LOGS/gateway.log"
echo "gateway_kill: broker $AMQP_URL, gateway $GATEWAY_ADDR, logs $PIPELINE_LOGS"

# client_bg OUT [flags]: the client on big in the background (pid in CPID).
client_bg() {
    local o=$1; shift
    timeout 120 "$B/bin/client" --data-folder big --data-root "$DATA" --output "$o" \
        --gateway "$GATEWAY_ADDR" --no-progress "$@" > "$o.out" 2> "$o.err" &
    CPID=$!
    cleanup_add "kill $CPID 2>/dev/null || true"
}

# first_sid ERRFILE: waits for the client's first session and prints its id.
first_sid() {
    pipeline_wait_log "$1" "session started session=" 30 > /dev/null || return 1
    sed -n 's/.*session started session=\([0-9a-f-]*\).*/\1/p' "$1" | head -n 1
}

gateway_pid() { echo "${PIPELINE_PIDS[$((${#PIPELINE_PIDS[@]} - 1))]}"; }

# expect_exact LABEL OUT: results byte-identical, rejected counts, no temp file.
expect_exact() {
    if python3 tests/reference/compare.py --exact "$WORK/expected/big" "$2" > "$2.cmp" 2>&1; then
        ok "$1: results byte-identical to the reference"
    else
        ko "$1: results differ from the reference"; sed 's/^/    /' "$2.cmp" | head -20
    fi
    if python3 tests/e2e/check_rejected.py "$WORK/expected/big/rejected.json" "$2.out" \
        > "$2.rej" 2>&1; then
        ok "$1: rejected-row counts in the client summary equal the reference's"
    else
        ko "$1: $(cat "$2.rej")"
    fi
    if [ -z "$(ls -A "$2" | grep -v '^q[1-4].*\.csv$')" ]; then
        ok "$1: only the five result files in the output folder, no temp file"
    else
        ko "$1: unexpected files in the output folder: $(ls -A "$2" | tr '\n' ' ')"
    fi
}

# expect_rerun LABEL OUT SID: exit status already checked; the client said on
# stderr that session SID was lost and run again, and named it on stdout.
expect_rerun() {
    local final
    final=$(sed -n 's/^session   //p' "$2.out")
    if grep -q "WARN .*session $3 lost its gateway connection (.*) after [0-9.]* MB sent: running it again in 0.5 s (attempt 2 of 6)$" "$2.err"; then
        ok "$1: stderr: $(grep -o "session $3 lost.*" "$2.err" | head -n 1)"
    else
        ko "$1: no re-run warning for session $3: $(grep -v ' INFO ' "$2.err" | tail -n 3 | tr '\n' ' ')"
    fi
    if grep -q "^re-runs   1 after losing the gateway; earlier sessions: $3\$" "$2.out" &&
        [ -n "$final" ] && [ "$final" != "$3" ]; then
        ok "$1: the summary names the final session $final and the earlier one"
    else
        ko "$1: summary: $(grep -E '^(session|re-runs)' "$2.out" | tr '\n' ' ')"
    fi
}

# --- a. the gateway dies while the client streams --------------------------
o="$WORK/out-a"
client_bg "$o"
pid_a=$CPID
sid=$(first_sid "$o.err") || sid=""
if [ -n "$sid" ] && pipeline_wait_log "$GW_LOG" "session start session=$sid" 30 > /dev/null; then
    # debug from now on: case b waits for the gateway's `data end` line
    pipeline_restart gateway KILL LOG_LEVEL=debug
    st=0; wait "$pid_a" || st=$?
    if [ "$st" -eq 0 ]; then
        ok "a (killed while streaming): client exited 0 after the gateway was restarted"
        expect_exact a "$o"
    else
        ko "a (killed while streaming): client exit $st: $(tail -n 3 "$o.err" | tr '\n' ' ')"
    fi
    expect_rerun a "$o" "$sid"
else
    ko "a: the session never started: $(tail -n 3 "$o.err" | tr '\n' ' ')"
    pipeline_restart gateway KILL LOG_LEVEL=debug
fi
pipeline_wait_log "$GW_LOG" "gateway ready" 30 > /dev/null || true

# --- b. the gateway dies while the client waits for results ----------------
o="$WORK/out-b"
client_bg "$o"
pid_b=$CPID
sid=$(first_sid "$o.err") || sid=""
if [ -n "$sid" ] && pipeline_wait_log "$GW_LOG" "data end session=$sid" 60 > /dev/null; then
    pipeline_restart gateway KILL
    st=0; wait "$pid_b" || st=$?
    if [ "$st" -eq 0 ]; then
        ok "b (killed while the client waits for results): client exited 0"
        expect_exact b "$o"
    else
        ko "b (killed while the client waits for results): client exit $st: $(tail -n 3 "$o.err" | tr '\n' ' ')"
    fi
    expect_rerun b "$o" "$sid"
else
    ko "b: no data end for the session: $(tail -n 3 "$o.err" | tr '\n' ' ')"
fi
pipeline_wait_log "$GW_LOG" "gateway ready" 30 > /dev/null || true

# --- c. the gateway dies for good -------------------------------------------
o="$WORK/out-c"
client_bg "$o" --session-retries 1 --connect-retries 1
pid_c=$CPID
sid=$(first_sid "$o.err") || sid=""
pipeline_wait_log "$GW_LOG" "session start session=$sid" 30 > /dev/null || true
gw=$(gateway_pid)
{ kill -KILL "$gw"; wait "$gw"; } 2> /dev/null || true
echo "gateway_kill: killed the gateway (pid $gw) for good"
t0=$(date +%s)
st=0; wait "$pid_c" || st=$?
took=$(($(date +%s) - t0))
msg="giving up after 2 session attempts (see --session-retries / SESSION_RETRIES): the gateway at $GATEWAY_ADDR is unreachable (Connection refused) after 2 connection attempts"
if [ "$st" -eq 1 ] && [ "$took" -le 60 ] && grep -qF -- "$msg" "$o.err"; then
    ok "c (gateway gone for good): exit 1 after ${took} s with '$msg'"
else
    ko "c (gateway gone for good): exit $st after ${took} s: $(grep -v ' INFO ' "$o.err" | tail -n 3 | tr '\n' ' ')"
fi
if [ -n "$sid" ] && grep -q "session $sid lost its gateway connection .*(attempt 2 of 2)" "$o.err"; then
    ok "c: the lost session $sid was run again once before giving up"
else
    ko "c: no re-run of session '$sid': $(grep -v ' INFO ' "$o.err" | head -n 3 | tr '\n' ' ')"
fi
if [ -z "$(ls -A "$o" 2> /dev/null)" ]; then
    ok "c: no result file and no temporary file in the output folder"
else
    ko "c: files left in the output folder: $(ls -A "$o" | tr '\n' ' ')"
fi
o="$WORK/out-c2"
client_bg "$o" --connect-retries 1
st=0; wait "$CPID" || st=$?
msg="cannot start a session: the gateway at $GATEWAY_ADDR is unreachable (Connection refused) after 2 attempts"
if [ "$st" -eq 1 ] && grep -qF -- "$msg" "$o.err" && ! grep -q "running .* again" "$o.err" &&
    [ -z "$(ls -A "$o" 2> /dev/null)" ]; then
    ok "c: a client started while the gateway is down fails at once, no re-run, no file: '$msg'"
else
    ko "c: client started while the gateway is down: exit $st: $(grep -v ' INFO ' "$o.err" | tail -n 3 | tr '\n' ' ')"
fi

# The dead gateways' sessions may still be held by the coordinator and the
# workers: no graceful stop.
pids=("${PIPELINE_PIDS[@]}")
{ pipeline_kill; for p in "${pids[@]}"; do wait "$p" || true; done; } 2> /dev/null
e2e_summary
