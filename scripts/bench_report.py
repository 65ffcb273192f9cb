#!/usr/bin/env python3
"""bench_report.py - the tables of scripts/bench.sh (standard library only).

Reads the run folders bench.sh leaves under WORK/runs/N (meta.json,
client.json, probe.json, mgmt0.json, mgmt1.json, client.out, logs/*.log) and
DuckDB's timings under WORK/duck/NAME.N.json; docs/BENCHMARKS.md explains
every column.

  bench_report.py report WORK NAME REPLICAS   times, ratio, per stage, memory
  bench_report.py scaling WORK REPLICAS       time per GB at every scale run
  bench_report.py replicas WORK NAME          one row per replica setting
  bench_report.py count WORK NAME REPLICAS FSYNC   runs made so far
"""
import glob
import json
import os
import re
import statistics
import sys

MB = 1e6
# issue 13's memory bounds (MB): reported, not enforced
BOUND_ANY, BOUND_GATEWAY, BOUND_BROKER = 512, 64, 1024
STAGES = ("filter", "agg-q2", "agg-q3", "agg-q4", "sink")
KV = re.compile(r"(\w+)=(\"[^\"]*\"|\S+)")


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def kv(line):
    return {k: v.strip('"') for k, v in KV.findall(line)}


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


class Run:
    def __init__(self, d):
        self.dir = d
        self.meta = load(f"{d}/meta.json", {})
        self.client = load(f"{d}/client.json", {})
        self.probe = load(f"{d}/probe.json", {})
        self.mgmt = (load(f"{d}/mgmt0.json", {}), load(f"{d}/mgmt1.json", {}))
        self.wall = self.client.get("wall_s", 0.0)
        self.workers = {}  # process name -> summed "finished" counters
        self.gateway = {}
        # only the measured session's lines (the warm-up's are in the logs too)
        sid = re.search(r"session started session=([0-9a-f-]{36})",
                        read(f"{d}/client.err"))
        mine = f" session={sid.group(1)} " if sid else " session="
        for log in glob.glob(f"{d}/logs/*.log"):
            name = os.path.basename(log)[:-4]
            with open(log, errors="replace") as f:
                for line in f:
                    if mine not in line:
                        continue
                    if " finished session=" in line:
                        w = self.workers.setdefault(name, {})
                        for k, v in kv(line).items():
                            if k in ("in_msgs", "in_bytes", "out_msgs", "out_bytes", "busy_ms"):
                                w[k] = w.get(k, 0) + int(v)
                    elif " session end session=" in line:
                        for k, v in kv(line).items():
                            if k in ("rows", "batches", "bytes", "result_bytes"):
                                self.gateway[k] = self.gateway.get(k, 0) + int(v)

    def cpu(self, name):
        p = self.probe.get(name)
        return p["cpu_s"] if p else None

    def rss_mb(self):
        """process name -> peak RSS in MB (client from ru_maxrss)."""
        out = {n: p["peak_rss_kb"] * 1024 / MB for n, p in self.probe.items()}
        if self.client.get("peak_rss_kb"):
            out["client"] = self.client["peak_rss_kb"] * 1024 / MB
        return out

    def stage_sum(self, stage, key):
        return sum(w.get(key, 0) for n, w in self.workers.items() if proc_stage(n) == stage)

    def broker_msgs(self):
        a, b = self.mgmt
        if not a.get("overview") or not b.get("overview"):
            return None, None
        d = {k: b["overview"][k] - a["overview"].get(k, 0) for k in b["overview"]}
        return d.get("publish"), d.get("deliver_get")


def proc_stage(name):
    """filter-1 -> filter, agg-q2-0 -> agg-q2, gateway -> gateway."""
    m = re.match(r"(.*)-\d+$", name)
    return m.group(1) if m else name


def runs_of(work, name=None, replicas=None, fsync=None):
    out = []
    for d in sorted(glob.glob(f"{work}/runs/*"), key=lambda p: int(os.path.basename(p))):
        r = Run(d)
        m = r.meta
        if name and m.get("name") != name or replicas and m.get("replicas") != replicas \
                or fsync and m.get("fsync") != fsync or m.get("client_status", 1) != 0:
            continue
        out.append(r)
    return out


def duck_times(work, name):
    ts = []
    for p in sorted(glob.glob(f"{work}/duck/{name}.*.json")):
        d = load(p)
        if d and "seconds" in d:
            ts.append(d["seconds"])
    return ts


def best(runs):
    return min(runs, key=lambda r: r.wall) if runs else None


def fmt(x, spec=".2f", none="-"):
    return none if x is None else format(x, spec)


def machine():
    cores = os.cpu_count()
    mem = model = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB" % (int(f.readline().split()[1]) / 1048576)
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    return f"{cores} cores, {mem}, {model}; load average now {load}"


