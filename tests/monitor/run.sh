#!/usr/bin/env bash
# run.sh - the monitors (issue 10, local mode) on real processes, real
# sockets, a private broker, loopback only (make test-monitor).
#
# Only the 3 monitors are started here; they elect a leader, which starts the
# pipeline of a spec (coordinator, gateway, 2 filters, 1 replica of every
# other kind) and keeps it alive. Checks, each a PASS/FAIL line:
#   election and start-up; a client session byte-exact against the
#   reference; kill -9 of the leader (re-elected within 3 s, revived, back as
#   follower); a leader that hangs (SIGSTOP: re-elected by timeout, killed,
#   revived); kill -9 of a follower (revived); kill -9 of a worker (detected
#   within 1 s, restarted); SIGSTOP of a worker (killed and restarted); a
#   second session byte-exact after all that; SIGTERM of a worker (a
#   deliberate stop: not restarted); a second monitor with an existing id
#   (exits 2 with a clear error, by bind and by the peers' answer); /healthz
#   200, and 503 with a slot kept down (a separate monitor and spec); SIGTERM
#   to the monitors leaves the pipeline alone; the pipeline stops cleanly and
#   nothing of ours is left running.
# Times measured from the kill (re-election, detection, restart) are printed.
# The binaries are copied into the work dir, so leftovers are easy to find
# and a rebuild during the run changes nothing.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init monitor
MON="python3 scripts/monctl.py"
LOGS="$WORK/logs"
BIN="$WORK/bin"
mkdir -p "$LOGS" "$BIN" "$WORK/state"
for b in monitor coordinator gateway filter aggregator sink client; do
    cp "$B/bin/$b" "$BIN/"
done
cp /bin/false "$BIN/exit1"
suite_start=$SECONDS

now_ms() { date +%s%3N; }

