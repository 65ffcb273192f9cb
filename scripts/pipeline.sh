#!/usr/bin/env bash
# pipeline.sh - a bash library (source it) that starts the whole pipeline on
# this machine against $AMQP_URL: the coordinator, every worker replica of
# $CS_REPLICAS and a gateway on a free loopback port, each logging to its own
# file under $PIPELINE_LOGS. Requires scripts/broker.sh to be sourced first
# (for cleanup_add) and binaries under $B/bin.
#
#   pipeline_start            -> exports GATEWAY_ADDR, PIPELINE_LOGS and
#                                CONTROLPLANE_ADDR (the control plane's HTTP
#                                API; not under the monitors yet)
#   pipeline_stop             -> SIGTERM to everything, waits, exit statuses
#   pipeline_replicas STAGE   -> replica count of STAGE in $CS_REPLICAS
#   pipeline_restart NAME [SIG [VAR=VALUE...]]
#                             -> SIG (default KILL) to process NAME
#                                (coordinator, gateway, filter-0, agg-q2-1,
#                                ...), then the same command again (same
#                                environment but VAR=VALUE, same port for
#                                the gateway); updates PIPELINE_PIDS

#
# PIPELINE_MONITORS=1: the pipeline runs under 3 monitors (monitor/, issue
# 10) that start every process from a spec ($PIPELINE_LOGS/spec.json) and
# bring back whatever dies or hangs; the same functions work, and
# pipeline_stop stops the monitors first (then nobody restarts what stops).
# MONITOR_HTTP (their HTTP ports, comma-separated) is exported for
# scripts/monctl.py.

PIPELINE_PIDS=()
PIPELINE_NAMES=()
PIPELINE_MONITOR_PIDS=()

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

# Fills PIPELINE_NAMES/PIDS from the monitors' table (pipeline slots only).
_pipeline_pids_from_monitors() {
    local name pid state
    PIPELINE_NAMES=()
    PIPELINE_PIDS=()
    while read -r name pid state; do
        case $name in monitor-*) continue ;; esac
        [ "$pid" -gt 0 ] 2>/dev/null || continue
        PIPELINE_NAMES+=("$name")
        PIPELINE_PIDS+=("$pid")
    done < <(python3 scripts/monctl.py pids "$MONITOR_HTTP" 2>/dev/null)
    # the gateway last: pipeline_stop stops it first
    local i g=-1
    for i in "${!PIPELINE_NAMES[@]}"; do [ "${PIPELINE_NAMES[$i]}" = gateway ] && g=$i; done
    if [ "$g" -ge 0 ]; then
        PIPELINE_NAMES+=(gateway); PIPELINE_PIDS+=("${PIPELINE_PIDS[$g]}")
        unset 'PIPELINE_NAMES[g]' 'PIPELINE_PIDS[g]'
        PIPELINE_NAMES=("${PIPELINE_NAMES[@]}"); PIPELINE_PIDS=("${PIPELINE_PIDS[@]}")
    fi
}

# Starts the 3 monitors, which start the pipeline of the spec; waits until
# every slot is up.
_pipeline_start_monitors() {
    local port=$1 udp=() http=() p i s cp=()
    for i in 1 2 3 4 5 6; do
        p=$(_pick_port "$port" "${udp[@]}" "${http[@]}") || return 1
        if [ "$i" -le 3 ]; then udp+=("$p"); else http+=("$p"); fi
    done
    # PIPELINE_CONTROLPLANE=1: the control plane is a slot too (make run)
    if [ "${PIPELINE_CONTROLPLANE:-0}" = 1 ]; then
        p=${CONTROLPLANE_PORT:-$(_pick_port "$port" "${udp[@]}" "${http[@]}")} || return 1
        cp=(--controlplane-port "$p")
        export CONTROLPLANE_ADDR="127.0.0.1:$p"
    fi
    export MONITOR_ADDRS="127.0.0.1:${udp[0]},127.0.0.1:${udp[1]},127.0.0.1:${udp[2]}"
    export MONITOR_PEERS="1=127.0.0.1:${udp[0]},2=127.0.0.1:${udp[1]},3=127.0.0.1:${udp[2]}"
    export MONITOR_HTTP="${http[0]},${http[1]},${http[2]}" MONITOR_HTTP_BIND=127.0.0.1
    export MONITOR_SPEC="$PIPELINE_LOGS/spec.json" AMQP_URL CS_REPLICAS
    python3 scripts/monitor_spec.py --bin "$(cd "$B/bin" && pwd)" --logs "$PIPELINE_LOGS" \
        --cwd "$(pwd)" --replicas "$CS_REPLICAS" --gateway-port "$port" \
        --gateway-id "gw-$port" --http-ports "$MONITOR_HTTP" \
        --wrapper "${PIPELINE_WRAPPER:-}" "${cp[@]}" > "$MONITOR_SPEC" || return 1
    for i in 1 2 3; do
        MONITOR_ID=$i MONITOR_HTTP_PORT=${http[$((i - 1))]} "$B/bin/monitor" \
            >> "$PIPELINE_LOGS/monitor-$i.log" 2>&1 &
        PIPELINE_MONITOR_PIDS+=($!)
    done
    for s in $(python3 -c 'import json,sys; print(" ".join(x["name"] for x in json.load(open(sys.argv[1]))["slots"] if not x["name"].startswith("monitor-")))' "$MONITOR_SPEC"); do
        python3 scripts/monctl.py slot "$MONITOR_HTTP" "$s" \
            --timeout "${PIPELINE_START_TIMEOUT:-60}" > /dev/null || {
            echo "pipeline: the monitors did not bring up $s (logs in $PIPELINE_LOGS)" >&2
            return 1
        }
    done
    _pipeline_pids_from_monitors
}

