#!/usr/bin/env python3
"""api.py - checks of the control plane's HTTP API (tests/controlplane/run.sh).

  api.py wait ADDR ID STATE SECONDS     poll /api/sessions until session ID
                                        is listed in STATE (exit 0) or time
                                        runs out (exit 1)
  api.py session ADDR ID CLIENT_STDOUT  a finished session's JSON, as listed
                                        and by id, against the client's summary;
                                        its archived result files against the
                                        ones the client wrote (CLIENT_STDOUT
                                        without ".out" is its output folder)
  api.py abort ADDR TOKEN ID DONE_ID    POST .../abort: no token and a wrong one
                                        401, unknown id 404, finished DONE_ID
                                        409, then the right token 202 and ID is
                                        listed aborted with the operator's reason
  api.py adminoff ADDR ID               without ADMIN_TOKEN, abort is 403
  api.py hostile ADDR                   bad ids, unknown paths, methods, a
                                        huge header; the server answers after
  api.py metrics ADDR ID                /metrics parses as Prometheus text and
                                        counts the done session
  api.py ids ADDR                       the ids listed, one a line
  api.py live ADDR STAGE SECONDS KNOWN  while STAGE's replicas are stopped: a
                                        session not in file KNOWN is listed
                                        draining, the filter at 100 %, STAGE
                                        below

Prints one "PASS: ..." or "FAIL: ..." line per check; exit 0 (wait aside).
"""
import http.client
import json
import os
import re
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from check_rejected import client_counts  # noqa: E402

STAGES = ["filter", "agg-q2", "agg-q3", "agg-q4", "sink"]
TABLES = ["transactions", "transaction_items", "users", "stores", "menu_items"]
KEYS = {"type", "id", "gateway", "state", "started_ms", "ended_ms", "error",
        "stages", "rejected", "client", "data_folder", "rows_sent", "bytes_sent",
        "drain_ms"}
DONE_KEYS = KEYS | {"results", "archive"}
RESULT_FILES = ["q1.csv", "q2_best_selling.csv", "q2_most_profitable.csv",
                "q3.csv", "q4.csv"]


def check(ok, msg):
    print(("PASS: " if ok else "FAIL: ") + msg)
    return ok


def get(addr, path, method="GET", headers=None):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        c.close()


def listed(addr, sid):
    status, _, body = get(addr, "/api/sessions")
    if status != 200:
        return None
    for s in json.loads(body)["sessions"]:
        if s.get("id") == sid:
            return s
    return None


def cmd_wait(addr, sid, state, seconds):
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            last = listed(addr, sid)
        except (OSError, ValueError):
            last = None
        if last is not None and last.get("state") == state:
            return 0
        time.sleep(0.1)
    print("wait: session %s not %s after %s s; last: %s" % (sid, state, seconds, last),
          file=sys.stderr)
    return 1


def check_shape(s, sid, label):
    check(set(s) == DONE_KEYS, "%s: keys %s" % (label, sorted(s)))
    check(s.get("id") == sid and s.get("type") == "session", "%s: id and type" % label)
    check(isinstance(s.get("gateway"), str) and s["gateway"] != "",
          "%s: gateway named (%r)" % (label, s.get("gateway")))
    t0, t1 = s.get("started_ms"), s.get("ended_ms")
    now = time.time() * 1000
    check(isinstance(t0, (int, float)) and isinstance(t1, (int, float)) and
          now - 3600e3 < t0 <= t1 <= now + 1000,
          "%s: start %s <= end %s, wall-clock ms" % (label, t0, t1))
    check(s.get("error") == "", "%s: no error" % label)
    names = [st.get("stage") for st in s.get("stages", [])]
    check(names == STAGES, "%s: stages %s" % (label, names))
    check(sorted(s.get("rejected", {})) == sorted(TABLES),
          "%s: rejected rows for every table" % label)


