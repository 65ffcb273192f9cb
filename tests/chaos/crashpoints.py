#!/usr/bin/env python3
"""crashpoints.py - one end-to-end case per crash point (CS_FAULT), plus a
broker restart mid-session and control messages kept while every replica
of a stage is down.

Run through tests/chaos/crashpoints.sh (make test-crashpoints), which
starts the private broker. One pipeline serves every case:

  crash point: the slot(s) of a process kind that passes the point are
    restarted (SIGTERM; the gateway SIGKILL, since its SIGTERM shuts the
    whole pipeline down) with CS_FAULT=point:n; a client runs a session; the
    process SIGKILLs itself at its n-th pass (its FAULT line), the restart
    policy starts it again WITHOUT CS_FAULT; the session must end
    byte-exact with equal rejected counts within a bound, and leave no
    per-session state file behind. Every FAULT_POINT in the C sources must
    have a case (a new point without one fails the suite).
  broker restart: the node is stopped and started again (durable queues,
    persistent messages) while a session streams; it must end byte-exact.
  all replicas down: every replica of agg-q3 (then of the sink) is killed
    while a session runs and kept down until the coordinator has sent the
    stage its drain (coordinator log: eof session=... stage=... drain),
    which must wait in their durable control queues; restarted, they
    complete the session exactly.
Then: no message in any queue, no unexpected queue, one live process per
slot, and a graceful stop where every process exits 0.
"""

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import suite as S  # noqa: E402

REPLICAS = 'filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2'
# The cases' n (the n-th time a point is reached) are counted for batches
# of 256 KiB: the sets give every replica enough of them at that size.
CLIENT_FLAGS = ['--session-retries', '20', '--connect-retries', '30',
                '--batch-bytes', '262144']
SESSION_BOUND = 150   # seconds a case's client may take
MAX_SESSIONS = 3      # sessions a crash case may run to reach its point n times
SINKS = ['sink-0', 'sink-1']

# (crash point, slots armed with it, n). Where only the session's owner
# passes a point (the sink replica plan_shard_session picks), every sink
# replica is armed: the owner dies, the others never pass it and are
# disarmed after the case.
CASES = [
    ('worker.after_publish_before_report', ['filter-1'], 3),
    ('worker.after_report_before_ack', ['filter-0'], 3),
    ('worker.after_apply_before_log', ['agg-q3-0'], 20),
    ('worker.after_apply_before_log', SINKS, 10),
    ('worker.after_log_before_fsync', ['agg-q4-1'], 3),
    ('worker.after_fsync_before_ack', ['agg-q2-0'], 3),
    ('worker.after_fsync_before_ack', SINKS, 3),
    ('worker.after_replay', ['agg-q3-1'], 1),        # see run_replay_case
    ('worker.mid_emit', ['filter-2'], 40),           # a filter input's outputs
    ('worker.mid_emit', ['agg-q4-0'], 1),            # a stage's partials
    ('worker.mid_results', SINKS, 3),
    ('worker.after_emit_before_done', ['agg-q3-1'], 1),
    ('worker.after_emit_before_done', ['sink-1'], 1),
    ('worker.after_done_before_drop', ['agg-q2-1'], 1),
    ('worker.after_done_before_drop', ['sink-0'], 1),
    ('coord.after_log_before_handle', ['coordinator'], 15),
    ('coord.after_sync_before_flush', ['coordinator'], 5),
    ('coord.after_flush_before_ack', ['coordinator'], 5),
    ('gateway.mid_stream', ['gateway'], 100),
    ('gateway.after_confirm_before_done', ['gateway'], 1),
    ('gateway.after_done', ['gateway'], 1),
    ('gateway.mid_results', ['gateway'], 2),
]


def source_points():
    """Every crash point named by a FAULT_POINT("...") in the C sources."""
    pts = set()
    rx = re.compile(r'FAULT_POINT\("([^"]+)"\)')
    for top in os.listdir(H.ROOT):
        if top in ('tests', 'build', '.git') or not os.path.isdir(os.path.join(H.ROOT, top)):
            continue
        for d, _, files in os.walk(os.path.join(H.ROOT, top)):
            for f in files:
                if f.endswith('.c'):
                    with open(os.path.join(d, f), encoding='utf-8', errors='replace') as fh:
                        pts |= set(rx.findall(fh.read()))
    return pts


