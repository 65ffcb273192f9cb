#!/usr/bin/env bash
# run.sh - entry of the fault-injection suites: starts a private RabbitMQ
# node the way every test does (scripts/broker.sh; an AMQP_URL given in the
# environment is used instead, but then broker restarts are skipped), runs
# one Python suite of tests/chaos with the remaining arguments, and stops the
# node on exit whatever happened (the EXIT trap of broker.sh).
#
#   tests/chaos/run.sh [chaos|crashpoints] [ARGS...]    (default: chaos)
#   tests/chaos/run.sh chaos --seed 123                  reproduce a run
#   tests/chaos/run.sh chaos --soak                      200+ kills, scale 0.1
#   tests/chaos/run.sh crashpoints --only worker.mid_emit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${B:=build}"
export B
suite=chaos
case "${1:-}" in
    chaos | crashpoints) suite=$1; shift ;;
esac
if [ ! -d ../shared/data/dev ]; then
    echo "$suite: ../shared/data/dev is missing (shared/ must sit beside the repo)" >&2
    exit 1
fi
source scripts/broker.sh

# The Python side may restart the node (Broker.restart); then broker.sh's own
# pid of it is stale, so stop it by name first (broker_stop then removes its
# data dir).
_chaos_stop_node() {
    if [ "${BROKER_EXTERNAL:-1}" = 0 ] && [ -n "${BROKER_NODE:-}" ]; then
        timeout 60 bash -c "$(declare -f _rmq); BROKER_DIR='$BROKER_DIR' _rmq rabbitmqctl -q -n '$BROKER_NODE' stop" \
            > /dev/null 2>&1 || true
    fi
}

broker_start > /dev/null
cleanup_add _chaos_stop_node
if [ "${BROKER_EXTERNAL:-1}" = 0 ]; then
    export BROKER_DIR BROKER_DIST_PORT BROKER_PORT BROKER_NODE
fi
echo "$suite: broker $AMQP_URL (management $MGMT_URL)"
python3 "tests/chaos/$suite.py" "$@"
