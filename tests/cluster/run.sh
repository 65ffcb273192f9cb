#!/usr/bin/env bash
# run.sh - `make test-cluster`: the pipeline on a 3-node RabbitMQ cluster
# with quorum queues, one node SIGKILLed mid-session (tests/cluster/cluster.py
# says what is checked). The nodes are private rabbitmq-server processes on
# loopback, started by the Python side; whatever carries this run's tag
# (CS_CLUSTER_TAG: the nodes, the pipeline, the clients) is SIGKILLed on
# exit, by pid, should the Python side die without stopping it.
#
#   tests/cluster/run.sh [--seed N] [--scale S] [--keep]   (CLUSTER_SEED=N too)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${B:=build}"
export B
if [ ! -x /usr/sbin/rabbitmq-server ] && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    echo "cluster: rabbitmq-server is not installed: run scripts/deps.sh" >&2
    exit 1
fi
# The nodes are ours; an AMQP_URL from the environment is not used.
unset AMQP_URL MGMT_URL
export CS_CLUSTER_TAG="cluster-$$-$RANDOM$RANDOM"

_tagged() { # pids of processes of ours (this run's tag in their environment)
    local e pid
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}
        pid=${pid%/environ}
        [ "$pid" != $$ ] || continue
        tr '\0' '\n' 2> /dev/null < "$e" | grep -qx "CS_CLUSTER_TAG=$CS_CLUSTER_TAG" &&
            echo "$pid"
    done
}
_leftovers() {
    local pids
    mapfile -t pids < <(_tagged)
    [ ${#pids[@]} -gt 0 ] || return 0
    echo "cluster: killing leftover processes of ours: ${pids[*]}" >&2
    kill -KILL "${pids[@]}" 2> /dev/null || true
}
trap _leftovers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
python3 tests/cluster/cluster.py "$@"