def rate_row(label, secs, nbytes, lines):
    if secs is None:
        return f"{label:<30} {'-':>9}"
    return (f"{label:<30} {secs:9.2f} {nbytes / MB / secs:9.1f} {lines / secs:12,.0f}"
            f" {secs / (nbytes / 1e9):9.2f}")


def stage_rows(r):
    """(label, procs, cpu, msgs_in, msgs_out, bytes_in, bytes_out, busy_ms), in order."""
    rows = []
    f_in_msgs, f_in_bytes = r.stage_sum("filter", "in_msgs"), r.stage_sum("filter", "in_bytes")
    g = r.gateway
    rows.append(("client", 1, r.client.get("cpu_s"), None, g.get("batches"),
                 r.meta.get("bytes"), g.get("bytes"), None))
    rows.append(("gateway", 1, r.cpu("gateway"), g.get("batches"), f_in_msgs,
                 g.get("bytes"), f_in_bytes, None))
    for st in STAGES:
        names = sorted(n for n in r.probe if proc_stage(n) == st)
        cpu = sum(r.cpu(n) or 0 for n in names) if names else None
        mo, bo = r.stage_sum(st, "out_msgs"), r.stage_sum(st, "out_bytes")
        if st == "sink" and not bo:  # its results go to the gateway's results queue
            mo, bo = None, g.get("result_bytes")
        rows.append((st, len(names), cpu, r.stage_sum(st, "in_msgs"), mo,
                     r.stage_sum(st, "in_bytes"), bo, r.stage_sum(st, "busy_ms")))
        if len(names) > 1:
            for n in names:
                w = r.workers.get(n, {})
                rows.append(("  " + n, 1, r.cpu(n), w.get("in_msgs", 0), w.get("out_msgs", 0),
                             w.get("in_bytes", 0), w.get("out_bytes", 0), w.get("busy_ms", 0)))
    rows.append(("coordinator", 1, r.cpu("coordinator"), None, None, None, None, None))
    # every data message is published once and consumed once: the broker
    # takes in what the gateway and the workers publish, and hands out what
    # the workers and the gateway (results) consume (control messages aside;
    # the sink's result messages are not counted in its log)
    w_in = sum(w.get("in_bytes", 0) for w in r.workers.values())
    w_out = sum(w.get("out_bytes", 0) for w in r.workers.values())
    unlogged_results = g.get("result_bytes", 0) if not r.stage_sum("sink", "out_bytes") else 0
    wm_in = sum(w.get("in_msgs", 0) for w in r.workers.values())
    wm_out = sum(w.get("out_msgs", 0) for w in r.workers.values())
    rows.append(("broker", 1 if "broker" in r.probe else 0, r.cpu("broker"),
                 f_in_msgs + wm_out, wm_in, f_in_bytes + w_out + unlogged_results,
                 w_in + g.get("result_bytes", 0), None))
    return rows


