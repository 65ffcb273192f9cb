#!/usr/bin/env bash
# run.sh - `make test-middleware`: the middleware (libmw) against a real
# RabbitMQ: a private node started by scripts/broker.sh, or $AMQP_URL.
#
# Every case runs under a timeout, prints one PASS/FAIL line saying what it
# checked, and the run ends with "N passed, M failed" (exit 1 if any
# failed). The broker-restart case needs the private node: with AMQP_URL
# set it prints SKIP and is not counted. The address-list cases run AMQP_URL
# lists (dead addresses first; two proxies standing for two nodes of a
# cluster, tests/middleware/tcpproxy.py, one of them killed). Multi-process cases synchronize on lines the processes print
# (READY, HOLDING, PROGRESS k), never on sleeps. Queue and exchange names
# carry a per-run suffix so runs do not collide.
#
#   B          build dir (default build); the driver is $B/bin/mwt
#   CASES      space-separated case numbers to run (default: all)
#   KEEP_LOGS  1: keep the per-case logs directory
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${B:=build}"
MWT="$B/bin/mwt"
RUN=$$
TMO=60

# shellcheck source=scripts/broker.sh
source scripts/broker.sh

if [ ! -x "$MWT" ]; then
    echo "run.sh: $MWT not built (make programs)" >&2
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cs-mwt.XXXXXX")
if [ "${KEEP_LOGS:-0}" = 1 ]; then
    echo "run.sh: logs in $WORK"
else
    cleanup_add "rm -rf '$WORK'"
fi

declare -A BG=()
kill_bg() {
    local p
    for p in "${BG[@]}"; do
        kill "$p" 2>/dev/null || true
    done
}
cleanup_add kill_bg

# start_bg NAME CMD...: runs CMD under a timeout, output in $WORK/NAME.{out,err}.
start_bg() {
    local name=$1
    shift
    timeout "$TMO" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    BG[$name]=$!
}

# wait_bg NAME: its exit status (124 on timeout).
wait_bg() {
    local rc=0
    wait "${BG[$1]}" || rc=$?
    unset "BG[$1]"
    return $rc
}

# wait_line FILE REGEX SECONDS: until a line of FILE matches (tail -F
# follows the file as it is written).
wait_line() {
    local fd tpid line rc=1
    exec {fd}< <(exec timeout "$3" tail -n +1 -F "$1" 2>/dev/null)
    tpid=$!
    while IFS= read -r -u "$fd" line; do
        if [[ $line =~ $2 ]]; then
            rc=0
            break
        fi
    done
    kill "$tpid" 2>/dev/null || true
    exec {fd}<&-
    return $rc
}

last_line() { tail -n 1 "$1" 2>/dev/null || true; }

# Field "key=value" of the last END/DONE line of a role's output.
field() { grep -E "^(END|DONE)" "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

PASSED=0
FAILED=0
DETAIL=

report() { # NUM TITLE RC [LOG...]; RC 0 pass, 2 skip (not counted), else fail
    local num=$1 title=$2 rc=$3 f
    shift 3
    if [ "$rc" = 2 ]; then
        printf 'SKIP %2d  %s: %s\n' "$num" "$title" "$DETAIL"
    elif [ "$rc" = 0 ]; then
        PASSED=$((PASSED + 1))
        printf 'PASS %2d  %s: %s\n' "$num" "$title" "$DETAIL"
    else
        FAILED=$((FAILED + 1))
        printf 'FAIL %2d  %s: %s\n' "$num" "$title" "$DETAIL"
        for f in "$@"; do
            [ -s "$f" ] || continue
            echo "  ---- $(basename "$f") (tail)"
            tail -n 8 "$f" | sed 's/^/  | /'
        done
    fi
}

selected() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }

# inproc NUM TITLE MODE ARGS...: one mwt case in one process.
inproc() {
    local num=$1 title=$2 rc=0
    shift 2
    selected "$num" || return 0
    timeout "$TMO" "$MWT" "$@" >"$WORK/$num.out" 2>"$WORK/$num.err" || rc=$?
    DETAIL=$(last_line "$WORK/$num.out")
    [ "$rc" = 124 ] && DETAIL="timed out after ${TMO}s; $DETAIL"
    report "$num" "$title" "$rc" "$WORK/$num.out" "$WORK/$num.err"
}

# multi NUM TITLE FUNC: a multi-process case written as a shell function.
multi() {
    local num=$1 title=$2 fn=$3 rc=0
    selected "$num" || return 0
    DETAIL=
    "$fn" || rc=$?
    [ "$rc" = 2 ] || [ "$rc" = 0 ] || rc=1
    # shellcheck disable=SC2046
    report "$num" "$title" "$rc" $(ls "$WORK"/"$fn"* 2>/dev/null)
    kill_bg
    BG=()
}