# Pids of live (not zombie) processes running one of our binaries.
ours() {
    local p exe st
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case $exe in "$BIN"/*) ;; *) continue ;; esac
        st=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1) || continue
        [ "$st" = Z ] || echo "${p#/proc/}"
    done
}
kill_ours() {
    local p
    p=$(ours | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -z "$p" ] || kill -KILL $p 2>/dev/null || true
}
gone() { # pid: gone or a zombie
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || st=""
    [ -z "$st" ] || [ "$st" = Z ]
}
wait_gone() { # pid seconds
    local i
    for ((i = 0; i < $2 * 20; i++)); do gone "$1" && return 0; sleep 0.05; done
    return 1
}

# A free port for UDP and TCP, not among the arguments.
pick_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$(_pick_port "$@") || return 1
        [ -z "$(ss -Hlun "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
    done
    return 1
}
used=()
for i in 1 2 3 4 5 6 7 8 9; do used+=("$(pick_port "${used[@]}")"); done
UDP=("${used[@]:0:3}")
HTTP=("${used[@]:3:3}")
GW_PORT=${used[6]}
SOLO_UDP=${used[7]}
SOLO_HTTP=${used[8]}
PORTS="${HTTP[0]},${HTTP[1]},${HTTP[2]}"
http_of() { echo "${HTTP[$(($1 - 1))]}"; }

# On a failure, an abort, or with MONITOR_KEEP=1 the logs outlive the work dir.
finished=0
# shellcheck disable=SC2154 # failed: counted by lib.sh
keep_logs() {
    if [ "$failed" -gt 0 ] || [ "$finished" = 0 ] || [ "${MONITOR_KEEP:-0}" = 1 ]; then
        rm -rf "/tmp/cs-monitor-logs.$$"
        cp -r "$LOGS" "/tmp/cs-monitor-logs.$$" 2>/dev/null &&
            echo "monitor: logs kept in /tmp/cs-monitor-logs.$$"
    fi
}
cleanup_add keep_logs
broker_start > /dev/null
cleanup_add kill_ours # first on exit: before the broker stops
echo "monitor: broker $AMQP_URL, work dir $WORK"

# ---------------------------------------------------------------- data
"$B/bin/gen-dataset" --out "$DATA/gen" --scale 0.002 --seed 11 > /dev/null 2>&1
python3 tests/reference/reference.py "$DATA/gen" "$WORK/expected" > /dev/null

# ---------------------------------------------------------------- spec
export CS_REPLICAS="filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1"
export MONITOR_ADDRS="127.0.0.1:${UDP[0]},127.0.0.1:${UDP[1]},127.0.0.1:${UDP[2]}"
export MONITOR_PEERS="1=127.0.0.1:${UDP[0]},2=127.0.0.1:${UDP[1]},3=127.0.0.1:${UDP[2]}"
export MONITOR_SPEC="$WORK/spec.json" MONITOR_HTTP_BIND=127.0.0.1
python3 - "$WORK" "$BIN" "$GW_PORT" "${HTTP[@]}" > "$MONITOR_SPEC" <<'EOF'
import json, sys
work, bindir, gw_port, http = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
common = {"CS_STATE_DIR": work + "/state"}
def slot(name, binary, **env):
    return {"name": name, "argv": [bindir + "/" + binary], "cwd": work,
            "env": dict(common, **env), "log": "%s/logs/%s.log" % (work, name)}
slots = [slot("coordinator", "coordinator"),
         slot("gateway", "gateway", GATEWAY_PORT=gw_port, GATEWAY_BIND="127.0.0.1",
              GATEWAY_ID="gw-monitor-test")]
for stage, binary, n in (("filter", "filter", 2), ("agg-q2", "aggregator", 1),
                         ("agg-q3", "aggregator", 1), ("agg-q4", "aggregator", 1),
                         ("sink", "sink", 1)):
    for i in range(n):
        slots.append(slot("%s-%d" % (stage, i), binary, CS_STAGE=stage,
                          CS_REPLICA_ID=str(i)))
for i in (1, 2, 3):
    slots.append(slot("monitor-%d" % i, "monitor", MONITOR_ID=str(i),
                      MONITOR_HTTP_PORT=http[i - 1]))
print(json.dumps({"slots": slots}, indent=1))
EOF
PIPELINE_SLOTS="coordinator gateway filter-0 filter-1 agg-q2-0 agg-q3-0 agg-q4-0 sink-0"

start_monitor() { # id: as the spec would (same environment), appending to its log
    MONITOR_ID=$1 MONITOR_HTTP_PORT=$(http_of "$1") "$BIN/monitor" \
        >> "$LOGS/monitor-$1.log" 2>&1 &
    disown # no job notice when the tests kill it
}

# pid_of SLOT: its pid in the leader's table ("" when none or no leader).
pid_of() {
    $MON pids "$PORTS" 2> /dev/null | awk -v n="$1" '$1 == n && $2 > 0 { print $2 }' || true
}
state_of() {
    $MON pids "$PORTS" 2> /dev/null | awk -v n="$1" '$1 == n { print $3 }' || true
}
# The leader all live monitors agree on (0: none within 15 s).
current_leader() {
    local l
    read -r l _ < <($MON leader "$PORTS" --timeout 15) || l=0
    echo "$l"
}
# The other monitors' HTTP ports, comma-separated.
others_of() {
    local i out=""
    for i in 1 2 3; do [ "$i" = "$1" ] || out+="$(http_of "$i"),"; done
    echo "${out%,}"
}
# log_ms FILE REGEX AFTER: epoch ms of the first matching line at or after
# AFTER ("" when none within 10 s).
log_ms() {
    local t
    read -r t _ < <($MON logts "$1" "$2" --after "$3" --timeout 10) || t=""
    echo "$t"
}

# run_session LABEL: a client session, compared byte for byte.
run_session() {
    local out="$WORK/out-$1"
    if timeout 120 "$BIN/client" --data-folder gen --data-root "$DATA" --output "$out" \
        --gateway "127.0.0.1:$GW_PORT" > "$out.out" 2> "$out.err"; then
        if python3 tests/reference/compare.py --exact "$WORK/expected" "$out" \
            > "$out.cmp" 2>&1; then
            ok "$1: client session byte-identical to the reference"
        else
            ko "$1: results differ from the reference"; head -20 "$out.cmp"
        fi
    else
        ko "$1: client failed: $(tail -n 3 "$out.err")"
    fi
}

# ---------------------------------------------------------------- checks

check_startup() {
    local t0 leader ms s i
    t0=$(now_ms)
    for i in 1 2 3; do start_monitor "$i"; done
    if read -r leader ms _ < <($MON leader "$PORTS" --since "$t0" --timeout 10); then
        if [ "$leader" = 3 ]; then
            ok "start-up: the 3 monitors elected monitor 3 (highest id) in $ms ms"
        else
            ko "start-up: monitor $leader leads, expected 3"
        fi
    else
        ko "start-up: no leader within 10 s"
    fi
    for s in $PIPELINE_SLOTS; do
        if ! $MON slot "$PORTS" "$s" --timeout 60 > /dev/null; then
            ko "start-up: slot $s not up within 60 s (logs in $LOGS)"
            return
        fi
    done
    ok "start-up: the leader started all 8 pipeline processes, all heartbeating ($(($(now_ms) - t0)) ms)"
    for ((i = 0; i < 200; i++)); do
        (exec 3<> "/dev/tcp/127.0.0.1/$GW_PORT") 2> /dev/null && break
        sleep 0.05
    done
}

# revived ID OLD-PID LABEL T0: the monitor must be revived by the leader and
# come back as a follower of the leader in charge.
revived() {
    local r pid ms lid
    if r=$($MON slot "$PORTS" "monitor-$1" --not-pid "$2" --since "$4" --timeout 20); then
        read -r pid ms _ <<< "$r"
        if read -r lid _ < <($MON leader "$(http_of "$1"),$PORTS" --timeout 10) &&
            [ "$lid" != "$1" ]; then
            ok "$3: monitor $1 revived (pid $2 -> $pid, $ms ms after the signal) and follows monitor $lid"
        else
            ko "$3: monitor $1 revived but does not follow the leader"
        fi
    else
        ko "$3: monitor $1 not revived within 20 s"
    fi
}

# check_leader_loss SIGNAL LABEL WHY: the leader gets SIGNAL (9: its exit is
# seen at once; 19 = SIGSTOP: the peers time out, then the new leader kills
# it as hung); a new leader within 3 s, measured by polling the survivors
# every 50 ms from the signal on.
check_leader_loss() {
    local leader old new ms t0 t
    leader=$(current_leader)
    old=$(pid_of "monitor-$leader")
    if [ "$leader" = 0 ] || [ -z "$old" ]; then
        ko "$2: no leader to take down"
        return
    fi
    if read -r new ms t0 < <($MON leader "$(others_of "$leader")" --kill "$old" \
        --signal "$1" --timeout 10) && [ "$new" != "$leader" ] && [ "$ms" -lt 3000 ]; then
        ok "$2 (monitor $leader): monitor $new leads after $ms ms (bound 3000)"
        t=$(log_ms "$LOGS/monitor-$new.log" "leader=$new .*role=leader" "$t0")
        echo "  MEASURED re-election, $3: $ms ms polled, $((${t:-$t0} - t0)) ms to the new leader's log line"
    else
        ko "$2: no new leader within 3 s (${new:-none} after ${ms:-?} ms)"
    fi
    revived "$leader" "$old" "$2" "${t0:-$(now_ms)}"
}

check_follower_loss() {
    local leader follower old t0
    leader=$(current_leader)
    follower=$((leader == 1 ? 2 : 1))
    old=$(pid_of "monitor-$follower")
    [ -n "$old" ] || { ko "follower killed: no pid for monitor-$follower"; return; }
    t0=$(now_ms)
    kill -KILL "$old"
    revived "$follower" "$old" "follower killed" "$t0"
}

# worker_back SLOT OLD-PID T0 LABEL BOUND-MS: restarted in time? Prints the
# monitor's own detection and restart figures.
worker_back() {
    local r pid ms restarts det rst
    if r=$($MON slot "$PORTS" "$1" --not-pid "$2" --since "$3" --timeout 30); then
        read -r pid ms restarts det rst <<< "$r"
        if [ "$ms" -le "$5" ]; then
            ok "$4: $1 restarted (pid $2 -> $pid) and heartbeating $ms ms after the signal (bound $5)"
        else
            ko "$4: $1 back only after $ms ms (bound $5)"
        fi
        echo "  MEASURED $4: monitor detect_ms=$det restart_ms=$rst (heartbeat gap; detection -> first heartbeat)"
    else
        ko "$4: $1 not restarted within 30 s"
    fi
}

# check_worker_loss SLOT SIGNAL LABEL WORD BOUND-MS: from the signal to the
# leader's "slot=SLOT WORD" line within BOUND-MS, then back up and heartbeating.
check_worker_loss() {
    local leader old t0 t
    leader=$(current_leader)
    old=$(pid_of "$1")
    [ -n "$old" ] || { ko "$3: no pid for $1"; return; }
    t0=$(now_ms)
    kill "-$2" "$old"
    t=$(log_ms "$LOGS/monitor-$leader.log" "slot=$1 $4" "$t0")
    if [ -z "$t" ]; then
        ko "$3: no '$4' line in monitor-$leader.log"
    elif [ $((t - t0)) -le "$5" ]; then
        ok "$3 ($2 $1): '$4' logged by the leader $((t - t0)) ms after the signal (bound $5)"
        echo "  MEASURED detection, $3: $((t - t0)) ms from the signal to the leader's '$4' line"
    else
        ko "$3: '$4' logged only $((t - t0)) ms after the signal (bound $5)"
    fi
    worker_back "$1" "$old" "$t0" "$3" $(($5 + 5000))
    if wait_gone "$old" 5; then ok "$3: pid $old is gone"; else ko "$3: pid $old still there"; fi
}

# A deliberate stop: SIGTERM, the worker says bye and exits 0.
check_deliberate() {
    local slot=$1 old starts
    old=$(pid_of "$slot")
    [ -n "$old" ] || { ko "deliberate stop: no pid for $slot"; return; }
    starts=$(cat "$LOGS"/monitor-*.log | grep -c "slot=$slot started" || true)
    kill -TERM "$old"
    if ! $MON slot "$PORTS" "$slot" --state stopped --timeout 15 > /dev/null ||
        ! wait_gone "$old" 15; then
        ko "deliberate stop: $slot not seen stopped"
        return
    fi
    sleep 3 # a restart would come within its backoff (here 0.2-0.8 s)
    if [ "$(state_of "$slot")" = stopped ] &&
        [ "$(cat "$LOGS"/monitor-*.log | grep -c "slot=$slot started" || true)" = "$starts" ]; then
        ok "deliberate stop (SIGTERM $slot: bye, exit 0): stopped, not restarted"
    else
        ko "deliberate stop: $slot was restarted (state $(state_of "$slot"))"
    fi
}

# A second monitor with an id in use: refused by bind, and by the peers'
# answer when it listens elsewhere.
check_same_id() {
    local leader dup real addr st other
    leader=$(current_leader)
    dup=$((leader == 2 ? 1 : 2))
    real=$(pid_of "monitor-$dup")
    addr="127.0.0.1:${UDP[$((dup - 1))]}"
    st=0
    MONITOR_ID=$dup MONITOR_HTTP_PORT=0 timeout 20 "$BIN/monitor" > "$WORK/dup-bind.log" 2>&1 || st=$?
    if [ "$st" = 2 ] && grep -q "monitor id $dup is already running at $addr" "$WORK/dup-bind.log"; then
        ok "same id: a second monitor $dup exits 2: $(grep -o 'monitor id [0-9] is already.*' "$WORK/dup-bind.log" | head -1)"
    else
        ko "same id: exit status $st: $(tail -n 2 "$WORK/dup-bind.log")"
    fi
    other=$(pick_port "${used[@]}")
    st=0
    MONITOR_ID=$dup MONITOR_HTTP_PORT=0 MONITOR_LISTEN="127.0.0.1:$other" timeout 20 \
        "$BIN/monitor" > "$WORK/dup-heard.log" 2>&1 || st=$?
    if [ "$st" = 2 ] && grep -q "monitor id $dup is already running at $addr" "$WORK/dup-heard.log" &&
        [ -n "$real" ] && ! gone "$real"; then
        ok "same id, another address: exits 2: $(grep -o 'monitor id [0-9] is already.*' "$WORK/dup-heard.log" | head -1); the running one stays"
    else
        ko "same id, another address: exit status $st: $(tail -n 2 "$WORK/dup-heard.log")"
    fi
}

check_health() {
    local p code body bad=0
    for p in "${HTTP[@]}"; do
        read -r code body < <($MON get "$p" /healthz) || code=0
        [ "$code" = 200 ] || { bad=1; ko "healthz: monitor on port $p answers $code $body"; }
    done
    [ "$bad" = 1 ] || ok "healthz: every monitor answers 200 {\"status\":\"ok\"} (a stopped slot is healthy)"
    read -r code _ < <($MON get "${HTTP[0]}" /nope) || code=0
    if [ "$code" = 404 ]; then ok "http: an unknown path answers 404"; else ko "http: /nope answered $code"; fi
}

# A separate monitor and spec: a slot that exits 1 at once is kept down.
check_unhealthy() {
    local solo st i code body unhealthy="" restarts
    printf '%s\n' '{"slots": [' \
        "  {\"name\": \"monitor-1\", \"argv\": [\"$BIN/monitor\"]}," \
        "  {\"name\": \"broken\", \"argv\": [\"$BIN/exit1\"], \"log\": \"$LOGS/broken.log\"}]}" \
        > "$WORK/solo.json"
    MONITOR_ID=1 MONITOR_PEERS="1=127.0.0.1:$SOLO_UDP" MONITOR_SPEC="$WORK/solo.json" \
        MONITOR_HTTP_PORT=$SOLO_HTTP MONITOR_DOWN_BOUND_MS=3000 MONITOR_ADDRS='' \
        "$BIN/monitor" > "$LOGS/solo.log" 2>&1 &
    solo=$!
    for ((i = 0; i < 200; i++)); do
        read -r code body < <($MON get "$SOLO_HTTP" /healthz) || code=0
        if [ "$code" = 503 ] && [[ $body == *'"down":["broken"]'* ]]; then
            unhealthy=$body
            break
        fi
        sleep 0.05
    done
    restarts=$($MON get "$SOLO_HTTP" | cut -d' ' -f2- | python3 -c \
        'import json,sys; print([s["restarts"] for s in json.load(sys.stdin)["slots"] if s["name"] == "broken"][0])' \
        2> /dev/null || echo 0)
    if [ -n "$unhealthy" ] && [ "$restarts" -ge 2 ]; then
        ok "healthz: 503 $unhealthy while 'broken' (exits 1 at once) is kept down past its bound; restarted $restarts times with backoff"
    else
        ko "healthz: expected 503 naming 'broken' (last: $code $body, restarts $restarts)"
    fi
    kill -TERM "$solo"
    st=0
    wait "$solo" || st=$?
    if [ "$st" = 0 ]; then ok "SIGTERM: a monitor exits 0 at once"; else ko "SIGTERM: monitor exited $st"; fi
}

# Monitors first (the pipeline must run on), then the pipeline (SIGTERM to
# the gateway: it tells everyone to stop), then nothing of ours may be left.
check_stop() {
    local name pid p ok_mons=1 alive=0 stopped=1 left gw=""
    local -a mons=() pipe=()
    while read -r name pid _; do
        [ "$pid" -gt 0 ] || continue
        case $name in
            monitor-*) mons+=("$pid") ;;
            gateway) gw=$pid; pipe+=("$pid") ;;
            *) pipe+=("$pid") ;;
        esac
    done < <($MON pids "$PORTS" || true)
    if [ ${#mons[@]} != 3 ] || [ -z "$gw" ]; then
        ko "stop: the leader's table lacks pids (monitors: ${#mons[@]}, gateway: ${gw:-none})"
        return
    fi
    kill -TERM "${mons[@]}"
    for p in "${mons[@]}"; do wait_gone "$p" 5 || ok_mons=0; done
    sleep 1 # had a monitor restarted anything, it would show now
    for p in "${pipe[@]}"; do gone "$p" || alive=$((alive + 1)); done
    if [ "$ok_mons" = 1 ] && [ "$alive" = "${#pipe[@]}" ]; then
        ok "stop: SIGTERM ended the 3 monitors at once; the ${#pipe[@]} pipeline processes run on"
    else
        ko "stop: monitors gone: $ok_mons, pipeline processes alive: $alive of ${#pipe[@]}"
    fi
    kill -TERM "$gw" 2> /dev/null || true
    for p in "${pipe[@]}"; do wait_gone "$p" 60 || stopped=0; done
    if [ "$stopped" = 1 ]; then
        ok "stop: SIGTERM to the gateway stopped the whole pipeline"
    else
        ko "stop: pipeline processes still running 60 s after the gateway's SIGTERM"
    fi
    left=$(ours | tr '\n' ' ')
    if [ -z "$left" ]; then
        ok "stop: nothing of ours is left running"
    else
        ko "stop: left running: $left"
        for p in $left; do tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null; echo; done
    fi
}

check_startup
run_session first
check_leader_loss 9 "leader killed" "kill -9 of the leader (its exit seen at once)"
check_leader_loss 19 "leader hung" "SIGSTOP of the leader (peer timeout)"
check_follower_loss
check_worker_loss agg-q3-0 KILL "worker killed" crashed 1000
# SIGSTOP: hung 5 s after its last heartbeat, which came at most 0.5 s before
check_worker_loss filter-1 STOP "worker hung" hung 5500
run_session second
check_deliberate filter-1
check_same_id
check_health
check_unhealthy
check_stop
echo "monitor: suite took $((SECONDS - suite_start)) s"
finished=1
e2e_summary
