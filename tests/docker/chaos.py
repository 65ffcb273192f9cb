#!/usr/bin/env python3
"""chaos.py - the chaos phase of `make test-docker` (tests/docker/run.sh).

While client sessions run in two lanes (run.sh starts them; each lane marks
<lanes>/<lane>.active while a session of it runs), this kills containers of
the Compose project with SIGKILL through the Docker Engine API (as `docker
kill` does), one after another on a schedule drawn from --seed: pipeline
containers (gateway, coordinator, workers), the monitors' current leader
(found with /cluster/status, asked through `docker exec`) and a follower,
plus one hang (SIGSTOP to a worker's process through `docker exec`: it goes
silent, the monitors must kill and restart it). After each kill it waits,
bounded, until the
container runs again (docker inspect: running, started after the kill); it
never sleeps to synchronize, only between kills as the schedule says.

Then it reads the monitors' logs (`docker logs`) and prints, per kill, the
times from the kill to: the monitors' detection ("slot=X exited ...: crash",
or "slot=X hung" for the hang), the container running again (Docker's
State.StartedAt), its first heartbeat ("slot=X restarted"), and for a
leader, the new leader ("leader=N ... role=leader"). Checks, one PASS/FAIL
line each: at least --min-kills kills while both lanes ran a session, the
leader and a follower among them; every victim running again; detection
within 1 s (hang: within hung_ms + 0.5 s); re-election within 3 s; the
leader's table showing every container up at the end.

`--phase deliberate` (once the sessions are over) checks that deliberate
stops are left alone: a worker paused with `docker pause` longer than the
hang threshold is not killed, and one stopped with `docker stop` is not
started again; each is waited for in the leader's table ("stopped"), then
watched for a bounded window, then resumed.

Standard library only. Traffic: the local Docker socket and `docker exec`.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

# SIGSTOP every process of the container but its init (tini) and this shell,
# then print when (the container's clock is the host's)
STOP_SCRIPT = ('for p in /proc/[0-9]*; do n=${p#/proc/}; '
               '[ "$n" = 1 ] || [ "$n" = $$ ] || kill -STOP "$n" 2>/dev/null; done; '
               'date +%s.%N')
HUNG_S = 5.0  # MONITOR_HUNG_MS
DETECT_S = 1.0
HANG_DETECT_S = 5.5
REELECT_S = 3.0
BACK_S = 30.0


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def docker_sock():
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


SOCK = docker_sock()


def api(method, path, timeout=15):
    c = UnixHTTP(SOCK, timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def inspect(name):
    st, body = api("GET", "/containers/%s/json" % name)
    return json.loads(body) if st == 200 else None


def docker_time(s):
    """'2026-11-29T22:39:26.425431187Z' -> epoch seconds."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def log_time(s):
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def containers(project):
    flt = json.dumps({"label": ["com.docker.compose.project=" + project,
                                "coffee-stream.keepalive=true"]})
    st, body = api("GET", "/containers/json?all=1&filters=" +
                   urllib.parse.quote(flt, safe=""))
    if st != 200:
        raise RuntimeError("listing containers: HTTP %d" % st)
    return sorted(c["Names"][0].lstrip("/") for c in json.loads(body))


def running(name):
    d = inspect(name)
    return bool(d and d["State"]["Running"] and not d["State"]["Paused"])


def monitor_status(name):
    try:
        r = subprocess.run(["docker", "exec", name, "curl", "-s", "--max-time", "2",
                            "http://127.0.0.1:8080/cluster/status"],
                           capture_output=True, timeout=10)
        return json.loads(r.stdout) if r.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError):
        return None


def agreed_leader(monitors, timeout=30.0):
    """The leader every monitor agrees on (all running), or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        views = [monitor_status(m) if running(m) else None for m in monitors]
        if all(views):
            leaders = {v["leader"] for v in views}
            lid = leaders.pop() if len(leaders) == 1 else 0
            if lid and any(v["monitor"] == lid and v["role"] == "leader" for v in views):
                return lid, views
        time.sleep(0.2)
    return None, None


def wait_back(name, t0, timeout=BACK_S):
    """Until name runs again, started after t0: its start time, or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = inspect(name)
        st = d["State"] if d else None
        if st and st["Running"] and not st["Paused"]:
            started = docker_time(st["StartedAt"])
            if started >= t0:
                return started
        time.sleep(0.05)
    return None


def both_active(lanes_dir, lanes):
    return all(os.path.exists(os.path.join(lanes_dir, l + ".active")) for l in lanes)


