# shellcheck shell=bash
# tests/docker/lib.sh - shell shared by the Docker deployment tests, sourced
# by tests/docker/run.sh (make test-docker), tests/cluster/docker.sh (make
# test-cluster-docker) and tests/swarm/run.sh (make test-swarm) from the
# repository root. The sourcing script sets TEST_NAME (for the summary line)
# and WORK (its work folder) first.
#
#   ok/ko MSG        one PASS/FAIL line, counted
#   summary          "NAME: done in N s", "N passed, M failed"; status 0 if
#                    nothing failed and something passed
#   docker_setup     scripts/docker-setup.sh (engine, compose, daemon, base
#                    image), counted as a check; sets started_dockerd when it
#                    had to start a daemon
#   stop_dockerd     stops that daemon (not when CS_KEEP_DOCKERD=1)
#   end_work         the tail of an EXIT trap: stop_dockerd, then WORK removed
#                    (kept and printed with CS_KEEP_WORK=1)
#   compose_setup    for a Compose project of the test's own: the EXIT trap
#                    (down -v of the project named in $project, if any, then
#                    end_work; the exit status kept), INT/TERM exit 130, then
#                    docker_setup (summary and exit 1 when it fails); sets
#                    project="" (the caller names its project later)
#   dc ARGS          docker compose --ansi never ARGS
#   compose_build_up LIMIT WAIT WHAT [SERVICE...]
#                    docker compose build (profile client), then up -d --wait
#                    (--wait-timeout WAIT, all of it within LIMIT s), each
#                    counted as a check (WHAT names what is up); on a failure
#                    the log's tail (and the logs of the SERVICEs, all when
#                    none is named), summary, exit 1
#   free_port        a free TCP port on loopback
#   tally FILE RC WHAT  prints the output FILE of a checking script WHAT that
#                    exited RC and counts its PASS/FAIL lines (a non-zero RC
#                    without a FAIL line counts as one)

T0=$(date +%s)
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
ko() { echo "FAIL: $*"; failed=$((failed + 1)); }
elapsed() { echo "$(( $(date +%s) - T0 )) s"; }
summary() {
    echo "$TEST_NAME: done in $(elapsed)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

export CS_DOCKER_PIDFILE=$WORK/dockerd.pid
started_dockerd=""

docker_setup() {
    local t
    t=$(date +%s)
    if timeout 900 scripts/docker-setup.sh > "$WORK/setup.log" 2>&1; then
        ok "docker setup: engine, compose v2, daemon, base image ($(( $(date +%s) - t )) s)"
    else
        tail -n 40 "$WORK/setup.log"
        ko "docker setup (scripts/docker-setup.sh)"
        return 1
    fi
    grep '^docker-setup:' "$WORK/setup.log" | sed 's/^/  /'
    if [ -s "$CS_DOCKER_PIDFILE" ]; then started_dockerd=$(cat "$CS_DOCKER_PIDFILE"); fi
    return 0
}

stop_dockerd() {
    if [ -n "$started_dockerd" ] && [ "${CS_KEEP_DOCKERD:-0}" != 1 ]; then
        kill -TERM "$started_dockerd" 2>/dev/null || true
        timeout 30 tail --pid="$started_dockerd" -f /dev/null 2>/dev/null \
            || kill -KILL "$started_dockerd" 2>/dev/null || true
    fi
}

end_work() {
    stop_dockerd
    if [ "${CS_KEEP_WORK:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}

compose_down_on_exit() {
    local rc=$?
    if [ -n "${project:-}" ]; then
        timeout 120 docker compose down -v --remove-orphans --timeout 20 > "$WORK/down-trap.log" 2>&1 || true
    fi
    end_work
    exit $rc
}

compose_setup() {
    project=""
    trap compose_down_on_exit EXIT
    trap 'exit 130' INT TERM
    docker_setup || { summary; exit 1; }
}

dc() { docker compose --ansi never "$@"; }

compose_build_up() {
    local limit=$1 wait=$2 what=$3 t
    shift 3
    t=$(date +%s)
    if timeout 900 docker compose --profile client build > "$WORK/build.log" 2>&1; then
        ok "images built ($(( $(date +%s) - t )) s)"
    else
        tail -n 40 "$WORK/build.log"
        ko "docker compose build"
        summary; exit 1
    fi
    t=$(date +%s)
    if timeout "$limit" docker compose up -d --wait --wait-timeout "$wait" > "$WORK/up.log" 2>&1; then
        ok "$what ($(( $(date +%s) - t )) s)"
    else
        tail -n 20 "$WORK/up.log"; dc ps -a; dc logs --tail 20 "$@"
        ko "docker compose up -d"
        summary; exit 1
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

tally() {
    local line
    while IFS= read -r line; do
        case $line in
            PASS:*) passed=$((passed + 1)) ;;
            FAIL:*) failed=$((failed + 1)) ;;
        esac
        echo "$line"
    done < "$1"
    if [ "$2" -ne 0 ] && ! grep -q '^FAIL:' "$1"; then
        ko "$3 exited $2 ($(basename "$1"))"
    fi
}
