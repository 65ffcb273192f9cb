#!/usr/bin/env bash
# tests/cluster/docker.sh - `make test-cluster-docker`: the Compose overlay
# docker-compose.cluster.yml, end to end, on this machine (not in CI: it
# builds every image and runs three broker containers; make test-cluster
# checks the same behaviour on private nodes in about 80 s).
#
#  1. scripts/docker-setup.sh (tests/docker/lib.sh), the images built, the
#     stack up under a project of its own with the overlay, a random Erlang
#     cookie, free loopback ports, no monitors (a killed broker is ours to
#     start again)
#  2. the three nodes clustered by configuration: cluster_status in every
#     container and the management API of each node list 3 running nodes;
#     the project's durable queues are quorum queues
#  3. two clients at once on two generated sets; once both sessions have
#     started, the node chosen by CLUSTER_SEED (printed) is killed (docker
#     compose kill: SIGKILL); both sessions byte-exact against the
#     reference; the failovers the pipeline logged (down_ms) printed
#  4. the node started again rejoins (3 running nodes everywhere)
#  5. down -v; nothing of the project left
#
# One PASS/FAIL line per check, then "N passed, M failed".
#   CS_KEEP_WORK=1   keep the work folder
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
B=${B:-build}
TEST_NAME=test-cluster-docker
WORK=$(mktemp -d /tmp/cs-cluster-docker.XXXXXX)
# ok/ko/summary, compose_setup, dc, compose_build_up, free_port
. tests/docker/lib.sh

compose_setup

SEED=${CLUSTER_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "test-cluster-docker: seed $SEED (CLUSTER_SEED=$SEED reproduces the node choice)"
project="cs-cluster-$$"
export COMPOSE_PROJECT_NAME=$project
export COMPOSE_FILE=docker-compose.yml:docker-compose.cluster.yml
# images of our own (a build here does not replace the ones other tests use)
export IMAGE_PREFIX=${IMAGE_PREFIX:-coffee-stream-cluster}
export PUBLISH_ADDR=127.0.0.1 MONITORS=0
export GATEWAY_HOST_PORT; GATEWAY_HOST_PORT=$(free_port)
export CONTROLPLANE_HOST_PORT; CONTROLPLANE_HOST_PORT=$(free_port)
export MGMT_HOST_PORT; MGMT_HOST_PORT=$(free_port)
export MGMT2_HOST_PORT; MGMT2_HOST_PORT=$(free_port)
export MGMT3_HOST_PORT; MGMT3_HOST_PORT=$(free_port)
export RABBITMQ_USER=cstest
export RABBITMQ_PASS; RABBITMQ_PASS=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export RABBITMQ_ERLANG_COOKIE; RABBITMQ_ERLANG_COOKIE=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
export DATA_DIR=$WORK/data RESULTS_DIR=$WORK/results
mkdir -p "$DATA_DIR" "$RESULTS_DIR"
chown 4242:4242 "$RESULTS_DIR" 2> /dev/null || true
nodes=(rabbitmq rabbitmq-2 rabbitmq-3)
mgmt=("$MGMT_HOST_PORT" "$MGMT2_HOST_PORT" "$MGMT3_HOST_PORT")

# ---------------------------------------------------------------- 1. build, up
compose_build_up 400 360 "up -d with the cluster overlay: 3 broker nodes healthy, pipeline running" \
    rabbitmq rabbitmq-2 rabbitmq-3

# ---------------------------------------------------------------- 2. the cluster
running() { # node -> number of running nodes cluster_status shows there
    dc exec -T "$1" rabbitmqctl -q cluster_status --formatter json 2> /dev/null |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))' 2> /dev/null
}
mgmt_running() { # host port -> running nodes its management API lists
    curl -fsS --max-time 5 -u "$RABBITMQ_USER:$RABBITMQ_PASS" "http://127.0.0.1:$1/api/nodes" 2> /dev/null |
        python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n.get("running")))' 2> /dev/null
}
all_three() { # [node to skip]: every node sees 3 running, within 90 s
    local i n view ok3
    for ((i = 0; i < 90; i++)); do
        ok3=1
        view=
        for n in "${!nodes[@]}"; do
            view="$view ${nodes[$n]}=$(running "${nodes[$n]}")/$(mgmt_running "${mgmt[$n]}")"
            [[ $view == *"=3/3" ]] || ok3=0
        done
        [ $ok3 = 1 ] && { echo "$view"; return 0; }
        sleep 1
    done
    echo "$view"
    return 1
}
if v=$(all_three); then
    ok "cluster formed by configuration: cluster_status / management API per node:$v"
