#!/usr/bin/env bash
# backpressure.sh - the gateway bounds what waits in the broker: with the
# filters frozen (SIGSTOP), a client streaming a data set larger than the
# bound is held back (TCP backpressure) while the filter queue it feeds stays
# within GATEWAY_MAX_BACKLOG plus one check interval; once the filters run
# again the session completes byte-exact. Real broker, real processes. The
# client sends 64 KiB batches, so the set spans many check intervals.
source "$(dirname "$0")/lib.sh"
e2e_init backpressure

"$B/bin/gen-dataset" --out "$DATA/gen" --scale 0.02 --seed 9 > /dev/null 2>&1
python3 tests/reference/reference.py "$DATA/gen" "$WORK/expected" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1"
export GATEWAY_MAX_BACKLOG=64
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null

filters=()
for i in "${!PIPELINE_NAMES[@]}"; do
    case ${PIPELINE_NAMES[$i]} in filter-*) filters+=("${PIPELINE_PIDS[$i]}") ;; esac
done
kill -STOP "${filters[@]}"

timeout 300 "$B/bin/client" --data-folder gen --data-root "$DATA" --output "$WORK/out" \
    --gateway "$GATEWAY_ADDR" --no-progress --batch-bytes 65536 > "$WORK/c.out" 2> "$WORK/c.err" &
client=$!

# Ready messages of the filter queues while the client is held back (what
# the bound governs; the frozen filters also hold their prefetch, a fixed
# WORKER_PREFETCH each). The management API's counts lag a little;
# rabbitmqctl reads them live.
max=0
depth() {
    _rmq rabbitmqctl -q -n "$BROKER_NODE" list_queues name messages_ready 2>/dev/null |
        awk '$1 ~ /^filter\./ { if ($2 > m) m = $2 } END { print m + 0 }'
}
held=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 60 ]; do # each sample takes ~0.5 s (rabbitmqctl)
    d=$(depth)
    [ "$d" -gt "$max" ] && max=$d
    if [ "$max" -ge "$GATEWAY_MAX_BACKLOG" ]; then held=$((held + 1)); fi
    [ "$held" -ge 6 ] && break # samples at the bound for seconds: the client waits
done
bound=$((GATEWAY_MAX_BACKLOG + 32 + 8))
if [ "$max" -ge "$GATEWAY_MAX_BACKLOG" ] && [ "$max" -le "$bound" ]; then
    ok "with the filters frozen the queue grew to $max ready messages and no further (bound $GATEWAY_MAX_BACKLOG + one check interval)"
else
    ko "filter queue reached $max ready messages (expected $GATEWAY_MAX_BACKLOG..$bound)"
fi
if kill -0 "$client" 2>/dev/null; then ok "the client is held back (still streaming)"
else ko "the client already ended: $(tail -n 3 "$WORK/c.err")"; fi

kill -CONT "${filters[@]}"
st=0
wait "$client" || st=$?
if [ "$st" -eq 0 ] &&
    python3 tests/reference/compare.py --exact "$WORK/expected" "$WORK/out" > "$WORK/cmp" 2>&1; then
    ok "once the filters run again the session completes byte-exact"
else ko "session failed (exit $st): $(tail -n 3 "$WORK/c.err" "$WORK/cmp" | tr '\n' ' ')"; fi
held_s=$(sed -n 's/.*status=ok.*held_back_s=\([0-9.]*\).*/\1/p' "$PIPELINE_LOGS/gateway.log" | tail -1)
if awk -v h="${held_s:-0}" 'BEGIN { exit !(h > 1) }'; then
    ok "the gateway reports the client held back ${held_s} s"
else ko "the gateway reports held_back_s=${held_s:-none}"; fi
if pipeline_stop; then ok "every process exited 0 on SIGTERM"
else ko "a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"; fi
e2e_summary
