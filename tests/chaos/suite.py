"""suite.py - what the suites that run client sessions against a harness
pipeline share: tests/chaos/crashpoints.py (make test-crashpoints) and
tests/cluster/cluster.py (make test-cluster), each a subclass of Suite.

  Suite        the work folder's layout (bin/ a snapshot of the programs,
               data/ the data sets, expected/ their references, out/ the
               clients' results), the checks, and a client session run to
               its verdict: wait_client (within session_bound + 30 s), sid
               (the first session's id), verdict (exit 0 within the bound,
               results byte-exact against the reference: compare_exact)
  run(suite)   suite.run(); a timed-out wait or a harness error is a FAIL
               line; suite.cleanup() whatever happened
"""

import os
import traceback

import harness as H


class Suite:
    """The state every suite starts with; a subclass sets session_bound
    (the seconds a client session may take) and writes run()."""

    session_bound = None

    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.checks = H.Checks()
        self.bindir = H.snapshot_bins(os.path.join(H.ROOT, os.environ.get('B', 'build')),
                                      os.path.join(work, 'bin'))
        self.data = os.path.join(work, 'data')
        self.exp = os.path.join(work, 'expected')
        self.out = os.path.join(work, 'out')
        os.makedirs(self.out)
        self.pipe = None
        self.clients = []

    def tick(self):
        """Called on every round of a wait: the pipeline's restart policy."""
        if self.pipe is not None:
            self.pipe.poll()

    def wait_client(self, c):
        H.wait_until(c.poll, self.session_bound + 30, 'client %s to end' % c.label,
                     tick=self.tick)

    def sid(self, c, timeout=60):
        """The id of the client's first session (once it started)."""
        got = H.wait_until(lambda: c.sessions() or c.poll(), timeout,
                           'client %s to start a session' % c.label, tick=self.tick)
        if got is True:
            raise H.Timeout('client %s ended before starting a session: %s' % (
                c.label, H.tail(c.stderr, 4)))
        return got[0]

    def verdict(self, c):
        """(ok, text) of a finished client: exit 0 in time, results exact."""
        if c.rc != 0:
            return False, 'client exit %s after %.1f s%s; stderr:\n%s' % (
                c.rc, c.duration, ' (bound %d s exceeded)' % self.session_bound
                if c.timed_out else '', H.tail(c.stderr, 6))
        return H.compare_exact(os.path.join(self.exp, c.dataset), c.outdir, c.stdout)

    def cleanup(self):
        """Kills what is still running: the pipeline, the clients."""
        if self.pipe is not None:
            self.pipe.kill_everything()
        for c in self.clients:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()


def run(suite):
    """Runs the suite; what it raises is a FAIL line. Cleans up after it."""
    try:
        suite.run()
    except H.Timeout as e:
        suite.checks.ko('a wait timed out: %s' % e)
    except Exception:  # noqa: BLE001 - a harness error must still fail the run
        suite.checks.ko('harness error', traceback.format_exc())
    finally:
        suite.cleanup()
