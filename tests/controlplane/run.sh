#!/usr/bin/env bash
# run.sh - the control plane (issue 12, phase 1) against a real private
# broker, the real pipeline and the real client on shared/data/dev: after a
# session, /api/sessions lists it done with 100 % on every stage and the
# client's rejected rows; /api/sessions/{id}'s shape; malformed requests get
# 4xx and the server keeps answering; /metrics parses as Prometheus text;
# after a restart of the control plane the finished session is still listed
# (its SQLite history); a session held in draining (agg-q3 stopped) is
# listed there while it waits. Every wait polls the API against a deadline.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init controlplane
API=tests/controlplane/api.py

# checks_from FILE: one ok/ko per PASS/FAIL line of api.py's output
checks_from() {
    local line
    while IFS= read -r line; do
        case $line in
            PASS:*) ok "${line#PASS: }" ;;
            FAIL:*) ko "${line#FAIL: }" ;;
            *) echo "$line" ;;
        esac
    done < "$1"
}

# checks API.PY-ARGS...: runs api.py and counts its checks
checks() {
    python3 "$API" "$@" > "$WORK/checks.out" 2>&1 ||
        echo "FAIL: api.py $1 exited non-zero" >> "$WORK/checks.out"
    checks_from "$WORK/checks.out"
}

cp -r "$SHARED/data/dev" "$DATA/dev"
broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=2,agg-q3=2,agg-q4=1,sink=2"
export ADMIN_TOKEN="test-token-$RANDOM$RANDOM"
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null
addr=$CONTROLPLANE_ADDR

if curl -fsS "http://$addr/healthz" | grep -q '"ok"'; then ok "/healthz 200 once up"; else
    ko "/healthz not ok: $(curl -sS "http://$addr/healthz" 2>&1)"; fi
# session NAME: runs the client on data set NAME, waits until the API lists
# its session done and checks it; sets sid and out.
session() {
    out="$WORK/out/$1"
    mkdir -p "$WORK/out"
    if timeout 300 "$B/bin/client" --data-folder "$1" --data-root "$DATA" --output "$out" \
        --gateway "$GATEWAY_ADDR" --no-progress > "$out.out" 2> "$out.err"; then
        ok "client on $1 exited 0"
    else
        ko "client on $1 failed: $(tail -n 3 "$out.err")"
    fi
    sid=$(awk '$1 == "session" { print $2 }' "$out.out" | tail -n 1)
    if [ -n "$sid" ]; then ok "$1: client printed its session id ($sid)"; else
        ko "$1: no session id in the client's output"; fi
    if python3 "$API" wait "$addr" "$sid" done 30; then
        ok "$1: the session is listed done within 30 s of the client's end"
    else
        ko "$1: the session did not show as done"
    fi
    checks session "$addr" "$sid" "$out.out"
}

# a generated set with planted malformed rows: rejected counts are not 0
"$B/bin/gen-dataset" --out "$DATA/gen" --scale 0.002 --seed 11 > /dev/null 2>&1
session gen
if grep -A7 "rows_sent" "$out.out" | awk '$3 ~ /^[1-9]/' | grep -q .; then
    ok "gen: the client's summary has rejected rows (the comparison above is not 0 = 0)"
else
    ko "gen: no rejected rows in the client's summary: $(cat "$out.out")"
fi
session dev
# the client's status, watch and results commands (a session of their own)
source "$(dirname "$0")/cli.sh"

# Live: with agg-q3's replicas stopped (SIGSTOP: still consuming for the
# broker, so no stall) a session waits in draining; the API shows it there
# while it waits, then done once they resume.
frozen=()
for i in "${!PIPELINE_NAMES[@]}"; do
    case ${PIPELINE_NAMES[$i]} in agg-q3-*) frozen+=("${PIPELINE_PIDS[$i]}") ;; esac
done
kill -STOP "${frozen[@]}"
"$B/bin/gen-dataset" --out "$DATA/live" --scale 0.002 --seed 3 > /dev/null 2>&1
python3 "$API" ids "$addr" > "$WORK/known"
timeout 300 "$B/bin/client" --data-folder live --data-root "$DATA" --output "$WORK/out/live" \
    --gateway "$GATEWAY_ADDR" --no-progress > "$WORK/out/live.out" 2> "$WORK/out/live.err" &
client=$!
python3 "$API" live "$addr" agg-q3 60 "$WORK/known" > "$WORK/live.out" 2>&1 || true
kill -CONT "${frozen[@]}"
checks_from "$WORK/live.out"
if wait "$client"; then ok "client on live exited 0 once agg-q3 resumed"; else
    ko "client on live failed: $(tail -n 3 "$WORK/out/live.err")"; fi