pipeline_start() {
    local stage i n bin port
    : "${B:=build}" "${CS_REPLICAS:=}"
    export CS_REPLICAS
    PIPELINE_LOGS=${PIPELINE_LOGS:-$(mktemp -d /tmp/cs-pipeline.XXXXXX)}
    mkdir -p "$PIPELINE_LOGS"
    export PIPELINE_LOGS
    # Write-ahead logs of the stateful processes: private to this pipeline.
    export CS_STATE_DIR=${PIPELINE_STATE_DIR:-$PIPELINE_LOGS/state}
    cleanup_add pipeline_kill
    if [ "${PIPELINE_MONITORS:-0}" = 1 ]; then
        port=${GATEWAY_PORT:-$(_pick_port)}
        _pipeline_start_monitors "$port" || return 1
        export GATEWAY_ADDR="127.0.0.1:$port"
        echo "pipeline: up under 3 monitors (replicas: ${CS_REPLICAS:-all 1}), gateway $GATEWAY_ADDR, monitors' HTTP $MONITOR_HTTP${CONTROLPLANE_ADDR:+, control plane http://$CONTROLPLANE_ADDR}, logs $PIPELINE_LOGS"
        return 0
    fi
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
    # The control plane (issue 12): its HTTP API on a free loopback port
    # unless CONTROLPLANE_PORT is set; its history under CS_STATE_DIR.
    port=${CONTROLPLANE_PORT:-$(_pick_port)}
    _pipeline_spawn controlplane AMQP_URL="$AMQP_URL" CONTROLPLANE_PORT="$port" \
        CONTROLPLANE_BIND=127.0.0.1 "$B/bin/controlplane"
    pipeline_wait_log "$PIPELINE_LOGS/controlplane.log" "controlplane ready" \
        "${PIPELINE_START_TIMEOUT:-30}" || return 1
    export CONTROLPLANE_ADDR="127.0.0.1:$port"
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
    echo "pipeline: up (replicas: ${CS_REPLICAS:-all 1}), gateway $GATEWAY_ADDR, control plane http://$CONTROLPLANE_ADDR, logs $PIPELINE_LOGS"
}

# Graceful stop, the way a deployment stops: SIGTERM to the gateway first; it
# lets active sessions finish, then sends `shutdown`, which the coordinator
# broadcasts, so every worker exits by itself. Whatever is still running after
# that gets SIGTERM, then SIGKILL. Returns non-zero if any process exited
# non-zero or had to be killed.
_pipeline_wait_pid() { # pid seconds -> 0 if it ended in time
    timeout "$2" tail --pid="$1" -f /dev/null 2>/dev/null
}

# Pids of the monitors of this pipeline (ours and those another one revived:
# they carry our spec in their environment).
_pipeline_monitor_pids() {
    local e
    for e in /proc/[0-9]*/environ; do
        tr '\0' '\n' < "$e" 2>/dev/null | grep -qx "MONITOR_SPEC=$MONITOR_SPEC" &&
            grep -q . "${e%/environ}/cmdline" 2>/dev/null &&
            tr '\0' ' ' < "${e%/environ}/cmdline" | grep -q '/monitor ' &&
            basename "${e%/environ}"
    done 2>/dev/null || true
}

