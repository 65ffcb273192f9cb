"""monitored.py - the pipeline under the 3 monitors (monitor/, issue 10) for
the chaos suite: the harness starts only the 3 monitors; they start every
process of a spec (scripts/monitor_spec.py, the same one `make run` uses) and
do EVERY restart, the other monitors' included. The harness only kills,
measures and checks. Python 3 standard library only.

What it measures (log timestamps are wall-clock ms, taken by the processes
themselves, so the harness's polling does not inflate them):
 * recovery of a killed slot: from just before the SIGKILL to the ready line
   of its replacement (a pid the slot did not have before the kill):
   'coordinator ready', 'gateway ready', 'started stage=' for workers, and
   for a monitor its first 'leader=N term=T role=...' line (it heard its
   peers and follows the leader in charge);
 * re-election after a kill of the leader: from the SIGKILL until the
   surviving monitors' /cluster/status agree on a new leader which says
   role=leader (polled every tick, ~20 ms); also the new leader's own
   'leader=N ... role=leader' log line, for comparison.

Processes: the monitors start the pipeline's processes in sessions of their
own; when a monitor dies its children are orphaned. This machine's PID 1
reaps no orphans, so the harness makes itself a child subreaper
(prctl(PR_SET_CHILD_SUBREAPER)): orphans become its children, and Reaper
reaps them (and records their exit status) without ever touching the
children a subprocess.Popen owns. At the stop, once the monitors are gone,
every pipeline process is the harness's child, so their exit statuses are
known exactly. Processes are identified from /proc (the executable in the
run's bin dir, then MONITOR_ID / CS_STAGE + CS_REPLICA_ID from the
environment) and signalled through pidfds, so a recycled pid is never hit.
"""

import collections
import datetime
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import harness as H

PR_SET_CHILD_SUBREAPER = 36
RECOVERY_BOUND = 30.0     # s: a killed slot must be ready again within this
REELECTION_BOUND = 3.0    # s: a new leader agreed on within this (issue 10)
REELECTION_GIVE_UP = 15.0  # s: stop polling for a re-election (then it failed)
MONITOR_IDS = (1, 2, 3)
LINE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\S+) (\S+)\[(\d+)\] (.*)$')
MONITOR_READY = re.compile(r'leader=(\d+) term=\d+ role=(leader|follower)')
STARTED = re.compile(r'slot=(\S+) started pid=(\d+)')
DUP_KILL = re.compile(r'slot=(\S+) runs twice .*: kill pid=(\d+)')
# leader decisions that mean a death or hang we did not cause
SUSPECT = re.compile(r'slot=(\S+) (hung \(|sent no heartbeat|crashed \(exit (?!137\)|-1\)))')
STOP_LINE = {'coordinator': 'coordinator stopping', 'gateway': 'gateway stopped',
             'monitor': 'stopping on a signal'}
WORKER_STOP_LINE = 'exit status=0'


def wall():
    return time.time()


def line_wall(ts):
    """'2026-11-22T10:00:00.123' (UTC) -> epoch seconds."""
    t = datetime.datetime.strptime(ts, '%Y-%m-%dT%H:%M:%S.%f')
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


# ------------------------------------------------------------- processes


class Reaper:
    """Makes the harness a child subreaper and reaps the orphans it adopts
    (processes started by a monitor that died), keeping their exit status
    (Popen's convention: the code, or -signal). Children owned by a Popen
    (harness.OWNED) are left to their Popen (poll() reaps them), so their
    return codes stay right."""

    def __init__(self):
        if H._libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes_errno(), 'prctl(PR_SET_CHILD_SUBREAPER) failed')
        self.status = {}

    def tick(self):
        for _ in range(1000):
            try:
                r = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if r is None:
                return
            pid = r.si_pid
            p = H.OWNED.get(pid)
            if p is not None and p.returncode is None:
                if p.poll() is None:  # its Popen is busy reaping it
                    return
                continue
            try:
                got, st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got == pid:
                self.status[pid] = os.waitstatus_to_exitcode(st)

    def rc(self, pid):
        p = H.OWNED.get(pid)
        if p is not None and p.returncode is not None:
            return p.returncode
        return self.status.get(pid)