# ---------------------------------------------------------------- cases

t_work() {
    local q="mwt.work.$RUN" n=3000 i c total distinct
    for i in 1 2 3; do
        start_bg "t_work_c$i" "$MWT" consume --queue "$q" --prefetch 8 --until-eof
    done
    for i in 1 2 3; do
        wait_line "$WORK/t_work_c$i.out" '^READY' 30 || { DETAIL="consumer $i not ready"; return 1; }
    done
    start_bg t_work_p "$MWT" produce --queue "$q" --count $n --size 512 --eof 3
    wait_bg t_work_p || { DETAIL="producer failed"; return 1; }
    for i in 1 2 3; do
        wait_bg "t_work_c$i" || { DETAIL="consumer $i failed"; return 1; }
    done
    local shares=()
    for i in 1 2 3; do
        c=$(grep -c '^MSG' "$WORK/t_work_c$i.out" || true)
        shares+=("$c")
        [ "$c" -gt 0 ] || { DETAIL="consumer $i got no message"; return 1; }
    done
    total=$(cat "$WORK"/t_work_c?.out | grep -c '^MSG' || true)
    distinct=$(cat "$WORK"/t_work_c?.out | awk '/^MSG/ {print $3}' | sort -nu | wc -l)
    DETAIL="$n messages over 3 consumers (shares ${shares[*]}), delivered $total times, $distinct distinct"
    [ "$total" = "$n" ] && [ "$distinct" = "$n" ]
}

t_n1() {
    local q="mwt.n1.$RUN" n=2000 p seqs
    start_bg t_n1_c "$MWT" consume --queue "$q" --prefetch 64 --count $((3 * n))
    wait_line "$WORK/t_n1_c.out" '^READY' 30 || { DETAIL="consumer not ready"; return 1; }
    for p in p1 p2 p3; do
        start_bg "t_n1_$p" "$MWT" produce --queue "$q" --producer "$p" --count $n --size 256
    done
    for p in p1 p2 p3; do
        wait_bg "t_n1_$p" || { DETAIL="producer $p failed"; return 1; }
    done
    wait_bg t_n1_c || { DETAIL="consumer failed (got $(grep -c '^MSG' "$WORK/t_n1_c.out" || true))"; return 1; }
    DETAIL="3 producers x $n into one queue:"
    for p in p1 p2 p3; do
        # seq complete: exactly 0..n-1, each once
        seqs=$(awk -v p="$p" '$1 == "MSG" && $2 == p {print $3}' "$WORK/t_n1_c.out" |
            sort -n | awk -v n="$n" 'BEGIN {ok = 1} {if ($1 != NR - 1) ok = 0} END {print (ok && NR == n) ? "ok" : "bad"}')
        DETAIL="$DETAIL $p seq 0..$((n - 1)) $seqs;"
        [ "$seqs" = ok ] || return 1
    done
}

t_kill9() {
    local q="mwt.kill.$RUN" n=200 hold=20 held missing notre apid rc=0
    timeout "$TMO" "$MWT" produce --queue "$q" --count $n --size 1024 \
        >"$WORK/t_kill9_p.out" 2>"$WORK/t_kill9_p.err" || { DETAIL="producer failed"; return 1; }
    "$MWT" consume --queue "$q" --prefetch $hold --hold $hold \
        >"$WORK/t_kill9_a.out" 2>"$WORK/t_kill9_a.err" &
    apid=$!
    BG[t_kill9_a]=$apid
    wait_line "$WORK/t_kill9_a.out" '^HOLDING' 30 || { DETAIL="consumer A never held $hold"; return 1; }
    start_bg t_kill9_b "$MWT" consume --queue "$q" --prefetch 16 --distinct $n
    kill -9 "$apid"
    wait "$apid" 2>/dev/null || rc=$?
    unset "BG[t_kill9_a]"
    [ "$rc" = 137 ] || { DETAIL="consumer A exit $rc, not killed"; return 1; }
    wait_bg t_kill9_b || { DETAIL="consumer B failed"; return 1; }
    held=$(awk '/^MSG/ {print $3}' "$WORK/t_kill9_a.out" | LC_ALL=C sort -u)
    missing=$(LC_ALL=C comm -23 <(echo "$held") \
        <(awk '/^MSG/ {print $3}' "$WORK/t_kill9_b.out" | LC_ALL=C sort -u) | wc -l)
    notre=$(LC_ALL=C comm -23 <(echo "$held") \
        <(awk '/^MSG/ && $4 == 1 {print $3}' "$WORK/t_kill9_b.out" | LC_ALL=C sort -u) | wc -l)
    DETAIL="A held $(echo "$held" | wc -w) unacked, killed -9; B got $(field "$WORK/t_kill9_b.out" distinct)/$n ids, held ones redelivered (missing $missing, not flagged $notre)"
    [ "$(field "$WORK/t_kill9_b.out" distinct)" = "$n" ] && [ "$missing" = 0 ] && [ "$notre" = 0 ]
}

