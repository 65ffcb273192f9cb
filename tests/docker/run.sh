#!/usr/bin/env bash
# tests/docker/run.sh - `make test-docker`: the Docker Compose deployment,
# end to end, on this machine.
#
#  1. scripts/docker-setup.sh: Docker Engine + Compose v2 from Debian packages,
#     a running dockerd, the base image made locally (cached)
#  2. builds the images (docker compose build), starts the stack under a
#     project name of its own, on free loopback ports, with non-default
#     broker credentials
#  3. runs TWO clients at once (dataset1, generated), compares each with the
#     independent reference byte for byte (compare.py --exact)
#  4. asks the management API (loopback) for the project's queues
#  5. scales the filter with one variable (FILTER_REPLICAS=3 ... up -d) and
#     runs a client again
#  6. chaos: two lanes run client sessions back to back on generated sets
#     while tests/docker/chaos.py `docker kill`s 12+ containers (pipeline
#     and monitors, the leader twice) and pauses one worker (a hang); the
#     monitors must bring every one back; every session byte-exact; the
#     detection, restart and re-election times are printed; then a docker
#     pause and a docker stop must be left alone
#  7. stops gracefully (every process must exit 0), `down -v`, and checks
#     nothing of the project is left; the trap tears down on failure too.
#
# One PASS/FAIL line per check, then "N passed, M failed". Every wait is
# bounded. Traffic goes only to loopback and to the containers started here.
#   CS_KEEP_DOCKERD=1   leave a dockerd this test started running afterwards
#   CS_KEEP_WORK=1      keep the work folder (logs, results; printed)
#   CHAOS_SEED=N        the chaos phase's schedule and data sets (printed)
#   CHAOS_KILLS=N       kills in the schedule (default 12; at least 10 must
#                       fall while both lanes run a session)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
B=${B:-build}
TEST_NAME=test-docker
WORK=$(mktemp -d /tmp/cs-docker.XXXXXX)
# ok/ko/summary, compose_setup, dc, compose_build_up, free_port, tally
. tests/docker/lib.sh

# ---------------------------------------------------------------- 1. setup
compose_setup

# Everything docker compose reads: a project of our own, loopback ports,
# non-default credentials, our results folder.
project="cs-test-$$"
export COMPOSE_PROJECT_NAME=$project
export PUBLISH_ADDR=127.0.0.1
export GATEWAY_HOST_PORT; GATEWAY_HOST_PORT=$(free_port)
export MGMT_HOST_PORT; MGMT_HOST_PORT=$(free_port)
export CONTROLPLANE_HOST_PORT; CONTROLPLANE_HOST_PORT=$(free_port)
export RABBITMQ_USER=cstest
export RABBITMQ_PASS; RABBITMQ_PASS=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export DATA_DIR=$ROOT/.data
export RESULTS_DIR=$WORK/results
export FILTER_REPLICAS=2 AGG_Q2_REPLICAS=2 AGG_Q3_REPLICAS=2 AGG_Q4_REPLICAS=2 SINK_REPLICAS=2
mkdir -p "$RESULTS_DIR"
# results must belong to the owner of the results folder, not to root
owner=$(id -u)
if [ "$owner" -eq 0 ]; then owner=4242; chown 4242:4242 "$RESULTS_DIR"; fi

# ---------------------------------------------------------------- 2. build, up
compose_build_up 300 240 "docker compose up -d: every service running, broker healthy"

