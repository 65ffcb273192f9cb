#!/usr/bin/env python3
"""monctl.py - looks at the monitors (for make run, the monitor and chaos
suites, and operators): polls their HTTP endpoints (every 50 ms, in one
process, so measured times are not inflated by starting tools) and reads
their logs. Standard library only.

  monctl.py leader PORTS [--since MS] [--kill PID --signal N] [--timeout S]
        waits until every monitor of PORTS (comma-separated HTTP ports) that
        answers agrees on one leader among them, which says role=leader;
        prints "<leader id> <ms since --since (epoch ms), or -1> <since>";
        with --kill, sends signal N to PID first and counts from then (so
        the time is not inflated by this tool's start)
  monctl.py slot PORTS NAME [--not-pid PID] [--state STATE] [--since MS] [--timeout S]
        waits until the leader's table shows slot NAME in STATE (default up)
        with a pid other than PID; prints "<pid> <ms since --since>
        <restarts> <detect_ms> <restart_ms>"
  monctl.py get PORT [PATH]
        prints "<http code> <body>" of PATH (default /cluster/status)
  monctl.py pids PORTS
        prints "<name> <pid> <state>" for every slot of the leader's table
  monctl.py logts FILE REGEX [--after MS] [--timeout S]
        waits for the first line matching REGEX whose timestamp is at or after
        MS (epoch ms); prints "<epoch ms of the line> <the line>"
Exit status 1 on a timeout.
"""
import argparse
import datetime
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

POLL_S = 0.05


def now_ms():
    return int(time.time() * 1000)


def fetch(port, path="/cluster/status"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, ValueError):
        return 0, ""


def status(port):
    code, body = fetch(port)
    if code != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def leader_status(ports):
    for p in ports:
        s = status(p)
        if s and s["role"] == "leader":
            return s
    return None


def since(t0):
    return now_ms() - t0 if t0 else -1


def cmd_leader(a):
    ports = a.ports.split(",")
    if a.kill:
        a.since = now_ms()
        os.kill(a.kill, a.signal)
    end = time.time() + a.timeout
    while time.time() < end:
        seen = [s for s in (status(p) for p in ports) if s]
        leaders = {s["leader"] for s in seen}
        if seen and len(leaders) == 1:
            lid = leaders.pop()
            if any(s["monitor"] == lid and s["role"] == "leader" for s in seen):
                print(lid, since(a.since), a.since)
                return 0
        time.sleep(POLL_S)
    print("timeout: " + json.dumps([status(p) for p in ports]), file=sys.stderr)
    return 1


def cmd_slot(a):
    ports = a.ports.split(",")
    end = time.time() + a.timeout
    last = None
    while time.time() < end:
        s = leader_status(ports)
        for sl in (s or {}).get("slots", []):
            if sl["name"] != a.name:
                continue
            last = sl
            if sl["state"] == a.state and (a.not_pid is None or sl["pid"] != a.not_pid):
                print(sl["pid"], since(a.since), sl["restarts"], sl["detect_ms"],
                      sl["restart_ms"])
                return 0
        time.sleep(POLL_S)
    print(f"timeout: slot {a.name}: {json.dumps(last)}", file=sys.stderr)
    return 1


def cmd_get(a):
    code, body = fetch(a.port, a.path)
    print(code, body)
    return 0 if code else 1


def cmd_pids(a):
    s = leader_status(a.ports.split(","))
    if s is None:
        return 1
    for sl in s["slots"]:
        print(sl["name"], sl["pid"], sl["state"])
    return 0


TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def line_ms(line):
    m = TS.match(line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def cmd_logts(a):
    rx = re.compile(a.regex)
    end = time.time() + a.timeout
    while True:
        try:
            with open(a.file, errors="replace") as f:
                for line in f:
                    t = line_ms(line)
                    if t is not None and t >= a.after and rx.search(line):
                        print(t, line.rstrip())
                        return 0
        except OSError:
            pass
        if time.time() >= end:
            print(f"timeout: no line /{a.regex}/ in {a.file}", file=sys.stderr)
            return 1
        time.sleep(POLL_S)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("leader")
    p.add_argument("ports")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--kill", type=int, default=0)
    p.add_argument("--signal", type=int, default=9)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_leader)
    p = sub.add_parser("slot")
    p.add_argument("ports")
    p.add_argument("name")
    p.add_argument("--not-pid", type=int)
    p.add_argument("--state", default="up")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_slot)
    p = sub.add_parser("get")
    p.add_argument("port")
    p.add_argument("path", nargs="?", default="/cluster/status")
    p.set_defaults(fn=cmd_get)
    p = sub.add_parser("pids")
    p.add_argument("ports")
    p.set_defaults(fn=cmd_pids)
    p = sub.add_parser("logts")
    p.add_argument("file")
    p.add_argument("regex")
    p.add_argument("--after", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_logts)
    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