sid=$(awk '$1 == "session" { print $2 }' "$WORK/out/live.out" | tail -n 1)
if [ "$(awk '$1 == "live-session" { print $2 }' "$WORK/live.out")" = "$sid" ]; then
    ok "live: the session seen draining is the client's ($sid)"
else
    ko "live: the session seen is not the client's: $(cat "$WORK/live.out")"
fi
if python3 "$API" wait "$addr" "$sid" done 30; then
    ok "live: then listed done"
    checks session "$addr" "$sid" "$WORK/out/live.out"
else
    ko "live: the session did not show as done"
fi
sid=$(awk '$1 == "session" { print $2 }' "$out.out" | tail -n 1) # dev's, for the rest

# Abort: a session held in draining (agg-q3 stopped again) is aborted by
# the operator; its client fails with the reason.
kill -STOP "${frozen[@]}"
python3 "$API" ids "$addr" > "$WORK/known"
timeout 300 "$B/bin/client" --data-folder live --data-root "$DATA" --output "$WORK/out/abort" \
    --gateway "$GATEWAY_ADDR" --no-progress --session-retries 0 > "$WORK/out/abort.out" \
    2> "$WORK/out/abort.err" &
client=$!
python3 "$API" live "$addr" agg-q3 60 "$WORK/known" > "$WORK/abort-live.out" 2>&1 || true
asid=$(awk '$1 == "live-session" { print $2 }' "$WORK/abort-live.out")
checks abort "$addr" "$ADMIN_TOKEN" "$asid" "$sid"
kill -CONT "${frozen[@]}"
if wait "$client"; then ko "the aborted session's client exited 0"; else
    if grep -q "operator" "$WORK/out/abort.err"; then
        ok "the aborted session's client failed with the operator's reason"
    else
        ko "the aborted client's error does not say why: $(tail -n 2 "$WORK/out/abort.err")"
    fi
fi
if grep -q "admin request refused" "$PIPELINE_LOGS/controlplane.log"; then
    ok "the refused admin requests are logged"
else
    ko "no log line for the refused admin requests"
fi

checks hostile "$addr"
checks metrics "$addr" "$sid"
# /api/stages, the stages' metrics and the dashboard in a real browser
source "$(dirname "$0")/stages.sh"

# History: a new control plane process reads it back from SQLite (and,
# started without ADMIN_TOKEN, has its admin endpoints off).
pipeline_restart controlplane TERM ADMIN_TOKEN= 2> /dev/null
if pipeline_wait_log "$PIPELINE_LOGS/controlplane.log" "controlplane ready" 30; then
    ok "the control plane restarted"
else
    ko "the control plane did not come back"
fi
if grep -q " ERROR " "$PIPELINE_LOGS/controlplane.log.1"; then
    ko "the first control plane logged an error: $(grep -m1 "ERROR" "$PIPELINE_LOGS/controlplane.log.1")"
else
    ok "the first control plane stopped cleanly on SIGTERM"
fi
if python3 "$API" wait "$addr" "$sid" done 10; then
    ok "after the restart the finished session is still listed done (SQLite history)"
    checks session "$addr" "$sid" "$out.out"
    checks adminoff "$addr" "$sid"
else
    ko "after the restart the session is gone"
fi

if pipeline_stop; then
    ok "every process exited 0 on SIGTERM"
else
    ko "a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"
fi
if grep -q " ERROR " "$PIPELINE_LOGS"/controlplane.log*; then
    ko "the control plane logged errors: $(grep -h -m3 " ERROR " "$PIPELINE_LOGS"/controlplane.log*)"
else
    ok "no error in the control plane's logs"
fi

# Everything restarted (the broker, its durable queues kept; every process
# on the same state folder): the finished sessions and their result files
# are still listed and downloadable.
if broker_restart > "$WORK/broker-restart.log" 2>&1; then ok "the broker restarted"; else
    ko "the broker did not restart: $(tail -n 3 "$WORK/broker-restart.log")"; fi
export PIPELINE_STATE_DIR="$PIPELINE_LOGS/state"
PIPELINE_LOGS="$WORK/logs-again"
pipeline_start > /dev/null
addr=$CONTROLPLANE_ADDR
if python3 "$API" wait "$addr" "$sid" done 30; then
    ok "after restarting everything the finished session is listed done"
    checks session "$addr" "$sid" "$out.out"
else
    ko "after restarting everything the session is gone"
fi
if pipeline_stop; then ok "the restarted pipeline stopped cleanly"; else
    ko "the restarted pipeline failed at shutdown (logs in $WORK/logs-again)"; fi
e2e_summary
