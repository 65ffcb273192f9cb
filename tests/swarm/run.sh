#!/usr/bin/env bash
# tests/swarm/run.sh - `make test-swarm`: the Docker Swarm deployment
# (docker/stack.yml), end to end, on a single-node swarm on this machine.
#
#  1. scripts/docker-setup.sh (tests/docker/lib.sh): Docker Engine, Compose
#     v2, a running dockerd, the base image
#  2. tests/swarm/instep.py: docker/stack.yml in step with docker-compose.yml
#     (same images, environment, volumes, networks, ports, health check and
#     replica counts under several settings) and valid for `docker stack`
#  3. the images, as `make test-docker` builds them (same tags; `docker
#     compose build` of the stack's services: a cache hit when they exist)
#  4. `docker swarm init --advertise-addr 127.0.0.1` if this daemon is in no
#     swarm (left again at the end)
#  5. `docker stack deploy` of docker/stack.yml with .env loaded as the docs
#     say, under a stack name of its own, on free ports, with non-default
#     broker credentials; tests/swarm/ready.py waits for every task and for
#     every worker's replica index (management API)
#  6. TWO clients at once (build/bin/client against the published gateway
#     port, dataset1 and generated), each byte-identical to the reference
#     then `docker kill`s an agg-q3 task: Swarm replaces it, a client, exact
#  7. `docker service scale <stack>_filter=1` (below the configured count:
#     the filter's queues are shared), a client again, exact
#  8. FILTER_REPLICAS=3 AGG_Q2_REPLICAS=3 `docker stack deploy` again (a
#     count above the configured one changes CS_REPLICAS for every process),
#     3 filters and 3 agg-q2 shards running, two clients again, exact
#  9. `docker stack rm`: no service, task container or network of the stack
#     left; its volumes removed; the swarm left if step 4 made it.
#
# One PASS/FAIL line per check, then "N passed, M failed". Every wait is
# bounded. Traffic goes only to loopback and to the containers started here.
#   CS_SWARM_BUILD=0    use the images as they are (no `docker compose build`)
#   CS_KEEP_DOCKERD=1   leave a dockerd this test started running afterwards
#   CS_KEEP_WORK=1      keep the work folder (logs, results; printed)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
B=${B:-build}
TEST_NAME=test-swarm
WORK=$(mktemp -d /tmp/cs-swarm.XXXXXX)
# ok/ko/summary, docker_setup, end_work, free_port, tally
. tests/docker/lib.sh
stack=""
made_swarm=0
made_gwbridge=0

