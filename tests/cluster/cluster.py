#!/usr/bin/env python3
"""cluster.py - the pipeline on a 3-node RabbitMQ cluster (quorum queues)
survives losing a broker node mid-session (make test-cluster).

Run through tests/cluster/run.sh, which removes whatever this leaves
behind. The cluster is three private rabbitmq-server nodes on loopback
(distinct node names and ports, one Erlang cookie, peer discovery by
classic_config: nodes join by configuration, no manual join), the same
Debian rabbitmq-server the Docker image is built from; the Compose overlay
(docker-compose.cluster.yml) runs the same configuration in containers.

  1. the cluster forms (every node's management API lists 3 running nodes);
  2. the pipeline starts with AMQP_URL listing the 3 nodes and
     CS_QUEUE_TYPE=quorum: every durable queue is a quorum queue with 3
     online members, the lock queues are exclusive classic ones;
  3. two clients run at once on two generated data sets; once both
     sessions have data in an aggregator's write-ahead log, a node chosen
     by the seeded generator (CLUSTER_SEED, printed) is SIGKILLed;
  4. both sessions end byte-exact with equal rejected counts (the
     reference, tests/reference/reference.py), no process exited (every
     connection of the dead node failed over in-process), and the pause is
     measured: each failed-over connection's outage (its failover line's
     down_ms) and the longest stall of the stateful stages' write-ahead
     logs after the kill, next to the longest stall before it;
  5. the node is started again and rejoins: cluster_status on every node
     shows 3 running nodes and every quorum queue 3 online members; a third
     session then runs exact;
  6. end state: no message left, no unexpected queue, one consumer per
     replica queue, one connection per process, no ERROR line, and a
     graceful stop where every process exits 0.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'chaos'))
import harness as H  # noqa: E402
import suite as S  # noqa: E402

REPLICAS = 'filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2'
CLIENT_FLAGS = ['--session-retries', '5', '--connect-retries', '30']
SESSION_BOUND = 180   # seconds a session may take (kill included)
PAUSE_BOUND = 45      # seconds the pipeline may stall after the kill
KILL_AFTER_BYTES = 1 << 20  # of each session in the aggregators' logs before the kill
NODES = 3


class Cluster:
    """Three private nodes on loopback: node i (0-based) is
    <base><i+1>@localhost with its own AMQP, management and distribution
    ports and data dir under `root`; every node runs with CS_CLUSTER_TAG in
    its environment (run.sh kills what carries it, should we die)."""

    def __init__(self, root, tag):
        self.root = root
        self.tag = tag
        os.makedirs(root, exist_ok=True)
        used = set()

        def port():
            while True:
                p = H.free_port()
                if p not in used:
                    used.add(p)
                    return p
        self.amqp = [port() for _ in range(NODES)]
        self.mgmt = [port() for _ in range(NODES)]
        self.dist = [port() for _ in range(NODES)]
        base = 'csc%d' % self.amqp[0]
        self.names = ['%s%d@localhost' % (base, i + 1) for i in range(NODES)]
        self.dirs = [os.path.join(root, 'node%d' % (i + 1)) for i in range(NODES)]
        self.procs = [None] * NODES
        for i in range(NODES):
            self._configure(i)

    @property
    def url(self):
        """AMQP_URL: the 3 nodes, comma-separated."""
        return ','.join('amqp://guest:guest@127.0.0.1:%d/' % p for p in self.amqp)

    def mgmt_url(self, i):
        return 'http://127.0.0.1:%d' % self.mgmt[i]

    def _configure(self, i):
        d = self.dirs[i]
        for sub in ('mnesia', 'log'):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        lines = ['listeners.tcp.default = 127.0.0.1:%d' % self.amqp[i],
                 'management.tcp.ip = 127.0.0.1',
                 'management.tcp.port = %d' % self.mgmt[i],
                 'cluster_formation.peer_discovery_backend = classic_config']
        lines += ['cluster_formation.classic_config.nodes.%d = %s' % (k + 1, n)
                  for k, n in enumerate(self.names)]
        lines += ['cluster_partition_handling = pause_minority']
        with open(os.path.join(d, 'rabbitmq.conf'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with open(os.path.join(d, 'enabled_plugins'), 'w') as f:
            f.write('[rabbitmq_management].\n')
        if os.getuid() == 0:
            subprocess.run(['chown', '-R', 'rabbitmq:rabbitmq', d], check=True)

    def _tool(self, tool):
        # Debian's wrappers in /usr/sbin switch to user rabbitmq (whose home
        # holds the one cookie of every node); anyone else shares one HOME.
        env = dict(os.environ)
        if os.getuid() == 0:
            return ['/usr/sbin/' + tool], env
        env['HOME'] = os.path.join(self.root, 'home')
        os.makedirs(env['HOME'], exist_ok=True)
        return ['/usr/lib/rabbitmq/bin/' + tool], env

    def launch(self, i):
        argv, env = self._tool('rabbitmq-server')
        d = self.dirs[i]
        env.update({
            'RABBITMQ_NODENAME': self.names[i],
            'RABBITMQ_CONFIG_FILE': os.path.join(d, 'rabbitmq.conf'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(d, 'enabled_plugins'),
            'RABBITMQ_MNESIA_BASE': os.path.join(d, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(d, 'log'),
            'RABBITMQ_DIST_PORT': str(self.dist[i]),
            'CS_CLUSTER_TAG': self.tag,
        })
        out = open(os.path.join(d, 'out'), 'ab')
        try:
            self.procs[i] = subprocess.Popen(['setsid', '-w'] + argv, env=env,
                                             stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT)
        finally:
            out.close()

    def ctl(self, i, *args, timeout=60):
        argv, env = self._tool('rabbitmqctl')
        try:
            p = subprocess.run(argv + ['-q', '-n', self.names[i]] + list(args), env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, 'rabbitmqctl %s timed out' % ' '.join(args)
        return p.returncode, p.stdout.decode('utf-8', 'replace')

    def ctl_json(self, i, *args):
        rc, out = self.ctl(i, *(list(args) + ['--formatter', 'json']))
        if rc != 0:
            raise RuntimeError('rabbitmqctl %s on %s: %s' % (' '.join(args), self.names[i],
                                                             out.strip()[:300]))
        start = min([k for k in (out.find('['), out.find('{')) if k >= 0], default=-1)
        return json.loads(out[start:]) if start >= 0 else None

    def node_pids(self, i):
        """Pids of node i's Erlang VM."""
        return H.beam_pids(self.names[i])

    def answers(self, i):
        try:
            H.Mgmt(self.mgmt_url(i)).get('/api/overview', timeout=2)
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(('127.0.0.1', self.amqp[i]))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def wait_up(self, nodes, timeout=120, tick=None):
        def up():
            for i in nodes:
                if self.procs[i] is not None and self.procs[i].poll() is not None:
                    raise RuntimeError('node %s exited during startup:\n%s' % (
                        self.names[i], H.tail(os.path.join(self.dirs[i], 'out'), 8)))
            return all(self.answers(i) for i in nodes)
        H.wait_until(up, timeout, 'nodes %s to answer' % ' '.join(self.names[i] for i in nodes),
                     tick=tick, interval=0.3)

    def running(self, i):
        """Running nodes as node i sees them (cluster_status), or []."""
        try:
            st = self.ctl_json(i, 'cluster_status')
        except (RuntimeError, ValueError):
            return []
        return sorted((st or {}).get('running_nodes', []))

    def mgmt_running(self, i):
        """Names of the running nodes the management API of node i lists."""
        nodes = H.Mgmt(self.mgmt_url(i)).get('/api/nodes?columns=name,running')
        return sorted(n['name'] for n in nodes if n.get('running'))

    def kill(self, i):
        """SIGKILLs node i's VM (no clean shutdown); returns its pids."""
        pids = self.node_pids(i)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        return pids

    def reap(self, i, pids):
        H.wait_until(lambda: not any(H._not_zombie(p) for p in pids), 30,
                     'the killed node %s to exit' % self.names[i])
        self._wait_launcher(i)

    def _wait_launcher(self, i):
        """Waits (30 s at most) for node i's launcher process, then forgets it."""
        if self.procs[i] is not None:
            try:
                self.procs[i].wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.procs[i] = None

    def queues(self, i):
        return self.ctl_json(i, 'list_queues', 'name', 'type', 'durable', 'exclusive',
                             'members', 'online', 'messages_ready',
                             'messages_unacknowledged', 'consumers') or []

    def stop_all(self):
        for i in range(NODES):
            if self.node_pids(i):
                self.ctl(i, 'stop', timeout=60)
        for i in range(NODES):
            self.kill(i)
            self._wait_launcher(i)