def ctypes_errno():
    import ctypes
    return ctypes.get_errno()


def _proc_state(pid):
    """(state letter, ppid, threads) of pid, or None when gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            rest = f.read().rsplit(')', 1)[1].split()
        return rest[0], int(rest[1]), int(rest[17])
    except (OSError, IndexError, ValueError):
        return None


def _environ(pid):
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            data = f.read()
    except OSError:
        return {}
    env = {}
    for item in data.split(b'\0'):
        k, sep, v = item.partition(b'=')
        if sep:
            env[k.decode('utf-8', 'replace')] = v.decode('utf-8', 'replace')
    return env


def identify(pid, bindir):
    """The slot pid runs as ('monitor-2', 'gateway', 'agg-q3-1', 'client',
    ...) if it is a live (not zombie) process of bindir; else None. A child
    a monitor has forked but not yet exec'd looks like a monitor with one
    thread (a running monitor has its HTTP thread): 'forking'."""
    try:
        exe = os.readlink('/proc/%d/exe' % pid)
    except OSError:
        return None
    if not exe.startswith(bindir + '/'):
        return None
    st = _proc_state(pid)
    if st is None or st[0] in 'ZX':
        return None
    base = os.path.basename(exe)
    if base in ('coordinator', 'gateway', 'client', 'gen-dataset'):
        return base
    env = _environ(pid)
    if base == 'monitor':
        if st[2] < 2:
            return 'forking'
        return 'monitor-%s' % env.get('MONITOR_ID', '?')
    if base in ('filter', 'aggregator', 'sink'):
        return '%s-%s' % (env.get('CS_STAGE', '?'), env.get('CS_REPLICA_ID', '?'))
    return base


def scan(bindir):
    """{slot: [pids]} of every live process running from bindir."""
    found = collections.defaultdict(list)
    for d in os.listdir('/proc'):
        if d.isdigit():
            name = identify(int(d), bindir)
            if name is not None:
                found[name].append(int(d))
    return found


def signal_pid(pid, sig, name, bindir):
    """Sends sig to pid through a pidfd if pid is still slot `name`;
    returns the pidfd (open, for waiting on its exit) or None."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        if identify(pid, bindir) != name:
            os.close(fd)
            return None
        signal.pidfd_send_signal(fd, sig)
        return fd
    except OSError:
        os.close(fd)
        return None


def wait_fds(fds, timeout, tick=None):
    """Waits until every pidfd is readable (its process exited); returns
    the fds still open (not exited) after timeout."""
    left = set(fds)
    deadline = H.now() + timeout
    while left:
        p = select.poll()
        for fd in left:
            p.register(fd, select.POLLIN)
        for fd, _ in p.poll(50):
            left.discard(fd)
        if tick is not None:
            tick()
        if H.now() >= deadline:
            break
    return left


def free_port(taken):
    """A loopback port free for TCP and UDP, not in taken."""
    for _ in range(100):
        p = H.free_port()
        if p in taken:
            continue
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(('127.0.0.1', p))
        except OSError:
            continue
        finally:
            u.close()
        taken.add(p)
        return p
    raise RuntimeError('no free port found')


# ------------------------------------------------------------- HTTP


# fetch(port, path) and status(port): scripts/monctl.py's, one client for
# the monitors' endpoints
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'scripts'))
from monctl import fetch, status  # noqa: E402


def agreed(statuses, need=None):
    """The leader id every answering status names, if they agree, at least
    `need` answered (default: all given) and the leader itself says
    role=leader; else 0."""
    seen = [s for s in statuses.values() if s]
    if not seen or len(seen) < (len(statuses) if need is None else need):
        return 0
    leaders = {s['leader'] for s in seen}
    if len(leaders) != 1:
        return 0
    lid = leaders.pop()
    if lid and any(s['monitor'] == lid and s['role'] == 'leader' for s in seen):
        return lid
    return 0


# ------------------------------------------------------------- slots