class Suite(S.Suite):
    session_bound = SESSION_BOUND

    def __init__(self, args, work):
        super().__init__(args, work)
        self.broker = H.Broker()
        self.ncase = 0

    # --- helpers

    def client(self, label, dataset='cp', extra=()):
        c = H.Client(self.bindir, label, dataset, self.data, os.path.join(self.out, label),
                     self.pipe.addr, SESSION_BOUND, CLIENT_FLAGS + list(extra))
        self.clients.append(c)
        return c

    def finish(self, c):
        """Waits for client c, then for the pipeline to settle; returns the
        problems found (its verdict's details, what was left behind)."""
        self.wait_client(c)
        ok, details = self.verdict(c)
        left = self.settle()
        return [x for x in ((None if ok else details), left) if x]

    def settle(self):
        """Between cases: every slot ready, no slot still armed, no
        per-session state left. Returns '' or what is wrong."""
        p = self.pipe
        for n, s in p.slots.items():
            if 'CS_FAULT' in s.env_now and s.alive():
                p.respawn(n, sig=signal.SIGKILL if n == 'gateway' else signal.SIGTERM)
        p.wait_ready(p.names(), 90)
        try:
            H.wait_until(lambda: not p.session_wals(), 45, 'per-session state files to go',
                         tick=p.poll, interval=0.1)
        except H.Timeout:
            return 'per-session state files left: %s' % ' '.join(p.session_wals())
        return ''

    def arm(self, slots, spec):
        for n in slots:
            self.pipe.respawn(n, env={'CS_FAULT': spec},
                              sig=signal.SIGKILL if n == 'gateway' else signal.SIGTERM)
        self.pipe.wait_ready(slots, 60)

    # --- cases

    def crash_case(self, point, slots, n):
        """Arms the slots, then runs sessions (at most MAX_SESSIONS, one at a
        time) until an armed process crashed at the point; every session
        must be exact."""
        p = self.pipe
        self.ncase += 1
        label = 'cp%02d-%s' % (self.ncase, point)
        where = '+'.join(slots)
        t0 = H.now()
        self.arm(slots, '%s:%d' % (point, n))
        before = {s: len(p.slot(s).exits) for s in slots}
        ran = []
        problems = []

        def crashed():
            for s in slots:
                for inc, _, cause in p.slot(s).exits[before[s]:]:
                    if cause == 'fault':
                        return (s, inc)
            return None
        hit = None
        for k in range(MAX_SESSIONS):
            c = self.client(label if k == 0 else '%s-%d' % (label, k))
            ran.append(c)
            hit = H.wait_until(lambda: crashed() or (c.poll() and 'ended'), SESSION_BOUND + 30,
                               '%s to crash at %s or the session to end' % (where, point),
                               tick=p.poll)
            self.wait_client(c)
            ok, details = self.verdict(c)
            if not ok:
                problems.append('%s: %s' % (c.label, details))
            hit = crashed()
            if hit:
                break
        if not hit:
            problems.append('the crash point was not reached %d times in %d sessions' % (
                n, len(ran)))
        else:
            s, inc = hit
            log = os.path.join(p.logs, '%s.%d.log' % (s, inc))
            with open(log, errors='replace') as f:
                lines = [ln for ln in f if ln.startswith('FAULT:')]
            if not lines or ('crash point %s hit %d' % (point, n)) not in lines[-1]:
                problems.append('no FAULT line for %s hit %d in %s' % (point, n, log))
        left = self.settle()
        if left:
            problems.append(left)
        rec = [r for _, name, r in p.recoveries if hit and name == hit[0]]
        msg = '%s on %s (n=%d): %s; %s exact in %s (%d re-runs); case %.1f s' % (
            point, where, n, 'crashed: %s restarted without CS_FAULT, ready %.2f s after '
            'its death' % (hit[0], rec[-1]) if hit and rec else 'did not crash',
            'session' if len(ran) == 1 else '%d sessions' % len(ran),
            ', '.join('%.1f s' % c.duration for c in ran), sum(c.reruns() for c in ran),
            H.now() - t0)
        self.checks.check(not problems, msg, '\n'.join(problems))

    def replay_case(self, point, slots, n):
        """worker.after_replay: the replica is killed mid-session (it has a
        log to replay), restarted WITH the fault (dies right after
        replaying), then restarted without it."""
        p = self.pipe
        self.ncase += 1
        label = 'cp%02d-%s' % (self.ncase, point)
        name = slots[0]
        s = p.slot(name)
        t0 = H.now()
        c = self.client(label, 'big')   # long enough to kill it mid-session
        sid = self.sid(c)
        problems = []
        wal = os.path.join(p.state, name, '%s.wal' % sid)
        def logged():   # records reach the file at the group commit
            try:        # past the 8-byte header (common/wal.c: WAL_HDR)
                return os.path.getsize(wal) > 8
            except OSError:
                return False
        try:
            H.wait_until(lambda: logged() or c.poll(), 60,
                         'records in the log %s' % wal, tick=p.poll, interval=0.01)
        except H.Timeout as e:
            problems.append(str(e))
        if c.poll():
            problems.append('the session ended before %s logged anything' % name)
        else:
            s.env_once = {'CS_FAULT': '%s:%d' % (point, n)}
            p.kill([name])
            p.poll()   # the restart policy: the next incarnation has the fault
            armed = s.incarnation
            try:
                H.wait_until(lambda: any(i == armed and cause == 'fault'
                                         for i, _, cause in s.exits), 60,
                             '%s to crash after its replay' % name, tick=p.poll)
                log = os.path.join(p.logs, '%s.%d.log' % (name, armed))
                text = open(log, errors='replace').read()
                if not re.search(r'replayed session=%s records=[1-9]' % sid, text):
                    problems.append('%s#%d did not replay session %s before the crash:\n%s'
                                    % (name, armed, sid, H.tail(log, 6)))
                if 'crash point %s hit %d' % (point, n) not in text:
                    problems.append('no FAULT line in %s' % log)
            except H.Timeout as e:
                problems.append(str(e))
        problems += self.finish(c)
        self.checks.check(not problems, '%s on %s: killed mid-session, restarted with the fault '
                          '(crashed after replaying), then without; session %s exact in %.1f s; '
                          'case %.1f s' % (point, name, sid, c.duration, H.now() - t0),
                          '\n'.join(problems))

    def broker_case(self, hard=False):
        p = self.pipe
        t0 = H.now()
        what = 'broker kill -9 and start' if hard else 'broker restart'
        c = self.client('broker-kill' if hard else 'broker-restart', 'big')
        sid = self.sid(c)
        problems = []
        # streaming, and data already through the filters into a stage's log
        try:
            H.wait_until(lambda: any(os.path.exists(os.path.join(p.state, n, sid + '.wal'))
                                     for n in p.names() if n.startswith('agg-')) or c.poll(),
                         60, 'data of session %s in an aggregator log' % sid, tick=p.poll,
                         interval=0.01)
        except H.Timeout as e:
            problems.append(str(e))
        if c.poll():
            problems.append('the session ended before the broker restart began')
        unexpected = len(p.unexpected)
        down = self.broker.restart(tick=p.poll, hard=hard)
        H.say('%s (down %.1f s) during session %s' % (what, down, sid))
        problems += self.finish(c)
        died = p.unexpected[unexpected:]
        if died:
            problems.append('processes exited during the broker restart: %s' %
                            ', '.join('%s#%d rc=%s' % u[:3] for u in died))
        self.checks.check(not problems, '%s mid-session (down %.1f s): session exact '
                          'in %.1f s (%d re-runs, sessions %s), no process died; case %.1f s' % (
                              what, down, c.duration, c.reruns(), ' '.join(c.sessions()),
                              H.now() - t0), '\n'.join(problems))

    def all_down_case(self, stage):
        p = self.pipe
        t0 = H.now()
        names = p.names(stage)
        c = self.client('all-down-%s' % stage, 'big')
        sid = self.sid(c)
        problems = []
        p.hold_down(names)
        drain_rx = r'eof session=%s stage=%s drain' % (sid, stage)
        if p.grep('coordinator', drain_rx):
            problems.append('the drain was sent before every %s replica was down' % stage)
        H.say('all %s replicas down (%s) during session %s' % (stage, ' '.join(names), sid))
        try:
            m = p.wait_log('coordinator', drain_rx + r'.*', SESSION_BOUND,
                           all_incarnations=True)
            drain = m.group(0)
            ctlqs = ['ctl.%s' % n.replace(stage + '-', stage + '.') for n in names]
            waiting = {}

            def queued():
                qs = {q['name']: q for q in self.broker.queues_live()}
                waiting.update({q: qs.get(q, {}).get('messages_ready', 0) for q in ctlqs})
                return all(v >= 1 for v in waiting.values())
            try:
                H.wait_until(queued, 15, 'the drain in %s' % ' '.join(ctlqs), tick=p.poll,
                             interval=0.5)
            except H.Timeout:
                problems.append('the drain is not waiting in the control queues: %s' % waiting)
        except H.Timeout as e:
            drain, waiting = '', {}
            problems.append(str(e))
        held = H.now() - t0
        p.release(names)
        p.wait_ready(names, 60)
        problems += self.finish(c)
        self.checks.check(not problems, 'every %s replica down for %.1f s during session %s: '
                          'coordinator sent drain while they were down (%s), messages waiting '
                          'in %s; restarted, session exact in %.1f s; case %.1f s' % (
                              stage, held, sid, re.sub(r'.* eof session=\S+ ', '', drain),
                              ' '.join('%s=%d' % kv for kv in sorted(waiting.items())),
                              c.duration, H.now() - t0), '\n'.join(problems))

    # --- the suite

    def run(self):
        a = self.args
        t = H.now()
        H.gen_dataset(self.bindir, os.path.join(self.data, 'cp'), a.scale, 21)
        H.gen_dataset(self.bindir, os.path.join(self.data, 'big'), a.big_scale, 22)
        H.references([(os.path.join(self.data, d), os.path.join(self.exp, d))
                       for d in ('cp', 'big')])
        H.say('data: cp (scale %g, edge cases) %.1f MB, big (scale %g) %.1f MB; references '
              'in %.1f s' % (a.scale, H.dir_size(os.path.join(self.data, 'cp')) / 1e6,
                             a.big_scale, H.dir_size(os.path.join(self.data, 'big')) / 1e6,
                             H.now() - t))
        self.pipe = p = H.Pipeline(self.bindir, self.work, self.broker.amqp_url, a.replicas)
        p.verbose = False
        p.start()
        H.say('pipeline up: %s; gateway %s; logs %s' % (' '.join(p.names()), p.addr, p.logs))
        pts = source_points()
        covered = {pt for pt, _, _ in CASES}
        self.checks.check(pts <= covered, 'every crash point in the sources has a case '
                          '(%d points, %d cases)' % (len(pts), len(CASES)),
                          'no case for: %s' % ' '.join(sorted(pts - covered)))
        if covered - pts:
            self.checks.ko('cases for crash points that are not in the sources: %s' %
                           ' '.join(sorted(covered - pts)))
        # warm-up: a clean session
        c = self.client('warmup')
        self.wait_client(c)
        ok, details = self.verdict(c)
        self.checks.check(ok, 'warm-up session exact in %.1f s' % c.duration, details)
        for point, slots, n in CASES:
            if a.only and not any(o in point for o in a.only):
                continue
            try:
                if point == 'worker.after_replay':
                    self.replay_case(point, slots, n)
                else:
                    self.crash_case(point, slots, n)
            except H.Timeout as e:
                self.checks.ko('%s on %s: %s' % (point, '+'.join(slots), e))
                self.settle()
        if not a.only or 'broker' in a.only:
            if self.broker.private:
                for hard in (False, True):
                    try:
                        self.broker_case(hard)
                    except H.Timeout as e:
                        self.checks.ko('broker %s: %s' % ('kill' if hard else 'restart', e))
                        self.settle()
            else:
                H.say('broker restart skipped: AMQP_URL names an external broker')
        if not a.only or 'down' in a.only:
            for stage in ('agg-q3', 'sink'):
                try:
                    self.all_down_case(stage)
                except H.Timeout as e:
                    self.checks.ko('all %s replicas down: %s' % (stage, e))
                    p.release(p.names(stage))
                    self.settle()
        self.final()

    def final(self):
        p = self.pipe
        H.final_checks(self.checks, p, self.broker, self.bindir)
        H.stop_checks(self.checks, p)
        H.log_checks(self.checks, p)
        faults = sum(1 for s in p.slots.values() for e in s.exits if e[2] == 'fault')
        self.checks.check(not p.unexpected, 'no process died other than at its crash point '
                          '(%d crash-point deaths)' % faults,
                          '\n'.join('%s#%d rc=%s:\n%s' % u for u in p.unexpected))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--scale', type=float, default=0.01, help='data set of the crash cases')
    ap.add_argument('--big-scale', type=float, default=0.02,
                    help='data set of the broker-restart and all-down cases')
    ap.add_argument('--replicas', default=REPLICAS)
    ap.add_argument('--only', action='append', default=[],
                    help='run only cases whose point contains this (or "broker", "down")')
    ap.add_argument('--keep', action='store_true', help='keep the work dir')
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='cs-crashpoints.')
    H.say('crashpoints: replicas=%s work=%s' % (args.replicas, work))
    suite = Suite(args, work)
    S.run(suite)
    H.say('crashpoints: %.0f s' % (H.now() - H.T0))
    rc = suite.checks.summary()
    if rc == 0 and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print('crashpoints: work dir kept: %s (logs in %s/logs)' % (work, work))
    return rc


if __name__ == '__main__':
    sys.exit(main())
