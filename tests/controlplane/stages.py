#!/usr/bin/env python3
"""stages.py - checks of the control plane's GET /api/stages (issue 12),
for tests/controlplane/stages.sh. Prints one "PASS: ..." or "FAIL: ..."
line per check; every wait polls the API against a deadline.

  stages.py shape ADDR SPEC TIMEOUT_S
      every stage listed with SPEC's replica slots (CS_REPLICAS), all alive
      within TIMEOUT_S, every input queue's depth an integer
  stages.py save ADDR FILE
      writes the stages' totals to FILE
  stages.py rose ADDR FILE SESSION_ID
      every stage's counters rose since FILE; the filter's messages in by at
      least the session's batches (the filter's expected count)
  stages.py down ADDR STAGE REPLICA PID TIMEOUT_S
      the replica (pid PID) is reported not alive within TIMEOUT_S
  stages.py back ADDR STAGE REPLICA OLD_PID RESTARTS TIMEOUT_S
      alive again with another pid and the slot's restarts RESTARTS + 1
  stages.py restarts ADDR STAGE REPLICA
      prints the slot's restarts
"""
import json
import re
import sys
import time
import urllib.request

STAGES = ["gateway", "filter", "agg-q2", "agg-q3", "agg-q4", "sink"]
TABLES = ["transactions", "transaction_items", "users", "stores", "menu_items"]
COUNTERS = ["msgs_in", "bytes_in", "msgs_out", "bytes_out"]


def check(ok, msg):
    print(("PASS: " if ok else "FAIL: ") + "stages: " + msg, flush=True)
    return ok


def get(addr, path):
    with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=10) as r:
        return json.loads(r.read().decode())


def stages(addr):
    return {s["stage"]: s for s in get(addr, "/api/stages")["stages"]}


def replicas_of(spec):
    n = {s: 1 for s in STAGES[1:]}
    for part in filter(None, spec.split(",")):
        k, v = part.split("=")
        n[k] = int(v)
    return n


