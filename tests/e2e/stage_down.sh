#!/usr/bin/env bash
# stage_down.sh - a stage with no live replica for too long: the sessions
# waiting on it fail with an error naming the stage (instead of waiting for
# the client's result timeout), and while they wait the client is told which
# stage it waits for. Real broker, real processes; limits shortened through
# COORD_STAGE_NOTICE_S / COORD_STAGE_FAIL_S.
source "$(dirname "$0")/lib.sh"
e2e_init stage-down

cp -r "$SHARED/data/dev" "$DATA/dev"
python3 tests/reference/reference.py "$DATA/dev" "$WORK/expected/dev" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=1,agg-q2=1,agg-q3=2,agg-q4=1,sink=1"
export COORD_STAGE_NOTICE_S=2 COORD_STAGE_FAIL_S=8
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null

# Every agg-q3 replica dies, and nothing restarts them.
pid_of() { local i; for i in "${!PIPELINE_NAMES[@]}"; do
    if [ "${PIPELINE_NAMES[$i]}" = "$1" ]; then echo "${PIPELINE_PIDS[$i]}"; fi; done; }
for n in agg-q3-0 agg-q3-1; do
    p=$(pid_of "$n")
    { kill -KILL "$p"; wait "$p"; } 2>/dev/null || true
done

start=$SECONDS
st=0
timeout 120 "$B/bin/client" --data-folder dev --data-root "$DATA" \
    --output "$WORK/out1" --gateway "$GATEWAY_ADDR" --no-progress \
    > "$WORK/c1.out" 2> "$WORK/c1.err" || st=$?
took=$((SECONDS - start))
if [ "$st" -eq 1 ]; then ok "the client failed (exit 1) after $took s, not at its result timeout"
else ko "client exit status $st after $took s (expected 1)"; fi
if grep -q "waiting for stage agg-q3" "$WORK/c1.err"; then
    ok "while waiting, the client said which stage: $(grep -o 'waiting for stage agg-q3[^"]*' "$WORK/c1.err" | head -1)"
else ko "the client never said it waits for agg-q3: $(tail -n 3 "$WORK/c1.err" | tr '\n' ' ')"; fi
if grep -q "no live replica of stage agg-q3" "$WORK/c1.err"; then
    ok "the error names the stage: $(grep -o 'no live replica of stage agg-q3[^"]*' "$WORK/c1.err" | head -1)"
else ko "the error does not name agg-q3: $(tail -n 3 "$WORK/c1.err" | tr '\n' ' ')"; fi
if [ -z "$(ls -A "$WORK/out1" 2>/dev/null)" ]; then ok "no result file was written"
else ko "files were written: $(ls -A "$WORK/out1")"; fi
sid=$(sed -n 's/.*session started session=\([0-9a-f-]*\).*/\1/p' "$WORK/c1.err" | head -1)
if pipeline_wait_log "$PIPELINE_LOGS/coordinator.log" "eof session=$sid failed" 10 &&
    ! find "$CS_STATE_DIR" -name "$sid.wal" | grep -q .; then
    ok "the coordinator failed session $sid and no state of it is left"
else ko "session $sid still has state: $(find "$CS_STATE_DIR" -name "$sid.wal")"; fi

# The stage comes back: the next session is exact.
for n in agg-q3-0 agg-q3-1; do
    idx=-1
    for i in "${!PIPELINE_NAMES[@]}"; do
        if [ "${PIPELINE_NAMES[$i]}" = "$n" ]; then idx=$i; fi
    done
    env AMQP_URL="$AMQP_URL" CS_REPLICAS="$CS_REPLICAS" CS_STAGE=agg-q3 \
        CS_REPLICA_ID="${n##*-}" "$B/bin/aggregator" > "$PIPELINE_LOGS/$n.log.2" 2>&1 &
    PIPELINE_PIDS[$idx]=$!
    pipeline_wait_log "$PIPELINE_LOGS/$n.log.2" "started stage=" 30 > /dev/null
done
if timeout 120 "$B/bin/client" --data-folder dev --data-root "$DATA" \
    --output "$WORK/out2" --gateway "$GATEWAY_ADDR" --no-progress \
    > "$WORK/c2.out" 2> "$WORK/c2.err" &&
    python3 tests/reference/compare.py --exact "$WORK/expected/dev" "$WORK/out2" > "$WORK/cmp" 2>&1; then
    ok "with the stage back, the next session is byte-exact"
else ko "the next session failed: $(tail -n 3 "$WORK/c2.err" "$WORK/cmp" | tr '\n' ' ')"; fi
if pipeline_stop; then ok "every process exited 0 on SIGTERM"
else ko "a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"; fi
e2e_summary
