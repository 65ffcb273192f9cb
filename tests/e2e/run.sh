#!/usr/bin/env bash
# run.sh - end-to-end tests: a real broker (private unless AMQP_URL is set),
# the real gateway, coordinator and worker replicas, the real client; results
# must be byte-identical to the independent reference (tests/reference,
# Python + SQLite over the same CSVs), never to the system's own output.
source "$(dirname "$0")/lib.sh"
e2e_init e2e

# Data sets: the real slice, and generated sets of several scales and seeds.
cp -r "$SHARED/data/dev" "$DATA/dev"
"$B/bin/gen-dataset" --out "$DATA/gen-a" --scale 0.002 --seed 11 > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$DATA/gen-b" --scale 0.005 --seed 42 > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$DATA/gen-c" --scale 0.001 --seed 7 --no-edge-cases \
    > /dev/null 2>&1
for d in dev gen-a gen-b gen-c; do
    python3 tests/reference/reference.py "$DATA/$d" "$WORK/expected/$d" > /dev/null
done

# run_client NAME OUTDIR: runs the client on data set NAME; 0 if it succeeded.
run_client() {
    timeout 300 "$B/bin/client" --data-folder "$1" --data-root "$DATA" \
        --output "$2" --gateway "$GATEWAY_ADDR" > "$2.out" 2> "$2.err"
}

# expect_exact LABEL DATASET OUTDIR
expect_exact() {
    if python3 tests/reference/compare.py --exact "$WORK/expected/$2" "$3" > "$3.cmp" 2>&1; then
        ok "$1: $2 results byte-identical to the reference"
    else
        ko "$1: $2 results differ from the reference"; sed 's/^/    /' "$3.cmp" | head -20
    fi
    if python3 tests/e2e/check_rejected.py "$WORK/expected/$2/rejected.json" "$3.out" \
        > "$3.rej" 2>&1; then
        ok "$1: $2 rejected-row counts in the client summary equal the reference's"
    else
        ko "$1: $2 $(cat "$3.rej")"
    fi
}

# one_config LABEL REPLICA_SPEC DATASETS...: start the pipeline with these
# replica counts, run one client per data set (one after another), compare.
one_config() {
    local label=$1 spec=$2 d out; shift 2
    export CS_REPLICAS=$spec
    PIPELINE_LOGS="$WORK/logs-$label"
    pipeline_start > /dev/null
    for d in "$@"; do
        out="$WORK/out-$label/$d"
        mkdir -p "$(dirname "$out")"
        if run_client "$d" "$out"; then
            ok "$label: client on $d exited 0"
            expect_exact "$label" "$d" "$out"
        else
            ko "$label: client on $d failed: $(tail -n 3 "$out.err")"
        fi
    done
    if pipeline_stop; then
        ok "$label: every process exited 0 on SIGTERM"
    else
        ko "$label: a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"
    fi
    unset PIPELINE_LOGS
}

broker_start > /dev/null
echo "e2e: broker $AMQP_URL"

one_config r2 "filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2" dev gen-a gen-b
# The real slice must also agree with the course reference (Q1-Q3, floats).
if python3 tests/reference/compare.py "$SHARED/data/dev-expected" "$WORK/out-r2/dev" \
    > "$WORK/dev-expected.cmp" 2>&1; then
    ok "r2: dev results agree numerically with shared/data/dev-expected (Q1-Q3)"
else
    ko "r2: dev results disagree with dev-expected"; head -20 "$WORK/dev-expected.cmp"
fi
one_config mixed "filter=3,agg-q2=1,agg-q3=2,agg-q4=3,sink=1" gen-b gen-c dev
# Identical replicas (as with docker compose deploy.replicas) claim their
# shard index themselves.
export PIPELINE_AUTO_REPLICA=1
one_config auto "filter=2,agg-q2=3,agg-q3=2,agg-q4=2,sink=3" gen-a dev
unset PIPELINE_AUTO_REPLICA
claimed=$(cat "$WORK"/logs-auto/agg-q2-*.log | sed -n 's/.*claimed replica=\([0-9]*\) of stage=agg-q2.*/\1/p' | sort | tr '\n' ' ')
if [ "$claimed" = "0 1 2 " ]; then
    ok "auto: the three agg-q2 replicas claimed indexes 0, 1 and 2"
else
    ko "auto: agg-q2 replicas claimed '$claimed'"
fi

e2e_summary
