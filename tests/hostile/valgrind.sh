#!/usr/bin/env bash
# valgrind.sh - one short session (.data/generated) with the coordinator,
# every worker replica and the gateway under valgrind (memcheck, definite
# and indirect leaks are errors), then a graceful stop. Every process must
# exit 0 and its log must say "ERROR SUMMARY: 0 errors"; the results must
# be byte-identical to the reference.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init valgrind

cp -r .data/generated "$DATA/generated"
python3 tests/reference/reference.py "$DATA/generated" "$WORK/expected" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1"
export PIPELINE_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
export PIPELINE_START_TIMEOUT=120
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null
# the client itself too (not through the wrapper: started here)
st=0
timeout 600 valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 "$B/bin/client" --data-folder generated --data-root "$DATA" \
    --output "$WORK/out" --gateway "$GATEWAY_ADDR" --no-progress \
    > "$WORK/client.out" 2> "$WORK/client.err" || st=$?
if [ "$st" -eq 0 ]; then ok "client under valgrind exited 0"; else
    ko "client exited $st: $(grep -v ' INFO ' "$WORK/client.err" | tail -n 5 | tr '\n' ' ')"; fi
if python3 tests/reference/compare.py --exact "$WORK/expected" "$WORK/out" > "$WORK/cmp" 2>&1; then
    ok "results byte-identical to the reference"
else ko "results differ: $(head -n 5 "$WORK/cmp" | tr '\n' ' ')"; fi
if grep -q "ERROR SUMMARY: 0 errors" "$WORK/client.err"; then ok "client: ERROR SUMMARY: 0 errors"; else
    ko "client: $(grep 'ERROR SUMMARY' "$WORK/client.err")"; fi
names=("${PIPELINE_NAMES[@]}")
if pipeline_stop; then ok "every process under valgrind exited 0 on SIGTERM"; else
    ko "a process exited non-zero or hung (valgrind error exit is 99; logs in $PIPELINE_LOGS)"; fi
for n in "${names[@]}"; do
    log="$PIPELINE_LOGS/$n.log"
    if grep -q "ERROR SUMMARY: 0 errors" "$log"; then ok "$n: ERROR SUMMARY: 0 errors"; else
        ko "$n: $(grep 'ERROR SUMMARY' "$log" || echo 'no valgrind summary'); see $log"
        grep -A12 -m3 "Invalid\|uninitialised\|definitely lost\|indirectly lost" "$log" | head -40 || true
    fi
done
e2e_summary
