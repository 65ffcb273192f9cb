#!/usr/bin/env bash
# bench.sh - `make bench`, `make bench-full`, `make bench-scaling` (issue 13):
# end-to-end time of the pipeline on a generated data set (generated once per
# scale and cached outside git) beside DuckDB's time for the same four
# queries on the same files in the same invocation, the ratio of the two,
# and per stage CPU seconds, MB/s per busy core, messages, bytes and peak
# RSS. docs/BENCHMARKS.md explains every column.
#
#   BENCH_SCALE   data set scale               (default 0.1, ~320 MB; 1 = ~3.3 GB)
#   BENCH_SCALES  scaling mode: e.g. "0.01 0.1 1": the report at each scale,
#                 time per GB across them, then a table with 1, 2 and 3
#                 filter replicas at BENCH_SCALE (unset: one report)
#   BENCH_FILTERS filter replica counts of that table (default "1 2 3")
#   BENCH_SEED    generator seed               (default 1)
#   BENCH_CACHE   cache folder                 (default ~/.cache/coffee-stream)
#   CS_REPLICAS   replica counts               (default filter=2, others 1)
#   BENCH_RUNS    runs of each configuration   (default 2; the best counts)
#   BENCH_RUNS_SMALL  the same below scale 0.1 (default 5: sub-second runs)
#   BENCH_KEEP    1: keep the run folder (logs, JSON) and print where it is
#   BENCH_WARMUP  sessions on the scale-0.1 set (320 MB: enough to fill the
#                 filter queues to their bound) that each fresh pipeline
#                 serves before the measured one, not measured (default 1;
#                 0: measure the first session of a cold pipeline, which
#                 also pays the broker's and the processes' start-up work)
#
# The pipeline runs with persistence on (CS_FSYNC=batch, the default: every
# stateful process logs and fsyncs once per ack batch; the headline) and off
# (CS_FSYNC=none: nothing logged), alternating, and the report gives the cost
# of crash recovery. The measuring is scripts/bench_probe.py; the tables are
# scripts/bench_report.py.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${B:=build}"
export B
source scripts/broker.sh
source scripts/pipeline.sh

scale=${BENCH_SCALE:-0.1}
seed=${BENCH_SEED:-1}
cache=${BENCH_CACHE:-$HOME/.cache/coffee-stream}
runs=${BENCH_RUNS:-2}
replicas=${CS_REPLICAS:-filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1}
data="$cache/data"
mkdir -p "$data"
work=$(mktemp -d /tmp/cs-bench.XXXXXX)
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    cleanup_add "echo 'bench: runs kept in $work' >&2"
else
    cleanup_add "rm -rf '$work'"
fi

# ensure_data SCALE: generates the set once (checking the disk first); sets
# NAME.
ensure_data() {
    NAME="bench-s$1-seed$seed"
    [ -f "$data/$NAME/.complete" ] && return 0
    local need avail
    need=$(awk -v s="$1" 'BEGIN{printf "%d", s * 3.6e6 * 1.2 + 1e5}') # KiB
    avail=$(df -Pk "$data" | awk 'NR==2{print $4}')
    if [ "$avail" -lt "$need" ]; then
        echo "bench: $NAME needs ~$((need / 1024)) MiB in $data; only $((avail / 1024)) MiB free" >&2
        exit 1
    fi
    avail=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2{print $4}')
    [ "$avail" -ge "$need" ] || echo "bench: warning: ${TMPDIR:-/tmp} (broker data, write-ahead logs) has only $((avail / 1024)) MiB free" >&2
    echo "bench: generating $NAME (once; cached in $data)" >&2
    rm -rf "${data:?}/$NAME"
    "$B/bin/gen-dataset" --out "$data/$NAME" --scale "$1" --seed "$seed" --quiet >&2
    touch "$data/$NAME/.complete"
}