else
    ko "the cluster did not form:$v"
fi
types=$(curl -fsS --max-time 10 -u "$RABBITMQ_USER:$RABBITMQ_PASS" \
    "http://127.0.0.1:$MGMT_HOST_PORT/api/queues?columns=name,type,exclusive" | python3 -c '
import json, sys
qs = json.load(sys.stdin)
bad = [q["name"] for q in qs if not q.get("exclusive") and q.get("type") != "quorum"]
print(sum(1 for q in qs if q.get("type") == "quorum"), " ".join(bad))')
if [ -n "$types" ] && [ "${types#* }" = "" ] && [ "${types%% *}" -gt 0 ]; then
    ok "CS_QUEUE_TYPE=quorum: ${types%% *} durable queues, all quorum"
else
    ko "queue types: $types"
fi

# ---------------------------------------------------------------- 3. node loss
"$B/bin/gen-dataset" --out "$DATA_DIR/a" --scale 0.05 --seed 41 --quiet > /dev/null 2>&1
"$B/bin/gen-dataset" --out "$DATA_DIR/b" --scale 0.04 --seed 42 --quiet > /dev/null 2>&1
for d in a b; do
    python3 tests/reference/reference.py "$DATA_DIR/$d" "$WORK/expected/$d" > "$WORK/ref-$d.log" 2>&1 ||
        ko "reference.py $d"
done
pids=()
for d in a b; do
    timeout 600 docker compose run --rm -T client --data-folder "$d" --no-progress \
        > "$WORK/client-$d.out" 2> "$WORK/client-$d.err" &
    pids+=($!)
done
for ((i = 0; i < 600; i++)); do
    [ "$(cat "$WORK"/client-?.err | grep -c 'session started')" -ge 2 ] && break
    sleep 0.1
done
victim=${nodes[$((SEED % 3))]}
dc kill -s SIGKILL "$victim" > "$WORK/kill.log" 2>&1
echo "  seed $SEED: killed $victim while both sessions streamed"
for j in 0 1; do
    d=$([ $j = 0 ] && echo a || echo b)
    if wait "${pids[$j]}"; then
        if python3 tests/reference/compare.py --exact "$WORK/expected/$d" "$RESULTS_DIR/$d" > "$WORK/cmp-$d.log" 2>&1 &&
            python3 tests/e2e/check_rejected.py "$WORK/expected/$d/rejected.json" "$WORK/client-$d.out" > "$WORK/rej-$d.log" 2>&1; then
            ok "session $d byte-exact with equal rejected counts across the loss of $victim ($(grep -c 'running .* again' "$WORK/client-$d.err") re-runs)"
        else
            tail -n 10 "$WORK/cmp-$d.log" "$WORK/rej-$d.log"; ko "session $d differs from the reference"
        fi
    else
        tail -n 10 "$WORK/client-$d.err"; ko "client $d failed"
    fi
done
dc logs --no-log-prefix coordinator filter agg-q2 agg-q3 agg-q4 sink gateway controlplane \
    > "$WORK/pipeline.log" 2> /dev/null
grep -o 'failover url=.*down_ms=[0-9]*' "$WORK/pipeline.log" > "$WORK/failovers.log"
n=$(wc -l < "$WORK/failovers.log")
max=$(grep -o 'down_ms=[0-9]*' "$WORK/failovers.log" | cut -d= -f2 | sort -n | tail -n 1)
echo "  PAUSE: $n connections failed over, longest outage ${max:-0} ms"
if [ "$n" -ge 1 ]; then ok "$n connections failed over to live nodes (longest outage ${max} ms)"; else ko "no failover logged"; fi
died=$(dc ps -a --format '{{.Service}} {{.State}}' | grep -v "^rabbitmq" | grep -vc ' running$')
if [ "$died" = 0 ]; then ok "no pipeline container stopped"; else dc ps -a; ko "$died pipeline containers not running"; fi

# ---------------------------------------------------------------- 4. rejoin
t=$(date +%s)
dc up -d --wait --wait-timeout 180 "$victim" > "$WORK/rejoin.log" 2>&1
if v=$(all_three); then
    ok "$victim started again rejoined in $(( $(date +%s) - t )) s:$v"
else
    ko "$victim did not rejoin:$v"
fi

# ---------------------------------------------------------------- 5. down
if timeout 180 docker compose down -v --timeout 60 > "$WORK/down.log" 2>&1; then
    project=""
    left=$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" | wc -l)
    if [ "$left" = 0 ]; then ok "down -v: nothing of the project left"; else ko "$left containers left"; fi
else
    ko "docker compose down"
fi
summary
