"""harness.py - a small library for the fault-injection suites (chaos.py,
crashpoints.py): the private broker (restartable), the pipeline as a set of
restartable process slots, the management API, the reference results and
PASS/FAIL accounting. Python 3 standard library only. (The pipeline under
the monitors, which restart it themselves: monitored.py.)

Run the suites through their entry scripts (tests/chaos/run.sh,
tests/chaos/crashpoints.sh): they source scripts/broker.sh, start a private
RabbitMQ node (broker_start exports AMQP_URL, MGMT_URL, BROKER_NODE; the
entry script adds BROKER_DIR, BROKER_DIST_PORT, BROKER_PORT) and stop it on
exit, whatever happens here.

Rules the library keeps:
 * synchronise on events (a log line, a process exit, a file, a queue
   state), never on a fixed sleep: every wait polls with a bound and, when it
   times out, says what it waited for;
 * every process started here dies with the harness (PR_SET_PDEATHSIG), so
   a crashed harness leaves no orphans; every process is spawned from the
   main thread (the death signal follows the spawning thread);
 * the restart policy of Pipeline (a dead slot is started again at once,
   with the same command and environment) lives in one place,
   Pipeline._on_exit, and can be switched off (Pipeline.autorestart =
   False); under the monitors (monitored.MonitoredPipeline) the harness
   starts only the monitors, and the processes they start are not its
   children (see monitored.py for how they are found, reaped and stopped).
"""

import base64
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SHARED = os.path.abspath(os.path.join(ROOT, '..', 'shared'))
T0 = time.monotonic()

# ---------------------------------------------------------------- output


def now():
    return time.monotonic()


def say(msg):
    print('[%7.2f] %s' % (now() - T0, msg), flush=True)


class Timeout(Exception):
    pass


def pool_name(name):
    """A gateway's pooled publisher connection without its number."""
    return re.sub(r'^(gateway \S+ publisher) \d+$', r'\1', name)


def wait_until(pred, timeout, what, tick=None, interval=0.02):
    """Polls pred() (and tick(), if given, first) until it returns a true
    value, which is returned; raises Timeout naming `what` after `timeout`
    seconds."""
    deadline = now() + timeout
    while True:
        if tick is not None:
            tick()
        v = pred()
        if v:
            return v
        if now() >= deadline:
            raise Timeout('timed out after %.0f s waiting for %s' % (timeout, what))
        time.sleep(interval)