def schedule(rng, kills):
    kinds = ["leader", "leader", "follower", "gateway", "coordinator"]
    kinds += ["worker"] * max(0, kills - len(kinds))
    rng.shuffle(kinds)
    kinds.insert(rng.randint(2, len(kinds)), "hang")
    return kinds


class Chaos:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.names = containers(a.project)
        pre = a.project + "-"
        self.monitors = [n for n in self.names if re.match(re.escape(pre) + r"monitor-\d+-\d+$", n)]
        self.workers = [n for n in self.names if re.match(
            re.escape(pre) + r"(filter|agg-q\d|sink)-\d+$", n)]
        self.gateway = pre + "gateway-1"
        self.coordinator = pre + "coordinator-1"
        self.kills = []  # dicts: kind, victim, t, both, back, leader
        self.fails = 0
        self.not_up = []

    def short(self, name):
        return name[len(self.a.project) + 1:]

    def monitor_of(self, mid):
        for m in self.monitors:
            if re.search(r"-monitor-%d-\d+$" % mid, m):
                return m
        raise RuntimeError("no container for monitor %d" % mid)

    def pick(self, kind):
        """The victim of a kind (and the leader's id for monitor kinds)."""
        if kind in ("leader", "follower"):
            lid, _ = agreed_leader(self.monitors)
            if lid is None:
                raise RuntimeError("the monitors do not agree on a leader")
            if kind == "leader":
                return self.monitor_of(lid), lid
            others = [m for m in self.monitors if m != self.monitor_of(lid)]
            return self.rng.choice(others), lid
        if kind == "gateway":
            return self.gateway, None
        if kind == "coordinator":
            return self.coordinator, None
        return self.rng.choice(self.workers), None

    def hit(self, kind):
        victim, lid = self.pick(kind)
        both = both_active(self.a.lanes, self.a.lane)
        t = time.time()
        if kind == "hang":
            r = subprocess.run(["docker", "exec", victim, "sh", "-c", STOP_SCRIPT],
                               capture_output=True, timeout=30)
            st, body = (204, b"") if r.returncode == 0 else (r.returncode, r.stderr)
            try:
                t = float(r.stdout.decode().split()[-1])  # when it was stopped
            except (ValueError, IndexError):
                pass
        else:
            st, body = api("POST", "/containers/%s/kill?signal=KILL" % victim)
        if st != 204:
            raise RuntimeError("%s %s: %s %s" % (kind, victim, st, body[:200]))
        back = wait_back(victim, t, BACK_S + (10 if kind == "hang" else 0))
        self.kills.append(dict(kind=kind, victim=victim, t=t, both=both, back=back,
                               leader=lid))
        print("  %-11s %-16s %s" % (kind, self.short(victim),
                                    "running again after %.2f s" % (back - t) if back
                                    else "NOT running again within %.0f s" % BACK_S),
              flush=True)
        if kind in ("leader", "follower") and back:
            agreed_leader(self.monitors)  # the cluster settles before the next kill

    def run(self):
        deadline = time.time() + 120
        while not both_active(self.a.lanes, self.a.lane):
            if time.time() > deadline:
                raise RuntimeError("the client lanes did not start")
            time.sleep(0.1)
        kinds = schedule(self.rng, self.a.kills)
        print("  seed %d: %s" % (self.a.seed, " ".join(kinds)), flush=True)
        t0 = time.time()
        for kind in kinds:
            time.sleep(self.rng.uniform(0.3, 1.5))  # the schedule's pace, not a sync
            self.hit(kind)
        extra = 0
        while sum(k["both"] for k in self.kills if k["kind"] != "hang") < self.a.min_kills \
                and extra < 10:
            time.sleep(self.rng.uniform(0.3, 1.5))
            self.hit("worker")
            extra += 1
        print("  %d kills + 1 hang in %.1f s" % (len(self.kills) - 1, time.time() - t0),
              flush=True)

    # ------------------------------------------------------------ report

    def logs(self):
        """Every monitor's log lines (all incarnations), by time; also saved
        merged into --monitor-log if given."""
        lines = []
        pat = re.compile(r"^(\S+Z) \w+ (monitor-\d+)\[\d+\] (.*)$")
        for m in self.monitors:
            r = subprocess.run(["docker", "logs", m], capture_output=True, text=True,
                               timeout=60)
            for ln in (r.stdout + r.stderr).splitlines():
                mt = pat.match(ln)
                if mt:
                    lines.append((log_time(mt.group(1)), mt.group(2), mt.group(3), ln))
        lines.sort()
        if self.a.monitor_log:
            with open(self.a.monitor_log, "w") as f:
                f.writelines(x[3] + "\n" for x in lines)
        return [x[:3] for x in lines]

    @staticmethod
    def first(lines, t, regex, skip=None):
        rx = re.compile(regex)
        for ts, who, msg in lines:
            if ts >= t - 0.001 and who != skip and rx.search(msg):
                return ts
        return None

    def measure(self, lines):
        ends = [k["t"] for k in self.kills[1:]] + [float("inf")]
        for k, end in zip(self.kills, ends):
            v = re.escape(k["victim"])
            if k["kind"] == "hang":
                k["detect"] = self.first(lines, k["t"], r"slot=%s hung \(" % v)
            else:
                k["detect"] = self.first(lines, k["t"], r"slot=%s exited .*: crash" % v)
            k["up"] = self.first(lines, k["t"], r"slot=%s restarted " % v)
            k["elect"] = None
            if k["kind"] == "leader":
                k["elect"] = self.first(lines, k["t"], r"^leader=\d+ term=\d+ role=leader",
                                        skip="monitor-%d" % k["leader"])
            if k["kind"] in ("leader", "follower"):  # did it come back as a follower?
                who = "monitor-" + re.search(r"-monitor-(\d+)-\d+$", k["victim"]).group(1)
                k["claimed"] = any(w == who and k["t"] <= ts < end and
                                   re.match(r"leader=\d+ term=\d+ role=leader", msg)
                                   for ts, w, msg in lines)

    def check(self, ok, what):
        print("%s: %s" % ("PASS" if ok else "FAIL", what), flush=True)
        if not ok:
            self.fails += 1

    def report(self):
        def d(k, key):
            return "%6.2f" % (k[key] - k["t"]) if k.get(key) else "     -"

        print("  %-3s %-11s %-16s %-4s %6s %6s %6s %6s" % (
            "#", "kind", "victim", "both", "detect", "start", "up", "elect"))
        for i, k in enumerate(self.kills, 1):
            print("  %-3d %-11s %-16s %-4s %s %s %s %s" % (
                i, k["kind"], self.short(k["victim"]), "yes" if k["both"] else "no",
                d(k, "detect"), d(k, "back"), d(k, "up"), d(k, "elect")))
        print("  (seconds from the kill: detect = the monitors' crash/hang line, start = "
              "Docker's StartedAt,\n   up = first heartbeat of the new incarnation, "
              "elect = the new leader's line)")
        mons = [k for k in self.kills if "claimed" in k]
        print("  killed monitors back as followers: %d of %d (the others led for a while "
              "before hearing the leader)" % (sum(not k["claimed"] for k in mons), len(mons)))
        for key, label in (("detect", "detection"), ("back", "running again"),
                           ("up", "first heartbeat"), ("elect", "re-election")):
            vals = [k[key] - k["t"] for k in self.kills if k.get(key) and k["kind"] != "hang"]
            if vals:
                print("  %-16s min %.2f s  median %.2f s  max %.2f s  (%d kills)" % (
                    label, min(vals), statistics.median(vals), max(vals), len(vals)))

    def verify(self):
        crashes = [k for k in self.kills if k["kind"] != "hang"]
        both = sum(k["both"] for k in crashes)
        kinds = {k["kind"] for k in crashes}
        self.check(both >= self.a.min_kills and {"leader", "follower"} <= kinds and
                   kinds & {"worker", "gateway", "coordinator"},
                   "%d docker kills while both client lanes ran a session (want >= %d), "
                   "the monitors' leader (%d times) and a follower among them" % (
                       both, self.a.min_kills, sum(k["kind"] == "leader" for k in crashes)))
        down = sorted({self.short(k["victim"]) for k in self.kills if not running(k["victim"])})
        self.check(not down and all(k["back"] for k in self.kills),
                   "every killed container is running again (docker inspect)%s" % (
                       ": not " + " ".join(down) if down else ""))
        slow = [k for k in crashes if not k["detect"] or k["detect"] - k["t"] > DETECT_S]
        self.check(not slow, "every kill detected within %.0f s (event stream)%s" % (
            DETECT_S, "" if not slow else ": not " + " ".join(
                self.short(k["victim"]) for k in slow)))
        el = [k for k in crashes if k["kind"] == "leader"]
        self.check(el and all(k["elect"] and k["elect"] - k["t"] <= REELECT_S for k in el),
                   "a new leader within %.0f s of each leader kill (%s)" % (
                       REELECT_S, ", ".join("%.2f s" % (k["elect"] - k["t"]) if k["elect"]
                                            else "none" for k in el)))
        for k in (k for k in self.kills if k["kind"] == "hang"):
            self.check(k["detect"] and k["detect"] - k["t"] <= HANG_DETECT_S and k["back"],
                       "hung %s (SIGSTOP) detected within %.1f s (%s), killed and "
                       "restarted" % (self.short(k["victim"]), HANG_DETECT_S,
                                      "%.2f s" % (k["detect"] - k["t"]) if k["detect"]
                                      else "not detected"))
        self.check(not self.not_up, "afterwards the leader's /cluster/status shows all %d "
                   "containers up%s" % (len(self.names), ": not " + " ".join(self.not_up)
                                        if self.not_up else ""))

    def settled(self):
        """Waits (bounded) until the leader's table shows every container up;
        the check's line is printed by verify()."""
        deadline = time.time() + 60
        bad = ["?"]
        while time.time() < deadline:
            lid, views = agreed_leader(self.monitors, timeout=10)
            if lid:
                v = next(x for x in views if x["monitor"] == lid)
                bad = [self.short(s["name"]) for s in v["slots"] if s["state"] != "up"]
                if not bad and len(v["slots"]) == len(self.names):
                    break
            time.sleep(0.2)
        self.not_up = bad