tables() { printf '%s\n' "$data/$NAME"/{transactions,transaction_items,users,stores,menu_items}/*.csv; }

# DuckDB, the yardstick (npm package, installed once into the cache).
duck_dir="$cache/duckdb"
if [ ! -d "$duck_dir/node_modules/@duckdb/node-api" ]; then
    echo "bench: installing @duckdb/node-api into $duck_dir" >&2
    mkdir -p "$duck_dir"
    (cd "$duck_dir" && npm init -y > /dev/null &&
        npm install --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1) ||
        echo "bench: DuckDB could not be installed; comparing without it" >&2
fi
have_duck=0
if [ -d "$duck_dir/node_modules/@duckdb/node-api" ]; then
    cp scripts/bench_duckdb.mjs "$duck_dir/"
    have_duck=1
fi

# The warm-up set (see BENCH_WARMUP): a small one (3.5 MB) left the first
# large session of a pipeline about 15 % slower than the next ones.
warm_name=""
if [ "${BENCH_WARMUP:-1}" -gt 0 ]; then
    ensure_data 0.1
    warm_name=$NAME
fi

broker_start > /dev/null
BEAM_PID=""
if [ "${BROKER_EXTERNAL:-1}" = 0 ]; then
    # RabbitMQ's own statistics interval (5 s), as deployed: every second
    # cost the broker about 6 % more CPU (2026-11-30), and the management
    # API's counts are only a cross-check of the logs' (see BENCHMARKS.md)
    for p in $(_descendants "$BROKER_PID"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = beam.smp ] && BEAM_PID=$p
    done
fi

# run_once FSYNC REPLICAS: a fresh pipeline, one client on $NAME; everything
# measured goes to a new folder under $work/runs (meta.json, client.json,
# probe.json, mgmt0/1.json: the broker's counters before and after the
# client, the logs).
nrun=0
run_once() {
    local fsync=$1 reps=$2 dir i probe rc=0 load
    nrun=$((nrun + 1))
    dir="$work/runs/$nrun"
    mkdir -p "$dir/out"
    export PIPELINE_LOGS="$dir/logs"
    export CS_FSYNC=$fsync CS_REPLICAS=$reps
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    pipeline_start > /dev/null
    for ((i = 0; i < ${BENCH_WARMUP:-1}; i++)); do
        "$B/bin/client" --data-folder "$warm_name" --data-root "$data" --output "$dir/warmup" \
            --gateway "$GATEWAY_ADDR" > "$dir/warmup.out" 2>&1 || {
            echo "bench: the warm-up session failed:" >&2
            tail -n 20 "$dir/warmup.out" >&2
            exit 1
        }
    done
    : > "$dir/pids"
    for i in "${!PIPELINE_NAMES[@]}"; do
        # reset: the peak RSS of the measured session, not the warm-up's
        echo "${PIPELINE_NAMES[$i]} ${PIPELINE_PIDS[$i]} reset" >> "$dir/pids"
    done
    [ -z "$BEAM_PID" ] || echo "broker $BEAM_PID reset" >> "$dir/pids"
    python3 scripts/bench_probe.py mgmt "$MGMT_URL" "$dir/mgmt0.json" 1.5
    python3 scripts/bench_probe.py watch "$dir/pids" "$dir/probe.json" &
    probe=$!
    for ((i = 0; i < 100; i++)); do [ -e "$dir/probe.json.ready" ] && break; sleep 0.05; done
    python3 scripts/bench_probe.py run "$dir/client.json" -- \
        "$B/bin/client" --data-folder "$NAME" --data-root "$data" --output "$dir/out" \
        --gateway "$GATEWAY_ADDR" > "$dir/client.out" 2> "$dir/client.err" || rc=$?
    kill -TERM "$probe"
    wait "$probe" || true
    python3 scripts/bench_probe.py mgmt "$MGMT_URL" "$dir/mgmt1.json" 1.5
    pipeline_stop > "$dir/stop.log" 2>&1 ||
        echo "bench: warning: the pipeline did not stop cleanly: $(grep -v '^pipeline: up' "$dir/stop.log" | tr '\n' ' ')" >&2
    unset CS_FSYNC
    export CS_REPLICAS=$replicas
    printf '{"name": "%s", "scale": %s, "fsync": "%s", "replicas": "%s", "bytes": %s, "lines": %s, "client_status": %d, "load": "%s"}\n' \
        "$NAME" "$scale_now" "$fsync" "$reps" "$BYTES" "$LINES" "$rc" "$load" > "$dir/meta.json"
    if [ "$rc" != 0 ]; then
        echo "bench: the client failed (status $rc); its stderr:" >&2
        tail -n 20 "$dir/client.err" >&2
        exit 1
    fi
    echo "bench: $NAME fsync=$fsync $reps: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$dir/client.json") s" >&2
}

# run_duck: DuckDB once on $NAME, into $work/duck/NAME.N.json
run_duck() {
    [ "$have_duck" = 1 ] || return 0
    mkdir -p "$work/duck"
    local n
    n=$(find "$work/duck" -name "$NAME.*.json" | wc -l)
    node "$duck_dir/bench_duckdb.mjs" "$data/$NAME" > "$work/duck/$NAME.$n.json" || {
        echo "bench: DuckDB failed on $NAME" >&2
        rm -f "$work/duck/$NAME.$n.json"
    }
}

# set_scale SCALE: the data set of SCALE (generated if need be) is $NAME,
# its size $LINES and $BYTES.
declare -A SIZES=()
set_scale() {
    scale_now=$1
    ensure_data "$1"
    [ -n "${SIZES[$1]:-}" ] || SIZES[$1]=$(tables | xargs cat | wc -lc)
    read -r LINES BYTES <<< "${SIZES[$1]}"
}

# runs_at SCALE: runs of each configuration at SCALE; runs under a second
# jitter by tens of ms, so more of them at small scales.
runs_at() {
    if awk "BEGIN { exit !($1 < 0.1) }"; then echo "${BENCH_RUNS_SMALL:-5}"; else echo "$runs"; fi
}

# bench_scales SCALE...: DuckDB, persistence off, persistence on at each
# scale in turn, round after round (a machine that gets faster or slower
# during the benchmark, as shared ones do, moves every scale alike), then
# the report of each scale.
bench_scales() {
    local r s max=0
    for s in "$@"; do
        set_scale "$s"
        (($(runs_at "$s") > max)) && max=$(runs_at "$s")
    done
    for ((r = 0; r < max; r++)); do
        for s in "$@"; do
            ((r < $(runs_at "$s"))) || continue
            set_scale "$s"
            run_duck
            run_once none "$replicas"
            run_once batch "$replicas"
        done
    done
    for s in "$@"; do
        set_scale "$s"
        python3 scripts/bench_report.py report "$work" "$NAME" "$replicas"
    done
}

if [ -n "${BENCH_SCALES:-}" ]; then
    # shellcheck disable=SC2086 # a list of scales
    bench_scales $BENCH_SCALES
    python3 scripts/bench_report.py scaling "$work" "$replicas"
    # the replica table, at BENCH_SCALE (runs already made are reused)
    set_scale "$scale"
    [ -n "$(find "$work/duck" -name "$NAME.*.json" 2>/dev/null)" ] || run_duck
    for f in ${BENCH_FILTERS:-1 2 3}; do
        reps=$(echo "$replicas" | sed -E "s/(^|,)filter=[0-9]+/\1filter=$f/")
        case ,$reps, in *,filter=*) ;; *) reps="filter=$f,$reps" ;; esac
        have=$(python3 scripts/bench_report.py count "$work" "$NAME" "$reps" batch)
        for ((r = have; r < runs; r++)); do run_once batch "$reps"; done
    done
    python3 scripts/bench_report.py replicas "$work" "$NAME"
else
    bench_scales "$scale"
fi
