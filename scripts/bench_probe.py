#!/usr/bin/env python3
"""bench_probe.py - what scripts/bench.sh measures while a run goes on
(standard library only; Linux /proc).

  bench_probe.py watch PIDFILE OUT [INTERVAL]
      Samples, every INTERVAL seconds (default 0.2), each process listed in
      PIDFILE ("NAME PID [reset]" lines; the file is re-read every round, so
      processes started later join): CPU time (utime+stime from
      /proc/PID/stat), resident memory (VmRSS, the maximum seen is kept) and
      the kernel's high-water mark (VmHWM, the last value read is kept). The
      first sample of a pid is its baseline; "reset" first clears the
      process's VmHWM (/proc/PID/clear_refs), for a process that outlives the
      run (the broker). After the first round it creates OUT.ready. On
      SIGTERM or SIGINT it samples once more and writes OUT (JSON):
      {NAME: {pid, cpu_s (since the baseline), peak_rss_kb, hwm_reset,
      exited (gone before the last sample: its figures are those of the
      last sample before it exited)}}.

  bench_probe.py run OUT -- CMD [ARG...]
      Runs CMD (stdout and stderr pass through), reaps it with wait4 and
      writes OUT (JSON): {wall_s, cpu_s, peak_rss_kb (ru_maxrss), status}.
      Exits with CMD's status.

  bench_probe.py mgmt URL OUT [SETTLE_S]
      Writes OUT (JSON): the broker's counters from the RabbitMQ management
      API (overview message_stats, per-queue publish/deliver counts, node
      memory). The API publishes statistics every few seconds, so it reads
      until two reads SETTLE_S (default 1.2) apart agree (at most 8 reads).
"""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def read_proc(pid):
    """(cpu_s, rss_kb, hwm_kb) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie has no memory left to read
        return None
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    mem = {}
    for line in status.splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            mem[key] = int(val.split()[0])
    return cpu, mem.get("VmRSS", 0), mem.get("VmHWM", 0)


def watch(pidfile, out, interval):
    procs = {}  # name -> state
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    def sample():
        try:
            with open(pidfile) as f:
                lines = [ln.split() for ln in f if ln.strip()]
        except OSError:
            lines = []
        for parts in lines:
            name, pid = parts[0], int(parts[1])
            p = procs.get(name)
            if p is None or p["pid"] != pid:  # new (or restarted) process
                reset = False
                if len(parts) > 2 and parts[2] == "reset":
                    try:
                        with open(f"/proc/{pid}/clear_refs", "w") as f:
                            f.write("5")
                        reset = True
                    except OSError:
                        pass
                p = procs[name] = {"pid": pid, "cpu0": None, "cpu": 0.0,
                                   "rss_max": 0, "hwm": 0, "hwm_reset": reset,
                                   "exited": False}
            if p["exited"]:
                continue
            got = read_proc(pid)
            if got is None:
                p["exited"] = True
                continue
            cpu, rss, hwm = got
            if p["cpu0"] is None:
                p["cpu0"] = cpu
            p["cpu"] = cpu
            p["rss_max"] = max(p["rss_max"], rss)
            p["hwm"] = hwm

    sample()
    open(out + ".ready", "w").close()
    while not stop:
        time.sleep(interval)
        sample()
    sample()
    res = {}
    for name, p in procs.items():
        res[name] = {
            "pid": p["pid"],
            "cpu_s": round(p["cpu"] - (p["cpu0"] or 0.0), 3),
            # VmHWM is exact for a process that started with the run (or
            # whose mark was reset); the sampled maximum is the fallback
            "peak_rss_kb": max(p["hwm"], p["rss_max"]),
            "hwm_reset": p["hwm_reset"],
            "exited": p["exited"],
        }
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


def run(out, cmd):
    t0 = time.monotonic()
    child = subprocess.Popen(cmd)
    _, status, ru = os.wait4(child.pid, 0)
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"wall_s": round(wall, 3),
                   "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                   "peak_rss_kb": ru.ru_maxrss, "status": code}, f)
    return code if code >= 0 else 128 - code


def mgmt_get(url, path):
    req = urllib.request.Request(url + path)
    req.add_header("Authorization",
                   "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def mgmt_once(url):
    ov = mgmt_get(url, "/api/overview")
    qs = mgmt_get(url, "/api/queues?columns=name,message_stats")
    nodes = mgmt_get(url, "/api/nodes?columns=name,mem_used")
    ms = ov.get("message_stats", {})
    return {
        "overview": {k: ms.get(k, 0) for k in
                     ("publish", "confirm", "deliver_get", "ack", "redeliver")},
        "queues": {q["name"]: {"publish": q.get("message_stats", {}).get("publish", 0),
                               "deliver_get": q.get("message_stats", {}).get("deliver_get", 0)}
                   for q in qs},
        "mem_used": sum(n.get("mem_used", 0) for n in nodes),
    }


def mgmt(url, out, settle):
    try:
        prev = mgmt_once(url)
        for _ in range(7):
            time.sleep(settle)
            cur = mgmt_once(url)
            same = cur["overview"] == prev["overview"] and cur["queues"] == prev["queues"]
            prev = cur
            if same:
                break
    except (OSError, ValueError) as e:
        print(f"bench_probe: management API at {url}: {e}", file=sys.stderr)
        prev = {}
    with open(out, "w") as f:
        json.dump(prev, f)


def main(argv):
    if len(argv) >= 3 and argv[0] == "watch":
        watch(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 0.2)
        return 0
    if len(argv) >= 4 and argv[0] == "run" and argv[2] == "--":
        return run(argv[1], argv[3:])
    if len(argv) >= 3 and argv[0] == "mgmt":
        mgmt(argv[1], argv[2], float(argv[3]) if len(argv) > 3 else 1.2)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
