#!/usr/bin/env bash
# pool.sh - the gateway's warm publisher connections (gateway/pool.c), seen
# from the broker's management API. With GATEWAY_POOL=2 and a 1 s AMQP
# heartbeat: two idle publisher connections come up; they stay the same
# two connections for many heartbeat intervals (their heartbeats are
# served; a connection whose heartbeats stop is closed by the broker after
# two missed ones); sessions one after another start on them (warm), each
# on the connection the one before gave back, the sessions byte-exact, and
# no connection is opened and closed per session (at most one more than
# the pool's two); after a broker restart the pool refills
# and a session is exact; with GATEWAY_POOL=0 no publisher connection
# stays open and a session is still exact.
source "$(dirname "$0")/lib.sh"
e2e_init pool

scripts/cut_dataset.sh "$SHARED/data/dev" "$DATA/tiny" 300
python3 tests/reference/reference.py "$DATA/tiny" "$WORK/expected" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=1"
export GATEWAY_POOL=2 AMQP_HEARTBEAT=1 GATEWAY_ID=gw-pool
gwid=$GATEWAY_ID
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null

# publishers: the open publisher connections of this gateway, sorted names
# joined by commas
publishers() {
    curl -fsS -m 5 -u guest:guest "$MGMT_URL/api/connections?columns=client_properties" |
        python3 -c '
import json, sys
names = [(c.get("client_properties") or {}).get("connection_name", "")
         for c in json.load(sys.stdin)]
print(",".join(sorted(n for n in names if n.startswith("gateway %s publisher " % sys.argv[1]))))
' "$gwid"
}
count() { if [ -z "$1" ]; then echo 0; else awk -F, '{print NF}' <<< "$1"; fi; }

# wait_pool N SECONDS [NOT]: until N publisher connections are open (and
# they are not the list NOT): the management API's view lags by a few
# seconds
wait_pool() {
    local start=$SECONDS
    while ((SECONDS - start < $2)); do
        have=$(publishers)
        [ "$(count "$have")" = "$1" ] && [ "$have" != "${3:-none}" ] && return 0
        sleep 0.5
    done
    return 1
}

session() { # NAME: one client on the tiny set, exact against the reference
    timeout 300 "$B/bin/client" --data-folder tiny --data-root "$DATA" --output "$WORK/$1" \
        --gateway "$GATEWAY_ADDR" --no-progress > "$WORK/$1.out" 2> "$WORK/$1.err" &&
        python3 tests/reference/compare.py --exact "$WORK/expected" "$WORK/$1" > "$WORK/$1.cmp" 2>&1
}

if wait_pool 2 30; then
    first=$have
    ok "two idle publisher connections open ($first)"
else
    ko "two idle publisher connections: have '$have'"
fi

# Not a synchronization: the check is that nothing happens for a while.
sleep 8
now=$(publishers)
if [ -n "${first:-}" ] && [ "$now" = "$first" ] && ! grep -q "pool connection dropped" "$PIPELINE_LOGS/gateway.log"; then
    ok "the same two connections after 8 heartbeat intervals (heartbeats served)"
else
    ko "the idle connections changed in 8 s: '${first:-}' -> '$now'"
fi

nok=0
for i in 1 2 3 4 5; do session "s$i" && nok=$((nok + 1)); done
if [ "$nok" = 5 ]; then
    ok "five sessions in a row on pooled connections byte-exact"
else
    ko "sessions on pooled connections: $nok of 5 exact: $(tail -n 2 "$WORK"/s?.err | tr '\n' ' ')"
fi
starts=$(grep "session start session=" "$PIPELINE_LOGS/gateway.log")
warm=$(grep -c ' warm=yes' <<< "$starts" || true)
if [ "$warm" = 5 ]; then
    ok "every session started on a warm connection from the pool (warm=yes)"
else
    ko "sessions on warm connections: $warm of 5: $(tr '\n' ' ' <<< "$starts")"
fi
# Each session takes the connection given back last: the one the session
# before it used. The pool's thread makes a third when the first session
# takes one, unless that session gave its own back first.
used=$(grep -o 'connection="[^"]*"' <<< "$starts" | sort -u)
if [ "$(wc -l <<< "$used")" = 1 ]; then
    ok "the five sessions reused one connection ($used)"
else
    ko "sessions on different connections: $(tr '\n' ' ' <<< "$used")"
fi
# wait_pool gives the management API's view a few seconds to settle
if { wait_pool 3 15 || wait_pool 2 15; } &&
    ! grep -q "publisher [4-9]\|publisher [1-9][0-9]" <<< "$have,$starts"; then
    ok "no connection opened and closed per session: $(count "$have") idle after them ($have)"
else
    ko "the pool after the sessions: '$have' (before: '${first:-}')"
fi

broker_restart > /dev/null 2>&1
if wait_pool 2 60 && session s6; then
    ok "after a broker restart the pool refilled ($have) and a session is exact"
else
    ko "after a broker restart: pool '$have', session: $(tail -n 2 "$WORK/s6.err" | tr '\n' ' ')"
fi

pipeline_restart gateway KILL GATEWAY_POOL=0 > /dev/null
if wait_pool 0 30 && session s7 && wait_pool 0 30 &&
    grep "session start session=" "$PIPELINE_LOGS/gateway.log" | tail -n 1 | grep -q ' warm=no'; then
    ok "GATEWAY_POOL=0: no idle publisher connection, the session exact, its connection closed"
else
    ko "GATEWAY_POOL=0: connections '$have', session: $(tail -n 2 "$WORK/s7.err" | tr '\n' ' ')"
fi

pipeline_stop > /dev/null 2>&1 || ko "the pipeline did not stop cleanly"
e2e_summary