def cmd_session(addr, sid, client_out):
    s = listed(addr, sid)
    if not check(s is not None, "session %s listed by /api/sessions" % sid):
        return 0
    check(s["state"] == "done", "listed as done (%s)" % s["state"])
    bad = [st for st in s["stages"] if st.get("percent") != 100 or
           st.get("state") != "complete" or st.get("processed") != st.get("expected") or
           st.get("expected", 0) <= 0]
    check(not bad, "every stage complete, 100 %%, processed == expected > 0%s"
          % ("" if not bad else ": %s" % bad))
    want = client_counts(client_out)
    got = {t: n for t, n in s["rejected"].items() if t in want}
    check(want and got == want and
          all(n == 0 for t, n in s["rejected"].items() if t not in want),
          "rejected rows equal the client's summary (%s; client %s)" % (s["rejected"], want))
    check_shape(s, sid, "listed")
    total = client_rows(client_out)
    check(total > 0 and s.get("rows_sent") == total,
          "rows_sent %s equals the client's total rows sent (%s)" % (s.get("rows_sent"), total))
    check(isinstance(s.get("bytes_sent"), int) and s["bytes_sent"] > total,
          "bytes_sent %s > rows" % s.get("bytes_sent"))
    check(isinstance(s.get("client"), str) and s["client"].startswith("client-"),
          "client name from HELLO (%r)" % s.get("client"))
    check(isinstance(s.get("drain_ms"), int) and
          0 <= s["drain_ms"] <= s["ended_ms"] - s["started_ms"],
          "drain_ms %s within the session's %s ms" % (s.get("drain_ms"),
                                                     s["ended_ms"] - s["started_ms"]))
    outdir = os.path.splitext(client_out)[0]
    check(s.get("data_folder") == os.path.basename(outdir),
          "data_folder from HELLO (%r)" % s.get("data_folder"))
    check_results(addr, sid, s, outdir)
    status, ctype, body = get(addr, "/api/sessions/" + sid)
    check(status == 200 and ctype.startswith("application/json"),
          "GET /api/sessions/{id}: %d %s" % (status, ctype))
    one = json.loads(body) if status == 200 else {}
    check(one == s, "by id equals the listed one")
    check_shape(one, sid, "by id")
    return 0


def client_rows(client_out):
    """The total of the client's rows_sent column."""
    with open(client_out) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "total" and parts[1].isdigit():
                return int(parts[1])
    return -1


def check_results(addr, sid, s, outdir):
    """The archived results: listed with rows and bytes, each download
    byte-identical to what the client wrote."""
    res = s.get("results") or []
    names = [r.get("file") for r in res]
    check(names == RESULT_FILES, "results lists the five files (%s)" % names)
    for r in res:
        path = os.path.join(outdir, r["file"])
        with open(path, "rb") as f:
            want = f.read()
        check(r.get("bytes") == len(want) and r.get("rows") == max(want.count(b"\n") - 1, 0),
              "%s: bytes %s rows %s match the client's file" % (r["file"], r.get("bytes"),
                                                                r.get("rows")))
        check(r.get("url") == "/api/sessions/%s/results/%s" % (sid, r["file"]),
              "%s: url" % r["file"])
        status, ctype, body = get_bytes(addr, r.get("url", "/"))
        check(status == 200 and ctype.startswith("text/csv") and body == want,
              "GET %s: %d %s, byte-identical to the client's (%d bytes)"
              % (r["file"], status, ctype, len(body)))
    status, _, _ = get(addr, "/api/sessions/%s/results/nope.csv" % sid)
    check(status == 400, "an unknown result file name: 400 (%d)" % status)
    status, _, _ = get(addr, "/api/sessions/%s/results/q1.csv" % uuid.uuid4())
    check(status == 404, "results of an unknown session: 404 (%d)" % status)
    status, _, _ = get(addr, "/api/sessions/%s/results/q1.csv" % sid, "POST")
    check(status == 405, "POST to a result file: 405 (%d)" % status)


def get_bytes(addr, path):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        c.close()


def abort(addr, sid, token):
    headers = {"Authorization": "Bearer " + token} if token is not None else {}
    return get(addr, "/api/sessions/%s/abort" % sid, "POST", headers)


