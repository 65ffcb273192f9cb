#!/usr/bin/env bash
# pipeline.sh - a bash library (source it) that starts the whole pipeline on
# this machine against $AMQP_URL: the coordinator, every worker replica of
# $CS_REPLICAS and a gateway on a free loopback port, each logging to its own
# file under $PIPELINE_LOGS. Requires scripts/broker.sh to be sourced first
# (for cleanup_add) and binaries under $B/bin.
#
#   pipeline_start            -> exports GATEWAY_ADDR, PIPELINE_LOGS
#   pipeline_stop             -> SIGTERM to everything, waits, exit statuses
#   pipeline_replicas STAGE   -> replica count of STAGE in $CS_REPLICAS

PIPELINE_PIDS=()
PIPELINE_NAMES=()

pipeline_replicas() {
    local stage=$1 item
    IFS=',' read -ra items <<< "${CS_REPLICAS:-}"
    for item in "${items[@]}"; do
        if [ "${item%%=*}" = "$stage" ]; then echo "${item#*=}"; return; fi
    done
    echo 1
}

_pipeline_bin() {
    case $1 in
        filter) echo filter ;;
        agg-*) echo aggregator ;;
        sink) echo sink ;;
        *) echo "$1" ;;
    esac
}

# PIPELINE_WRAPPER (e.g. "valgrind --leak-check=full") runs every process
# under a tool; the log of each then holds the tool's report too.
_pipeline_spawn() { # name, env assignments, then the command
    local name=$1; shift
    local -a envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    # shellcheck disable=SC2086
    env "${envs[@]}" ${PIPELINE_WRAPPER:-} "$@" > "$PIPELINE_LOGS/$name.log" 2>&1 &
    PIPELINE_PIDS+=($!)
    PIPELINE_NAMES+=("$name")
}

# Waits (bounded) until file $1 contains pattern $2.
pipeline_wait_log() {
    local file=$1 pattern=$2 limit=${3:-30} i
    for ((i = 0; i < limit * 20; i++)); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "pipeline: timed out waiting for '$pattern' in $file" >&2
    tail -n 20 "$file" >&2 || true
    return 1
}

pipeline_start() {
    local stage i n bin port
    : "${B:=build}" "${CS_REPLICAS:=}"
    export CS_REPLICAS
    PIPELINE_LOGS=${PIPELINE_LOGS:-$(mktemp -d /tmp/cs-pipeline.XXXXXX)}
    mkdir -p "$PIPELINE_LOGS"
    export PIPELINE_LOGS
    cleanup_add pipeline_kill
    _pipeline_spawn coordinator AMQP_URL="$AMQP_URL" CS_REPLICAS="$CS_REPLICAS" \
        "$B/bin/coordinator"
    for stage in filter agg-q2 agg-q3 agg-q4 sink; do
        n=$(pipeline_replicas "$stage")
        bin=$(_pipeline_bin "$stage")
        for ((i = 0; i < n; i++)); do
            # PIPELINE_AUTO_REPLICA=1: identical replicas claim their index
            _pipeline_spawn "$stage-$i" AMQP_URL="$AMQP_URL" CS_REPLICAS="$CS_REPLICAS" \
                CS_STAGE="$stage" \
                CS_REPLICA_ID="$([ "${PIPELINE_AUTO_REPLICA:-0}" = 1 ] && echo auto || echo "$i")" \
                "$B/bin/$bin"
        done
    done
    for ((i = 1; i < ${#PIPELINE_NAMES[@]}; i++)); do
        pipeline_wait_log "$PIPELINE_LOGS/${PIPELINE_NAMES[$i]}.log" "started stage=" \
            "${PIPELINE_START_TIMEOUT:-30}" || return 1
    done
    port=${GATEWAY_PORT:-$(_pick_port)}
    _pipeline_spawn gateway AMQP_URL="$AMQP_URL" CS_REPLICAS="$CS_REPLICAS" \
        GATEWAY_PORT="$port" GATEWAY_BIND=127.0.0.1 "$B/bin/gateway"
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "pipeline: gateway did not listen on $port" >&2
        tail -n 20 "$PIPELINE_LOGS/gateway.log" >&2
        return 1
    fi
    export GATEWAY_ADDR="127.0.0.1:$port"
    echo "pipeline: up (replicas: ${CS_REPLICAS:-all 1}), gateway $GATEWAY_ADDR, logs $PIPELINE_LOGS"
}

# Graceful stop, the way a deployment stops: SIGTERM to the gateway first; it
# lets active sessions finish, then sends `shutdown`, which the coordinator
# broadcasts, so every worker exits by itself. Whatever is still running after
# that gets SIGTERM, then SIGKILL. Returns non-zero if any process exited
# non-zero or had to be killed.
_pipeline_wait_pid() { # pid seconds -> 0 if it ended in time
    timeout "$2" tail --pid="$1" -f /dev/null 2>/dev/null
}

pipeline_stop() {
    local i rc=0 st last
    [ ${#PIPELINE_PIDS[@]} -gt 0 ] || return 0
    last=$((${#PIPELINE_PIDS[@]} - 1))
    if [ "${PIPELINE_NAMES[$last]}" = gateway ]; then
        kill -TERM "${PIPELINE_PIDS[$last]}" 2>/dev/null || true
        _pipeline_wait_pid "${PIPELINE_PIDS[$last]}" 60 || true
        for ((i = 0; i < last; i++)); do
            _pipeline_wait_pid "${PIPELINE_PIDS[$i]}" 15 || break
        done
    fi
    kill -TERM "${PIPELINE_PIDS[@]}" 2>/dev/null || true
    for ((i = 0; i < ${#PIPELINE_PIDS[@]}; i++)); do
        st=0
        _pipeline_wait_pid "${PIPELINE_PIDS[$i]}" 20 || {
            echo "pipeline: ${PIPELINE_NAMES[$i]} did not exit; killing" >&2
            kill -KILL "${PIPELINE_PIDS[$i]}" 2>/dev/null || true
            rc=1
        }
        wait "${PIPELINE_PIDS[$i]}" 2>/dev/null || st=$?
        if [ "$st" -ne 0 ]; then
            echo "pipeline: ${PIPELINE_NAMES[$i]} exited with status $st" >&2
            rc=1
        fi
    done
    PIPELINE_PIDS=()
    PIPELINE_NAMES=()
    return $rc
}

pipeline_kill() {
    [ ${#PIPELINE_PIDS[@]} -gt 0 ] || return 0
    kill -KILL "${PIPELINE_PIDS[@]}" 2>/dev/null || true
    PIPELINE_PIDS=()
}
