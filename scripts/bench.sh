#!/usr/bin/env bash
# bench.sh - `make bench`: end-to-end throughput of the pipeline on a
# generated data set (scale 0.1 by default, generated once and cached outside
# git), beside DuckDB's time for the same four queries on the same files.
#
#   BENCH_SCALE   data set scale            (default 0.1, ~300 MB)
#   BENCH_SEED    generator seed            (default 1)
#   BENCH_CACHE   cache folder              (default ~/.cache/coffee-stream)
#   CS_REPLICAS   replica counts            (default filter=2, others 1)
#   BENCH_RUNS    runs of each configuration (default 2; the best counts)
#
# The pipeline runs with persistence on (CS_FSYNC=batch, the default: every
# stateful process logs and fsyncs once per ack batch) and off
# (CS_FSYNC=none: nothing logged), alternating, in the same invocation, and
# the report gives the cost of crash recovery.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${B:=build}"
export B
ROOT=$(pwd)
source scripts/broker.sh
source scripts/pipeline.sh

scale=${BENCH_SCALE:-0.1}
seed=${BENCH_SEED:-1}
cache=${BENCH_CACHE:-$HOME/.cache/coffee-stream}
name="bench-s$scale-seed$seed"
data="$cache/data"
mkdir -p "$data"
if [ ! -f "$data/$name/.complete" ]; then
    echo "bench: generating $name (once; cached in $data)"
    rm -rf "$data/$name"
    "$B/bin/gen-dataset" --out "$data/$name" --scale "$scale" --seed "$seed"
    touch "$data/$name/.complete"
fi
bytes=$(cat "$data/$name"/{transactions,transaction_items,users,stores,menu_items}/*.csv | wc -c)
rows=$(cat "$data/$name"/{transactions,transaction_items,users,stores,menu_items}/*.csv | wc -l)
mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')

# DuckDB, the yardstick (npm package, installed once into the cache).
duck=""
if [ ! -d "$cache/duckdb/node_modules/@duckdb/node-api" ]; then
    echo "bench: installing @duckdb/node-api into $cache/duckdb"
    mkdir -p "$cache/duckdb"
    (cd "$cache/duckdb" && npm init -y > /dev/null &&
        npm install --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1) ||
        echo "bench: DuckDB could not be installed; comparing without it" >&2
fi
if [ -d "$cache/duckdb/node_modules/@duckdb/node-api" ]; then
    cp scripts/bench_duckdb.mjs "$cache/duckdb/"
    duck=$(node "$cache/duckdb/bench_duckdb.mjs" "$data/$name")
fi

export CS_REPLICAS=${CS_REPLICAS:-filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1}
broker_start > /dev/null
out=$(mktemp -d /tmp/cs-bench-out.XXXXXX)
cleanup_add "rm -rf '$out' '$out.summary'"

# run_once FSYNC: a fresh pipeline with CS_FSYNC=FSYNC, one client; sets
# RUN_SECS; leaves the logs in $PIPELINE_LOGS (the last run's are read).
run_once() {
    local t0 t1
    PIPELINE_LOGS=$(mktemp -d /tmp/cs-bench.XXXXXX)
    cleanup_add "rm -rf '$PIPELINE_LOGS'"
    export CS_FSYNC=$1
    pipeline_start > /dev/null
    t0=$(date +%s.%N)
    "$B/bin/client" --data-folder "$name" --data-root "$data" --output "$out" \
        --gateway "$GATEWAY_ADDR" > "$out.summary" 2>/dev/null
    t1=$(date +%s.%N)
    pipeline_stop > /dev/null 2>&1 || true
    unset CS_FSYNC
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
}

best() { printf '%s\n' "$@" | sort -n | head -1; }
runs=${BENCH_RUNS:-2}
off_times=()
on_times=()
for ((r = 0; r < runs; r++)); do
    run_once none
    off_times+=("$RUN_SECS")
    run_once batch
    on_times+=("$RUN_SECS")
done
off=$(best "${off_times[@]}")
secs=$(best "${on_times[@]}")
echo
echo "coffee-stream benchmark: $name ($mb MB of CSV, $rows lines)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "replicas: $CS_REPLICAS"
echo
printf "%-28s %10s %10s %12s\n" "" "seconds" "MB/s" "rows/s"
row() { # label seconds
    printf "%-28s %10s %10s %12s\n" "$1" "$2" \
        "$(awk -v b="$bytes" -v s="$2" 'BEGIN{printf "%.1f", b/1e6/s}')" \
        "$(awk -v r="$rows" -v s="$2" 'BEGIN{printf "%.0f", r/s}')"
}
row "pipeline (persistence on)" "$secs"
row "pipeline (persistence off)" "$off"
if [ -n "$duck" ]; then
    ds=$(python3 -c "import json,sys; print('%.2f' % json.loads(sys.argv[1])['seconds'])" "$duck")
    printf "%-28s %10s %10s %12s\n" "DuckDB (2 threads)" "$ds" \
        "$(awk -v b="$bytes" -v s="$ds" 'BEGIN{printf "%.1f", b/1e6/s}')" \
        "$(awk -v r="$rows" -v s="$ds" 'BEGIN{printf "%.0f", r/s}')"
fi
echo
echo "runs (seconds): persistence on: ${on_times[*]}; off: ${off_times[*]}"
echo "cost of persistence (best of each): $(awk -v a="$secs" -v b="$off" 'BEGIN{printf "%+.1f %%", (a/b-1)*100}')"
echo
echo "per stage, last run with persistence on (sum over replicas; busy = time inside the stage's handlers):"
printf "%-10s %9s %10s %10s %14s\n" stage in_msgs in_MB busy_s "MB/s busy"
for st in filter agg-q2 agg-q3 agg-q4 sink; do
    cat "$PIPELINE_LOGS"/*.log | grep "finished session=.* stage=$st " |
        sed -E 's/.*in_msgs=([0-9]+) in_bytes=([0-9]+).*busy_ms=([0-9]+).*/\1 \2 \3/' |
        awk -v st="$st" '{m+=$1; b+=$2; t+=$3} END {
            printf "%-10s %9d %10.1f %10.2f %14.1f\n", st, m, b/1e6, t/1000,
                   (t > 0 ? b/1e3/t : 0) }'
done
echo
echo "client summary:"
sed 's/^/  /' "$out.summary"