def poll(fn, timeout):
    """fn() -> (done, value); polls until done or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        done, value = fn()
        if done or time.monotonic() > deadline:
            return done, value
        time.sleep(0.2)


def replica(addr, stage, i):
    return stages(addr)[stage]["replicas"][i]


def cmd_shape(addr, spec, timeout):
    want = replicas_of(spec)
    doc = get(addr, "/api/stages")
    check(isinstance(doc.get("now_ms"), int) and
          [s["stage"] for s in doc["stages"]] == STAGES,
          "every stage listed in order: %s" % [s["stage"] for s in doc["stages"]])
    for name in STAGES[1:]:
        st = stages(addr)[name]
        check(st["replicas_expected"] == want[name] and
              [r["replica"] for r in st["replicas"]] == list(range(want[name])),
              "%s: %d replica slots, as CS_REPLICAS says" % (name, want[name]))

    def all_alive():
        s = stages(addr)
        return all(s[n]["alive"] == want[n] and
                   all(r["alive"] for r in s[n]["replicas"]) for n in want), s
    done, s = poll(all_alive, timeout)
    check(done, "every replica of every stage alive within %d s: %s" %
          (timeout, {n: "%d/%d" % (s[n]["alive"], want[n]) for n in want}))
    r = s["filter"]["replicas"][0]
    keys = {"replica", "id", "alive", "pid", "started_ms", "msgs_in", "bytes_in",
            "msgs_out", "bytes_out", "busy_s", "sessions", "restarts",
            "last_seen_ms"}
    check(set(r) == keys and r["id"] == "" and r["pid"] > 0 and r["started_ms"] > 0 and
          abs(r["last_seen_ms"] - time.time() * 1000) < 10000,
          "a replica's fields: %s" % sorted(r))

    def depths():
        s = stages(addr)
        qs = [q for n in STAGES for q in s[n]["queues"]]
        return all(isinstance(q["messages"], int) and isinstance(q["consumers"], int)
                   for q in qs), qs
    done, qs = poll(depths, 10)
    names = [q["name"] for q in qs]
    expect = (["filter." + t for t in TABLES] +
              ["%s.%d" % (n, i) for n in STAGES[2:] for i in range(want[n])])
    check(names == expect, "the input queues listed: %s" % names)
    check(done and all(q["messages"] >= 0 and q["consumers"] >= 1 for q in qs),
          "every queue's depth is an integer with its consumers: %s" %
          {q["name"]: (q["messages"], q["consumers"]) for q in qs})
    def gateway():
        g = stages(addr)["gateway"]
        return g["alive"] == 1 and len(g["replicas"]) == 1, g
    done, g = poll(gateway, timeout)
    check(done and g["replicas_expected"] == 0 and g["queues"] == [] and
          g["replicas"][0]["id"] != "" and g["replicas"][0]["pid"] > 0,
          "the gateway stage: one gateway alive, named by its id (%s)" %
          [(r["id"], r["alive"]) for r in g["replicas"]])


def totals(addr):
    s = stages(addr)
    return {n: {c: s[n][c] for c in COUNTERS + ["busy_s", "restarts"]} for n in STAGES}


def cmd_save(addr, path):
    with open(path, "w") as f:
        json.dump(totals(addr), f)


def cmd_rose(addr, path, sid):
    with open(path) as f:
        before = json.load(f)
    sess = get(addr, "/api/sessions/" + sid)
    batches = next(x["expected"] for x in sess["stages"] if x["stage"] == "filter")

    def risen():
        now = totals(addr)
        return all(now[n][c] > before[n][c] for n in STAGES[1:]
                   for c in COUNTERS) and \
            now["filter"]["msgs_in"] - before["filter"]["msgs_in"] >= batches and \
            now["gateway"]["msgs_in"] - before["gateway"]["msgs_in"] >= batches, now
    done, now = poll(risen, 10)
    g = now["gateway"]["msgs_in"] - before["gateway"]["msgs_in"]
    check(g >= batches and
          now["gateway"]["bytes_out"] > before["gateway"]["bytes_out"],
          "the gateway's batches from the client rose by %d >= %d" % (g, batches))
    check(done, "every stage's messages and bytes in and out rose with the session: %s" %
          {n: (now[n]["msgs_in"] - before[n]["msgs_in"],
               now[n]["msgs_out"] - before[n]["msgs_out"]) for n in STAGES[1:]})
    d = now["filter"]["msgs_in"] - before["filter"]["msgs_in"]
    check(batches > 0 and d >= batches,
          "the filter's messages in rose by %d >= the %d batches of the session" %
          (d, batches))
    check(now["filter"]["busy_s"] > before["filter"]["busy_s"],
          "the filter's busy time rose (%.3f s -> %.3f s)" %
          (before["filter"]["busy_s"], now["filter"]["busy_s"]))


def cmd_down(addr, stage, i, pid, timeout):
    t0 = time.monotonic()
    done, r = poll(lambda: (not replica(addr, stage, i)["alive"],
                            replica(addr, stage, i)), timeout)
    check(done and r["pid"] == pid,
          "%s replica %d (pid %d) killed: reported not alive after %.1f s (bound %d s)"
          % (stage, i, pid, time.monotonic() - t0, timeout))
    s = stages(addr)[stage]
    check(s["alive"] == s["replicas_expected"] - 1,
          "%s shows %d of %d replicas alive" % (stage, s["alive"], s["replicas_expected"]))


def cmd_back(addr, stage, i, old_pid, restarts, timeout):
    done, r = poll(lambda: (replica(addr, stage, i)["alive"] and
                            replica(addr, stage, i)["pid"] != old_pid,
                            replica(addr, stage, i)), timeout)
    check(done, "%s replica %d alive again with a new pid (%d -> %d)" %
          (stage, i, old_pid, r["pid"]))
    check(r["restarts"] == restarts + 1 and
          stages(addr)[stage]["restarts"] >= restarts + 1,
          "%s replica %d: restarts %d -> %d" % (stage, i, restarts, r["restarts"]))
    text = urllib.request.urlopen("http://%s/metrics" % addr, timeout=10).read().decode()
    m = re.search(r'^cs_stage_restarts_total\{stage="%s"\} (\d+)$' % re.escape(stage),
                  text, re.M)
    check(m and int(m.group(1)) >= restarts + 1,
          "/metrics: cs_stage_restarts_total for %s is %s" % (stage, m and m.group(1)))


def cmd_metrics(addr, spec):
    want = replicas_of(spec)
    text = urllib.request.urlopen("http://%s/metrics" % addr, timeout=10).read().decode()
    for name in ["cs_stage_messages_in_total", "cs_stage_bytes_in_total",
                 "cs_stage_messages_out_total", "cs_stage_bytes_out_total",
                 "cs_stage_busy_seconds_total", "cs_stage_replicas_alive",
                 "cs_stage_restarts_total"]:
        vals = dict(re.findall(r'^%s\{stage="([^"]+)"\} ([0-9.]+)$' % name, text, re.M))
        check(set(vals) == set(STAGES) and "# TYPE %s " % name in text,
              "/metrics has %s for every stage" % name)
    alive = dict(re.findall(r'^cs_stage_replicas_alive\{stage="([^"]+)"\} (\d+)$', text, re.M))
    check(all(int(alive[n]) == want[n] for n in want),
          "/metrics: replicas alive as configured: %s" % alive)
    q = re.findall(r'^cs_queue_messages\{queue="([^"]+)",stage="([^"]+)"\} (\d+)$', text, re.M)
    check(len(q) == 5 + sum(want[n] for n in STAGES[2:]),
          "/metrics: cs_queue_messages for every input queue (%d)" % len(q))


def main():
    cmd, addr = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if cmd == "shape":
        cmd_shape(addr, a[0], int(a[1]))
    elif cmd == "save":
        cmd_save(addr, a[0])
    elif cmd == "rose":
        cmd_rose(addr, a[0], a[1])
    elif cmd == "down":
        cmd_down(addr, a[0], int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "back":
        cmd_back(addr, a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]))
    elif cmd == "restarts":
        print(replica(addr, a[0], int(a[1]))["restarts"])
    elif cmd == "metrics":
        cmd_metrics(addr, a[0])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
