# shellcheck shell=bash
# broker.sh - source me: a RabbitMQ broker for tests and `make run`.
#
#   source scripts/broker.sh
#   broker_start      use $AMQP_URL if set (MGMT_URL from the environment or
#                     http://127.0.0.1:15672); otherwise start a private node
#                     (Debian's rabbitmq-server) on free loopback ports with
#                     its own data dir and the management plugin. Exports
#                     AMQP_URL, MGMT_URL and, for a private node, BROKER_NODE.
#   broker_restart    private node only: stop it and start it again on the
#                     same ports and data dir (durable queues survive).
#   broker_stop       stop the private node and remove its data dir (also
#                     done by the EXIT trap).
#   cleanup_add CMD   add CMD to the commands one EXIT trap runs, last added
#                     first; INT and TERM exit through the same trap.
#
# Settings: BROKER_START_TIMEOUT (seconds, default 60).

_CLEANUP_CMDS=()
_CLEANUP_TRAP=0

_cleanup_run() {
    local rc=$? i
    set +e
    for ((i = ${#_CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
        eval "${_CLEANUP_CMDS[i]}"
    done
    _CLEANUP_CMDS=()
    return $rc
}

cleanup_add() {
    _CLEANUP_CMDS+=("$1")
    if [ "$_CLEANUP_TRAP" = 0 ]; then
        trap _cleanup_run EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        _CLEANUP_TRAP=1
    fi
}

_broker_log() { echo "broker: $*" >&2; }

# Is nothing listening on 127.0.0.1:$1?
_port_free() {
    if command -v ss >/dev/null 2>&1; then
        [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Prints a random free port not among the arguments, below the kernel's
# ephemeral range (a port picked there can be taken by some outgoing
# connection before the node binds it).
_pick_port() {
    local p i lo=32768
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r lo _ </proc/sys/net/ipv4/ip_local_port_range || lo=32768
    fi
    [ "$lo" -gt 12000 ] || lo=32768
    for ((i = 0; i < 100; i++)); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        case " $* " in *" $p "*) continue ;; esac
        if _port_free "$p"; then
            echo "$p"
            return 0
        fi
    done
    _broker_log "no free port found"
    return 1
}

# rabbitmq-server / rabbitmqctl: Debian's wrappers switch to user rabbitmq
# when run as root; anyone else runs the real scripts with a private HOME
# (where Erlang keeps its cookie).
_rmq() {
    local tool=$1
    shift
    if [ "$(id -u)" = 0 ]; then
        "/usr/sbin/$tool" "$@"
    else
        HOME="$BROKER_DIR/home" "/usr/lib/rabbitmq/bin/$tool" "$@"
    fi
}

_broker_launch() {
    # setsid: the node does not get the test's terminal signals (Ctrl-C
    # reaches the EXIT trap, which stops it cleanly).
    RABBITMQ_NODENAME="$BROKER_NODE" \
    RABBITMQ_CONFIG_FILE="$BROKER_DIR/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$BROKER_DIR/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$BROKER_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$BROKER_DIR/log" \
    RABBITMQ_DIST_PORT="$BROKER_DIST_PORT" \
        setsid -w bash -c "$(declare -f _rmq); BROKER_DIR='$BROKER_DIR' _rmq rabbitmq-server" \
        >>"$BROKER_DIR/out" 2>&1 </dev/null &
    BROKER_PID=$!
}

_broker_fail() {
    _broker_log "$*"
    _broker_log "---- tail of $BROKER_DIR/out and the node log ----"
    tail -n 30 "$BROKER_DIR/out" >&2 2>/dev/null
    tail -n 30 "$BROKER_DIR"/log/*.log >&2 2>/dev/null
    return 1
}

# Polls (bounded) until the management API and the AMQP port answer.
_broker_wait() {
    local limit=${BROKER_START_TIMEOUT:-60} start=$SECONDS
    while ((SECONDS - start < limit)); do
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            _broker_fail "node $BROKER_NODE exited during startup"
            return 1
        fi
        if curl -fsS -m 2 -u guest:guest "$MGMT_URL/api/overview" >/dev/null 2>&1 &&
            (exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.5
    done
    _broker_fail "node $BROKER_NODE did not answer within ${limit}s"
}

# Picks ports, writes the node's configuration and starts it.
_broker_try() {
    BROKER_PORT=$(_pick_port) || return 1
    BROKER_MGMT_PORT=$(_pick_port "$BROKER_PORT") || return 1
    BROKER_DIST_PORT=$(_pick_port "$BROKER_PORT" "$BROKER_MGMT_PORT") || return 1
    BROKER_NODE="cs$BROKER_PORT@localhost"
    rm -rf "${BROKER_DIR:?}"/*
    mkdir -p "$BROKER_DIR/mnesia" "$BROKER_DIR/log" "$BROKER_DIR/home"
    printf '%s\n' "listeners.tcp.default = 127.0.0.1:$BROKER_PORT" \
        "management.tcp.ip = 127.0.0.1" \
        "management.tcp.port = $BROKER_MGMT_PORT" >"$BROKER_DIR/rabbitmq.conf"
    echo '[rabbitmq_management].' >"$BROKER_DIR/enabled_plugins"
    if [ "$(id -u)" = 0 ]; then
        chown -R rabbitmq:rabbitmq "$BROKER_DIR"
    fi
    export AMQP_URL="amqp://guest:guest@127.0.0.1:$BROKER_PORT/"
    export MGMT_URL="http://127.0.0.1:$BROKER_MGMT_PORT"
    export BROKER_NODE
    _broker_log "starting $BROKER_NODE amqp=$BROKER_PORT mgmt=$BROKER_MGMT_PORT dir=$BROKER_DIR"
    _broker_launch
    _broker_wait
}

broker_start() {
    local try
    if [ -n "${AMQP_URL:-}" ]; then
        export AMQP_URL
        export MGMT_URL=${MGMT_URL:-http://127.0.0.1:15672}
        BROKER_EXTERNAL=1
        return 0
    fi
    BROKER_EXTERNAL=0
    if [ ! -x /usr/sbin/rabbitmq-server ] && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
        _broker_log "rabbitmq-server is not installed: run scripts/deps.sh (or set AMQP_URL)"
        return 1
    fi
    BROKER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cs-broker.XXXXXX")
    cleanup_add broker_stop
    # A port can still be taken between the check and the node's bind:
    # then the node exits and we try again with other ports.
    for try in 1 2 3; do
        if _broker_try; then
            return 0
        fi
        _broker_halt
        [ "$try" = 3 ] || _broker_log "retrying with other ports"
    done
    unset AMQP_URL MGMT_URL BROKER_NODE
    return 1
}

# Pids of the processes under $1 (the node runs below su, which starts a
# new session, so its process group does not cover it).
_descendants() {
    local p
    for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$p"
        _descendants "$p"
    done
}

# Stops the private node and waits (bounded) until its processes are gone.
_broker_halt() {
    local start=$SECONDS tree
    [ -n "${BROKER_PID:-}" ] || return 0
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        tree="$BROKER_PID $(_descendants "$BROKER_PID")"
        timeout 60 bash -c "$(declare -f _rmq); BROKER_DIR='$BROKER_DIR' _rmq rabbitmqctl -q -n '$BROKER_NODE' stop" \
            >/dev/null 2>&1
        while kill -0 "$BROKER_PID" 2>/dev/null && ((SECONDS - start < 30)); do
            sleep 0.2
        done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            _broker_log "node $BROKER_NODE did not stop: killing it"
            # shellcheck disable=SC2086
            kill -9 $tree 2>/dev/null
        fi
    fi
    wait "$BROKER_PID" 2>/dev/null
    BROKER_PID=
    return 0
}

broker_restart() {
    if [ "${BROKER_EXTERNAL:-1}" = 1 ]; then
        _broker_log "broker_restart needs the private node (AMQP_URL was given)"
        return 1
    fi
    _broker_log "restarting $BROKER_NODE"
    _broker_halt
    _broker_launch
    _broker_wait
}

broker_stop() {
    if [ "${BROKER_EXTERNAL:-1}" = 1 ] || [ -z "${BROKER_DIR:-}" ]; then
        return 0
    fi
    _broker_halt
    rm -rf "$BROKER_DIR"
    BROKER_DIR=
}