def cmd_report(work, name, replicas):
    on = runs_of(work, name, replicas, "batch")
    off = runs_of(work, name, replicas, "none")
    duck = duck_times(work, name)
    if not on:
        print(f"bench: no successful run of {name} with {replicas}", file=sys.stderr)
        return 1
    b = best(on)
    nbytes, lines, scale = b.meta["bytes"], b.meta["lines"], b.meta["scale"]
    t_on = b.wall
    t_off = best(off).wall if off else None
    t_duck = min(duck) if duck else None
    print()
    print(f"coffee-stream benchmark: {name}, scale {scale}: {nbytes / MB:.1f} MB of CSV, "
          f"{lines:,} lines")
    print(f"machine: {machine()}")
    print(f"load average before each run: {', '.join(r.meta.get('load', '?') for r in on + off)}"
          " (other work on the machine skews every figure)")
    print(f"replicas: {replicas}; best of {len(on)} run(s) each")
    print()
    print(f"{'':<30} {'seconds':>9} {'MB/s':>9} {'rows/s':>12} {'s/GB':>9}")
    print(rate_row("pipeline, persistence on", t_on, nbytes, lines))
    print(rate_row("pipeline, persistence off", t_off, nbytes, lines))
    print(rate_row("DuckDB (2 threads)", t_duck, nbytes, lines))
    print()
    if t_duck:
        ratio = t_on / t_duck
        off_txt = f"; persistence off: {t_off / t_duck:.2f}x" if t_off else ""
        print(f"RATIO pipeline/DuckDB: {ratio:.2f}x (persistence on){off_txt}; "
              f"issue 13's target: <= 2.0 at scale 1")
    else:
        print("RATIO pipeline/DuckDB: - (DuckDB did not run)")
    if t_off:
        print(f"cost of persistence (best of each): {(t_on / t_off - 1) * 100:+.1f} %")
    print("runs (s): persistence on: %s; off: %s; DuckDB: %s" % (
        " ".join(f"{r.wall:.2f}" for r in on), " ".join(f"{r.wall:.2f}" for r in off) or "-",
        " ".join(f"{t:.2f}" for t in duck) or "-"))
    print()
    print(f"per stage, best run with persistence on ({t_on:.2f} s). CPU s: utime+stime from "
          f"the client's start to its end;")
    print("cores = CPU s / wall s; MB/s/core = MB in / CPU s; handler s = time in the "
          "stage's handlers (its log)")
    hdr = (f"{'stage':<13} {'procs':>5} {'CPU s':>8} {'cores':>6} {'MB/s/core':>10} "
           f"{'msgs in':>9} {'msgs out':>9} {'MB in':>9} {'MB out':>9} {'handler s':>9}")
    print(hdr)
    total = 0.0
    for label, procs, cpu, mi, mo, bi, bo, busy in stage_rows(b):
        if not label.startswith(" "):
            total += cpu or 0
        print(f"{label:<13} {procs:>5} {fmt(cpu):>8} {fmt(cpu / t_on if cpu is not None else None):>6} "
              f"{fmt(bi / MB / cpu if cpu and bi else None, '.1f'):>10} "
              f"{fmt(mi, ',d'):>9} {fmt(mo, ',d'):>9} "
              f"{fmt(bi / MB if bi is not None else None, '.1f'):>9} "
              f"{fmt(bo / MB if bo is not None else None, '.1f'):>9} "
              f"{fmt(busy / 1000 if busy is not None else None):>9}")
    cores = os.cpu_count() or 1
    print(f"{'total':<13} {'':>5} {total:8.2f} {total / t_on:6.2f}   "
          f"(of {cores} cores: {total / t_on / cores * 100:.0f} % busy)")
    gone = [n for n, p in b.probe.items() if p.get("exited")]
    if gone:
        print(f"warning: {', '.join(gone)} exited during the run: figures up to its last "
              "sample (0.2 s)")
    print("(client: CSV read / sent; gateway out = filter in; sink out = the results the "
          "gateway receives; broker in / out = the data")
    print(" messages the gateway and workers publish / the workers and the gateway consume, "
          "from their logs: control messages aside)")
    m_in, m_out = b.broker_msgs()
    data_msgs = next(row[3] for row in stage_rows(b) if row[0] == "broker")
    # RabbitMQ's statistics come every 5 s: a short run's counts may be
    # missing, or include the warm-up session's (control messages add a
    # fraction, not a multiple)
    if m_in is not None and data_msgs <= m_in <= 3 * data_msgs:
        print(f"(the broker's management API counted {m_in:,} messages published and "
              f"{m_out:,} delivered, control included: its statistics lag, so "
              f"approximate)")
    elif m_in is not None:
        print(f"(no cross-check from the broker's management API: its statistics, every "
              f"5 s, had {'not caught up' if m_in < data_msgs else 'the warm-up in them'})")
    print()
    # memory: the peak of each process over every run of this report
    peak, sampled = {}, set()
    for r in on + off:
        for n, mb in r.rss_mb().items():
            peak[n] = max(peak.get(n, 0), mb)
        if "broker" in r.probe and not r.probe["broker"].get("hwm_reset"):
            sampled.add("broker")
    print(f"peak RSS (MB) over the {len(on) + len(off)} run(s) above; issue 13's bounds, "
          f"reported, not enforced:")
    order = ["client", "gateway", "coordinator"] + sorted(
        n for n in peak if proc_stage(n) in STAGES) + ["broker"]
    over = 0
    for n in order:
        if n not in peak:
            continue
        bound = BOUND_GATEWAY if n == "gateway" else BOUND_BROKER if n == "broker" else BOUND_ANY
        ok = peak[n] < bound if n in ("gateway", "broker") else peak[n] <= bound
        over += not ok
        rel = "<" if n in ("gateway", "broker") else "<="
        note = " (VmRSS sampled every 0.2 s)" if n in sampled else ""
        print(f"  {n:<13} {peak[n]:9.1f}   {rel} {bound:<5} {'ok' if ok else 'OVER'}{note}")
    print(f"  memory bounds: {'all met' if not over else f'{over} process(es) OVER'}")
    return 0


