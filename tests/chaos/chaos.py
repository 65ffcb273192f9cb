#!/usr/bin/env python3
"""chaos.py - random SIGKILLs of pipeline processes and monitors while
sessions run; the monitors do every restart.

Run through tests/chaos/run.sh (make test-chaos; make chaos-soak), which
starts the private broker. What it does:

 1. data sets: the real slice (../shared/data/dev), a generated set with
    malformed rows and edge cases (scale 0.005) and a generated set of
    50-100 MB (scale 0.02); the reference results of each, once;
 2. the pipeline (CS_REPLICAS, 2-3 replicas of every stage) under 3
    monitors (--restarter monitors, the default: the harness starts the 3
    monitors only; they start every process of scripts/monitor_spec.py's
    spec and restart whatever dies, monitors included; see monitored.py),
    and a NO-KILL run of the session mix (one client per data set,
    concurrently), timed: each chaos client's deadline is 10x its data
    set's no-kill duration + 60 s;
 3. the chaos run: three lanes (one per data set) each running clients one
    after another, while a killer SIGKILLs processes on a schedule drawn
    from --seed (same seed, same victims and delays): a kill every 0.5-2 s,
    at least --kills kill events, every process kind at least once (the
    monitor too), one kill of two pipeline processes at once, one of every
    pipeline process at once, the current LEADER of the monitors twice and
    the leader together with a pipeline process once (random single kills
    may hit monitors too). A monitor is killed only while all 3 run and
    agree on a leader (were all 3 dead at once nobody would revive them: the
    documented limit), a pipeline slot only while it has a process (not
    during its restart backoff). Recovery = kill -> ready line of the
    replacement (a monitor: its first "leader=N ... role=" line); for leader
    kills, re-election = kill -> the survivors agree on a new leader (their
    /cluster/status). New clients start until the kill phase is over and
    --min-sessions ran;
 4. checks: every client exits 0 within its deadline with results
    byte-identical to the reference and equal rejected counts; every kill
    recovered within 30 s, every re-election within 3 s; every incarnation
    started by a monitor; then no per-session state file, no message in any
    queue, no unexpected queue, one consumer per replica queue, one broker
    connection per process; all 3 monitors alive agreeing on one leader,
    /healthz 200 on each, every slot up in their tables with exactly one
    live process and no other process of ours, no zombie; the stop:
    SIGTERM to the monitors (exit 0, the pipeline runs on untouched), then
    SIGTERM to the gateway (every process exits 0 by `shutdown`); no ERROR
    line in any log; no death we did not cause;
 5. a summary: kills per kind, recovery and re-election times, sessions.

--restarter harness: the harness restarts killed processes itself at once
(harness.Pipeline, the crash-point suite's mode); no monitors, no monitor
kills.
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
import monitored as M  # noqa: E402

REPLICAS = 'filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2'
CLIENT_FLAGS = ['--session-retries', '100', '--connect-retries', '30']


def make_schedule(rng, pipe, events, dmin=0.5, dmax=2.0, monitors=False):
    """[(delay_s, [victims])]: every kind once, one double kill, one kill of
    every pipeline slot ('ALL'); under monitors also a monitor, the leader
    ('LEADER', resolved when it is killed) twice and the leader with a
    pipeline slot; the rest single kills of random slots (monitors
    included); shuffled."""
    slots = pipe.names()
    plan = [[rng.choice(pipe.names(k))] for k in H.KINDS]
    plan.append(sorted(rng.sample(slots, 2)))
    plan.append(['ALL'])
    pool = list(slots)
    if monitors:
        plan.append([rng.choice(pipe.monitor_names())])
        plan.append(['LEADER'])
        plan.append(['LEADER'])
        plan.append(['LEADER', rng.choice(slots)])
        pool += pipe.monitor_names()
    while len(plan) < events:
        plan.append([rng.choice(pool)])
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
    ap.add_argument('--restarter', choices=('monitors', 'harness'), default='monitors',
                    help='who restarts killed processes: the 3 monitors (default) or the '
                    'harness itself')
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
    H.say('%s: seed=%d kill events=%d replicas=%s restarts by the %s (reproduce: '
          'tests/chaos/run.sh chaos %s)' % (
              name, seed, args.kills, args.replicas, args.restarter,
              ' '.join(argv + ['--seed', str(seed)])))
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
KILLABLE_BOUND = 45.0  # s an event may wait for its victims to be killable


def run(args, seed, work, checks):
    rng = random.Random(seed)
    monitors = args.restarter == 'monitors'
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
    cls = M.MonitoredPipeline if monitors else H.Pipeline
    pipe = cls(bindir, work, broker.amqp_url, args.replicas)
    RUN['pipe'] = pipe
    t = H.now()
    pipe.start()
    if monitors:
        H.say('pipeline up under 3 monitors in %.1f s (leader monitor-%d; HTTP %s): %s; '
              'gateway %s; logs %s' % (
                  H.now() - t, pipe.leader(), ','.join(str(pipe.http[i]) for i in M.MONITOR_IDS),
                  ' '.join(pipe.all_names()), pipe.addr, pipe.logs))
    else:
        H.say('pipeline up in %.1f s: %s; gateway %s; logs %s' % (
            H.now() - t, ' '.join(pipe.names()), pipe.addr, pipe.logs))
    schedule = make_schedule(rng, pipe, args.kills, args.delay[0], args.delay[1], monitors)
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
    if monitors:
        died = pipe.audit()
        if died:
            checks.ko('no-kill run: a process died', '\n'.join('%s pid %d: %s\n%s' % u
                                                               for u in died))
    elif pipe.recoveries or pipe.unexpected:
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

    kills = []          # (t, [(name, pid)], victims as scheduled)
    killed_kinds = {}
    leader_kills = []   # slot names of the leaders killed
    late = set()
    superseded = [0]
    blocked = []        # events that could not happen within KILLABLE_BOUND
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
            names = (pipe.resolve(victims) if monitors else
                     pipe.names() if victims == ['ALL'] else victims)
            if names is None and tnow - next_at > KILLABLE_BOUND:
                blocked.append((ev, victims))
                H.say('kill %d/%d: %s could not be killed within %.0f s (not running, or the '
                      'monitors not all up): skipped' % (ev + 1, len(schedule), '+'.join(victims),
                                                         KILLABLE_BOUND))
            if names is not None:
                if monitors:
                    superseded[0] += sum(1 for n in set(names) if pipe.slot(n).pending)
                done = pipe.kill(names)
                kills.append((tnow - t_chaos, done, victims))
                for n, _ in done:
                    k = pipe.slot(n).kind
                    killed_kinds[k] = killed_kinds.get(k, 0) + 1
                lk = getattr(pipe, 'last_leader_kill', None)
                if lk:
                    leader_kills.append(lk)
                waited = tnow - next_at
                H.say('kill %d/%d at +%.2f s%s: %s%s' % (
                    ev + 1, len(schedule), tnow - t_chaos,
                    ' (waited %.2f s for the victims)' % waited if waited > 0.1 else '',
                    'EVERY pipeline process: ' if victims == ['ALL'] else
                    'the LEADER and a pipeline process: ' if len(victims) == 2 and
                    victims[0] == 'LEADER' else
                    'the LEADER: ' if victims == ['LEADER'] else
                    'TWO at once: ' if len(victims) == 2 else '',
                    ' '.join('%s%s (pid %d)' % (n, ' [leader]' if n == lk else '', p)
                             for n, p in done)))
                if len(done) < len(names):
                    H.say('  (not running: %s)' % ' '.join(sorted(set(names) -
                                                                 {n for n, _ in done})))
                pipe.poll()  # the harness's restart policy, at once
            if names is not None or blocked and blocked[-1][0] == ev:
                ev += 1
                if ev < len(schedule):
                    next_at = H.now() + schedule[ev][0]
        if monitors:
            for n in pipe.overdue():
                if n not in late:
                    late.add(n)
                    H.say('  %s NOT BACK %.0f s after its kill' % (n, M.RECOVERY_BOUND))
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
    if monitors:
        try:
            pipe.wait_ready(pipe.all_names(), M.RECOVERY_BOUND + 5)
        except H.Timeout as e:
            checks.ko('not every slot came back: %s' % e)
        H.wait_until(lambda: pipe.reelecting is None, M.REELECTION_GIVE_UP + 1,
                     'the last re-election', tick=pipe.poll)
    else:
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
    kinds = H.KINDS + (('monitor',) if monitors else ())
    events = len(kills)
    checks.check(all(k in killed_kinds for k in kinds) and events >= args.kills and not blocked,
                 'chaos: %d kill events, %d process kills, every kind killed (%s)' % (
                     events, sum(killed_kinds.values()),
                     ', '.join('%s %d' % (k, killed_kinds.get(k, 0)) for k in kinds)),
                 'events that could not happen: %s' % blocked if blocked else None)
    ntwo = sum(1 for _, d, v in kills if len(v) == 2 and 'LEADER' not in v and len(d) == 2)
    nall = sum(1 for _, d, v in kills if v == ['ALL'] and len(d) == len(pipe.names()))
    shapes = 'one kill of two pipeline processes at once (%d), one of all %d at once (%d)' % (
        ntwo, len(pipe.names()), nall)
    if not monitors:
        checks.check(ntwo >= 1 and nall >= 1, 'chaos: ' + shapes)
    else:
        nlp = sum(1 for _, d, v in kills if v[:1] == ['LEADER'] and len(v) == 2 and len(d) == 2)
        checks.check(ntwo >= 1 and nall >= 1 and len(leader_kills) >= 2 and nlp >= 1,
                     'chaos: %s; %d kills of the LEADER monitor (%s), %d of the leader and a '
                     'pipeline process at once' % (shapes, len(leader_kills),
                                                    ' '.join(leader_kills), nlp))
        recovery_checks(checks, pipe, late, superseded[0])
        unstarted = pipe.unstarted()
        checks.check(not unstarted, 'every process incarnation (%d) was started by a monitor; the '
                     'harness started only the 3 first monitors' % sum(
                         len(s.pids) for s in pipe.slots.values()), '\n'.join(unstarted))
    H.final_checks(checks, pipe, broker, bindir)
    H.say('graceful stop')
    if monitors:
        died = pipe.audit()  # before the stop: every slot's last incarnation is live
        pipe.stop_checks(checks)
        H.log_checks(checks, pipe)
        checks.check(not died, 'no process died unless killed: every incarnation that logged '
                     'was killed by us or is the live one; no hang or crash in the leader\'s '
                     'log but our SIGKILLs', '\n'.join('%s pid %d: %s\n%s' % u for u in died))
    else:
        H.stop_checks(checks, pipe)
        H.log_checks(checks, pipe)
        checks.check(not pipe.unexpected, 'no process died unless killed (%d unexpected exits)' %
                     len(pipe.unexpected), '\n'.join('%s#%d rc=%s:\n%s' % u
                                                     for u in pipe.unexpected))
    summary(seed, kills, killed_kinds, pipe, base, chaos_clients, t_kill_phase, kinds, monitors)


def recovery_checks(checks, pipe, late, superseded):
    """Every kill recovered (a replacement ready) within the bound; every
    leader kill re-elected within 3 s."""
    rec = pipe.recoveries
    nk = len(pipe.kills)
    worst = max((r for *_, r in rec), default=0.0)
    slow = ['%s %.2f s' % (n, r) for _, n, r in rec if r > M.RECOVERY_BOUND]
    checks.check(len(rec) + superseded == nk and not late and not slow,
                 'recovery: every one of the %d killed processes was replaced by the monitors and '
                 'ready within %.0f s (worst %.2f s; %d killed again before they were ready)' % (
                     nk, M.RECOVERY_BOUND, worst, superseded),
                 'recovered %d + superseded %d of %d kills; late: %s; slow: %s' % (
                     len(rec), superseded, nk, ' '.join(sorted(late)), ' '.join(slow)))
    re_ = pipe.reelections
    bad = ['monitor-%d killed: %s after %.2f s' % (
        r['old'], 'monitor-%d leads' % r['new'] if r['new'] else 'no leader', r['polled'])
        for r in re_ if not r['ok']]
    checks.check(re_ and not bad, 're-election: after each of the %d leader kills the survivors '
                 'agreed on a new leader within %.0f s (worst %.3f s)' % (
                     len(re_), M.REELECTION_BOUND, max((r['polled'] for r in re_), default=0)),
                 '\n'.join(bad) or 'no leader kill measured')


def summary(seed, kills, killed_kinds, pipe, base, chaos_clients, t_kill_phase, kinds,
            monitors):
    rec = pipe.recoveries
    print('---- chaos summary (seed %d, restarts by the %s) ----' % (
        seed, 'monitors' if monitors else 'harness'))
    print('%-12s %6s  %s' % ('kind', 'kills', 'recovery (kill -> replacement ready) '
                             'min/median/max'))
    for k in kinds:
        print('%-12s %6d  %s' % (k, killed_kinds.get(k, 0),
                                 H.stats([r for kk, _, r in rec if kk == k])))
    print('%-12s %6d  %s' % ('all', sum(killed_kinds.values()), H.stats([r for *_, r in rec])))
    if monitors:
        re_ = pipe.reelections
        print('leader kills %d: re-election (kill -> survivors agree) %s; new leader\'s own '
              'log line %s' % (len(re_), stats3([r['polled'] for r in re_]),
                               stats3([r['log'] for r in re_ if r['log'] is not None])))
    print('kill events %d over %.1f s' % (len(kills), t_kill_phase))
    print('%-6s %8s %8s  %s' % ('set', 'no-kill', 'sessions', 'chaos duration min/median/max, re-runs'))
    for d in base:
        cs = [c for c in chaos_clients if c.dataset == d]
        print('%-6s %7.2fs %8d  %s, %d re-runs' % (d, base[d], len(cs),
                                                   H.stats([c.duration for c in cs]),
                                                   sum(c.reruns() for c in cs)))


def stats3(values):
    if not values:
        return '-'
    import statistics
    return '%.3f/%.3f/%.3f s' % (min(values), statistics.median(values), max(values))


if __name__ == '__main__':
    sys.exit(main())
