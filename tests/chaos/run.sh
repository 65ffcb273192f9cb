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

# Every process the suite starts inherits this tag. Processes the monitors
# start live in sessions of their own and get no parent-death signal, so
# should the Python side die abruptly they would outlive it: on exit,
# whatever still runs one of our programs with this tag is SIGKILLed, by pid,
# the monitors first (else they restart the rest); our own processes only,
# and normally there is none left.
export CHAOS_RUN_TAG="chaos-$$-$RANDOM$RANDOM"
_chaos_tagged() { # program names -> pids of ours running one of them
    local e pid exe
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}
        pid=${pid%/environ}
        exe=$(readlink "/proc/$pid/exe" 2> /dev/null) || continue
        case " $* " in *" ${exe##*/} "*) ;; *) continue ;; esac
        tr '\0' '\n' < "$e" 2> /dev/null | grep -qx "CHAOS_RUN_TAG=$CHAOS_RUN_TAG" &&
            echo "$pid"
    done
}
_chaos_running() { # pids -> those still running (not gone, not zombies)
    local p
    for p in "$@"; do readlink "/proc/$p/exe" > /dev/null 2>&1 && echo "$p"; done
}
_chaos_kill_wait() { # pids: SIGKILL, then wait (at most 5 s) until they are gone
    local i
    [ $# -gt 0 ] || return 0
    kill -KILL "$@" 2> /dev/null || true
    for ((i = 0; i < 100; i++)); do
        [ -n "$(_chaos_running "$@")" ] || return 0
        sleep 0.05
    done
}
_chaos_kill_leftovers() {
    local _ pids
    # the monitors first (gone, they restart nothing), then the rest; again
    # if a monitor started something meanwhile
    for _ in 1 2 3; do
        mapfile -t pids < <(_chaos_tagged monitor)
        _chaos_kill_wait "${pids[@]}"
        mapfile -t pids < <(_chaos_tagged coordinator gateway filter aggregator sink client)
        [ ${#pids[@]} -gt 0 ] || return 0
        echo "$suite: killing leftover processes of ours: ${pids[*]}" >&2
        _chaos_kill_wait "${pids[@]}"
    done
}
cleanup_add _chaos_kill_leftovers
if [ "${BROKER_EXTERNAL:-1}" = 0 ]; then
    export BROKER_DIR BROKER_DIST_PORT BROKER_PORT BROKER_NODE
fi
echo "$suite: broker $AMQP_URL (management $MGMT_URL)"
python3 "tests/chaos/$suite.py" "$@"