class LiveBroker:
    """What harness.final_checks asks of a broker, answered by a live node:
    live queue counts (rabbitmqctl) and the management API (which lists
    the whole cluster's connections)."""

    def __init__(self, cluster, node):
        self.cluster = cluster
        self.node = node
        self.mgmt_url = cluster.mgmt_url(node)

    def queues_live(self):
        return self.cluster.queues(self.node)


class WalSampler:
    """Total size of the stateful stages' write-ahead logs, sampled on
    every tick: when it grows, an aggregator or sink applied input."""

    def __init__(self, state):
        self.state = state
        self.samples = []   # (t, bytes)
        self.last = None

    def size(self):
        total = 0
        for d, _, files in os.walk(self.state):
            if not os.path.basename(d).startswith(('agg-', 'sink-')):
                continue
            for f in files:
                if f.endswith('.wal'):
                    try:
                        total += os.path.getsize(os.path.join(d, f))
                    except OSError:
                        pass
        return total

    def tick(self):
        t = H.now()
        if self.last is not None and t - self.last < 0.05:
            return
        self.last = t
        self.samples.append((t, self.size()))

    def growth_times(self):
        out = []
        for (_, a), (t, b) in zip(self.samples, self.samples[1:]):
            if b != a:  # grows while applying; shrinks when a session ends
                out.append(t)
        return out

    def longest_stall(self, start, end):
        """Longest time in [start, end] without a change of the logs."""
        times = [start] + [t for t in self.growth_times() if start < t < end] + [end]
        return max(b - a for a, b in zip(times, times[1:]))


