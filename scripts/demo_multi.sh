#!/usr/bin/env bash
# demo_multi.sh - `make demo-multi`: several clients at the same moment
# against one running pipeline, each its own session with its own results.
#
#   DEMO_FOLDERS  folders under .data/, one client each (default:
#                 "dataset1 generated dataset1")
#   CS_REPLICAS   replica counts (default: 2 of every kind)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${B:=build}"
export B
source scripts/broker.sh
source scripts/pipeline.sh

export CS_REPLICAS=${CS_REPLICAS:-filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2}
read -ra folders <<< "${DEMO_FOLDERS:-dataset1 generated dataset1}"
broker_start > /dev/null
pipeline_start
logs=$(mktemp -d /tmp/cs-demo.XXXXXX)
cleanup_add "rm -rf '$logs'"
pids=()
for i in "${!folders[@]}"; do
    f=${folders[$i]}
    "$B/bin/client" --data-folder "$f" --gateway "$GATEWAY_ADDR" --no-progress \
        --output "results/demo-$((i + 1))-$f" > "$logs/$i.out" 2> "$logs/$i.err" &
    pids+=($!)
done
echo "demo: ${#folders[@]} clients started at once: ${folders[*]}"
status=0
for i in "${!folders[@]}"; do
    st=0
    wait "${pids[$i]}" || st=$?
    echo
    echo "=== client $((i + 1)): --data-folder ${folders[$i]} (exit $st)"
    if [ "$st" -eq 0 ]; then
        cat "$logs/$i.out"
    else
        tail -n 5 "$logs/$i.err"
        status=1
    fi
done
pipeline_stop || status=1
exit $status