def cmd_scaling(work, replicas):
    rows = []
    for r in runs_of(work, replicas=replicas, fsync="batch"):
        rows.append(r)
    by = {}
    for r in rows:
        by.setdefault(r.meta["name"], []).append(r)
    if not by:
        return 1
    print()
    print(f"scaling: persistence on, replicas {replicas}, best run per scale")
    print(f"{'scale':>6} {'MB of CSV':>10} {'pipeline s':>11} {'s/GB':>7} {'DuckDB s':>9} "
          f"{'s/GB':>7} {'ratio':>6} {'runs':>5} {'median s':>9} {'s/GB':>7}")
    per_gb, pts, med_gb = [], [], []
    for name, rs in sorted(by.items(), key=lambda kv_: kv_[1][0].meta["scale"]):
        b = best(rs)
        gb = b.meta["bytes"] / 1e9
        d = duck_times(work, name)
        dm = min(d) if d else None
        med = statistics.median(r.wall for r in rs)
        per_gb.append(b.wall / gb)
        med_gb.append(med / gb)
        pts.append((gb, b.wall))
        print(f"{b.meta['scale']:>6} {gb * 1000:10.1f} {b.wall:11.2f} {b.wall / gb:7.2f} "
              f"{fmt(dm):>9} {fmt(dm / gb if dm else None):>7} "
              f"{fmt(b.wall / dm if dm else None):>6} {len(rs):5d} {med:9.2f} {med / gb:7.2f}")
    if len(per_gb) > 1:
        spread = max(per_gb) / min(per_gb) - 1
        print(f"time per GB: {min(per_gb):.2f} .. {max(per_gb):.2f} s/GB, spread "
              f"{spread * 100:.1f} %: {'flat' if spread <= 0.15 else 'NOT flat'} within 15 %")
        med_spread = max(med_gb) / min(med_gb) - 1
        print(f"the same from the median runs: {min(med_gb):.2f} .. {max(med_gb):.2f} s/GB, "
              f"spread {med_spread * 100:.1f} %")
        # What the spread is made of: the cost of each further GB between
        # successive scales (flat = linear in the input), and the fixed
        # cost of a session, from a least-squares line wall = a + b * GB.
        marg = [(w2 - w1) / (g2 - g1) for (g1, w1), (g2, w2) in zip(pts, pts[1:])]
        mspread = max(marg) / min(marg) - 1 if min(marg) > 0 else float("inf")
        n = len(pts)
        mx = sum(g for g, _ in pts) / n
        my = sum(w for _, w in pts) / n
        sxx = sum((g - mx) ** 2 for g, _ in pts)
        slope = sum((g - mx) * (w - my) for g, w in pts) / sxx
        print("marginal time per GB between successive scales: "
              + ", ".join(f"{m:.2f}" for m in marg)
              + f" s/GB (spread {mspread * 100:.1f} %); line fit: "
              f"{my - slope * mx:.3f} s fixed per session + {slope:.2f} s/GB")
    return 0


def cmd_replicas(work, name):
    by = {}
    for r in runs_of(work, name, fsync="batch"):
        by.setdefault(r.meta["replicas"], []).append(r)
    if not by:
        return 1
    duck = duck_times(work, name)
    dm = min(duck) if duck else None
    first = next(iter(by.values()))[0]
    print()
    print(f"filter replicas: {name} (scale {first.meta['scale']}), persistence on, best run of each")
    print(f"{'replicas':<40} {'seconds':>8} {'MB/s':>7} {'ratio':>6} {'filter CPU s':>12} "
          f"{'MB/s/core':>10} {'total CPU s':>11} {'max RSS MB':>10}")

    def nfilter(reps):
        m = re.search(r"filter=(\d+)", reps)
        return int(m.group(1)) if m else 1
    for reps, rs in sorted(by.items(), key=lambda kv_: nfilter(kv_[0])):
        b = best(rs)
        fcpu = sum(b.cpu(n) or 0 for n in b.probe if proc_stage(n) == "filter")
        tot = sum(c or 0 for label, _, c, *_ in stage_rows(b) if not label.startswith(" "))
        fin = b.stage_sum("filter", "in_bytes")
        rss = max(v for n, v in b.rss_mb().items() if n != "broker")
        print(f"{reps:<40} {b.wall:8.2f} {b.meta['bytes'] / MB / b.wall:7.1f} "
              f"{fmt(b.wall / dm if dm else None):>6} {fcpu:12.2f} "
              f"{fmt(fin / MB / fcpu if fcpu else None, '.1f'):>10} {tot:11.2f} {rss:10.1f}")
    return 0


def main(argv):
    if len(argv) == 4 and argv[0] == "report":
        return cmd_report(*argv[1:])
    if len(argv) == 3 and argv[0] == "scaling":
        return cmd_scaling(*argv[1:])
    if len(argv) == 3 and argv[0] == "replicas":
        return cmd_replicas(*argv[1:])
    if len(argv) == 5 and argv[0] == "count":
        print(len(runs_of(argv[1], argv[2], argv[3], argv[4])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