class Suite(S.Suite):
    session_bound = SESSION_BOUND

    def __init__(self, args, work):
        super().__init__(args, work)
        self.cluster = Cluster(os.path.join(work, 'cluster'),
                               os.environ.get('CS_CLUSTER_TAG', 'cluster-%d' % os.getpid()))
        self.sampler = None

    def tick(self):
        super().tick()
        if self.sampler is not None:
            self.sampler.tick()

    def client(self, label, dataset):
        c = H.Client(self.bindir, label, dataset, self.data, os.path.join(self.out, label),
                     self.pipe.addr, SESSION_BOUND, CLIENT_FLAGS)
        self.clients.append(c)
        return c

    # --- phases

    def form(self):
        cl = self.cluster
        t = H.now()
        # the first node alone, then the others join it by configuration
        cl.launch(0)
        cl.wait_up([0])
        cl.launch(1)
        cl.launch(2)
        cl.wait_up([1, 2])
        want = sorted(cl.names)
        H.wait_until(lambda: all(cl.running(i) == want for i in range(NODES)), 90,
                     'cluster_status on every node to show the 3 nodes running', interval=0.5)
        views = [cl.mgmt_running(i) for i in range(NODES)]
        self.checks.check(all(v == want for v in views),
                          'cluster formed by configuration in %.1f s: cluster_status and the '
                          'management API of every node list the 3 running nodes (%s)' % (
                              H.now() - t, ' '.join(want)),
                          '\n'.join('%s: %s' % (cl.names[i], views[i]) for i in range(NODES)))

    def queue_types(self):
        qs = self.cluster.queues(0)
        bad = []
        for q in qs:
            if q['exclusive']:
                if q['type'] != 'classic':
                    bad.append('%s: exclusive but %s' % (q['name'], q['type']))
            elif q['type'] != 'quorum' or len(q.get('members') or []) != NODES:
                bad.append('%s: %s, members %s' % (q['name'], q['type'], q.get('members')))
        nq = sum(1 for q in qs if q['type'] == 'quorum')
        self.checks.check(not bad and nq > 0, 'CS_QUEUE_TYPE=quorum: the %d durable queues are '
                          'quorum queues with %d members, the %d lock queues exclusive classic' % (
                              nq, NODES, len(qs) - nq), '\n'.join(bad))

    def spread(self):
        """({node: connections}, {node: quorum queue leaders}), live from
        rabbitmqctl (the management API's lists lag by seconds)."""
        cl = self.cluster
        per = {n: 0 for n in cl.names}
        # each node listens on its own AMQP port
        for c in cl.ctl_json(0, 'list_connections', 'port') or []:
            if c.get('port') in cl.amqp:
                n = cl.names[cl.amqp.index(c['port'])]
                per[n] += 1
        leaders = {n: 0 for n in cl.names}
        for q in cl.ctl_json(0, 'list_queues', 'name', 'type', 'leader') or []:
            if q.get('type') == 'quorum':
                leaders[q.get('leader')] = leaders.get(q.get('leader'), 0) + 1
        return per, leaders

    def failovers(self, since_incarnations):
        """(name, down_ms) of every failover/reconnect line logged after the
        kill (lines of the logs past their length at the kill)."""
        got = []
        self.nack_retries = 0
        for name in self.pipe.names():
            for path in self.pipe.all_logs(name):
                off = since_incarnations.get(path, 0)
                try:
                    with open(path, encoding='utf-8', errors='replace') as f:
                        f.seek(off)
                        for line in f:
                            if 'connection lost' in line and 'publish nacked' in line:
                                self.nack_retries += 1
                            if ' failover url=' in line or ' reconnected url=' in line:
                                ms = [w for w in line.split() if w.startswith('down_ms=')]
                                got.append((name, int(ms[0].split('=')[1]) if ms else -1,
                                            ' failover ' in line))
                except OSError:
                    pass
        return got

    def node_loss(self):
        p, cl, a = self.pipe, self.cluster, self.args
        # Before the sessions (rabbitmqctl takes seconds): where the
        # processes' connections live, and the queues' leaders. The seeded
        # choice is among the nodes that hold connections (a node with none
        # would only test the queues' side).
        spread, leaders = self.spread()
        rng = random.Random(a.seed)
        victim = rng.choice([i for i in range(NODES) if spread.get(cl.names[i])] or
                            list(range(NODES)))
        others = [i for i in range(NODES) if i != victim]
        ca = self.client('a', 'a')
        cb = self.client('b', 'b')
        sa, sb = self.sid(ca), self.sid(cb)
        H.say('sessions %s (a) and %s (b) started' % (sa, sb))
        # both streaming, and KILL_AFTER_BYTES of each already through the
        # filters into the aggregators' logs
        def logged(sid):
            total = 0
            for n in p.names():
                if n.startswith('agg-'):
                    try:
                        total += os.path.getsize(os.path.join(p.state, n, sid + '.wal'))
                    except OSError:
                        pass
            return total
        H.wait_until(lambda: min(logged(sa), logged(sb)) >= KILL_AFTER_BYTES or ca.poll() or
                     cb.poll(), 120, '%d bytes of both sessions in the aggregators\' logs'
                     % KILL_AFTER_BYTES, tick=self.tick, interval=0.02)
        at_kill = (logged(sa), logged(sb))
        problems = []
        if ca.poll() or cb.poll():
            problems.append('a session ended before the kill')
        offsets = {}
        for name in p.names():
            for path in p.all_logs(name):
                offsets[path] = os.path.getsize(path) if os.path.exists(path) else 0
        unexpected = len(p.unexpected)
        t_kill = H.now()
        pids = cl.kill(victim)
        H.say('seed %d: SIGKILL of node %s (pids %s), which held %d of the %d connections of the '
              'pipeline and led %d of %d quorum queues (connections per node: %s)' % (
                  a.seed, cl.names[victim], pids, spread.get(cl.names[victim], 0),
                  sum(spread.values()), leaders.get(cl.names[victim], 0),
                  sum(leaders.values()), ' '.join('%s=%d' % (n.split('@')[0], k)
                                                  for n, k in sorted(spread.items()))))
        cl.reap(victim, pids)
        for c in (ca, cb):
            self.wait_client(c)
        t_end = min(ca.ended, cb.ended)
        H.say('the kill came %.0f%% / %.0f%% into sessions a / b (%.1f / %.1f MB in the '
              'aggregators\' logs then)' % (
                  100 * (t_kill - ca.started) / ca.duration,
                  100 * (t_kill - cb.started) / cb.duration, at_kill[0] / 1e6, at_kill[1] / 1e6))
        for c, s in ((ca, sa), (cb, sb)):
            ok, details = self.verdict(c)
            self.checks.check(ok, 'session %s (%s) byte-exact with equal rejected counts across '
                              'the node loss, in %.1f s (%d re-runs)' % (
                                  s, c.label, c.duration, c.reruns()), details)
        died = p.unexpected[unexpected:]
        if died:
            problems.append('processes exited: %s' % ', '.join('%s#%d rc=%s' % u[:3]
                                                               for u in died))
        fo = self.failovers(offsets)
        moved = [f for f in fo if f[2]]
        downs = [f[1] / 1000.0 for f in moved]
        lost_on = spread.get(cl.names[victim], 0)
        if lost_on and not moved:
            problems.append('the dead node held %d connections but no failover was logged'
                            % lost_on)
        stall = self.sampler.longest_stall(t_kill, t_end)
        grew = [g for g in self.sampler.growth_times() if g < t_kill]
        before = self.sampler.longest_stall(grew[0], t_kill) if grew else float('nan')
        H.say('PAUSE: %d connections failed over to a live node (%d of them after quorum-queue '
              'nacks during an election), outage (lost -> reconnected) min/median/max %s; '
              'longest stall of the stateful stages\' logs after the kill %.2f s (before it: '
              '%.2f s)' % (len(moved), self.nack_retries, H.stats(downs), stall, before))
        if stall > PAUSE_BOUND:
            problems.append('the pipeline stalled %.1f s after the kill (bound %d s)'
                            % (stall, PAUSE_BOUND))
        self.checks.check(not problems, 'node %s SIGKILLed mid-session: no process died, %d of '
                          'its connections failed over in-process (outage max %.2f s), pipeline '
                          'stall %.2f s (bound %d s)' % (
                              cl.names[victim], len(moved), max(downs) if downs else 0.0, stall,
                              PAUSE_BOUND), '\n'.join(problems))
        self.pause = (len(moved), downs, stall, before)
        return victim, others

    def rejoin(self, victim, others):
        cl = self.cluster
        t = H.now()
        cl.launch(victim)
        cl.wait_up([victim], tick=self.tick)
        want = sorted(cl.names)
        H.wait_until(lambda: all(cl.running(i) == want for i in range(NODES)), 90,
                     'cluster_status on every node to show 3 running nodes', tick=self.tick,
                     interval=0.5)
        last = {}

        def members_back():
            last['q'] = cl.queues(others[0])
            return all(len(q.get('online') or []) == NODES
                       for q in last['q'] if q['type'] == 'quorum')
        try:
            H.wait_until(members_back, 90, 'every quorum queue to have its 3 members online',
                         tick=self.tick, interval=1)
            ok, details = True, ''
        except H.Timeout as e:
            ok = False
            details = '%s\n%s' % (e, '\n'.join('%s online %s' % (q['name'], q.get('online'))
                                               for q in last.get('q', [])
                                               if len(q.get('online') or []) != NODES))
        self.checks.check(ok, 'node %s started again rejoined in %.1f s: cluster_status on every '
                          'node shows 3 running nodes, every quorum queue 3 online members' % (
                              cl.names[victim], H.now() - t), details)
        c = self.client('after', 'a')
        self.wait_client(c)
        ok, details = self.verdict(c)
        self.checks.check(ok, 'a session after the rejoin byte-exact in %.1f s' % c.duration,
                          details)

    def run(self):
        a = self.args
        t = H.now()
        H.gen_dataset(self.bindir, os.path.join(self.data, 'a'), a.scale, 31)
        H.gen_dataset(self.bindir, os.path.join(self.data, 'b'), a.scale * 0.75, 32)
        H.references([(os.path.join(self.data, d), os.path.join(self.exp, d)) for d in 'ab'])
        H.say('data: a (scale %g) %.1f MB, b (scale %g) %.1f MB; references in %.1f s' % (
            a.scale, H.dir_size(os.path.join(self.data, 'a')) / 1e6, a.scale * 0.75,
            H.dir_size(os.path.join(self.data, 'b')) / 1e6, H.now() - t))
        self.form()
        self.pipe = p = H.Pipeline(self.bindir, self.work, self.cluster.url, a.replicas,
                                   extra_env={'CS_QUEUE_TYPE': 'quorum'})
        p.verbose = True
        p.start(timeout=120)
        self.sampler = WalSampler(p.state)
        H.say('pipeline up: %s; AMQP_URL=%s' % (' '.join(p.names()), self.cluster.url))
        self.queue_types()
        victim, others = self.node_loss()
        self.rejoin(victim, others)
        broker = LiveBroker(self.cluster, others[0])
        H.final_checks(self.checks, p, broker, self.bindir)
        H.stop_checks(self.checks, p)
        H.log_checks(self.checks, p)
        self.checks.check(not p.unexpected, 'no process exited unexpectedly',
                          '\n'.join('%s#%d rc=%s:\n%s' % u for u in p.unexpected))

    def cleanup(self):
        super().cleanup()
        self.cluster.stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=None,
                    help='seed of the node choice (default: CLUSTER_SEED or random)')
    ap.add_argument('--scale', type=float, default=0.05, help='data set a (b is 3/4 of it)')
    ap.add_argument('--replicas', default=REPLICAS)
    ap.add_argument('--keep', action='store_true', help='keep the work dir')
    args = ap.parse_args()
    if args.seed is None:
        env = os.environ.get('CLUSTER_SEED', '')
        args.seed = int(env) if env else random.SystemRandom().randrange(1, 1 << 31)
    work = tempfile.mkdtemp(prefix='cs-cluster.')
    os.chmod(work, 0o755)  # the nodes run as user rabbitmq (Debian's wrapper, as root)
    H.say('cluster: seed=%d (CLUSTER_SEED=%d reproduces the choice) replicas=%s work=%s' % (
        args.seed, args.seed, args.replicas, work))
    suite = Suite(args, work)
    S.run(suite)
    H.say('cluster: %.0f s; seed %d' % (H.now() - H.T0, args.seed))
    rc = suite.checks.summary()
    if rc == 0 and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print('cluster: work dir kept: %s (logs in %s/logs, nodes in %s/cluster)' % (
            work, work, work))
    return rc


if __name__ == '__main__':
    sys.exit(main())
