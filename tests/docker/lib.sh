# shellcheck shell=bash
# tests/docker/lib.sh - shell shared by the Docker deployment tests, sourced
# by tests/docker/run.sh (make test-docker) and tests/swarm/run.sh (make
# test-swarm) from the repository root. The sourcing script sets TEST_NAME
# (for the summary line) and WORK (its work folder) first.
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
