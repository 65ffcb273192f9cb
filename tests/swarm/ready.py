#!/usr/bin/env python3
"""ready.py - waits until a coffee-stream stack on Docker Swarm is ready.

Ready means, on three polls in a row (one a second, so a task that exits
right after it started, e.g. on a late shutdown during a redeploy, is seen):
  * every service of the stack runs as many tasks as it should
    (`docker service ls`: running == desired), and the worker services the
    number given by --running (default: the counts of --replicas);
  * the broker's management API, on the published port, with the stack's
    credentials, shows one consumer on `coordinator`, on the gateway's
    results queue, and on the control queue `ctl.<stage>.<i>` of exactly as
    many replica indexes i < N (N from --replicas, i.e. CS_REPLICAS) as the
    stage runs tasks, none on an index >= N: every worker has claimed a
    distinct index of the configured count;
  * the gateway's published port accepts a connection, and the control
    plane's published port answers /healthz with 200 (--controlplane-port).

Prints what it waits for while it waits (every 10 s) and what it saw at the
end. Exit status 0 when ready within --timeout seconds, 1 otherwise.
"""

import argparse
import base64
import json
import socket
import subprocess
import sys
import time
import urllib.request

STAGES = ["filter", "agg-q2", "agg-q3", "agg-q4", "sink"]


def counts(text):
    out = {}
    for part in text.split(","):
        if part:
            k, v = part.split("=")
            out[k] = int(v)
    return out


def services(stack):
    out = subprocess.run(
        ["docker", "service", "ls", "--filter",
         f"label=com.docker.stack.namespace={stack}",
         "--format", "{{.Name}} {{.Replicas}}"],
        capture_output=True, text=True, timeout=30, check=False)
    got = {}
    for line in out.stdout.split("\n"):
        if line.strip():
            name, reps = line.split()[:2]
            run, want = reps.split("/")[:2]
            got[name[len(stack) + 1:]] = (int(run), int(want.split()[0]))
    return got


def queues(port, user, password):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/queues")
    tok = base64.b64encode(f"{user}:{password}".encode()).decode()
    req.add_header("Authorization", "Basic " + tok)
    with urllib.request.urlopen(req, timeout=5) as r:
        return {q["name"]: q.get("consumers", 0) for q in json.load(r)}


def listens(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return r.status == 200
    except (OSError, ValueError):
        return False


def problems(a, replicas, running):
    """What is not ready yet: a list of strings, empty when ready."""
    bad = []
    svc = services(a.stack)
    for name, (run, want) in sorted(svc.items()):
        if run != want:
            bad.append(f"service {name} runs {run}/{want}")
    for st in STAGES:
        if svc.get(st, (0, 0))[1] != running[st]:
            bad.append(f"service {st} wants {svc.get(st, (0, 0))[1]} tasks, not {running[st]}")
    if len(svc) != a.services:
        bad.append(f"{len(svc)} services of {a.services}")
    try:
        q = queues(a.mgmt_port, a.user, a.password)
    except (OSError, ValueError) as e:
        return bad + [f"management API: {e}"]
    for name in ("coordinator", "gateway.gateway.results"):
        if q.get(name, 0) != 1:
            bad.append(f"{name}: {q.get(name, 0)} consumers")
    for st in STAGES:
        held = [i for i in range(replicas[st]) if q.get(f"ctl.{st}.{i}", 0) == 1]
        extra = [n for n, c in q.items() if n.startswith(f"ctl.{st}.") and c > 0
                 and (int(n.rsplit(".", 1)[1]) >= replicas[st] or c > 1)]
        if len(held) != running[st] or extra:
            bad.append(f"{st}: indexes consumed {held} of {replicas[st]}, "
                       f"want {running[st]}" + (f", extra {extra}" if extra else ""))
    if not listens(a.gateway_port):
        bad.append(f"gateway port {a.gateway_port} does not accept")
    if a.controlplane_port and not healthy(a.controlplane_port):
        bad.append(f"control plane port {a.controlplane_port}: /healthz not 200")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", required=True)
    ap.add_argument("--mgmt-port", type=int, required=True)
    ap.add_argument("--gateway-port", type=int, required=True)
    ap.add_argument("--controlplane-port", type=int, default=0)
    ap.add_argument("--services", type=int, required=True, help="services in the stack")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--replicas", required=True, help="CS_REPLICAS")
    ap.add_argument("--running", default="", help="tasks per stage, if not --replicas")
    ap.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args()
    replicas = counts(a.replicas)
    running = dict(replicas, **counts(a.running))
    t0 = time.monotonic()
    said = t0
    good = 0
    bad = ["not polled"]
    while time.monotonic() - t0 < a.timeout:
        bad = problems(a, replicas, running)
        good = 0 if bad else good + 1
        if good == 3:
            print(f"ready after {time.monotonic() - t0:.1f} s: tasks {running}, "
                  f"replica indexes claimed, gateway accepts"
                  + (", control plane healthy" if a.controlplane_port else ""))
            return 0
        if bad and time.monotonic() - said >= 10:
            said = time.monotonic()
            print(f"  waiting ({time.monotonic() - t0:.0f} s): {'; '.join(bad)}", flush=True)
        time.sleep(1)
    print(f"not ready after {a.timeout:.0f} s: {'; '.join(bad)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