t_restart() {
    local q="mwt.restart.$RUN" n=20000 prc crc dups
    if [ "${BROKER_EXTERNAL:-0}" = 1 ]; then
        DETAIL="needs the private broker (unset AMQP_URL)"
        return 2
    fi
    TMO=120 start_bg t_restart_c "$MWT" consume --queue "$q" --prefetch 64 --distinct $n
    wait_line "$WORK/t_restart_c.out" '^READY' 30 || { DETAIL="consumer not ready"; return 1; }
    TMO=120 start_bg t_restart_p "$MWT" produce --queue "$q" --count $n --size 1024 \
        --rate 2500 --progress 1000
    wait_line "$WORK/t_restart_p.out" '^PROGRESS 3000$' 60 || { DETAIL="producer stalled"; return 1; }
    broker_restart >"$WORK/t_restart_broker.log" 2>&1 || { DETAIL="broker restart failed"; return 1; }
    wait_bg t_restart_p || { DETAIL="producer failed"; return 1; }
    wait_bg t_restart_c || { DETAIL="consumer failed ($(grep -c '^MSG' "$WORK/t_restart_c.out" || true) received)"; return 1; }
    prc=$(field "$WORK/t_restart_p.out" reconnects)
    crc=$(field "$WORK/t_restart_c.out" reconnects)
    dups=$(($(field "$WORK/t_restart_c.out" received) - n))
    DETAIL="streamed $n msgs across a broker restart: producer reconnects=$prc, consumer reconnects=$crc, $(field "$WORK/t_restart_c.out" distinct)/$n ids present ($dups duplicates, $(field "$WORK/t_restart_c.out" stale) stale acks)"
    [ "${prc:-0}" -gt 0 ] && [ "$(field "$WORK/t_restart_c.out" distinct)" = "$n" ]
}

t_heartbeat() {
    local name i found=no
    start_bg t_heartbeat "$MWT" heartbeat --idle-ms 8000
    wait_line "$WORK/t_heartbeat.out" '^IDLE ' 30 || { DETAIL="never went idle"; return 1; }
    name=$(awk '/^IDLE/ {print $2}' "$WORK/t_heartbeat.out")
    # The management API lists connections with a short delay: bounded poll.
    for i in $(seq 1 12); do
        if curl -fsS -m 2 -u guest:guest "$MGMT_URL/api/connections" 2>/dev/null |
            grep -q "\"$name\""; then
            found=yes
            break
        fi
        sleep 0.5
    done
    wait_bg t_heartbeat || { DETAIL=$(last_line "$WORK/t_heartbeat.out"); return 1; }
    DETAIL="$(last_line "$WORK/t_heartbeat.out"); connection name in management API: $found"
    [ "$found" = yes ]
}

# An address list whose first addresses are dead (nothing listens there):
# every connection still comes up, on the live one. The start of the list
# is random per connection, so runs repeat until one has tried a dead
# address first (each run: 2 connections, 2 of 3 addresses dead).
t_addrlist() {
    local dead1 dead2 list i tried=0 runs=0
    dead1=$(_pick_port) && dead2=$(_pick_port "$dead1") || { DETAIL="no free port"; return 1; }
    list="amqp://guest:guest@127.0.0.1:$dead1/,amqp://guest:guest@127.0.0.1:$dead2/,$AMQP_URL"
    for i in 1 2 3 4 5 6 7 8; do
        runs=$i
        AMQP_URL=$list timeout "$TMO" "$MWT" queue1 --count 50 --size 256 \
            >"$WORK/t_addrlist.$i.out" 2>"$WORK/t_addrlist.$i.err" ||
            { DETAIL="run $i failed: $(last_line "$WORK/t_addrlist.$i.out")"; return 1; }
        if grep -q "connect attempt=1/.* failed url=amqp://guest:\*\*\*@127.0.0.1:\($dead1\|$dead2\)/" \
            "$WORK/t_addrlist.$i.err"; then
            tried=1
            break
        fi
    done
    DETAIL="AMQP_URL listing 2 dead addresses and the broker: $runs runs of 2 connections, every one up on the live address ($(cat "$WORK"/t_addrlist.*.err | grep -c ' connected url=') connects); a dead address tried first: $([ $tried = 1 ] && echo yes || echo no)"
    [ $tried = 1 ]
}