# Stops the monitors (SIGTERM: they leave the processes alone), so nobody
# restarts what the stop below ends; takes the current pids first.
_pipeline_stop_monitors() {
    local p
    [ ${#PIPELINE_MONITOR_PIDS[@]} -gt 0 ] || return 0
    _pipeline_pids_from_monitors
    kill -TERM "${PIPELINE_MONITOR_PIDS[@]}" 2>/dev/null || true
    for p in "${PIPELINE_MONITOR_PIDS[@]}"; do
        _pipeline_wait_pid "$p" 10 || kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    # a monitor another one revived is not our child: stop it too
    for p in $(_pipeline_monitor_pids); do
        kill -TERM "$p" 2>/dev/null || true
        _pipeline_wait_pid "$p" 10 || kill -KILL "$p" 2>/dev/null || true
    done
    PIPELINE_MONITOR_PIDS=()
}

pipeline_stop() {
    local i rc=0 st last
    _pipeline_stop_monitors
    [ ${#PIPELINE_PIDS[@]} -gt 0 ] || return 0
    last=$((${#PIPELINE_PIDS[@]} - 1))
    if [ "${PIPELINE_NAMES[$last]}" = gateway ]; then
        kill -TERM "${PIPELINE_PIDS[$last]}" 2>/dev/null || true
        _pipeline_wait_pid "${PIPELINE_PIDS[$last]}" 60 || true
        for ((i = 0; i < last; i++)); do
            # the control plane hears no shutdown: it gets SIGTERM below
            [ "${PIPELINE_NAMES[$i]}" != controlplane ] || continue
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
        [ "$st" -ne 127 ] || st=0 # not our child (started by a monitor): unknown
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
    if [ ${#PIPELINE_MONITOR_PIDS[@]} -gt 0 ]; then
        _pipeline_pids_from_monitors
        kill -KILL "${PIPELINE_MONITOR_PIDS[@]}" $(_pipeline_monitor_pids) 2>/dev/null || true
        PIPELINE_MONITOR_PIDS=()
    fi
    [ ${#PIPELINE_PIDS[@]} -gt 0 ] || return 0
    kill -KILL "${PIPELINE_PIDS[@]}" 2>/dev/null || true
    PIPELINE_PIDS=()
}

# pipeline_restart NAME [SIGNAL [VAR=VALUE...]]: what a supervisor does when a
# process dies. Sends SIGNAL (default KILL) to the running process NAME, waits
# until it is gone (SIGKILL after 20 s), and starts it again with the same
# command line, environment (VAR=VALUE added or replaced) and working
# directory, read from /proc before the signal (so NAME must still be
# running). Its log so far is kept as NAME.log.1, .2, ...; the new process
# logs to NAME.log. PIPELINE_PIDS is updated in place, so pipeline_stop and
# pipeline_kill reach the new process. Returns once it is spawned; wait for
# its ready line (pipeline_wait_log) if that matters.
pipeline_restart() {
    local name=$1 sig=${2:-KILL} i idx=-1 pid cwd st n=1
    local -a cmd=() envs=()
    shift $(($# < 2 ? $# : 2)) # VAR=VALUE overrides remain in "$@"
    for ((i = 0; i < ${#PIPELINE_NAMES[@]}; i++)); do
        if [ "${PIPELINE_NAMES[$i]}" = "$name" ]; then idx=$i; fi
    done
    if [ "$idx" -lt 0 ]; then
        echo "pipeline: no process named '$name'" >&2
        return 1
    fi
    pid=${PIPELINE_PIDS[$idx]}
    mapfile -d '' -t cmd 2>/dev/null < "/proc/$pid/cmdline" || true
    mapfile -d '' -t envs 2>/dev/null < "/proc/$pid/environ" || true
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || true
    if [ ${#cmd[@]} -eq 0 ] || [ -z "$cwd" ]; then
        echo "pipeline: $name (pid $pid) is not running; cannot restart it" >&2
        return 1
    fi
    { # (stderr: no "Killed" job notice from bash)
        kill -s "$sig" "$pid" || true
        for ((i = 0; i < 400; i++)); do # gone, or a zombie: sockets closed
            st=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1) || st=""
            if [ -z "$st" ] || [ "$st" = Z ]; then break; fi
            if [ "$i" -eq 399 ]; then kill -KILL "$pid" || true; fi
            sleep 0.05
        done
        wait "$pid" || true # reap it when it is our child
    } 2>/dev/null
    while [ -e "$PIPELINE_LOGS/$name.log.$n" ]; do n=$((n + 1)); done
    mv "$PIPELINE_LOGS/$name.log" "$PIPELINE_LOGS/$name.log.$n" 2>/dev/null || true
    (cd "$cwd" && exec env -i "${envs[@]}" "$@" "${cmd[@]}") > "$PIPELINE_LOGS/$name.log" 2>&1 &
    PIPELINE_PIDS[$idx]=$!
    echo "pipeline: restarted $name (pid $pid -> $!, after SIG$sig)" >&2
}
