#!/usr/bin/env bash
# admission.sh - sessions over the admission limit wait in line: a gateway
# with MAX_SESSIONS=4 and ADMISSION_CLIENTS (default 60) clients started at
# the same moment on a tiny data set (the first 300 rows of every file of
# the dev set). Every client must end with exit 0 and results byte-exact to
# the reference; clients over the limit must have been told their place in
# line (STATUS before WELCOME), the gateway must never have run more than 4
# sessions at once, and none may have been refused as busy. Then the line
# step by step on a gateway with MAX_SESSIONS=1 and GATEWAY_MAX_WAITING=1:
# the place told, ERROR 4 when the line is full, the wait ending when the
# slot frees, a bad first frame in line refused with a session's words.
source "$(dirname "$0")/lib.sh"
e2e_init admission
N=${ADMISSION_CLIENTS:-60}
LIMIT=4

scripts/cut_dataset.sh "$SHARED/data/dev" "$DATA/tiny" 300
python3 tests/reference/reference.py "$DATA/tiny" "$WORK/expected" > /dev/null

broker_start > /dev/null
export CS_REPLICAS="filter=2,agg-q2=1,agg-q3=1,agg-q4=1,sink=2"
export MAX_SESSIONS=$LIMIT # pipeline_start's env(1) passes it on to the gateway
PIPELINE_LOGS="$WORK/logs"
pipeline_start > /dev/null
unset MAX_SESSIONS

client() { # OUT: the real client on the tiny set, in the foreground
    timeout 600 "$B/bin/client" --data-folder tiny --data-root "$DATA" --output "$1" \
        --gateway "$GATEWAY_ADDR" --no-progress > "$1.out" 2> "$1.err"
}

out="$WORK/out"
mkdir -p "$out"
pids=()
for ((i = 0; i < N; i++)); do
    client "$out/c$i" & pids+=($!)
done
exact=0 failed=0 queued=0
for ((i = 0; i < N; i++)); do
    st=0
    wait "${pids[$i]}" || st=$?
    if [ "$st" -eq 0 ] &&
        python3 tests/reference/compare.py --exact "$WORK/expected" "$out/c$i" > "$out/c$i.cmp" 2>&1; then
        exact=$((exact + 1))
    else
        failed=$((failed + 1))
        echo "    client $i: exit $st: $(grep -v ' INFO ' "$out/c$i.err" | tail -n 2 | tr '\n' ' ') $(head -n 3 "$out/c$i.cmp" 2>/dev/null | tr '\n' ' ')"
    fi
    if grep -q "waiting for the gateway: queued at the gateway: place [0-9]" "$out/c$i.err"; then
        queued=$((queued + 1))
    fi
done
if [ "$failed" -eq 0 ]; then ok "$N clients at once, $LIMIT sessions at a time: all $exact exited 0 with byte-exact results"
else ko "$failed of $N clients failed or got wrong results ($exact exact)"; fi
if [ "$queued" -gt 0 ]; then ok "$queued clients waited in line and were told their place"
else ko "no client reported a place in the waiting line"; fi
if grep -q "connection rejected" "$PIPELINE_LOGS/gateway.log"; then
    ko "the gateway turned clients away: $(grep -m1 'connection rejected' "$PIPELINE_LOGS/gateway.log")"
else ok "no client was turned away"; fi
# Session starts and ends in log order: the number running never passed the limit.
# (The readiness probes of pipeline_start end as "session=-": not counted.)
peak=$(awk '/session start session=/ {n++; if (n > m) m = n} /session end session=[0-9a-f]/ {n--} END {print m + 0}' \
    "$PIPELINE_LOGS/gateway.log")
if [ "$peak" -le "$LIMIT" ] && [ "$peak" -gt 0 ]; then ok "at most $peak sessions ran at once (MAX_SESSIONS=$LIMIT)"
else ko "$peak sessions ran at once, over MAX_SESSIONS=$LIMIT"; fi

if pipeline_stop; then ok "every process exited 0 on SIGTERM"; else
    ko "a process failed or hung at shutdown (logs in $PIPELINE_LOGS)"; fi

# --- the line, step by step: a gateway alone on the broker (the pipeline is
# stopped: its stop would otherwise stop the pipeline too) with one session
# slot and a line of one, driven over raw sockets; each step waits for the
# gateway's answer, never for time.
port=$(_pick_port)
env GATEWAY_ID=gw-line GATEWAY_PORT="$port" GATEWAY_BIND=127.0.0.1 MAX_SESSIONS=1 \
    GATEWAY_MAX_WAITING=1 CS_STATE_DIR="$WORK/state-line" \
    "$B/bin/gateway" > "$WORK/line.log" 2>&1 & line_pid=$!
cleanup_add "kill $line_pid 2> /dev/null || true"
if pipeline_wait_log "$WORK/line.log" "gateway ready" 30 2> /dev/null &&
    timeout 60 python3 - "127.0.0.1:$port" > "$WORK/line.out" 2>&1 <<'PY'; then
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)

def conn(hello=True):
    s = socket.create_connection((host, int(port)), timeout=30)
    if hello:
        name = b"line-probe"
        s.sendall(struct.pack(">IB", 8 + len(name), 1) + b"CSTR" + struct.pack(">HH", 2, len(name)) + name)
    return s

def frame(s):
    h = b""
    while len(h) < 5:
        c = s.recv(5 - len(h))
        if not c:
            return None, b""
        h += c
    n, t = struct.unpack(">IB", h)
    p = b""
    while len(p) < n:
        p += s.recv(n - len(p))
    return t, p

def text(p, skip):
    n = struct.unpack(">H", p[skip:skip + 2])[0]
    return p[skip + 2:skip + 2 + n].decode()

a = conn()
assert frame(a)[0] == 0x02, "the first client was not welcomed"
b = conn()
t, p = frame(b)
assert t == 0x22 and "place 1 in line" in text(p, 0), "the second one was not told its place: %r" % p
c = conn(False)
t, p = frame(c)
assert t == 0x03 and struct.unpack(">H", p[:2])[0] == 4 and "GATEWAY_MAX_WAITING" in text(p, 2), \
    "the third one (line full) got %r" % p
a.close()
while True:  # places may be told again until the slot is free
    t, p = frame(b)
    if t != 0x22:
        break
assert t == 0x02, "the waiting one was not welcomed when the slot freed: %r" % t
d = conn(False)  # b holds the slot: d waits, and breaks the protocol there
d.sendall(struct.pack(">IB", 1, 0x10) + b"\x03")
t, p = frame(d)
assert t == 0x03 and struct.unpack(">H", p[:2])[0] == 1 and text(p, 2) == "expected HELLO, got TABLE_BEGIN", \
    "a client breaking the protocol in line got %r" % p
print("welcomed, placed in line, refused with ERROR 4 when the line was full, welcomed from the line, "
      "a bad first frame in line refused as a session would")
PY
    ok "line of one: $(cat "$WORK/line.out")"
else
    ko "line of one: $(tail -n 3 "$WORK/line.out" "$WORK/line.log" 2> /dev/null | tr '\n' ' ')"
fi
kill -TERM "$line_pid" 2> /dev/null || true
st=0; wait "$line_pid" || st=$?
if [ "$st" -eq 0 ]; then ok "the line gateway exited 0 on SIGTERM"; else ko "the line gateway exited $st"; fi

e2e_summary