# Losing a node: two proxies stand for two nodes of one cluster (both
# forward to the broker); the producer's and the consumer's AMQP_URL lists
# both. Once the producer has streamed a part, the proxy it is connected
# through is SIGKILLed: it must fail over to the other one (its
# "failover" line), republish what was unconfirmed, and the consumer must
# see every id (duplicates allowed: at-least-once).
t_failover() {
    local q="mwt.failover.$RUN" n=20000 p1 p2 port list via pid victim prc
    p1=$(_pick_port) && p2=$(_pick_port "$p1") || { DETAIL="no free port"; return 1; }
    port=${AMQP_URL##*:}
    port=${port%%/*}
    start_bg t_failover_x1 python3 tests/middleware/tcpproxy.py "$p1" 127.0.0.1 "$port"
    start_bg t_failover_x2 python3 tests/middleware/tcpproxy.py "$p2" 127.0.0.1 "$port"
    wait_line "$WORK/t_failover_x1.out" '^LISTENING' 10 && wait_line "$WORK/t_failover_x2.out" '^LISTENING' 10 ||
        { DETAIL="proxies did not start"; return 1; }
    list="amqp://guest:guest@127.0.0.1:$p1/,amqp://guest:guest@127.0.0.1:$p2/"
    AMQP_URL=$list TMO=120 start_bg t_failover_c "$MWT" consume --queue "$q" --prefetch 64 --distinct $n
    wait_line "$WORK/t_failover_c.out" '^READY' 30 || { DETAIL="consumer not ready"; return 1; }
    AMQP_URL=$list TMO=120 start_bg t_failover_p "$MWT" produce --queue "$q" --count $n --size 1024 \
        --rate 2500 --progress 1000
    wait_line "$WORK/t_failover_p.out" '^PROGRESS 3000$' 60 || { DETAIL="producer stalled"; return 1; }
    via=$(grep -o 'connected url=amqp://guest:\*\*\*@127.0.0.1:[0-9]*' "$WORK/t_failover_p.err" | head -n 1)
    via=${via##*:}
    if [ "$via" = "$p1" ]; then victim=t_failover_x1; else victim=t_failover_x2; fi
    pid=${BG[$victim]}
    # the proxy runs under timeout: kill it (the child) by pid, then timeout
    kill -KILL $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "BG[$victim]"
    wait_bg t_failover_p || { DETAIL="producer failed: $(last_line "$WORK/t_failover_p.out")"; return 1; }
    wait_bg t_failover_c || { DETAIL="consumer failed ($(grep -c '^MSG' "$WORK/t_failover_c.out" || true) received)"; return 1; }
    prc=$(grep -c ' failover url=' "$WORK/t_failover_p.err" || true)
    DETAIL="streamed $n msgs; the producer's node (proxy :$via) killed at 3000: producer failovers=$prc ($(grep -o 'failover url=[^ ]* from=[^ ]* attempt=[0-9]* down_ms=[0-9]*' "$WORK/t_failover_p.err" | head -n 1 | sed 's/guest:\*\*\*@//g')), $(field "$WORK/t_failover_c.out" distinct)/$n ids at the consumer ($(($(field "$WORK/t_failover_c.out" received) - n)) duplicates)"
    [ "$prc" -ge 1 ] && [ "$(field "$WORK/t_failover_c.out" distinct)" = "$n" ]
}

# ---------------------------------------------------------------- main

broker_start
echo "middleware tests: broker $AMQP_URL (management ${MGMT_URL:-n/a})"

inproc 1 "1->1 queue" queue1 --count 2000 --size 4096
multi 2 "1->N work queue" t_work
multi 3 "N->1" t_n1
inproc 4 "fanout + direct routing" routing
inproc 5 "large messages" large --size1 1048576 --size2 8388608
inproc 6 "publisher confirms" confirms --count 5000 --size 16384
inproc 7 "unroutable publish" unroutable
multi 8 "kill -9 of a consumer" t_kill9
multi 9 "broker restart mid-stream" t_restart
inproc 10 "envelope metadata" meta
multi 11 "heartbeat while idle" t_heartbeat
inproc 12 "lz4 round trip" lz4
inproc 13 "lz4 poison messages" lz4-poison
inproc 14 "lz4 republish after reconnect" lz4-republish --count 400
multi 15 "address list, first addresses dead" t_addrlist
multi 16 "failover to the next address when a node is lost" t_failover
if selected 12 && [ -s "$WORK/12.out" ]; then
    grep -o 'RATIO.*' "$WORK/12.out" | sed 's/^RATIO/compression ratio seen:/' || true
fi

# Durable queues of the multi-process cases (matters with an external broker).
timeout 30 "$MWT" delete "mwt.work.$RUN" "mwt.n1.$RUN" "mwt.kill.$RUN" \
    "mwt.restart.$RUN" "mwt.failover.$RUN" >/dev/null 2>&1 || true

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