# What a stack leaves: its services, task containers and networks.
left_of() {
    docker service ls -q --filter "label=com.docker.stack.namespace=$1"
    docker ps -aq --filter "label=com.docker.stack.namespace=$1"
    docker network ls -q --filter "label=com.docker.stack.namespace=$1"
}
# docker stack rm returns before its containers are gone: polls (bounded)
# until nothing is left, then removes the stack's volumes. 0 when clean.
stack_remove() {
    local s=$1 i n v
    timeout 60 docker stack rm "$s" > "$WORK/rm-$s.log" 2>&1 || return 1
    for ((i = 0; i < 240; i++)); do
        n=$(left_of "$s" | wc -l)
        [ "$n" -eq 0 ] && break
        sleep 0.5
    done
    [ "$n" -eq 0 ] || return 1
    for ((i = 0; i < 60; i++)); do
        v=$(docker volume ls -q --filter "label=com.docker.stack.namespace=$s")
        [ -z "$v" ] && return 0
        # shellcheck disable=SC2086 # one name per word
        docker volume rm $v > /dev/null 2>&1 || sleep 0.5
    done
    return 1
}
leave_swarm() {
    [ "$made_swarm" -eq 1 ] || return 0
    timeout 60 docker swarm leave --force > "$WORK/leave.log" 2>&1 || return 1
    made_swarm=0
    if [ "$made_gwbridge" -eq 1 ]; then
        docker network rm docker_gwbridge > /dev/null 2>&1 || true
    fi
}
cleanup() {
    local rc=$?
    if [ -n "$stack" ]; then stack_remove "$stack" || true; fi
    leave_swarm || true
    end_work
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. setup
docker_setup || { summary; exit 1; }

# ---------------------------------------------------------------- 2. in step
python3 tests/swarm/instep.py > "$WORK/instep.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
    ok "docker/stack.yml in step with docker-compose.yml ($(grep -c '^PASS' "$WORK/instep.log") checks, tests/swarm/instep.py) and valid for docker stack"
else
    tally "$WORK/instep.log" $rc tests/swarm/instep.py
fi

# ---------------------------------------------------------------- 3. images
services=(rabbitmq coordinator filter agg-q2 agg-q3 agg-q4 sink gateway controlplane)
t=$(date +%s)
if [ "${CS_SWARM_BUILD:-1}" = 0 ]; then
    missing=""
    for img in rabbitmq coordinator filter aggregator sink gateway controlplane; do
        docker image inspect "${IMAGE_PREFIX:-coffee-stream}/$img:${IMAGE_TAG:-latest}" \
            > /dev/null 2>&1 || missing="$missing $img"
    done
    if [ -z "$missing" ]; then ok "images present (CS_SWARM_BUILD=0: not rebuilt)"
    else ko "images missing:$missing"; summary; exit 1; fi
elif timeout 900 docker compose build "${services[@]}" > "$WORK/build.log" 2>&1; then
    ok "images built (docker compose build, as make test-docker: $(( $(date +%s) - t )) s)"
else
    tail -n 40 "$WORK/build.log"; ko "docker compose build"; summary; exit 1
fi

# ---------------------------------------------------------------- 4. swarm
state=$(docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)
if [ "$state" = inactive ]; then
    docker network inspect docker_gwbridge > /dev/null 2>&1 || made_gwbridge=1
    if timeout 60 docker swarm init --advertise-addr 127.0.0.1 > "$WORK/init.log" 2>&1; then
        made_swarm=1
        ok "docker swarm init --advertise-addr 127.0.0.1 (this daemon was in no swarm)"
    else
        cat "$WORK/init.log"; ko "docker swarm init"; summary; exit 1
    fi
elif [ "$(docker info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ]; then
    ok "this daemon is already a swarm manager (state $state): used as it is"
else
    ko "this daemon is in a swarm (state $state) but not a manager"; summary; exit 1
fi

# ---------------------------------------------------------------- 5. deploy
# As docs/DOCKER.md says: .env exported (docker stack deploy does not read
# it), then this test's own settings on top.
set -a
. ./.env
set +a
export GATEWAY_HOST_PORT; GATEWAY_HOST_PORT=$(free_port)
export MGMT_HOST_PORT; MGMT_HOST_PORT=$(free_port)
export CONTROLPLANE_HOST_PORT; CONTROLPLANE_HOST_PORT=$(free_port)
export RABBITMQ_USER=cstest
export RABBITMQ_PASS; RABBITMQ_PASS=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export FILTER_REPLICAS=2 AGG_Q2_REPLICAS=2 AGG_Q3_REPLICAS=2 AGG_Q4_REPLICAS=2 SINK_REPLICAS=2
stack="cs-swarm-$$"

deploy() { # label
    local t rc
    t=$(date +%s)
    timeout 400 docker stack deploy --detach=false --resolve-image never \
        -c docker/stack.yml "$stack" > "$WORK/deploy-$1.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$1: docker stack deploy converged ($(( $(date +%s) - t )) s)"
    else
        grep -v 'Waiting\|progress' "$WORK/deploy-$1.log" | tail -n 20
        ko "$1: docker stack deploy exited $rc"
    fi
    return $rc
}
replicas() {
    echo "filter=$FILTER_REPLICAS,agg-q2=$AGG_Q2_REPLICAS,agg-q3=$AGG_Q3_REPLICAS,agg-q4=$AGG_Q4_REPLICAS,sink=$SINK_REPLICAS"
}
ready() { # label [tasks per stage, when not the configured counts]
    if python3 tests/swarm/ready.py --stack "$stack" --mgmt-port "$MGMT_HOST_PORT" \
            --gateway-port "$GATEWAY_HOST_PORT" --controlplane-port "$CONTROLPLANE_HOST_PORT" \
            --services "${#services[@]}" --user "$RABBITMQ_USER" \
            --password "$RABBITMQ_PASS" --replicas "$(replicas)" --running "${2:-}" \
            --timeout 240 > "$WORK/ready-$1.log" 2>&1; then
        ok "$1: $(tail -n 1 "$WORK/ready-$1.log")"
    else
        cat "$WORK/ready-$1.log"; docker stack ps "$stack" --no-trunc 2>&1 | tail -n 30
        ko "$1: stack not ready"
        return 1
    fi
}
if ! deploy deploy || ! ready deploy; then summary; exit 1; fi

# ---------------------------------------------------------------- 6. clients
python3 tests/reference/reference.py .data/dataset1 "$WORK/expected/dataset1" > "$WORK/ref-1.log" 2>&1 &
ref1=$!
python3 tests/reference/reference.py .data/generated "$WORK/expected/generated" > "$WORK/ref-2.log" 2>&1 &
ref2=$!
if wait $ref1 && wait $ref2; then :; else cat "$WORK"/ref-*.log; ko "reference.py failed"; fi

clients() { # label data-folder...: one client per folder, all at once
    local label=$1 d j t pids=()
    shift
    t=$(date +%s)
    for d in "$@"; do
        "$B/bin/client" --data-folder "$d" --gateway "127.0.0.1:$GATEWAY_HOST_PORT" \
            --output "$WORK/results/$label-$d" --no-progress --batch-bytes 8192 \
            --name "swarm-$label-$d" > "$WORK/client-$label-$d.log" 2>&1 &
        pids+=($!)
    done
    j=0
    for d in "$@"; do
        if wait "${pids[$j]}"; then
            if python3 tests/reference/compare.py --exact "$WORK/expected/$d" \
                    "$WORK/results/$label-$d" > "$WORK/cmp-$label-$d.log" 2>&1; then
                ok "$label: client $d ($# at once) byte-identical to the reference"
            else
                tail -n 20 "$WORK/cmp-$label-$d.log"; ko "$label: client $d differs from the reference"
            fi
        else
            tail -n 15 "$WORK/client-$label-$d.log"; ko "$label: client $d failed"
        fi
        j=$((j + 1))
    done
    echo "  $label: clients done in $(( $(date +%s) - t )) s"
    [ $# -gt 1 ] && overlapped "$label" "$@"
    return 0
}
# The sessions of one clients() call ran at the same time: in the gateway's
# log, every one of them started before the first of them ended.
overlapped() { # label data-folder...
    local label=$1 d line starts=0 pat=""
    shift
    for d in "$@"; do pat="$pat|client=swarm-$label-$d "; done
    while read -r line; do
        case $line in
            *"session start"*) starts=$((starts + 1)) ;;
            *"session end"*) break ;;
        esac
    done < <(docker service logs --raw "${stack}_gateway" 2>&1 | sort \
             | grep -E "session (start|end) " | grep -E "${pat#|}")
    if [ "$starts" -eq $# ]; then
        ok "$label: the $# sessions overlapped (all started before one ended, gateway log)"
    else
        ko "$label: only $starts of $# sessions started before the first ended"
    fi
}
clients deployed dataset1 generated

# ---------------------------------------------------------------- 6b. docker kill
# Swarm is the supervisor (no monitors in the stack): a task killed with
# `docker kill` is replaced, claims its index back, and sessions stay exact.
svc="${stack}_agg-q3"
victim=$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc" | head -n 1)
t=$(date +%s%N)
if [ -n "$victim" ] && docker kill "$victim" > /dev/null 2>&1; then
    for ((i = 0; i < 120; i++)); do
        now=$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc")
        if [ "$(echo "$now" | grep -c .)" -eq "$AGG_Q3_REPLICAS" ] && ! echo "$now" | grep -q "$victim"; then
            break
        fi
        sleep 0.25
    done
    if [ "$i" -lt 120 ]; then
        ok "docker kill of an agg-q3 task: Swarm started a new one after $(( ($(date +%s%N) - t) / 1000000 )) ms"
    else
        ko "docker kill of an agg-q3 task: not replaced within 30 s"
    fi
else
    ko "no agg-q3 task container to kill"
fi
ready killed && clients killed dataset1

# ---------------------------------------------------------------- 7. service scale
# Below the configured count a stateless stage needs nothing else: the
# filter replicas share their work queues, and the filter stage is done
# when any one replica is.
t=$(date +%s)
if timeout 120 docker service scale --detach=false "${stack}_filter=1" > "$WORK/scale.log" 2>&1; then
    ok "docker service scale ${stack}_filter=1 converged ($(( $(date +%s) - t )) s)"
else
    tail -n 10 "$WORK/scale.log"; ko "docker service scale ${stack}_filter=1"
fi
ready scaled-down filter=1 && clients scaled-down dataset1

# ---------------------------------------------------------------- 8. redeploy
# Above it, CS_REPLICAS must change for every process: deploy again.
export FILTER_REPLICAS=3 AGG_Q2_REPLICAS=3
if deploy redeployed && ready redeployed; then
    n=$(docker service logs --raw "${stack}_filter" 2>&1 | grep -c 'started stage=filter replica=2/3')
    m=$(docker service logs --raw "${stack}_agg-q2" 2>&1 | grep -c 'started stage=agg-q2 replica=2/3')
    if [ "$n" -ge 1 ] && [ "$m" -ge 1 ]; then
        ok "redeployed: filter replica 2/3 and agg-q2 replica 2/3 started (CS_REPLICAS changed)"
    else
        ko "redeployed: filter 2/3 started $n times, agg-q2 2/3 $m times"
    fi
    clients redeployed dataset1 generated
fi

# ---------------------------------------------------------------- 9. remove
t=$(date +%s)
if stack_remove "$stack"; then
    ok "docker stack rm: no service, container, network or volume of the stack left ($(( $(date +%s) - t )) s)"
    stack=""
else
    left_of "$stack" | head; docker volume ls --filter "label=com.docker.stack.namespace=$stack"
    ko "docker stack rm left objects of $stack"
fi
if [ "$made_swarm" -eq 1 ]; then
    if leave_swarm && [ "$(docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = inactive ]; then
        ok "docker swarm leave --force: this daemon is in no swarm again"
    else
        ko "docker swarm leave"
    fi
fi

summary