class Deliberate(Chaos):
    """Deliberate stops are left alone (the --phase deliberate checks)."""

    def slot_state(self, name):
        lid, views = agreed_leader(self.monitors)
        if not lid:
            return None
        v = next(x for x in views if x["monitor"] == lid)
        return next((x["state"] for x in v["slots"] if x["name"] == name), None)

    def wait_slot(self, name, state, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.slot_state(name) == state:
                return True
            time.sleep(0.2)
        return False

    def watch(self, name, seconds, still):
        """Whether still(State) holds for `seconds` (a bounded window in which
        the monitors would act if they were going to)."""
        end = time.time() + seconds
        while time.time() < end:
            d = inspect(name)
            if not d or not still(d["State"]):
                return False
            time.sleep(0.2)
        return True

    def post(self, name, action):
        st, body = api("POST", "/containers/%s/%s" % (name, action), timeout=60)
        if st not in (204, 304):
            raise RuntimeError("%s %s: HTTP %d %s" % (action, name, st, body[:200]))

    def run(self):
        w = self.rng.choice(self.workers)
        started = inspect(w)["State"]["StartedAt"]
        self.post(w, "pause")
        seen = self.wait_slot(w, "stopped")
        left = self.watch(w, HUNG_S + 1.5,
                          lambda s: s["Paused"] and s["StartedAt"] == started)
        self.post(w, "unpause")
        self.check(seen and left and self.wait_slot(w, "up"),
                   "docker pause of %s: stopped on purpose in the leader's table, not "
                   "killed within %.1f s (past the hang threshold), up after unpause" % (
                       self.short(w), HUNG_S + 1.5))
        f = self.rng.choice([x for x in self.workers if "-filter-" in x] or self.workers)
        self.post(f, "stop")
        seen = self.wait_slot(f, "stopped")
        left = self.watch(f, 3.0, lambda s: not s["Running"])
        self.post(f, "start")
        self.check(seen and left and self.wait_slot(f, "up"),
                   "docker stop of %s: stopped on purpose in the leader's table, not "
                   "started again within 3 s, up after docker start" % self.short(f))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--phase", choices=("chaos", "deliberate"), default="chaos")
    p.add_argument("--project", required=True)
    p.add_argument("--lanes", help="folder of the lanes' .active markers")
    p.add_argument("--lane", action="append", help="a lane's name")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--kills", type=int, default=12)
    p.add_argument("--min-kills", type=int, default=10)
    p.add_argument("--done", help="file created when the kills are over")
    p.add_argument("--monitor-log", help="write the monitors' merged log lines here")
    a = p.parse_args()
    if a.phase == "deliberate":
        d = Deliberate(a)
        try:
            d.run()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            d.check(False, "deliberate stops: %s" % e)
        return 1 if d.fails else 0
    if not (a.lanes and a.lane and a.done):
        p.error("--lanes, --lane and --done are needed for --phase chaos")
    ch = Chaos(a)
    try:
        ch.run()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        ch.check(False, "chaos schedule: %s" % e)
    finally:
        open(a.done, "w").close()
    ch.settled()  # first: the last victims' first heartbeats are then logged
    ch.measure(ch.logs())
    ch.report()
    ch.verify()
    return 1 if ch.fails else 0


if __name__ == "__main__":
    sys.exit(main())