class MSlot:
    """A slot the monitors keep alive. Every incarnation appends to one log
    (<logs>/<name>.log, the spec's); lines carry the writer's pid, which
    tells incarnations apart."""

    def __init__(self, name, kind, log, ready):
        self.name = name
        self.kind = kind
        self.log = log
        self.ready = ready           # substring, or a compiled regex
        self.pids = []               # incarnations in order of their first line
        self.ready_at = {}           # pid -> wall time of its ready line
        self.tails = {}              # pid -> its last lines
        self.killed = set()          # pids we SIGKILLed
        self.pending = None          # the kill awaiting a replacement's ready line
        self._off = 0
        self._buf = ''

    @property
    def incarnation(self):
        return max(0, len(self.pids) - 1)

    def is_ready_line(self, msg):
        if isinstance(self.ready, str):
            return self.ready in msg
        m = self.ready.search(msg)
        return bool(m) and m.group(1) != '0'

    def read_new(self):
        return H.tail_lines(self, self.log)


class MonitoredPipeline:
    """The coordinator, every worker replica, one gateway and 3 monitors,
    all kept alive by the monitors. The same surface as harness.Pipeline
    where the suites share code (names(), poll(), wait_ready(), kill(),
    session_wals(), expected_*(), recoveries, addr, logs, state), plus
    what only monitors have (leader, statuses, re-elections).

    poll() must be called often (every wait takes it as its tick): it
    reaps adopted orphans, reads new log lines (ready lines -> recovery
    times) and, while a leader kill is pending, polls the survivors."""

    def __init__(self, bindir, workdir, amqp_url, replicas, gateway_id='gw-chaos',
                 log_level='info', extra_env=None):
        self.reaper = Reaper()
        self.bindir = os.path.realpath(bindir)
        self.work = workdir
        self.logs = os.path.join(workdir, 'logs')
        self.state = os.path.join(workdir, 'state')
        os.makedirs(self.logs, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        self.replicas = H.parse_replicas(replicas)
        self.replica_spec = replicas
        self.gateway_id = gateway_id
        taken = set()
        self.port = free_port(taken)
        self.addr = '127.0.0.1:%d' % self.port
        self.udp = {i: free_port(taken) for i in MONITOR_IDS}
        self.http = {i: free_port(taken) for i in MONITOR_IDS}
        self.spec = os.path.join(workdir, 'spec.json')
        with open(self.spec, 'w') as f:
            subprocess.run([sys.executable, os.path.join(H.ROOT, 'scripts/monitor_spec.py'),
                            '--bin', self.bindir, '--logs', self.logs, '--cwd', workdir,
                            '--replicas', replicas, '--gateway-port', str(self.port),
                            '--gateway-id', gateway_id, '--http-ports',
                            ','.join(str(self.http[i]) for i in MONITOR_IDS)],
                           check=True, stdout=f)
        with open(self.spec) as f:
            spec = json.load(f)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(('CS_', 'GATEWAY_', 'LOG_LEVEL', 'COORD_', 'WORKER_',
                                     'MONITOR_', 'HB_'))}
        base.update({
            'AMQP_URL': amqp_url, 'CS_REPLICAS': replicas, 'CS_STATE_DIR': self.state,
            'LOG_LEVEL': log_level,
            'MONITOR_ADDRS': ','.join('127.0.0.1:%d' % self.udp[i] for i in MONITOR_IDS),
            'MONITOR_PEERS': ','.join('%d=127.0.0.1:%d' % (i, self.udp[i]) for i in MONITOR_IDS),
            'MONITOR_SPEC': self.spec, 'MONITOR_HTTP_BIND': '127.0.0.1'})
        base.update(extra_env or {})
        self.env = base
        self.slots = {}
        for s in spec['slots']:
            n = s['name']
            if n.startswith('monitor-'):
                kind, ready = 'monitor', MONITOR_READY
            else:
                kind = n if n in ('coordinator', 'gateway') else n.rsplit('-', 1)[0]
                ready = H.READY.get(kind, H.WORKER_READY)
            self.slots[n] = MSlot(n, kind, s['log'], ready)
        self._read_order = sorted(self.slots.values(), key=lambda x: x.kind != 'monitor')
        self.initial = {}         # monitor id -> the Popen of the monitors we started
        self.recoveries = []      # (kind, name, seconds)
        self.kills = []           # (name, pid, wall)
        self.reelections = []     # dicts: old, new, polled, log (seconds), ok
        self.reelecting = None    # the leader kill being measured
        self.started_by = {}      # pid -> monitor id that logged 'started pid='
        self.leader_lines = collections.defaultdict(list)  # monitor id -> [wall]
        self.suspect = []         # leader log lines about deaths we did not cause
        self.dup_kills = set()    # pids a monitor killed as duplicates
        self.stopping = False
        self.verbose = True
        self._last_status = {}
        self._scan_at = 0.0
        self._scan = {}

    # --- names

    def names(self, kind=None):
        """Pipeline slots (not the monitors), as harness.Pipeline.names."""
        return [n for n, s in self.slots.items()
                if s.kind != 'monitor' and (kind is None or s.kind == kind)]

    def monitor_names(self):
        return ['monitor-%d' % i for i in MONITOR_IDS]

    def all_names(self):
        return list(self.slots)

    def slot(self, name):
        return self.slots[name]

    def log_count(self):
        return len(self.slots)

    # --- monitors' endpoints

    def statuses(self, ids=MONITOR_IDS):
        st = {i: status(self.http[i]) for i in ids}
        self._last_status = st
        return st

    def leader(self):
        """The leader the 3 monitors agree on, or 0."""
        return agreed(self.statuses())

    def table(self, st=None):
        """{slot: (state, pid)} of the agreed leader's table, or None."""
        st = st or self.statuses()
        lid = agreed(st)
        if not lid or not st.get(lid):
            return None
        return {s['name']: (s['state'], s['pid']) for s in st[lid]['slots']}

    # --- lifecycle

    def start(self, timeout=60):
        """Starts the 3 monitors (the only processes the harness starts);
        they elect a leader, which starts every slot of the spec. Returns
        once every slot is ready and the table shows them all up."""
        for i in MONITOR_IDS:
            env = dict(self.env, MONITOR_ID=str(i), MONITOR_HTTP_PORT=str(self.http[i]))
            self.initial[i] = H.spawn([os.path.join(self.bindir, 'monitor')], env,
                                      self.slots['monitor-%d' % i].log, cwd=self.work)
        H.wait_until(self.leader, 15, 'the 3 monitors to agree on a leader', tick=self.poll,
                     interval=0.05)
        self.wait_ready(self.all_names(), timeout)
        self.wait_table_up(timeout)

    def wait_table_up(self, timeout):
        last = {}

        def up():
            self.poll()
            t = self.table()
            last['t'] = t
            return t is not None and all(t.get(n, ('?', 0))[0] == 'up' for n in self.slots)
        try:
            H.wait_until(up, timeout, 'every slot up in the leader\'s table', interval=0.1)
        except H.Timeout as e:
            raise H.Timeout('%s: %s' % (e, json.dumps(last.get('t')))) from None

    # --- observing

    def poll(self):
        self.reaper.tick()
        for s in self._read_order:  # the monitors' logs first: who started what
            for line in s.read_new():
                self._line(s, line)
        if self.reelecting is not None:
            self._poll_reelection()

    def _line(self, s, line):
        m = LINE.match(line)
        if not m:
            return
        pid, msg = int(m.group(4)), m.group(5)
        if pid not in s.tails:
            s.pids.append(pid)
            s.tails[pid] = collections.deque(maxlen=8)
        s.tails[pid].append(line)
        if s.kind == 'monitor':
            self._monitor_line(s, m, msg)
        if pid not in s.ready_at and s.is_ready_line(msg):
            t = line_wall(m.group(1))
            s.ready_at[pid] = t
            k = s.pending
            if k is not None and pid not in k['old']:
                took = max(0.0, t - k['wall'])
                self.recoveries.append((s.kind, s.name, took))
                s.pending = None
                if self.verbose:
                    by = self.started_by.get(pid)
                    H.say('  %s back (pid %d%s) %.2f s after its kill' % (
                        s.name, pid, ', started by monitor-%d' % by if by else '', took))

    def _monitor_line(self, s, m, msg):
        mid = int(s.name.split('-')[1])
        g = STARTED.search(msg)
        if g:
            self.started_by[int(g.group(2))] = mid
            return
        g = MONITOR_READY.search(msg)
        if g and g.group(2) == 'leader' and int(g.group(1)) == mid:
            self.leader_lines[mid].append(line_wall(m.group(1)))
            return
        g = DUP_KILL.search(msg)
        if g:
            self.dup_kills.add(int(g.group(2)))
            return
        if SUSPECT.search(msg) and '(follower' not in msg:
            self.suspect.append('%s: %s' % (s.name, m.group(0)))

    def _poll_reelection(self):
        r = self.reelecting
        ids = [i for i in MONITOR_IDS if i != r['old']]
        lid = agreed(self.statuses(ids))
        took = H.now() - r['mono']
        if lid and lid != r['old']:
            r['new'] = lid
            r['polled'] = took
            lines = [t for t in self.leader_lines[lid] if t >= r['wall'] - 0.001]
            # (log timestamps are truncated to the ms)
            r['log'] = max(0.0, min(lines) - r['wall']) if lines else None
            r['ok'] = took <= REELECTION_BOUND
            self.reelections.append(r)
            self.reelecting = None
            H.say('  re-elected: monitor-%d leads %.3f s after the kill of leader monitor-%d '
                  '(its "role=leader" line: %s)%s' % (
                      lid, took, r['old'], '%.3f s' % r['log'] if r['log'] is not None else '?',
                      '' if r['ok'] else ' OVER THE %.0f s BOUND' % REELECTION_BOUND))
        elif took > REELECTION_GIVE_UP:
            r.update(new=0, polled=took, log=None, ok=False)
            self.reelections.append(r)
            self.reelecting = None
            H.say('  NO new leader agreed on %.0f s after the kill of leader monitor-%d: %s' % (
                took, r['old'], json.dumps({i: (s or {}).get('leader') for i, s in
                                            self._last_status.items()})))

    def current(self, name):
        """The live pid of slot name that logged its ready line, or None."""
        s = self.slots[name]
        for pid in reversed(s.pids):
            if pid in s.ready_at and identify(pid, self.bindir) == name:
                return pid
        return None

    def is_ready(self, name):
        return self.slots[name].pending is None and self.current(name) is not None

    def wait_ready(self, names, timeout=60):
        try:
            H.wait_until(lambda: all(self.is_ready(n) for n in names), timeout,
                         'ready lines of %s' % ', '.join(names), tick=self.poll, interval=0.05)
        except H.Timeout as e:
            slow = [n for n in names if not self.is_ready(n)]
            raise H.Timeout('%s; not ready: %s; last log lines of %s:\n%s' % (
                e, ' '.join(slow), slow[0], H.tail(self.slots[slow[0]].log))) from None

    def running(self, max_age=0.1):
        """{slot: [pids]} from /proc, at most max_age seconds old."""
        if H.now() - self._scan_at > max_age:
            self._scan = scan(self.bindir)
            self._scan_at = H.now()
        return self._scan

    # --- killing

    def resolve(self, victims):
        """Slot names for a kill event, or None while it cannot happen yet:
        'ALL' is every pipeline slot, 'LEADER' the monitor the 3 agree
        leads. A monitor is killed only while all 3 run, agree on a leader,
        and no re-election is being measured (so at least two survive and
        every leader kill is measured); a pipeline slot only while it has a
        process (a slot in its restart backoff has none)."""
        names = []
        for v in victims:
            names += self.names() if v == 'ALL' else [v]
        want_mon = any(n == 'LEADER' or n.startswith('monitor-') for n in names)
        lid = 0
        if want_mon:
            if self.reelecting is not None:
                return None
            st = self.statuses()
            lid = agreed(st)
            table = self.table(st) if lid else None
            if not table or any(table.get(m, ('?', 0))[0] != 'up' for m in self.monitor_names()):
                return None
            names = ['monitor-%d' % lid if n == 'LEADER' else n for n in names]
        run = self.running()
        if any(not run.get(n) for n in names):
            return None
        self._leader_at_resolve = lid
        return names

    def kill(self, names):
        """SIGKILLs every process of each slot (call resolve() first for
        monitors: the leader it saw is the one whose loss is measured);
        waits until they are gone; returns [(name, pid)]."""
        found = scan(self.bindir)
        self._scan_at = 0.0
        lid = getattr(self, '_leader_at_resolve', 0)
        self.last_leader_kill = None
        done, fds = [], []
        for n in names:
            s = self.slots[n]
            for pid in found.get(n, []):
                t_wall, t_mono = wall(), H.now()
                fd = signal_pid(pid, signal.SIGKILL, n, self.bindir)
                if fd is None:
                    continue
                fds.append(fd)
                done.append((n, pid))
                self.kills.append((n, pid, t_wall))
                s.killed.add(pid)
                old = set(s.pids) | set(found.get(n, []))
                s.pending = {'wall': t_wall, 'mono': t_mono, 'pid': pid, 'old': old}
                if s.kind == 'monitor' and lid and n == 'monitor-%d' % lid:
                    self.reelecting = {'old': lid, 'wall': t_wall, 'mono': t_mono}
                    self.last_leader_kill = n
        left = wait_fds(fds, 30, tick=self.reaper.tick)
        for fd in fds:
            os.close(fd)
        if left:
            H.say('WARN: %d killed processes still alive 30 s after SIGKILL' % len(left))
        self._leader_at_resolve = 0
        return done

    def overdue(self):
        """Slots whose replacement is not ready RECOVERY_BOUND after the kill."""
        t = wall()
        return [s.name for s in self.slots.values()
                if s.pending is not None and t - s.pending['wall'] > RECOVERY_BOUND]

    # --- accounting

    def audit(self):
        """Deaths we did not cause: [(slot, pid, why, log tail)]. Every
        incarnation that logged must be one we killed, one a monitor killed
        as a duplicate, or the slot's live one; plus the leader's own lines
        about hangs and crashes other than SIGKILL."""
        bad = []
        run = scan(self.bindir)
        for s in self.slots.values():
            live = set(run.get(s.name, []))
            for pid in s.pids:
                if pid in s.killed or pid in live or pid in self.dup_kills:
                    continue
                bad.append((s.name, pid, 'exited without being killed',
                            '\n'.join(s.tails.get(pid, []))))
        for line in self.suspect:
            bad.append(('monitor', 0, 'leader saw', line))
        return bad

    def unstarted(self):
        """Incarnations not started by a monitor (pids that logged without a
        monitor's 'slot=X started pid=N' line), but the 3 monitors the
        harness started."""
        ours = {p.pid for p in self.initial.values()}
        out = []
        for s in self.slots.values():
            for pid in s.pids:
                if pid not in self.started_by and pid not in ours:
                    out.append('%s pid %d' % (s.name, pid))
        return out

    def grep(self, name, pattern):
        rx = re.compile(pattern)
        try:
            with open(self.slots[name].log, encoding='utf-8', errors='replace') as f:
                return [line.rstrip('\n') for line in f if rx.search(line)]
        except OSError:
            return []

    def pid_lines(self, name, pid, pattern):
        rx = re.compile(r'\[%d\] .*%s' % (pid, pattern))
        return self.grep(name, rx.pattern)

    # --- what the queues should look like (same as harness.Pipeline)

    session_wals = H.Pipeline.session_wals
    expected_consumers = H.Pipeline.expected_consumers
    expected_queues = H.Pipeline.expected_queues

    expected_connections = H.Pipeline.expected_connections

    # --- end of run

    def process_checks(self, checks):
        """The monitors' view and /proc agree: 3 monitors alive agreeing on
        one leader which says so, /healthz 200 on each, every slot up in
        the leader's table with exactly one live process, that one; the 3
        tables name the same pids; nothing else of ours runs; no zombie
        among our descendants."""
        last = {}

        def consistent():
            self.poll()
            st = self.statuses()
            last['st'] = st
            lid = agreed(st)
            last['lid'] = lid
            if not lid:
                last['why'] = 'no agreed leader: %s' % {
                    i: (s or {}).get('leader') for i, s in st.items()}
                return False
            tables = {i: {x['name']: (x['state'], x['pid']) for x in s['slots']}
                      for i, s in st.items()}
            run = scan(self.bindir)
            last['run'] = run
            problems = []
            for n in self.slots:
                state, pid = tables[lid].get(n, ('missing', 0))
                pids = run.get(n, [])
                if state != 'up' or pids != [pid]:
                    problems.append('%s: %s pid %s in the table, running: %s' % (
                        n, state, pid, pids or 'none'))
                for i in MONITOR_IDS:
                    if tables[i].get(n, ('?', 0))[1] != pid:
                        problems.append('%s: monitor-%d\'s table says pid %s, the leader\'s %s' % (
                            n, i, tables[i].get(n, ('?', 0))[1], pid))
            extra = {k: v for k, v in run.items() if k not in self.slots}
            if extra:
                problems.append('other processes of ours: %s' % extra)
            last['why'] = '\n'.join(problems)
            return not problems
        try:
            H.wait_until(consistent, 30, 'the monitors\' tables and /proc to agree', interval=0.2)
            checks.ok('monitors: all 3 alive, agreeing on leader monitor-%d; every slot (%d) up '
                      'in the 3 tables with the same pid, exactly one live process each, no other '
                      'process of ours' % (last['lid'], len(self.slots)))
        except H.Timeout:
            checks.ko('monitors\' tables and the processes differ', last.get('why'))
        codes = {i: fetch(self.http[i], '/healthz') for i in MONITOR_IDS}
        checks.check(all(c == 200 for c, _ in codes.values()),
                     '/healthz answers 200 on each monitor', '\n'.join(
                         'monitor-%d: %s %s' % (i, c, b) for i, (c, b) in codes.items()))
        z = self.zombies()
        checks.check(not z, 'no zombie among the processes of the harness and the monitors',
                     ' '.join(map(str, z)))

    def zombies(self):
        """Zombies whose parent is the harness or one of our monitors."""
        self.reaper.tick()
        run = scan(self.bindir)
        parents = {os.getpid()}
        for n in self.monitor_names():
            parents |= set(run.get(n, []))
        out = []
        for d in os.listdir('/proc'):
            if d.isdigit():
                st = _proc_state(int(d))
                if st and st[0] == 'Z' and st[1] in parents:
                    p = H.OWNED.get(int(d))
                    if p is not None and p.returncode is None:
                        continue  # a Popen of ours that ended a moment ago
                    out.append(int(d))
        return out

    def stop_checks(self, checks):
        """The stop: the pids from the leader's table; SIGTERM to the 3
        monitors (they exit 0 and leave the processes alone); then SIGTERM to
        the gateway, which ends the pipeline with `shutdown`. Every process
        must exit 0 by itself and log its own last line."""
        self.poll()
        table = self.table()
        if table is None:
            checks.ko('stop: no agreed leader to read the pids from')
            return
        run = scan(self.bindir)
        mons = {n: table[n][1] for n in self.monitor_names()}
        pipe = {n: table[n][1] for n in self.names()}
        # 1. the monitors, parents before children: a monitor another one
        # revived is that one's child, which would reap it (and keep its
        # exit status) were they stopped at once; once its parent is gone it
        # is the harness's child
        self.stopping = True
        fds, left = {}, set()
        todo = dict(mons)
        for _ in range(len(mons)):
            pids = set(todo.values())
            roots = {n: p for n, p in todo.items()
                     if (_proc_state(p) or ('', 0, 0))[1] not in pids}
            layer = []
            for n, pid in roots.items():
                del todo[n]
                fd = signal_pid(pid, signal.SIGTERM, n, self.bindir)
                if fd is not None:
                    fds[n] = fd
                    layer.append(fd)
            left |= wait_fds(layer, 15, tick=self.reaper.tick)
            if not todo:
                break
        for fd in fds.values():
            os.close(fd)
        try:
            H.wait_until(lambda: all(self.reaper.rc(p) is not None for p in mons.values()),
                         10, 'the monitors\' exit statuses', tick=self.reaper.tick)
        except H.Timeout:
            pass
        self.poll()
        bad = []
        for n, pid in mons.items():
            rc = self.reaper.rc(pid)
            if rc != 0 or not self.pid_lines(n, pid, STOP_LINE['monitor']):
                bad.append('%s (pid %d): exit %s, "%s" line: %s' % (
                    n, pid, rc, STOP_LINE['monitor'],
                    bool(self.pid_lines(n, pid, STOP_LINE['monitor']))))
        checks.check(len(fds) == 3 and not left and not bad,
                     'stop: SIGTERM ended the 3 monitors, each exit 0 with "%s"' %
                     STOP_LINE['monitor'], '\n'.join(bad) or 'signalled %d, alive %d' % (
                         len(fds), len(left)))
        run2 = scan(self.bindir)
        same = all(run2.get(n) == [pid] for n, pid in pipe.items()) and \
            set(run2) == set(pipe) and all(run.get(n) == [pid] for n, pid in pipe.items())
        checks.check(same, 'stop: with the monitors gone the %d pipeline processes run on, '
                     'untouched (the pids of the table)' % len(pipe),
                     'table: %s\nrunning: %s' % (pipe, dict(run2)))
        # 2. the pipeline: SIGTERM to the gateway
        res = {}
        fds = {}
        for n, pid in pipe.items():
            try:
                fds[n] = os.pidfd_open(pid)
            except OSError:
                res[n] = (None, 'gone before the stop')
        gw = fds.get('gateway')
        if gw is not None:
            signal.pidfd_send_signal(gw, signal.SIGTERM)
        left = wait_fds(fds.values(), 120, tick=self.reaper.tick)
        for n, fd in fds.items():
            if fd in left:
                H.say('stop: %s (pid %d) still running: SIGTERM' % (n, pipe[n]))
                try:
                    signal.pidfd_send_signal(fd, signal.SIGTERM)
                except OSError:
                    pass
        still = wait_fds(left, 20, tick=self.reaper.tick)
        for n, fd in fds.items():
            if fd in still:
                H.say('stop: %s (pid %d) ignored SIGTERM: SIGKILL' % (n, pipe[n]))
                try:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                except OSError:
                    pass
        wait_fds(still, 10, tick=self.reaper.tick)
        try:
            H.wait_until(lambda: all(self.reaper.rc(p) is not None for p in pipe.values()),
                         10, 'the pipeline\'s exit statuses', tick=self.reaper.tick)
        except H.Timeout:
            pass
        self.poll()
        for n, fd in fds.items():
            how = 'sigkill' if fd in still else 'sigterm' if fd in left else 'shutdown'
            res[n] = (self.reaper.rc(pipe[n]), how)
            os.close(fd)
        bad = []
        for n, pid in pipe.items():
            rc, how = res[n]
            want = STOP_LINE.get(self.slots[n].kind, WORKER_STOP_LINE)
            line = bool(self.pid_lines(n, pid, re.escape(want)))
            if rc != 0 or how != 'shutdown' or not line:
                bad.append('%s (pid %d): exit %s (%s), "%s" line: %s' % (n, pid, rc, how, want, line))
        checks.check(not bad, 'stop: SIGTERM to the gateway ended the pipeline by `shutdown`: '
                     'every process (%d) exited 0 by itself, each with its last line '
                     '("gateway stopped", "coordinator stopping", "exit status=0")' % len(pipe),
                     '\n'.join(bad))
        rest = scan(self.bindir)
        z = self.zombies()
        checks.check(not rest and not z, 'stop: nothing of ours left running, no zombie',
                     'running: %s; zombies: %s' % (dict(rest), z))
        return res

    def kill_everything(self):
        """Cleanup: SIGKILL every process of ours (the monitors first, so
        that nobody restarts the rest), then reap; no checks."""
        self.stopping = True
        for rnd in range(3):
            run = scan(self.bindir)
            if not run:
                break
            order = sorted(run.items(), key=lambda kv: not kv[0].startswith(('monitor', 'forking')))
            fds = []
            for n, pids in order:
                for pid in pids:
                    fd = signal_pid(pid, signal.SIGKILL, n, self.bindir)
                    if fd is not None:
                        fds.append(fd)
            wait_fds(fds, 10, tick=self.reaper.tick)
            for fd in fds:
                os.close(fd)
        for p in self.initial.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.reaper.tick()