def cmd_abort(addr, token, sid, done_sid):
    status, _, _ = abort(addr, sid, None)
    check(status == 401, "abort without a token: 401 (%d)" % status)
    status, _, _ = abort(addr, sid, token + "x")
    check(status == 401, "abort with a wrong token: 401 (%d)" % status)
    status, _, _ = abort(addr, str(uuid.uuid4()), token)
    check(status == 404, "abort of an unknown session: 404 (%d)" % status)
    status, _, _ = abort(addr, done_sid, token)
    check(status == 409, "abort of a finished session: 409 (%d)" % status)
    status, _, body = get(addr, "/api/sessions/%s/abort" % sid)
    check(status == 405, "GET on abort: 405 (%d)" % status)
    status, _, body = abort(addr, sid, token)
    check(status == 202 and json.loads(body).get("status") == "aborting",
          "abort with the token: 202 %s" % body)
    deadline = time.monotonic() + 30
    s = None
    while time.monotonic() < deadline:
        s = listed(addr, sid)
        if s and s.get("state") == "aborted":
            break
        time.sleep(0.1)
    st, err = (s or {}).get("state"), (s or {}).get("error", "")
    check(st == "aborted" and "operator" in err,
          "then listed aborted with the operator's reason (%s: %s)" % (st, err))
    return 0


def cmd_adminoff(addr, sid):
    status, _, body = abort(addr, sid, "anything")
    check(status == 403 and "off" in body, "without ADMIN_TOKEN abort is 403 (%d %s)"
          % (status, body))
    return 0


