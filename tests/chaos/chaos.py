#!/usr/bin/env python3
"""chaos.py - random SIGKILLs of pipeline processes while sessions run.

Run through tests/chaos/run.sh (make test-chaos; make chaos-soak), which
starts the private broker. What it does:

 1. data sets: the real slice (../shared/data/dev), a generated set with
    malformed rows and edge cases (scale 0.005) and a generated set of
    50-100 MB (scale 0.02); the reference results of each, once;
 2. the pipeline (CS_REPLICAS, 2-3 replicas of every stage) and a NO-KILL
    run of the session mix (one client per data set, concurrently), timed:
    each chaos client's deadline is 10x its data set's no-kill duration +
    60 s;
 3. the chaos run: three lanes (one per data set) each running clients one
    after another, while a killer SIGKILLs pipeline processes on a schedule
    drawn from --seed (same seed, same victims and delays): a kill every
    0.5-2 s, at least --kills kill events, every process kind at least once,
    one kill of two processes at once and one of every pipeline process at
    once. Killed processes are restarted at once (the restart policy of
    harness.Pipeline); recovery = kill -> ready line of the successor. New
    clients start until the kill phase is over and --min-sessions ran;
 4. checks: every client exits 0 within its deadline with results
    byte-identical to the reference and equal rejected counts; then no
    per-session state file, no message in any queue, no unexpected queue,
    one consumer per replica queue, one broker connection per process,
    exactly one live process per slot and no other process of ours; a graceful stop where every process exits 0;
 5. a summary: kills per kind, recovery times, session durations.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import traceback
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

REPLICAS = 'filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2'
CLIENT_FLAGS = ['--session-retries', '100', '--connect-retries', '30']


def make_schedule(rng, pipe, events, dmin=0.5, dmax=2.0):
    """[(delay_s, [slot names])]: every kind once, one double kill, one kill
    of every slot, the rest single kills of random slots; shuffled."""
    slots = pipe.names()
    plan = [[rng.choice(pipe.names(k))] for k in H.KINDS]
    plan.append(sorted(rng.sample(slots, 2)))
    plan.append(['ALL'])
    while len(plan) < events:
        plan.append([rng.choice(slots)])
    rng.shuffle(plan)
    return [(round(rng.uniform(dmin, dmax), 3), v) for v in plan]


class Lane:
    def __init__(self, name, dataset):
        self.name = name
        self.dataset = dataset
        self.client = None
        self.done = []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=None, help='kill schedule seed (default: random)')
    ap.add_argument('--kills', type=int, default=40, help='kill events (at least 30)')
    ap.add_argument('--delay', type=float, nargs=2, default=[0.5, 2.0], metavar=('MIN', 'MAX'),
                    help='seconds between kill events, drawn uniformly (default 0.5 2)')
    ap.add_argument('--min-sessions', type=int, default=5)
    ap.add_argument('--big-scale', type=float, default=0.02)
    ap.add_argument('--edge-scale', type=float, default=0.005)
    ap.add_argument('--replicas', default=REPLICAS)
    ap.add_argument('--soak', action='store_true',
                    help='200 kill events, big set at scale 0.1')
    ap.add_argument('--keep', action='store_true', help='keep the work dir')
    args = ap.parse_args()
    if args.soak:
        args.kills = max(args.kills, 200)
        args.big_scale = 0.1
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    name = 'chaos-soak' if args.soak else 'chaos'
    argv, skip = [], False
    for a in sys.argv[1:]:
        if skip or a == '--seed' or a.startswith('--seed='):
            skip = a == '--seed'
            continue
        argv.append(a)
    H.say('%s: seed=%d kill events=%d replicas=%s (reproduce: tests/chaos/run.sh chaos %s)' % (
        name, seed, args.kills, args.replicas, ' '.join(argv + ['--seed', str(seed)])))
    work = tempfile.mkdtemp(prefix='cs-%s.' % name)
    checks = H.Checks()
    try:
        run(args, seed, work, checks)
    except H.Timeout as e:
        checks.ko('a wait timed out: %s' % e)
    except Exception:  # noqa: BLE001 - a harness error must still fail the run
        checks.ko('harness error', traceback.format_exc())
    finally:
        pipe = RUN.get('pipe')
        if pipe is not None:
            pipe.kill_everything()
        for c in RUN.get('clients', []):
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()
    rc = checks.summary()
    if rc == 0 and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print('%s: work dir kept: %s (logs in %s/logs)' % (name, work, work))
    return rc


RUN = {}


def run(args, seed, work, checks):
    rng = random.Random(seed)
    bindir = H.snapshot_bins(os.path.join(H.ROOT, os.environ.get('B', 'build')),
                             os.path.join(work, 'bin'))
    data = os.path.join(work, 'data')
    exp = os.path.join(work, 'expected')
    os.makedirs(data)
    # --- data sets and their references
    t = H.now()
    shutil.copytree(os.path.join(H.SHARED, 'data', 'dev'), os.path.join(data, 'dev'))
    dseed = rng.randrange(1, 10**6)  # drawn before the schedule: part of the seed
    H.gen_dataset(bindir, os.path.join(data, 'edge'), args.edge_scale, dseed)
    H.gen_dataset(bindir, os.path.join(data, 'big'), args.big_scale, dseed + 1)
    sets = ['dev', 'edge', 'big']
    sizes = {d: H.dir_size(os.path.join(data, d)) / 1e6 for d in sets}
    H.references([(os.path.join(data, d), os.path.join(exp, d)) for d in sets])
    H.say('data: dev %.1f MB, edge (scale %g, seed %d, malformed rows) %.1f MB, big '
          '(scale %g, seed %d) %.1f MB; references in %.1f s' % (
              sizes['dev'], args.edge_scale, dseed, sizes['edge'], args.big_scale,
              dseed + 1, sizes['big'], H.now() - t))
    if not args.soak:
        checks.check(50 <= sizes['big'] <= 100, 'the big data set is 50-100 MB (%.1f MB)' %
                     sizes['big'])
    # --- pipeline
    broker = H.Broker()
    pipe = H.Pipeline(bindir, work, broker.amqp_url, args.replicas)
    RUN['pipe'] = pipe
    t = H.now()
    pipe.start()
    H.say('pipeline up in %.1f s: %s; gateway %s; logs %s' % (
        H.now() - t, ' '.join(pipe.names()), pipe.addr, pipe.logs))
    schedule = make_schedule(rng, pipe, args.kills, args.delay[0], args.delay[1])
    nkills = sum(len(pipe.names()) if v == ['ALL'] else len(v) for _, v in schedule)
    H.say('kill schedule (seed %d, digest %s): %d events, %d process kills, %.1f s of delays' % (
        seed, H.schedule_digest(schedule), len(schedule), nkills,
        sum(d for d, _ in schedule)))
    H.say('  ' + ' '.join('%.2f:%s' % (d, '+'.join(v)) for d, v in schedule))
    clients = []
    RUN['clients'] = clients
    out = os.path.join(work, 'out')
    os.makedirs(out)

    # --- no-kill run
    base = {}
    nk = [H.Client(bindir, 'nokill-' + d, d, data, os.path.join(out, 'nokill-' + d), pipe.addr,
                   600, CLIENT_FLAGS) for d in sets]
    clients += nk
    H.wait_until(lambda: all(c.poll() for c in nk), 600, 'the no-kill clients', tick=pipe.poll)
    for c in nk:
        ok = c.rc == 0
        same, details = H.compare_exact(os.path.join(exp, c.dataset), c.outdir, c.stdout) \
            if ok else (False, H.tail(c.stderr, 5))
        checks.check(ok and same, 'no-kill: %s exited %s in %.2f s, results exact' % (
            c.dataset, c.rc, c.duration), details)
        base[c.dataset] = c.duration
    deadline = {d: 10 * base[d] + 60 for d in sets}
    H.say('no-kill durations: %s; chaos deadlines (10x + 60 s): %s' % (
        ', '.join('%s %.2f s' % (d, base[d]) for d in sets),
        ', '.join('%s %.0f s' % (d, deadline[d]) for d in sets)))
    if pipe.recoveries or pipe.unexpected:
        checks.ko('no-kill run: a process died: %s' % pipe.unexpected)

    # --- chaos run
    lanes = [Lane(d, d) for d in sets]
    started = [0]

    def start_client(lane):
        k = len(lane.done) + (1 if lane.client else 0)
        c = H.Client(bindir, '%s-%d' % (lane.name, k), lane.dataset, data,
                     os.path.join(out, '%s-%d' % (lane.name, k)), pipe.addr,
                     deadline[lane.dataset], CLIENT_FLAGS)
        clients.append(c)
        lane.client = c
        started[0] += 1

    kills = []          # (t, [(name, pid)])
    killed_kinds = {}
    ev = 0
    t_chaos = H.now()
    next_at = t_chaos + schedule[0][0]
    for lane in lanes:
        start_client(lane)
    while True:
        pipe.poll()
        tnow = H.now()
        if ev < len(schedule) and tnow >= next_at:
            victims = schedule[ev][1]
            names = pipe.names() if victims == ['ALL'] else victims
            done = pipe.kill(names)
            kills.append((tnow - t_chaos, done))
            for n, _ in done:
                k = pipe.slot(n).kind
                killed_kinds[k] = killed_kinds.get(k, 0) + 1
            H.say('kill %d/%d at +%.2f s: %s%s' % (
                ev + 1, len(schedule), tnow - t_chaos,
                'EVERY process: ' if victims == ['ALL'] else
                'TWO at once: ' if len(victims) == 2 else '',
                ' '.join('%s (pid %d)' % (n, p) for n, p in done)))
            if len(done) < len(names):
                H.say('  (not running: %s)' % ' '.join(sorted(set(names) - {n for n, _ in done})))
            pipe.poll()  # the restart policy, at once
            ev += 1
            if ev < len(schedule):
                next_at = H.now() + schedule[ev][0]
        killing = ev < len(schedule)
        for lane in lanes:
            c = lane.client
            if c is not None and c.poll():
                lane.done.append(c)
                lane.client = None
                H.say('session %s ended: exit %s in %.2f s%s (%d re-runs)' % (
                    c.label, c.rc, c.duration, ' DEADLINE EXCEEDED' if c.timed_out else '',
                    c.reruns()))
            if lane.client is None and (killing or started[0] < args.min_sessions):
                start_client(lane)
        if not killing and all(lane.client is None for lane in lanes):
            break
        time.sleep(0.02)
    t_kill_phase = (kills[-1][0] if kills else 0.0)
    H.say('kill phase over after %.1f s; all clients ended %.1f s after the start of the chaos run' % (
        t_kill_phase, H.now() - t_chaos))
    # the last recoveries
    pipe.wait_ready(pipe.names(), 120)

    # --- per-session checks
    chaos_clients = [c for lane in lanes for c in lane.done]
    checks.check(len(chaos_clients) >= args.min_sessions,
                 'chaos: %d sessions ran (at least %d, 3 at a time)' % (
                     len(chaos_clients), args.min_sessions))
    bad = []
    for c in chaos_clients:
        if c.rc != 0:
            bad.append('%s: exit %s after %.1f s%s (sessions %s); client stderr:\n%s' % (
                c.label, c.rc, c.duration, ' (deadline %.0f s exceeded)' % c.deadline
                if c.timed_out else '', ' '.join(c.sessions()), H.tail(c.stderr, 6)))
            continue
        same, details = H.compare_exact(os.path.join(exp, c.dataset), c.outdir, c.stdout)
        if not same:
            bad.append('%s (final session %s): %s' % (c.label, (c.sessions() or ['?'])[-1],
                                                      details))
    checks.check(not bad, 'chaos: all %d clients exited 0 within their deadlines with results '
                 'byte-identical to the reference and equal rejected counts' % len(chaos_clients),
                 '\n'.join(bad))
    checks.check(all(k in killed_kinds for k in H.KINDS) and len(kills) >= args.kills,
                 'chaos: %d kill events, %d process kills, every kind killed (%s)' % (
                     len(kills), sum(killed_kinds.values()),
                     ', '.join('%s %d' % (k, killed_kinds.get(k, 0)) for k in H.KINDS)))
    H.final_checks(checks, pipe, broker, bindir)
    H.say('graceful stop')
    H.stop_checks(checks, pipe)
    H.log_checks(checks, pipe)
    checks.check(not pipe.unexpected, 'no process died unless killed (%d unexpected exits)' %
                 len(pipe.unexpected), '\n'.join('%s#%d rc=%s:\n%s' % u for u in pipe.unexpected))
    summary(seed, kills, killed_kinds, pipe, base, chaos_clients, t_kill_phase)


def summary(seed, kills, killed_kinds, pipe, base, chaos_clients, t_kill_phase):
    rec = pipe.recoveries
    print('---- chaos summary (seed %d) ----' % seed)
    print('%-12s %6s  %s' % ('kind', 'kills', 'recovery min/median/max'))
    for k in H.KINDS:
        print('%-12s %6d  %s' % (k, killed_kinds.get(k, 0),
                                 H.stats([r for kk, _, r in rec if kk == k])))
    print('%-12s %6d  %s' % ('all', sum(killed_kinds.values()), H.stats([r for *_, r in rec])))
    print('kill events %d over %.1f s' % (len(kills), t_kill_phase))
    print('%-6s %8s %8s  %s' % ('set', 'no-kill', 'sessions', 'chaos duration min/median/max, re-runs'))
    for d in base:
        cs = [c for c in chaos_clients if c.dataset == d]
        print('%-6s %7.2fs %8d  %s, %d re-runs' % (d, base[d], len(cs),
                                                   H.stats([c.duration for c in cs]),
                                                   sum(c.reruns() for c in cs)))


if __name__ == '__main__':
    sys.exit(main())
