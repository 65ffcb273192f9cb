#!/usr/bin/env bash
# sessions.sh - concurrent sessions and session lifecycle, end to end:
#  1. three clients started at the same moment on different folders (one much
#     larger) against 2-3 replicas of every kind, plus a fourth client killed
#     mid-stream: the three get results byte-identical to the reference, the
#     killed session is aborted everywhere, and a small session finishes
#     while the large one is still streaming;
#  2. 50 sessions one after another on the same running system: every
#     process's RSS stays within 10% of its value after the 5th session, and
#     the broker's queue count returns to its baseline;
#  3. SIGTERM while a large session streams: it still completes exactly and
#     every process exits 0.
source "$(dirname "$0")/lib.sh"
e2e_init sessions

cp -r "$SHARED/data/dev" "$DATA/dev"
"$B/bin/gen-dataset" --out "$DATA/big" --scale 0.03 --seed 5 --quiet > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$DATA/small" --scale 0.0005 --seed 9 --quiet > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$DATA/victim" --scale 0.03 --seed 6 --quiet > /dev/null 2>&1
for d in dev big small; do
    python3 tests/reference/reference.py "$DATA/$d" "$WORK/expected/$d" > /dev/null
done

client() { # folder outdir [extra flags]: runs in the foreground
    local f=$1 o=$2; shift 2
    "$B/bin/client" --data-folder "$f" --data-root "$DATA" --output "$o" \
        --gateway "$GATEWAY_ADDR" --no-progress "$@" > "$o.out" 2> "$o.err"
}

broker_start > /dev/null
export CS_REPLICAS="filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2"
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null

mgmt_queues() {
    curl -sf -u guest:guest "$MGMT_URL/api/queues" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
baseline_queues=$(mgmt_queues)

# --- 1. simultaneous sessions, one killed mid-stream -----------------------
out="$WORK/out"
mkdir -p "$out"
client big "$out/big" & pid_big=$!
client dev "$out/dev" & pid_dev=$!
client small "$out/small" & pid_small=$!
# The victim is killed once the gateway has its session and is streaming it.
# (started directly, not through the function, so that $! is the client)
"$B/bin/client" --data-folder victim --data-root "$DATA" --output "$out/victim" \
    --gateway "$GATEWAY_ADDR" --no-progress > "$out/victim.out" 2> "$out/victim.err" &
pid_victim=$!
victim_sid=""
for ((i = 0; i < 400; i++)); do
    victim_sid=$(sed -n 's/.*session started session=\([0-9a-f-]*\).*victim.*/\1/p' \
        "$out/victim.err" 2>/dev/null | head -1)
    [ -n "$victim_sid" ] && break
    sleep 0.05
done
kill -9 "$pid_victim" 2>/dev/null || true
wait "$pid_victim" 2>/dev/null || true

st=0; wait "$pid_small" || st=$?
small_done=$(date +%s%N)
if [ "$st" -eq 0 ]; then ok "small session finished (exit 0)"; else ko "small session failed: $(tail -2 "$out/small.err")"; fi
if kill -0 "$pid_big" 2>/dev/null; then
    ok "the small session's results arrived while the large one was still running"
else
    ko "the large session ended before the small one's results (no overlap shown)"
fi
for p in "$pid_dev" "$pid_big"; do wait "$p" || true; done
for d in dev big small; do
    if [ -f "$out/$d/q1.csv" ] &&
        python3 tests/reference/compare.py --exact "$WORK/expected/$d" "$out/$d" > "$out/$d.cmp" 2>&1; then
        ok "concurrent session on $d: results byte-identical to the reference"
    else
        ko "concurrent session on $d: results differ or missing"; head -5 "$out/$d.cmp" 2>/dev/null
    fi
done
if [ -n "$victim_sid" ]; then
    if pipeline_wait_log "$PIPELINE_LOGS/coordinator.log" "session=$victim_sid.*abort" 20 2> /dev/null; then
        ok "killed client: the coordinator aborted session $victim_sid"
    else
        ko "killed client: no abort for session $victim_sid"
    fi
    n_abort=0
    for f in "$PIPELINE_LOGS"/filter-*.log "$PIPELINE_LOGS"/agg-*.log "$PIPELINE_LOGS"/sink-*.log; do
        pipeline_wait_log "$f" "abort session=$victim_sid" 20 2> /dev/null && n_abort=$((n_abort + 1))
    done
    total=$(ls "$PIPELINE_LOGS"/filter-*.log "$PIPELINE_LOGS"/agg-*.log "$PIPELINE_LOGS"/sink-*.log | wc -l)
    if [ "$n_abort" -eq "$total" ]; then
        ok "killed client: all $total worker replicas dropped the session"
    else
        ko "killed client: only $n_abort of $total worker replicas dropped the session"
    fi
else
    ko "killed client: its session never started"
fi

# --- 2. fifty sessions in a row --------------------------------------------
rss_of() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
declare -A rss5
soak_fail=0
for ((n = 1; n <= 50; n++)); do
    if ! client small "$WORK/soak-$n" || ! cmp -s "$WORK/expected/small/q4.csv" "$WORK/soak-$n/q4.csv"; then
        soak_fail=$((soak_fail + 1))
    fi
    rm -rf "$WORK/soak-$n"
    if [ "$n" -eq 5 ]; then
        for p in "${PIPELINE_PIDS[@]}"; do rss5[$p]=$(rss_of "$p"); done
    fi
done
if [ "$soak_fail" -eq 0 ]; then ok "50 sessions in a row: all succeeded with exact q4.csv"; else ko "50 sessions in a row: $soak_fail failed"; fi
grown=""
for ((i = 0; i < ${#PIPELINE_PIDS[@]}; i++)); do
    p=${PIPELINE_PIDS[$i]}
    now=$(rss_of "$p")
    # 10% of the 5th-session value, with a 512 KiB floor for tiny processes
    limit=$(( rss5[$p] + (rss5[$p] / 10 > 512 ? rss5[$p] / 10 : 512) ))
    [ "$now" -le "$limit" ] || grown+=" ${PIPELINE_NAMES[$i]}(${rss5[$p]}->${now} KiB)"
done
if [ -z "$grown" ]; then
    ok "RSS of all ${#PIPELINE_PIDS[@]} processes within 10% of its value after session 5"
else
    ko "RSS grew by more than 10%:$grown"
fi
q_after=$(mgmt_queues)
if [ "$q_after" -eq "$baseline_queues" ]; then
    ok "broker queue count back to its baseline ($baseline_queues)"
else
    ko "broker queue count $q_after, baseline $baseline_queues"
fi
# --- 3. graceful shutdown with a session in flight -------------------------
# SIGTERM reaches the gateway while a large session streams: the gateway stops
# accepting, lets the session finish and deliver its results, then releases
# the global end of stream so every process exits 0.
client big "$WORK/last" & pid_last=$!
pipeline_wait_log "$WORK/last.err" "session started" 30 > /dev/null 2>&1 || true
if pipeline_stop; then ok "every process exited 0 on SIGTERM"; else ko "a process failed at shutdown"; fi
st=0; wait "$pid_last" || st=$?
if [ "$st" -eq 0 ] &&
    python3 tests/reference/compare.py --exact "$WORK/expected/big" "$WORK/last" > /dev/null 2>&1; then
    ok "a session in flight at SIGTERM still got byte-exact results"
else
    ko "the session in flight at SIGTERM failed (exit $st): $(tail -2 "$WORK/last.err")"
fi

e2e_summary