# every worker replica has claimed an index and declared its queues
want=$((FILTER_REPLICAS + AGG_Q2_REPLICAS + AGG_Q3_REPLICAS + AGG_Q4_REPLICAS + SINK_REPLICAS))
workers_started() { # expected count
    local n i
    for ((i = 0; i < 120; i++)); do
        n=$(dc logs --no-log-prefix filter agg-q2 agg-q3 agg-q4 sink 2>/dev/null \
            | grep -c 'started stage=' || true)
        [ "$n" -ge "$1" ] && return 0
        sleep 0.5
    done
    echo "  workers started: $n of $1"
    return 1
}
gateway_listens() {
    local i
    for ((i = 0; i < 120; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$GATEWAY_HOST_PORT") 2>/dev/null && return 0
        sleep 0.5
    done
    return 1
}
if workers_started "$want"; then
    ok "all $want worker replicas started (CS_REPLICA_ID=auto)"
else
    dc logs --tail 10; ko "worker replicas did not all start"
fi
ids=$(dc logs --no-log-prefix filter agg-q2 agg-q3 agg-q4 sink 2>/dev/null \
      | grep -o 'started stage=[a-z0-9-]* replica=[0-9]*/[0-9]*' | sort -u | wc -l)
if [ "$ids" -eq "$want" ]; then ok "replica indexes are distinct ($ids)"; else ko "replica indexes: $ids distinct of $want"; fi
if gateway_listens; then ok "gateway published on 127.0.0.1:$GATEWAY_HOST_PORT"; else ko "gateway not listening on 127.0.0.1:$GATEWAY_HOST_PORT"; fi

# ---------------------------------------------------------------- 3. two clients
folders=(dataset1 generated)
for d in "${folders[@]}"; do
    python3 tests/reference/reference.py ".data/$d" "$WORK/expected/$d" > "$WORK/ref-$d.log" 2>&1 &
done
t=$(date +%s)
pids=()
for d in "${folders[@]}"; do
    timeout 300 docker compose run --rm -T client --data-folder "$d" --no-progress \
        > "$WORK/client-$d.log" 2>&1 &
    pids+=($!)
done
ref_rc=0
for j in "${!folders[@]}"; do
    if wait "${pids[$j]}"; then
        ok "client ${folders[$j]} (run at the same time as the other) exited 0"
    else
        tail -n 15 "$WORK/client-${folders[$j]}.log"
        ko "client ${folders[$j]} failed"
    fi
done
wait_refs() { local p; for p in $(jobs -p); do wait "$p" || ref_rc=1; done; }
wait_refs
echo "  clients done in $(( $(date +%s) - t )) s"
[ $ref_rc -eq 0 ] || { cat "$WORK"/ref-*.log; ko "reference.py failed"; }

check_results() { # folder, label[, output folder under RESULTS_DIR]
    local d=$1 out="$RESULTS_DIR/${3:-$1}" f bad=0
    if python3 tests/reference/compare.py --exact "$WORK/expected/$d" "$out" > "$WORK/cmp-$d.log" 2>&1; then
        ok "$2: results/${3:-$d}/ byte-identical to the reference"
    else
        tail -n 20 "$WORK/cmp-$d.log"
        ko "$2: results/${3:-$d}/ differ from the reference"
    fi
    for f in "$out"/*.csv; do
        [ "$(stat -c %u "$f" 2>/dev/null)" = "$owner" ] || bad=1
    done
    if [ $bad -eq 0 ] && [ -e "$out/q1.csv" ]; then
        ok "$2: result files belong to the results folder's owner (uid $owner)"
    else
        # shellcheck disable=SC2012 # a listing for the log, owners shown
        ls -ln "$out" 2>&1 | head; ko "$2: result files not owned by uid $owner"
    fi
}
for d in "${folders[@]}"; do check_results "$d" "compose run client"; done

# the control plane lists both sessions done, with their archived files
if python3 tests/docker/cp_check.py "127.0.0.1:$CONTROLPLANE_HOST_PORT" "$RESULTS_DIR" \
        "${folders[@]}" > "$WORK/controlplane.log" 2>&1; then
    ok "control plane on 127.0.0.1:$CONTROLPLANE_HOST_PORT lists the sessions done; archived results identical"
else
    ko "control plane: $(tail -n 3 "$WORK/controlplane.log")"
fi
if timeout 120 docker compose run --rm -T client status > "$WORK/status.out" 2>&1 &&
        [ "$(grep -c ' done ' "$WORK/status.out")" -ge "${#folders[@]}" ]; then
    ok "docker compose run --rm client status lists the sessions done (CONTROLPLANE_URL in compose)"
else
    ko "client status in compose: $(tail -n 3 "$WORK/status.out")"
fi

# ---------------------------------------------------------------- 4. management API
if curl -sf --max-time 10 -u "$RABBITMQ_USER:$RABBITMQ_PASS" \
        "http://127.0.0.1:$MGMT_HOST_PORT/api/queues" > "$WORK/queues.json"; then
    missing=$(python3 - "$WORK/queues.json" <<'EOF'
import json, sys
names = {q["name"] for q in json.load(open(sys.argv[1]))}
want = ["coordinator", "filter.transactions", "filter.transaction_items", "filter.users",
        "filter.stores", "filter.menu_items", "agg-q2.0", "agg-q2.1", "agg-q3.0",
        "agg-q3.1", "agg-q4.0", "agg-q4.1", "sink.0", "sink.1"]
print(" ".join(w for w in want if w not in names))
EOF
)
    if [ -z "$missing" ]; then
        ok "management API on 127.0.0.1:$MGMT_HOST_PORT lists the project's queues (user $RABBITMQ_USER)"
    else
        ko "management API: missing queues: $missing"
    fi
else
    ko "management API on 127.0.0.1:$MGMT_HOST_PORT did not answer"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u guest:guest \
    "http://127.0.0.1:$MGMT_HOST_PORT/api/overview" || true)
if [ "$code" = 401 ]; then ok "default guest login disabled when RABBITMQ_USER is set"; else ko "guest login answered $code (want 401)"; fi

# ---------------------------------------------------------------- 5. scaling
t=$(date +%s)
export FILTER_REPLICAS=3
if timeout 300 docker compose up -d --wait --wait-timeout 240 > "$WORK/scale.log" 2>&1; then
    n=$(dc ps -q filter | wc -l)
    if [ "$n" -eq 3 ]; then ok "FILTER_REPLICAS=3 docker compose up -d: 3 filter containers ($(( $(date +%s) - t )) s)"
    else ko "after FILTER_REPLICAS=3: $n filter containers"; fi
else
    tail -n 20 "$WORK/scale.log"; ko "scaling up -d failed"
fi
want=$((want + 1))
# recreated containers log afresh; count only what runs now
if workers_started "$want" && gateway_listens \
   && [ "$(dc logs --no-log-prefix filter 2>/dev/null | grep -c 'started stage=filter replica=2/3')" -ge 1 ]; then
    ok "scaled pipeline up: filter replica 2/3 started"
else
    ko "scaled pipeline did not come up"
fi
rm -rf "$RESULTS_DIR/dataset1"
if timeout 300 docker compose run --rm -T client --data-folder dataset1 --no-progress \
        > "$WORK/client-scaled.log" 2>&1; then
    check_results dataset1 "after scaling"
else
    tail -n 15 "$WORK/client-scaled.log"; ko "client after scaling failed"
fi

# ---------------------------------------------------------------- 6. chaos
# Sessions last a while: ~32 MB generated sets, sent in 4 KiB batches. A
# lane starts its next session until the kills are over; a gateway kill
# makes its clients run their session again (hence the generous retries).
chaos_seed=${CHAOS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "  chaos seed $chaos_seed (CHAOS_SEED=$chaos_seed make test-docker repeats the schedule)"
t=$(date +%s)
lanes=(a b)
mkdir -p "$WORK/data" "$WORK/lanes"
for l in "${!lanes[@]}"; do
    d=chaos-${lanes[$l]}
    "$B/bin/gen-dataset" --out "$WORK/data/$d" --scale 0.01 --seed $((chaos_seed + l)) \
        --quiet > "$WORK/gen-$d.log" 2>&1 || { cat "$WORK/gen-$d.log"; ko "gen-dataset $d"; }
    python3 tests/reference/reference.py "$WORK/data/$d" "$WORK/expected/$d" \
        > "$WORK/ref-$d.log" 2>&1 &
done
ref_rc=0
wait_refs
[ $ref_rc -eq 0 ] || { cat "$WORK"/ref-chaos-*.log; ko "reference.py failed (chaos sets)"; }
lane() { # name: sessions back to back until chaos.py is done
    local name=$1 i=0 rc
    while [ $i -lt 20 ]; do
        i=$((i + 1))
        touch "$WORK/lanes/$name.active"
        DATA_DIR=$WORK/data timeout 300 docker compose run --rm -T client \
            --data-folder "chaos-$name" --output "/results/chaos-$name-$i" --no-progress \
            --batch-bytes 4096 --session-retries 50 --connect-retries 50 \
            > "$WORK/client-chaos-$name-$i.log" 2>&1
        rc=$?
        rm -f "$WORK/lanes/$name.active"
        echo "$i $rc" >> "$WORK/lanes/$name.sessions"
        [ -e "$WORK/lanes/done" ] && break
    done
}
lane_pids=()
for l in "${lanes[@]}"; do lane "$l" & lane_pids+=($!); done
python3 tests/docker/chaos.py --project "$project" --lanes "$WORK/lanes" \
    --lane a --lane b --seed "$chaos_seed" --kills "${CHAOS_KILLS:-12}" \
    --done "$WORK/lanes/done" --monitor-log "$WORK/monitors.log" > "$WORK/chaos.log" 2>&1
tally "$WORK/chaos.log" $? tests/docker/chaos.py
touch "$WORK/lanes/done"
for p in "${lane_pids[@]}"; do wait "$p"; done
for l in "${lanes[@]}"; do
    while read -r i rc; do
        if [ "$rc" -eq 0 ]; then
            check_results "chaos-$l" "chaos lane $l session $i" "chaos-$l-$i"
        else
            tail -n 15 "$WORK/client-chaos-$l-$i.log"
            ko "chaos lane $l session $i: client exited $rc"
        fi
    done < "$WORK/lanes/$l.sessions"
done
echo "  chaos phase done in $(( $(date +%s) - t )) s"

# Deliberate stops are not fought: docker pause past the hang threshold,
# docker stop (then both resumed).
t=$(date +%s)
python3 tests/docker/chaos.py --phase deliberate --project "$project" \
    --seed "$chaos_seed" > "$WORK/deliberate.log" 2>&1
tally "$WORK/deliberate.log" $? tests/docker/chaos.py
echo "  deliberate stops checked in $(( $(date +%s) - t )) s"

# ---------------------------------------------------------------- 7. teardown
t=$(date +%s)
timeout 120 docker compose stop --timeout 60 > "$WORK/stop.log" 2>&1 || true
bad=$(docker ps -a --filter "label=com.docker.compose.project=$project" \
      --format '{{.Names}} {{.Status}}' | grep -v 'Exited (0)' || true)
if [ -z "$bad" ]; then
    ok "graceful stop: every container exited 0 ($(( $(date +%s) - t )) s)"
else
    # shellcheck disable=SC2001 # indents every line
    echo "$bad" | sed 's/^/  /'
    ko "graceful stop: some containers did not exit 0"
fi
if timeout 120 docker compose down -v --remove-orphans > "$WORK/down.log" 2>&1; then
    left=$( (docker ps -aq --filter "label=com.docker.compose.project=$project"
             docker network ls -q --filter "label=com.docker.compose.project=$project"
             docker volume ls -q --filter "label=com.docker.compose.project=$project") | wc -l)
    if [ "$left" -eq 0 ]; then ok "docker compose down -v: no container, network or volume left"
    else ko "docker compose down -v left $left objects"; fi
    project=""
else
    tail -n 10 "$WORK/down.log"; ko "docker compose down -v"
fi

summary