def raw(addr, data):
    """Sends raw bytes; returns the status line's code, or 0 if none came."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sk:
        try:
            sk.sendall(data)
        except OSError:
            pass
        buf = b""
        try:
            while b"\r\n" not in buf:
                chunk = sk.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    return int(m.group(1)) if m else 0


def cmd_hostile(addr):
    status, ctype, body = get(addr, "/")
    check(status == 200 and ctype.startswith("text/html") and
          "coffee-stream sessions" in body and "fetch('/api/sessions')" in body and
          "setInterval(tick,1000)" in body and
          not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', body),
          "GET / is the dashboard: HTML polling /api/sessions every second, "
          "nothing loaded from elsewhere (%d %s)" % (status, ctype))
    cases = [
        ("/api/sessions/" + str(uuid.uuid4()), "GET", 404, "unknown session id"),
        ("/api/sessions/not-a-uuid", "GET", 400, "malformed session id"),
        ("/api/sessions/" + "z" * 36, "GET", 400, "36 non-hex characters"),
        ("/api/sessions/%00%ff", "GET", 400, "escaped NUL and 0xff"),
        ("/api/sessions/", "GET", 400, "an empty id"),
        ("/api/sessions/" + "a" * 5000, "GET", 400, "a 5000-byte id"),
        ("/api/sessions/" + str(uuid.uuid4()) + "/results", "GET", 404,
         "a path below a session"),
        ("/api/sessions/" + str(uuid.uuid4()) + "/results/../../etc/passwd", "GET", 404,
         "a path escaping the archive"),
        ("/nope", "GET", 404, "unknown path"),
        ("/api/sessions", "POST", 405, "POST"),
        ("/api/sessions", "DELETE", 405, "DELETE"),
    ]
    for path, method, want, label in cases:
        try:
            status, ctype, body = get(addr, path, method)
            ok = status == want and ctype.startswith("application/json")
            json.loads(body)
        except (OSError, ValueError) as e:
            status, ok = str(e), False
        check(ok, "%s: %s %s -> %s (want %d, JSON error)" % (label, method, path[:60],
                                                           status, want))
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
    code = raw(addr, big)
    check(400 <= code < 500, "a 64 KiB header is answered 4xx (%d)" % code)
    code = raw(addr, b"\x00\x01garbage\r\n\r\n")
    check(code == 0 or 400 <= code < 500, "garbage request line: 4xx or closed (%d)" % code)
    status, _, body = get(addr, "/healthz")
    check(status == 200 and json.loads(body).get("status") == "ok",
          "still answers after: /healthz %d %s" % (status, body))
    return 0


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.e+]+|NaN)$')


def cmd_metrics(addr, sid):
    status, ctype, body = get(addr, "/metrics")
    check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
          "/metrics: %d %s" % (status, ctype))
    typed, samples, bad = set(), {}, []
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram"):
                bad.append(line)
            typed.add(parts[2])
        elif line.startswith("# HELP ") or line == "":
            continue
        else:
            m = SAMPLE.match(line)
            if not m or re.sub(r"_(bucket|sum|count)$", "", m.group(1)) not in typed and \
                    m.group(1) not in typed:
                bad.append(line)
            else:
                samples[m.group(1) + (m.group(2) or "")] = float(m.group(5))
    check(not bad and body.endswith("\n"),
          "every line is a HELP, a TYPE or a sample of a typed metric%s"
          % ("" if not bad else ": %s" % bad[:3]))
    states = ["streaming", "draining", "finishing", "done", "failed", "aborted"]
    check(all('cs_sessions{state="%s"}' % s in samples for s in states),
          "cs_sessions for every state")
    check(samples.get('cs_sessions{state="done"}', 0) >= 3,
          "the done session counted (%s)" % samples.get('cs_sessions{state="done"}'))
    s = listed(addr, sid) or {"stages": []}
    want = {st["stage"]: st["processed"] for st in s["stages"]}
    got = {st: samples.get('cs_stage_processed_messages{stage="%s"}' % st) for st in STAGES}
    check(want and all(got[k] is not None and got[k] >= want[k] > 0 for k in want),
          "cs_stage_processed_messages per stage covers the session (%s)" % got)
    check(samples.get("cs_controlplane_broker_connected") == 1, "broker connected")
    for h in ("cs_session_duration_seconds", "cs_session_drain_seconds"):
        n = samples.get(h + "_count", 0)
        inf = samples.get(h + '_bucket{le="+Inf"}')
        check(n >= 1 and inf == n and samples.get(h + "_sum", -1) >= 0,
              "histogram %s counts the done sessions (%s, +Inf %s)" % (h, n, inf))
    return 0


def stage(x, name):
    return next(st for st in x["stages"] if st["stage"] == name)


def cmd_ids(addr):
    _, _, body = get(addr, "/api/sessions")
    for x in json.loads(body)["sessions"]:
        print(x["id"])
    return 0


def cmd_live(addr, frozen, seconds, known_file):
    """A session not in known_file shows as draining, the filter complete
    and the frozen stage below 100 % (its replicas are stopped)."""
    with open(known_file) as f:
        known = set(f.read().split())
    deadline = time.monotonic() + float(seconds)
    seen, hit = [], None
    while time.monotonic() < deadline and hit is None:
        try:
            _, _, body = get(addr, "/api/sessions")
            sessions = json.loads(body)["sessions"]
        except (OSError, ValueError):
            sessions = []
        for x in sessions:
            if x["id"] in known:
                continue
            seen.append((x["state"], stage(x, "filter")["percent"],
                         stage(x, frozen)["percent"]))
            if (x["state"] == "draining" and stage(x, "filter")["percent"] == 100 and
                    stage(x, frozen)["percent"] < 100 and stage(x, frozen)["expected"] > 0):
                hit = x
        time.sleep(0.05)
    check(hit is not None,
          "while %s is stopped the new session is listed draining, the filter at "
          "100 %%, %s below (%s)" % (frozen, frozen, seen[-3:]))
    print("live-session %s" % (hit or {}).get("id"))
    return 0


def main():
    cmds = {"live": (cmd_live, 4), "ids": (cmd_ids, 1), "wait": (cmd_wait, 4), "session": (cmd_session, 3),
            "hostile": (cmd_hostile, 1), "metrics": (cmd_metrics, 2),
            "abort": (cmd_abort, 4), "adminoff": (cmd_adminoff, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) != cmds[sys.argv[1]][1] + 2:
        print(__doc__, file=sys.stderr)
        return 2
    fn = cmds[sys.argv[1]][0]
    return fn(*sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
