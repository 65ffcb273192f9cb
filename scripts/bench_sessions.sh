#!/usr/bin/env bash
# bench_sessions.sh - sessions at scale (issue 13, part 5): N clients (default
# 1000) started at the same moment, each on a tiny data set (the first 300
# rows of every file of ../shared/data/dev), against a private broker and
# pipeline. The gateway runs MAX_SESSIONS of them at once; the others wait in
# its line. Prints how many ended byte-exact (each result file compared with
# the reference's), how many waited in line, sessions per second, p50/p99
# session latency (client start to exit) and the gateway's peak RSS (VmHWM)
# and peak thread count.
#
#   BENCH_SESSIONS  clients                       (default 1000)
#   MAX_SESSIONS    the gateway's admission limit (default 64)
#   CS_REPLICAS     replica counts                (default filter=2, others 1)
#   BENCH_KEEP      1: keep the run folder (logs, client outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${B:=build}"
export B
source scripts/broker.sh
source scripts/pipeline.sh

n=${BENCH_SESSIONS:-1000}
export MAX_SESSIONS=${MAX_SESSIONS:-64}
export CS_REPLICAS=${CS_REPLICAS:-filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1}
work=$(mktemp -d /tmp/cs-bench-sessions.XXXXXX)
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    cleanup_add "echo 'bench: run kept in $work' >&2"
else
    cleanup_add "rm -rf '$work'"
fi

scripts/cut_dataset.sh ../shared/data/dev "$work/data/tiny" 300
python3 tests/reference/reference.py "$work/data/tiny" "$work/expected" > /dev/null
files=$(cd "$work/expected" && ls -- *.csv)

broker_start > /dev/null
PIPELINE_LOGS="$work/logs"
pipeline_start > /dev/null
for ((i = 0; i < ${#PIPELINE_NAMES[@]}; i++)); do
    [ "${PIPELINE_NAMES[$i]}" = gateway ] && gw_pid=${PIPELINE_PIDS[$i]}
done

# The gateway's thread count, sampled until told to stop.
(peak=0; while [ ! -f "$work/stop" ]; do
    t=$(awk '/^Threads:/ {print $2}' "/proc/$gw_pid/status" 2>/dev/null || echo 0)
    [ "${t:-0}" -gt "$peak" ] && peak=$t && echo "$peak" > "$work/threads"
    sleep 0.2
done) &
sampler=$!

one() { # I: one client, its exit status and start/end times in c<I>.t
    local o="$work/out/c$1" t0=$EPOCHREALTIME st=0
    timeout 3600 "$B/bin/client" --data-folder tiny --data-root "$work/data" --output "$o" \
        --gateway "$GATEWAY_ADDR" --no-progress > "$o.out" 2> "$o.err" || st=$?
    echo "$st $t0 $EPOCHREALTIME" > "$o.t"
}
mkdir -p "$work/out"
echo "bench: $n clients at once, MAX_SESSIONS=$MAX_SESSIONS, replicas $CS_REPLICAS" >&2
pids=()
for ((i = 0; i < n; i++)); do
    one "$i" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
touch "$work/stop"
wait "$sampler" || true
hwm=$(awk '/^VmHWM:/ {print $2, $3}' "/proc/$gw_pid/status")
threads=$(cat "$work/threads" 2>/dev/null || echo "?")

exact=0 queued=0
for ((i = 0; i < n; i++)); do
    o="$work/out/c$i"
    good=1
    [ "$(cut -d' ' -f1 "$o.t")" = 0 ] || good=0
    for f in $files; do
        [ "$good" = 1 ] && { cmp -s "$work/expected/$f" "$o/$f" || good=0; }
    done
    exact=$((exact + good))
    grep -q "queued at the gateway: place" "$o.err" && queued=$((queued + 1))
done
cat "$work"/out/c*.t | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
t0 = min(float(r[1]) for r in rows); t1 = max(float(r[2]) for r in rows)
lat = sorted(float(r[2]) - float(r[1]) for r in rows)
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("sessions:        %d in %.1f s = %.1f sessions/s" % (len(rows), t1 - t0, len(rows) / (t1 - t0)))
print("latency:         p50 %.2f s, p99 %.2f s, max %.2f s" % (q(0.50), q(0.99), lat[-1]))
'
echo "byte-exact:      $exact of $n"
echo "waited in line:  $queued (told their place)"
echo "refused (busy):  $(grep -c 'connection rejected' "$PIPELINE_LOGS/gateway.log" || true)"
echo "gateway:         peak RSS (VmHWM) $hwm, peak threads $threads"
pipeline_stop > /dev/null || echo "bench: a process did not stop cleanly" >&2
[ "$exact" -eq "$n" ]