class Checks:
    """PASS/FAIL accounting; summary() prints 'N passed, M failed'."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def ok(self, msg):
        self.passed += 1
        print('PASS: %s' % msg, flush=True)

    def ko(self, msg, details=None):
        self.failed += 1
        self.failures.append(msg)
        print('FAIL: %s' % msg, flush=True)
        if details:
            for line in str(details).rstrip('\n').split('\n')[:40]:
                print('    ' + line, flush=True)

    def check(self, cond, msg, details=None):
        if cond:
            self.ok(msg)
        else:
            self.ko(msg, details)
        return cond

    def summary(self):
        print('%d passed, %d failed' % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1


def tail(path, n=15):
    try:
        with open(path, 'rb') as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode('utf-8', 'replace')
        return '\n'.join(data.splitlines()[-n:])
    except OSError as e:
        return '(%s)' % e


def stats(values):
    """'min/median/max' of a list of seconds, or '-'."""
    if not values:
        return '-'
    return '%.2f/%.2f/%.2f s' % (min(values), statistics.median(values), max(values))


# ----------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # In the child, before exec: SIGKILL when the harness (the spawning
    # thread) dies, so nothing we start can outlive us.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# pid -> Popen of every process spawn() started: a reaper of adopted orphans
# (monitored.Reaper) leaves these to their Popen.
OWNED = {}


def spawn(argv, env, log_path, cwd=None, stdout_path=None):
    """Popen with stderr (and stdout, unless stdout_path) to log_path."""
    err = open(log_path, 'ab')
    out = open(stdout_path, 'wb') if stdout_path else err
    try:
        p = subprocess.Popen(argv, env=env, cwd=cwd or ROOT, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err, preexec_fn=_die_with_parent)
    finally:
        err.close()
        if stdout_path:
            out.close()
    for pid in [k for k, v in OWNED.items() if v.returncode is not None]:
        del OWNED[pid]
    OWNED[p.pid] = p
    return p


def free_port():
    """A free loopback port below the ephemeral range (a port there could be
    taken by an outgoing connection, e.g. a client's, while the gateway is
    down)."""
    lo = 32768
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    if lo <= 12000:
        lo = 32768
    rng = random.Random()  # not the schedule's generator
    for _ in range(200):
        p = rng.randrange(10000, lo)
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('127.0.0.1', p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError('no free port found')


def procs_running(exe_dir):
    """{pid: exe} of every live (not zombie) process whose executable lies
    in exe_dir."""
    found = {}
    exe_dir = os.path.realpath(exe_dir) + '/'
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink('/proc/%s/exe' % d)
            with open('/proc/%s/stat' % d) as f:
                st = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            continue
        if exe.startswith(exe_dir) and st != 'Z':
            found[int(d)] = exe
    return found


# --------------------------------------------------------------- broker


def beam_pids(nodename):
    """Pids of the Erlang VM of RabbitMQ node `nodename` (found by the
    RABBITMQ_NODENAME in its environment)."""
    want = ('RABBITMQ_NODENAME=%s' % nodename).encode()
    pids = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                if b'beam' not in f.read().split(b'\0')[0]:
                    continue
            with open('/proc/%s/environ' % d, 'rb') as f:
                if want in f.read().split(b'\0'):
                    pids.append(int(d))
        except OSError:
            continue
    return pids


class Broker:
    """The private node started by scripts/broker.sh (see the entry
    scripts). restart() does what broker.sh's broker_restart does: stop the
    node (rabbitmqctl stop, bounded wait for its processes), launch
    rabbitmq-server again with the same node name, ports and data dir, and
    wait until the management API and the AMQP port answer."""

    def __init__(self):
        self.amqp_url = os.environ['AMQP_URL']
        self.mgmt_url = os.environ.get('MGMT_URL', 'http://127.0.0.1:15672')
        self.node = os.environ.get('BROKER_NODE', '')
        self.dir = os.environ.get('BROKER_DIR', '')
        self.dist_port = os.environ.get('BROKER_DIST_PORT', '')
        m = re.search(r'@[^:/]+:(\d+)', self.amqp_url)
        self.port = int(m.group(1)) if m else 5672
        self.private = bool(self.node and self.dir and self.dist_port)
        self.proc = None  # a node launched here (after a restart)
        self.restarts = 0

    def _tool(self, tool):
        if os.getuid() == 0:
            return ['/usr/sbin/' + tool], dict(os.environ)
        env = dict(os.environ)
        env['HOME'] = os.path.join(self.dir, 'home')
        return ['/usr/lib/rabbitmq/bin/' + tool], env

    def ctl(self, *args, timeout=60):
        """rabbitmqctl -q -n NODE ARGS; returns (rc, stdout)."""
        argv, env = self._tool('rabbitmqctl')
        try:
            p = subprocess.run(argv + ['-q', '-n', self.node] + list(args), env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, 'rabbitmqctl %s timed out' % ' '.join(args)
        return p.returncode, p.stdout.decode('utf-8', 'replace')

    def node_pids(self):
        """Pids of the node's Erlang VM."""
        return beam_pids(self.node)

    def amqp_open(self):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(('127.0.0.1', self.port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def answers(self):
        try:
            Mgmt(self.mgmt_url).get('/api/overview', timeout=2)
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        return self.amqp_open()

    def stop(self, timeout=60):
        pids = self.node_pids()
        rc, out = self.ctl('stop', timeout=timeout)
        if rc != 0:
            say('broker: rabbitmqctl stop: rc=%d %s' % (rc, out.strip()[:200]))
        try:
            wait_until(lambda: not any(os.path.exists('/proc/%d' % p) and
                                       _not_zombie(p) for p in pids),
                       30, 'the broker node %s to exit' % self.node)
        except Timeout:
            say('broker: node did not stop: killing %s' % pids)
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def launch(self):
        env = dict(os.environ)
        env.update({
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_CONFIG_FILE': os.path.join(self.dir, 'rabbitmq.conf'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(self.dir, 'enabled_plugins'),
            'RABBITMQ_MNESIA_BASE': os.path.join(self.dir, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.dir, 'log'),
            'RABBITMQ_DIST_PORT': self.dist_port,
        })
        argv, tenv = self._tool('rabbitmq-server')
        if 'HOME' in tenv and os.getuid() != 0:
            env['HOME'] = tenv['HOME']
        out = open(os.path.join(self.dir, 'out'), 'ab')
        try:
            # No PDEATHSIG here: the entry script stops the node by name.
            self.proc = subprocess.Popen(['setsid', '-w'] + argv, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        finally:
            out.close()

    def crash(self):
        """SIGKILLs the node's Erlang VM (no clean shutdown)."""
        pids = self.node_pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        wait_until(lambda: not any(_not_zombie(p) for p in pids), 30,
                   'the killed broker node %s to exit' % self.node)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def restart(self, tick=None, timeout=90, hard=False):
        """Stops (hard: SIGKILLs) and starts the node; returns the seconds it
        was down."""
        if not self.private:
            raise RuntimeError('a broker restart needs the private node '
                               '(BROKER_NODE, BROKER_DIR, BROKER_DIST_PORT)')
        t = now()
        if hard:
            self.crash()
        else:
            self.stop()
        self.launch()
        wait_until(self.answers, timeout, 'the restarted broker %s to answer' % self.node,
                   tick=tick, interval=0.1)
        self.restarts += 1
        return now() - t

    def queues_live(self):
        """[{name, messages_ready, messages_unacknowledged, consumers,
        exclusive}] straight from the node (the management API's counts are
        sampled every few seconds; these are not). An external broker (no
        node name): from the management API."""
        if not self.node:
            return Mgmt(self.mgmt_url).queues()
        rc, out = self.ctl('list_queues', '--formatter', 'json', 'name',
                           'messages_ready', 'messages_unacknowledged', 'consumers',
                           'exclusive')
        if rc != 0:
            raise RuntimeError('rabbitmqctl list_queues failed: %s' % out.strip()[:300])
        start = out.find('[')
        return json.loads(out[start:]) if start >= 0 else []


def _not_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


class Mgmt:
    """The management HTTP API (guest/guest)."""

    def __init__(self, url, user='guest', password='guest'):
        self.url = url.rstrip('/')
        self.auth = 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()

    def get(self, path, timeout=10):
        req = urllib.request.Request(self.url + path, headers={'Authorization': self.auth})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode('utf-8'))

    def queues(self):
        """[{name, messages_ready, messages_unacknowledged, consumers, exclusive}]"""
        cols = 'name,messages_ready,messages_unacknowledged,consumers,exclusive,durable'
        return self.get('/api/queues?columns=' + cols)

    def connections(self):
        """[{name, client_properties.connection_name, peer_port, state}]"""
        return self.get('/api/connections?columns=name,client_properties,peer_port,state')


# -------------------------------------------------------------- pipeline

STAGES = ('filter', 'agg-q2', 'agg-q3', 'agg-q4', 'sink')
KINDS = ('filter', 'agg-q2', 'agg-q3', 'agg-q4', 'sink', 'coordinator', 'gateway')
TABLES = ('transactions', 'transaction_items', 'users', 'stores', 'menu_items')
READY = {'coordinator': 'coordinator ready', 'gateway': 'gateway ready'}
WORKER_READY = 'started stage='


def parse_replicas(spec):
    reps = {s: 1 for s in STAGES}
    for item in filter(None, spec.split(',')):
        k, v = item.split('=')
        reps[k.strip()] = int(v)
    return reps


def tail_lines(owner, path):
    """The complete lines added to path since owner's last call; owner keeps
    the offset and the partial last line in its _off and _buf."""
    try:
        with open(path, 'rb') as f:
            f.seek(owner._off)
            data = f.read()
    except OSError:
        return []
    owner._off += len(data)
    owner._buf += data.decode('utf-8', 'replace')
    lines = owner._buf.split('\n')
    owner._buf = lines.pop()
    return lines


class Slot:
    """One process of the pipeline: a name (coordinator, gateway, filter-0,
    agg-q2-1, ...), its kind, its command and environment. It keeps its
    current process, its incarnation count and the log of each incarnation
    (<logs>/<name>.<k>.log)."""

    def __init__(self, name, kind, argv, env, ready):
        self.name = name
        self.kind = kind
        self.argv = argv
        self.env = env
        self.ready = ready
        self.proc = None
        self.incarnation = -1
        self.log = None
        self.env_once = {}      # extra env of the next incarnation only
        self.env_now = {}       # extra env of the current incarnation
        self.killed_at = None   # when we SIGKILLed it (awaiting its successor's ready)
        self.expect_exit = False
        self.hold = False       # dead and kept down (not restarted)
        self.ready_at = None
        self.started_at = None
        self._off = 0
        self._buf = ''
        self.exits = []         # (incarnation, rc, cause)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_new(self):
        """New complete lines of the current log."""
        if self.log is None:
            return []
        return tail_lines(self, self.log)


class Pipeline:
    """The coordinator, every worker replica and one gateway as slots.

    pipeline.poll() must be called often (every wait in this library takes
    it as its tick): it notices exits, applies the restart policy and
    notices ready lines, recording kill -> ready times in .recoveries."""

    def __init__(self, bindir, workdir, amqp_url, replicas, gateway_id='gw-chaos',
                 log_level='info', extra_env=None):
        self.bindir = bindir
        self.logs = os.path.join(workdir, 'logs')
        self.state = os.path.join(workdir, 'state')
        os.makedirs(self.logs, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        self.replicas = parse_replicas(replicas)
        self.replica_spec = replicas
        self.gateway_id = gateway_id
        self.port = free_port()
        self.addr = '127.0.0.1:%d' % self.port
        self.autorestart = True
        self.recoveries = []    # (kind, name, seconds)
        self.unexpected = []    # (name, incarnation, rc, log tail)
        self.line_hooks = []    # fn(slot, line) for every new log line
        self.stopping = False
        self.verbose = True     # print each recovery
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(('CS_', 'GATEWAY_', 'LOG_LEVEL', 'COORD_', 'WORKER_'))}
        base.update({'AMQP_URL': amqp_url, 'CS_REPLICAS': replicas,
                     'CS_STATE_DIR': self.state, 'LOG_LEVEL': log_level})
        base.update(extra_env or {})
        self.slots = {}
        self._add('coordinator', 'coordinator', 'coordinator', base, {})
        for st in STAGES:
            binary = {'filter': 'filter', 'sink': 'sink'}.get(st, 'aggregator')
            for i in range(self.replicas[st]):
                self._add('%s-%d' % (st, i), st, binary, base,
                          {'CS_STAGE': st, 'CS_REPLICA_ID': str(i)})
        self._add('gateway', 'gateway', 'gateway', base,
                  {'GATEWAY_PORT': str(self.port), 'GATEWAY_BIND': '127.0.0.1',
                   'GATEWAY_ID': gateway_id})

    def _add(self, name, kind, binary, base, env):
        e = dict(base)
        e.update(env)
        self.slots[name] = Slot(name, kind, [os.path.join(self.bindir, binary)], e,
                                READY.get(kind, WORKER_READY))

    def names(self, kind=None):
        return [n for n, s in self.slots.items() if kind is None or s.kind == kind]

    def workers(self):
        return [n for n, s in self.slots.items() if s.kind in STAGES]

    def slot(self, name):
        return self.slots[name]

    # --- lifecycle

    def spawn(self, name, env=None):
        """Starts slot `name` (it must not be running); env: extra variables
        for this incarnation only (e.g. CS_FAULT)."""
        s = self.slots[name]
        assert not s.alive(), name
        s.incarnation += 1
        s.log = os.path.join(self.logs, '%s.%d.log' % (name, s.incarnation))
        s._off, s._buf = 0, ''
        e = dict(s.env)
        s.env_now = dict(s.env_once)
        s.env_now.update(env or {})
        e.update(s.env_now)
        s.env_once = {}
        s.expect_exit = False
        s.hold = False
        s.ready_at = None
        s.started_at = now()
        s.proc = spawn(s.argv, e, s.log)
        return s

    def start(self, timeout=60):
        """Starts every slot (gateway last, once the workers are ready)."""
        for n in self.names():
            if n != 'gateway':
                self.spawn(n)
        self.wait_ready([n for n in self.names() if n != 'gateway'], timeout)
        self.spawn('gateway')
        self.wait_ready(['gateway'], timeout)

    def kill(self, names):
        """SIGKILLs the current process of each slot (all signals first,
        then reaps them); returns [(name, pid)]. The restart policy runs on
        the next poll()."""
        t = now()
        done = []
        for n in names:
            s = self.slots[n]
            if s.alive():
                s.expect_exit = True
                s.killed_at = t
                try:
                    os.kill(s.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                done.append((n, s.pid))
        for n, _ in done:
            try:
                self.slots[n].proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say('WARN: %s (pid %d) still alive 30 s after SIGKILL' % (n, self.slots[n].pid))
        return done

    def restart(self, name, env=None):
        """Kills slot `name` if it runs, then starts it again (same command
        and environment, plus env for this incarnation)."""
        s = self.slots[name]
        if s.alive():
            self.kill([name])
        if s.proc is not None:
            self._record_exit(s)
        return self.spawn(name, env)

    def respawn(self, name, env=None, sig=signal.SIGTERM, timeout=30):
        """Stops slot `name` with `sig` (SIGKILL after `timeout`), waits for
        its exit, and starts it again with env for this incarnation only
        (e.g. CS_FAULT). Not a fault: no recovery time is recorded."""
        s = self.slots[name]
        if s.alive():
            s.expect_exit = True
            s.proc.send_signal(sig)
            try:
                s.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                say('WARN: %s (pid %d) did not exit %.0f s after signal %d: SIGKILL' %
                    (name, s.pid, timeout, sig))
                s.proc.kill()
                s.proc.wait()
        if s.proc is not None:
            self._record_exit(s)
        s.killed_at = None
        return self.spawn(name, env)

    def hold_down(self, names):
        """Kills the slots and keeps them down until release()."""
        for n in names:
            self.slots[n].hold = True
        self.kill(names)
        for n in names:
            self._record_exit(self.slots[n])

    def release(self, names):
        for n in names:
            s = self.slots[n]
            s.hold = False
            if not s.alive():
                self.spawn(n)

    def _record_exit(self, s):
        """Records the exit of s's current incarnation once; returns the
        cause ('killed' by us, 'fault' (CS_FAULT), 'exited') or None when it
        was recorded already."""
        if s.exits and s.exits[-1][0] == s.incarnation:
            return None
        rc = s.proc.returncode
        if s.expect_exit:
            cause = 'killed'
        elif 'CS_FAULT' in s.env_now and rc == -signal.SIGKILL:
            cause = 'fault'
            s.killed_at = now()
        else:
            cause = 'exited'
            if not self.stopping:
                s.killed_at = now()
                self.unexpected.append((s.name, s.incarnation, rc, tail(s.log, 8)))
                say('UNEXPECTED EXIT: %s (pid %d, incarnation %d) rc=%s; log tail:\n%s' %
                    (s.name, s.pid, s.incarnation, rc, tail(s.log, 8)))
        s.exits.append((s.incarnation, rc, cause))
        return cause

    def _on_exit(self, s):
        """THE restart policy: a dead slot is started again at once, with the
        same command and environment, unless restarts are off, the slot is
        held down, or the pipeline is stopping. (An exit we did not cause is
        recorded in .unexpected by _record_exit.)"""
        self._record_exit(s)
        if self.autorestart and not s.hold and not self.stopping:
            self.spawn(s.name)

    def poll(self):
        for s in self.slots.values():
            if s.proc is None:
                continue
            if s.proc.poll() is not None:
                if not s.exits or s.exits[-1][0] != s.incarnation:
                    self._on_exit(s)
                continue
            lines = s.read_new()
            for line in lines:
                if s.ready_at is None and s.ready in line:
                    s.ready_at = now()
                    if s.killed_at is not None:
                        took = s.ready_at - s.killed_at
                        self.recoveries.append((s.kind, s.name, took))
                        s.killed_at = None
                        if self.verbose:
                            say('  %s ready again (pid %d) %.2f s after its death' %
                                (s.name, s.pid, took))
                for h in self.line_hooks:
                    h(s, line)

    def is_ready(self, name):
        s = self.slots[name]
        return s.alive() and s.ready_at is not None

    def wait_ready(self, names, timeout=60):
        try:
            wait_until(lambda: all(self.is_ready(n) for n in names), timeout,
                       'ready lines of %s' % ', '.join(names), tick=self.poll)
        except Timeout as e:
            slow = [n for n in names if not self.is_ready(n)]
            raise Timeout('%s; not ready: %s; last log lines of %s:\n%s' % (
                e, ' '.join(slow), slow[0], tail(self.slots[slow[0]].log))) from None

    def wait_log(self, name, pattern, timeout=60, all_incarnations=False):
        """Waits until the log of slot `name` (its current incarnation, or
        any) has a line matching regex `pattern`; returns the match."""
        rx = re.compile(pattern)
        s = self.slots[name]

        def found():
            paths = [s.log]
            if all_incarnations:
                paths = [os.path.join(self.logs, '%s.%d.log' % (name, k))
                         for k in range(s.incarnation + 1)]
            for p in paths:
                try:
                    with open(p, encoding='utf-8', errors='replace') as f:
                        m = rx.search(f.read())
                except OSError:
                    m = None
                if m:
                    return m
            return None
        return wait_until(found, timeout, "'%s' in the log of %s" % (pattern, name),
                          tick=self.poll, interval=0.03)

    def wait_exit(self, name, timeout=60):
        s = self.slots[name]
        proc = s.proc
        wait_until(lambda: proc.poll() is not None, timeout,
                   '%s (pid %d) to exit' % (name, proc.pid), tick=self.poll)
        return proc.returncode

    def all_logs(self, name):
        s = self.slots[name]
        return [os.path.join(self.logs, '%s.%d.log' % (name, k))
                for k in range(s.incarnation + 1)]

    def grep(self, name, pattern):
        """Lines of every incarnation's log of `name` matching regex."""
        rx = re.compile(pattern)
        out = []
        for p in self.all_logs(name):
            try:
                with open(p, encoding='utf-8', errors='replace') as f:
                    out += [line.rstrip('\n') for line in f if rx.search(line)]
            except OSError:
                pass
        return out

    def pids(self):
        return {n: s.pid for n, s in self.slots.items() if s.alive()}

    def stop(self, gateway_timeout=90, shutdown_timeout=30, term_timeout=20):
        """Graceful stop: SIGTERM to the gateway (it lets sessions finish,
        then sends shutdown, which the coordinator broadcasts: every other
        process exits by itself); then SIGTERM, later SIGKILL, to whatever
        still runs. Returns {name: (returncode, how)} with how one of
        'shutdown', 'sigterm', 'sigkill'."""
        self.stopping = True
        res = {}
        gw = self.slots['gateway']
        procs = {n: s.proc for n, s in self.slots.items() if s.alive()}
        if gw.alive():
            gw.proc.send_signal(signal.SIGTERM)
        try:
            wait_until(lambda: all(p.poll() is not None for p in procs.values()),
                       gateway_timeout + shutdown_timeout, 'every process to exit after '
                       'the gateway\'s SIGTERM and the shutdown broadcast')
        except Timeout as e:
            say(str(e))
        for n, p in procs.items():
            if p.poll() is not None:
                res[n] = (p.returncode, 'shutdown')
        rest = {n: p for n, p in procs.items() if p.poll() is None}
        for n, p in rest.items():
            say('stop: %s (pid %d) still running: SIGTERM' % (n, p.pid))
            p.send_signal(signal.SIGTERM)
        for n, p in rest.items():
            try:
                p.wait(timeout=term_timeout)
                res[n] = (p.returncode, 'sigterm')
            except subprocess.TimeoutExpired:
                say('stop: %s (pid %d) ignored SIGTERM: SIGKILL' % (n, p.pid))
                p.kill()
                p.wait()
                res[n] = (p.returncode, 'sigkill')
        return res

    def kill_everything(self):
        """Cleanup: SIGKILL whatever still runs (no checks)."""
        self.stopping = True
        for s in self.slots.values():
            if s.alive():
                try:
                    s.proc.kill()
                    s.proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass

    def session_wals(self):
        """Per-session state files left: every *.wal under the state dir
        but the process-level tombstones.wal and sessions.wal."""
        left = []
        for d, _, files in os.walk(self.state):
            for f in files:
                if f.endswith('.wal') and f not in ('tombstones.wal', 'sessions.wal'):
                    left.append(os.path.relpath(os.path.join(d, f), self.state))
        return sorted(left)

    def expected_consumers(self):
        """{queue: consumers} while every slot runs."""
        want = {'coordinator': 1, 'gateway.%s.results' % self.gateway_id: 1}
        for t in TABLES:
            want['filter.%s' % t] = self.replicas['filter']
        for st in STAGES:
            for i in range(self.replicas[st]):
                want['ctl.%s.%d' % (st, i)] = 1
                if st != 'filter':
                    want['%s.%d' % (st, i)] = 1
        return want

    def expected_connections(self):
        """(names, lo, hi): the sorted connection names while every slot
        runs and no client is connected, one per process (the gateway's
        results connection), and the bounds of the gateway's idle publisher
        connections besides them (GATEWAY_POOL of them, up to twice as many
        given back by sessions; named 'gateway ID publisher N', numbered as
        made: counted without the number, pool_name)."""
        pool = int(os.environ.get('GATEWAY_POOL', '2'))
        return (sorted([n for n in self.names() if n != 'gateway'] +
                       ['gateway %s results' % self.gateway_id]), pool, 2 * pool)

    def expected_queues(self):
        """Every queue the system may hold while all slots are alive."""
        q = {'coordinator', 'gateway.%s.results' % self.gateway_id,
             'gateway-lock.%s' % self.gateway_id}
        q |= {'filter.%s' % t for t in TABLES}
        for st in STAGES:
            for i in range(self.replicas[st]):
                q.add('ctl.%s.%d' % (st, i))
                q.add('replica-lock.%s.%d' % (st, i))
                if st != 'filter':
                    q.add('%s.%d' % (st, i))
        return q


# ---------------------------------------------------------- data, clients


def snapshot_bins(builddir, dest):
    """Copies the programs into dest: a rebuild during the run does not
    change what a restarted slot runs, and any process running from dest is
    ours (orphan check)."""
    os.makedirs(dest, exist_ok=True)
    for b in ('coordinator', 'gateway', 'filter', 'aggregator', 'sink', 'client',
              'gen-dataset', 'monitor'):
        src = os.path.join(builddir, 'bin', b)
        if not os.path.exists(src):
            raise RuntimeError('%s is missing: run make programs' % src)
        shutil.copy2(src, os.path.join(dest, b))
    return dest


def dir_size(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


def gen_dataset(bindir, out, scale, seed, edge=True):
    argv = [os.path.join(bindir, 'gen-dataset'), '--out', out, '--scale', str(scale),
            '--seed', str(seed), '--quiet']
    if not edge:
        argv.append('--no-edge-cases')
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def references(pairs):
    """Runs tests/reference/reference.py DATA EXPECTED for every (data,
    expected) pair, concurrently; raises on failure."""
    procs = [(d, e, subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests/reference/reference.py'),
                                      d, e], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=_die_with_parent))
             for d, e in pairs]
    for d, e, p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError('reference.py %s failed: %s' % (d, err.decode()[-500:]))


def compare_exact(expected, outdir, client_stdout):
    """(ok, details): results byte-identical (compare.py --exact) and the
    rejected counts in the client's summary equal (check_rejected.py)."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, 'tests/reference/compare.py'),
                        '--exact', expected, outdir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    q = subprocess.run([sys.executable, os.path.join(ROOT, 'tests/e2e/check_rejected.py'),
                        os.path.join(expected, 'rejected.json'), client_stdout],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    details = ''
    if p.returncode != 0:
        details += '\n'.join(line for line in p.stdout.decode().splitlines()
                             if not line.startswith('OK'))[:2000] + '\n'
    if q.returncode != 0:
        details += q.stdout.decode()[:1000]
    extra = sorted(set(os.listdir(outdir)) - {'q1.csv', 'q2_best_selling.csv',
                                              'q2_most_profitable.csv', 'q3.csv', 'q4.csv'}) \
        if os.path.isdir(outdir) else ['(no output folder)']
    if extra:
        details += 'unexpected files in the output folder: %s\n' % ' '.join(extra)
    return p.returncode == 0 and q.returncode == 0 and not extra, details


class Client:
    """One run of build/bin/client (a session, re-run transparently by the
    client when it loses the gateway)."""

    def __init__(self, bindir, label, dataset, data_root, outdir, addr, deadline,
                 extra=()):
        self.label = label
        self.dataset = dataset
        self.outdir = outdir
        self.stdout = outdir + '.out'
        self.stderr = outdir + '.err'
        self.deadline = deadline
        self.started = now()
        self.ended = None
        self.rc = None
        self.timed_out = False
        argv = [os.path.join(bindir, 'client'), '--data-folder', dataset, '--data-root',
                data_root, '--output', outdir, '--gateway', addr, '--no-progress'] + list(extra)
        env = {k: v for k, v in os.environ.items()
               if k not in ('SESSION_RETRIES', 'CONNECT_RETRIES', 'OUTPUT_DIR')}
        self.proc = spawn(argv, env, self.stderr, stdout_path=self.stdout)

    def poll(self):
        """True once the client ended (or was killed at its deadline)."""
        if self.rc is not None:
            return True
        rc = self.proc.poll()
        if rc is None and now() - self.started > self.deadline:
            self.timed_out = True
            self.proc.kill()
            rc = self.proc.wait()
        if rc is not None:
            self.rc = rc
            self.ended = now()
            return True
        return False

    @property
    def duration(self):
        return (self.ended or now()) - self.started

    def sessions(self):
        """Session ids the client ran, in order (re-runs included)."""
        try:
            with open(self.stderr, encoding='utf-8', errors='replace') as f:
                return re.findall(r'session started session=([0-9a-f-]{36})', f.read())
        except OSError:
            return []

    def reruns(self):
        try:
            with open(self.stderr, encoding='utf-8', errors='replace') as f:
                return len(re.findall(r'running .* again', f.read()))
        except OSError:
            return 0


def schedule_digest(items):
    return hashlib.sha256(repr(items).encode()).hexdigest()[:12]


# ------------------------------------------------------- end-of-run checks


def final_checks(checks, pipe, broker, bindir):
    """What must hold once every session ended, all slots running: no
    per-session state file, no message in any queue, no unexpected queue,
    one consumer per replica queue, one broker connection per process, one
    live process per slot and no other process running from bindir."""
    try:
        wait_until(lambda: not pipe.session_wals(), 60, 'per-session state files to go',
                   tick=pipe.poll, interval=0.2)
        checks.ok('no per-session state file left under CS_STATE_DIR')
    except Timeout:
        checks.ko('per-session state files left under CS_STATE_DIR',
                  '\n'.join(pipe.session_wals()))
    pipe.wait_ready(pipe.names(), 120)
    last = {}

    def empty():
        pipe.poll()
        last['q'] = broker.queues_live()
        return all(q['messages_ready'] == 0 and q['messages_unacknowledged'] == 0
                   for q in last['q'])
    try:
        wait_until(empty, 60, 'every queue to be empty', interval=0.5)
        checks.ok('no message left in any of the %d queues (ready + unacked = 0)' %
                  len(last['q']))
    except Timeout:
        checks.ko('messages left in queues', '\n'.join(
            '%s ready=%s unacked=%s' % (q['name'], q['messages_ready'],
                                        q['messages_unacknowledged'])
            for q in last['q'] if q['messages_ready'] or q['messages_unacknowledged']))
    names = {q['name'] for q in last['q']}
    extra = names - pipe.expected_queues()
    checks.check(not extra, 'no unexpected queue (%d queues, all expected)' % len(names),
                 ' '.join(sorted(extra)))
    want = pipe.expected_consumers()

    def consumers_ok():
        pipe.poll()
        last['q'] = broker.queues_live()
        have = {q['name']: q['consumers'] for q in last['q']}
        return all(have.get(k) == v for k, v in want.items())
    try:
        wait_until(consumers_ok, 30, 'one consumer per replica queue', interval=0.5)
        checks.ok('one consumer per replica queue (%d queues checked)' % len(want))
    except Timeout:
        have = {q['name']: q['consumers'] for q in last['q']}
        checks.ko('consumers per queue differ', '\n'.join(
            '%s: %s consumers, expected %s' % (k, have.get(k), v)
            for k, v in sorted(want.items()) if have.get(k) != v))
    mgmt = Mgmt(broker.mgmt_url)
    want_conns, pool_lo, pool_hi = pipe.expected_connections()
    publisher = 'gateway %s publisher' % pipe.gateway_id

    def conns_ok():
        pipe.poll()
        names = [pool_name((c.get('client_properties') or {}).get('connection_name', '?'))
                 for c in mgmt.connections()]
        last['c'] = sorted(names)
        others = [n for n in last['c'] if n != publisher]
        return others == want_conns and pool_lo <= len(names) - len(others) <= pool_hi
    try:
        wait_until(conns_ok, 30, 'one broker connection per process', interval=0.5)
        checks.ok('one broker connection per process and %d-%d idle publishers, no other '
                  '(%d)' % (pool_lo, pool_hi, len(last['c'])))
    except Timeout:
        checks.ko('broker connections differ', 'have: %s\nwant: %s and %d-%d x %s' % (
            ' | '.join(last['c']), ' | '.join(want_conns), pool_lo, pool_hi, publisher))
    if hasattr(pipe, 'process_checks'):  # under the monitors (monitored.py)
        pipe.process_checks(checks)
        return
    pipe.poll()
    running = procs_running(bindir)
    dead = [n for n in pipe.names() if not pipe.slot(n).alive()]
    ours = set(pipe.pids().values())
    orphans = {p: e for p, e in running.items() if p not in ours}
    checks.check(not dead and not orphans and set(running) == ours,
                 'exactly one live process per slot (%d) and no other process of ours' %
                 len(ours), 'dead: %s; others: %s' % (dead, orphans))


def log_checks(checks, pipe, allow=()):
    """No process logged an ERROR (a coordinator violation, a replayed
    record that does not apply, a malformed internal row... are bugs even
    when the results come out right); `allow`: regexes of tolerated ones."""
    bad = []
    names = pipe.all_names() if hasattr(pipe, 'all_names') else pipe.names()
    for n in names:
        for line in pipe.grep(n, r'^\S+ ERROR '):
            if not any(re.search(a, line) for a in allow):
                bad.append('%s: %s' % (n, line))
    nlogs = pipe.log_count() if hasattr(pipe, 'log_count') else \
        sum(s.incarnation + 1 for s in pipe.slots.values())
    checks.check(not bad, 'no ERROR line in any process log (%d logs)' % nlogs,
                 '\n'.join(bad[:20]) + ('\n... %d more' % (len(bad) - 20) if len(bad) > 20 else ''))


def stop_checks(checks, pipe):
    """Graceful stop; every process must exit 0 by itself (the gateway on
    SIGTERM, the others on the shutdown broadcast)."""
    res = pipe.stop()
    bad = {n: r for n, r in res.items() if r != (0, 'shutdown')}
    checks.check(not bad, 'graceful stop: every process exited 0 on the gateway\'s SIGTERM and '
                 'the shutdown broadcast (%d processes)' % len(res),
                 '\n'.join('%s: exit %s (%s)' % (n, r[0], r[1]) for n, r in bad.items()))
