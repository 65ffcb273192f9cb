#!/usr/bin/env python3
"""rawproto.py - abuses the client <-> gateway protocol (docs/PROTOCOL.md)
over a raw socket and checks the gateway's exact answer. python3 stdlib only.

usage: rawproto.py HOST:PORT CASE [IDLE_TIMEOUT_S]

Prints one line: "ok: <what was seen>" (exit 0) or "bad: <what was seen,
what was expected>" (exit 1). Cases that end a started session also print
"session <id>" first, so the caller can look for its abort in the logs.
"""
import socket
import struct
import sys
import time

ADDR = sys.argv[1]
CASE = sys.argv[2]
IDLE = int(sys.argv[3]) if len(sys.argv) > 3 else 3
MAX_FRAME = 8 << 20

HELLO, WELCOME, ERROR = 0x01, 0x02, 0x03
TABLE_BEGIN, BATCH, TABLE_END, DATA_END = 0x10, 0x11, 0x12, 0x13
STORES = 3


def s16(b):
    return struct.pack(">H", len(b)) + b


def frame(t, payload=b""):
    return struct.pack(">IB", len(payload), t) + payload


def hello(version=1, magic=b"CSTR", name=b"hostile-" + CASE.encode()):
    return frame(HELLO, magic + struct.pack(">H", version) + s16(name))


def batch(table, rows, data):
    return frame(BATCH, bytes([table]) + struct.pack(">I", rows) + data)


def table_end(table, rows):
    return frame(TABLE_END, bytes([table]) + struct.pack(">Q", rows))


ROWS = b"1,G Coffee @ A,s,1,c,st,1.0,2.0\n2,G Coffee @ B,s,1,c,st,1.0,2.0\n"


class Conn:
    def __init__(self, timeout=IDLE + 10):
        host, port = ADDR.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=5)
        self.s.settimeout(timeout)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv_frame(self):
        """(type, payload), or None when the gateway closed the connection."""
        try:
            if not self._fill(5):
                return None
            n, t = struct.unpack(">IB", self.buf[:5])
            if n > MAX_FRAME or not self._fill(5 + n):
                return None
        except ConnectionResetError:
            return None
        payload, self.buf = self.buf[5:5 + n], self.buf[5 + n:]
        return t, payload

    def closed(self):
        """True when the gateway closes the connection (EOF or reset)."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def welcome(self):
        self.send(hello())
        f = self.recv_frame()
        if f is None or f[0] != WELCOME:
            print("bad: no WELCOME after HELLO: %r" % (f,))
            sys.exit(1)
        sid = f[1][4:4 + 36].decode()
        print("session %s" % sid, flush=True)
        return sid

    def close_hard(self):
        """Vanishes: RST instead of FIN."""
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.s.close()


def expect_error(c, code, text, within=None):
    t0 = time.monotonic()
    f = c.recv_frame()
    took = time.monotonic() - t0
    if f is None:
        print("bad: connection closed without ERROR; expected ERROR(%d, %r)" % (code, text))
        return 1
    if f[0] != ERROR:
        print("bad: got frame type 0x%02x; expected ERROR(%d, %r)" % (f[0], code, text))
        return 1
    got_code = struct.unpack(">H", f[1][:2])[0]
    got_text = f[1][4:].decode("utf-8", "replace")
    if (got_code, got_text) != (code, text):
        print("bad: got ERROR(%d, %r); expected ERROR(%d, %r)" % (got_code, got_text, code, text))
        return 1
    if within is not None and took > within:
        print("bad: ERROR(%d) after %.1f s, expected within %.1f s" % (code, took, within))
        return 1
    if not c.closed():
        print("bad: ERROR(%d, %r) but the connection stayed open" % (code, got_text))
        return 1
    print("ok: ERROR(%d, %r) then close%s" % (code, got_text,
          " after %.1f s" % took if within is not None else ""))
    return 0


def run():
    c = Conn()
    if CASE == "unknown-type-first":
        c.send(frame(0x7F, b"xyz"))
        return expect_error(c, 2, "the first frame is not a HELLO (unknown frame type): "
                            "not a coffee-stream client?")
    if CASE == "unknown-type":
        c.welcome()
        c.send(frame(0x7F, b"xyz"))
        return expect_error(c, 1, "unknown frame type")
    if CASE == "bad-version":
        c.send(hello(version=3))
        return expect_error(c, 2, "protocol version 3 is not supported "
                            "(this gateway speaks versions 1 to 2)")
    if CASE == "bad-magic":
        c.send(hello(magic=b"HTTP"))
        return expect_error(c, 2, "bad magic: not a coffee-stream client")
    if CASE == "not-hello-first":
        c.send(frame(TABLE_BEGIN, bytes([STORES])))
        return expect_error(c, 1, "expected HELLO, got TABLE_BEGIN")
    if CASE == "hello-trailing":
        # name, the optional data folder (str16), then one byte too many
        c.send(frame(HELLO, hello()[5:] + struct.pack(">H", 2) + b"ds" + b"!"))
        return expect_error(c, 1, "malformed HELLO: malformed frame")
    if CASE == "garbage":
        c.send(b"GET / HTTP/1.1\r\nHost: gateway\r\n\r\n")
        return expect_error(c, 2, "the first frame is not a HELLO (frame larger than the "
                            "size cap): not a coffee-stream client?")
    if CASE == "too-big":
        # Only the 5 header bytes: the gateway must refuse from them alone,
        # before it waits for (or allocates) the 4 GiB it announces.
        c.welcome()
        c.send(struct.pack(">IB", 0xFFFFFFF0, BATCH))
        return expect_error(c, 3, "frame larger than the size cap (cap %d bytes, "
                            "MAX_FRAME_BYTES)" % MAX_FRAME, within=2)
    if CASE == "truncated":
        # Half a frame header, then a clean close: no session, no answer.
        c.send(hello()[:3])
        c.s.shutdown(socket.SHUT_WR)
        f = c.recv_frame()
        if f is not None:
            print("bad: got frame 0x%02x after a truncated frame" % f[0])
            return 1
        print("ok: the gateway closed the connection without a frame")
        return 0
    if CASE == "vanish":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])))
        b = batch(STORES, 2, ROWS)
        c.send(b[: len(b) // 2])
        c.close_hard()
        print("ok: vanished mid-batch")
        return 0
    if CASE == "idle":
        return expect_error(c, 5, "no complete frame from the client for %d s" % IDLE,
                            within=IDLE + 3)
    if CASE == "slowloris":
        # A byte a second of a BATCH after the handshake: never a whole
        # frame, so the progress timeout ends it (the error arrives while
        # we are still trickling).
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])))
        data = batch(STORES, 2, ROWS)
        t0 = time.monotonic()
        c.s.settimeout(1.0)
        for i in range(len(data)):
            try:
                c.s.sendall(data[i:i + 1])
            except OSError:
                break
            try:
                more = c.s.recv(65536)
            except socket.timeout:  # the pace: one byte a second
                continue
            except ConnectionResetError:
                break
            c.buf += more
            break
        c.s.settimeout(IDLE + 10)
        rc = expect_error(c, 5, "no complete frame from the client for %d s" % IDLE)
        took = time.monotonic() - t0
        if rc == 0 and took > IDLE + 3:
            print("bad: slowloris disconnected only after %.1f s" % took)
            return 1
        return rc
    if CASE == "batch-outside":
        c.welcome()
        c.send(batch(STORES, 2, ROWS))
        return expect_error(c, 1, "BATCH of stores outside its TABLE_BEGIN/TABLE_END")
    if CASE == "batch-not-whole":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])) + batch(STORES, 2, ROWS[:-1]))
        return expect_error(c, 1, "BATCH of stores is not whole lines (empty, no rows, "
                            "or no final newline)")
    if CASE == "row-mismatch":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])) + batch(STORES, 2, ROWS) +
               table_end(STORES, 3))
        return expect_error(c, 1, "TABLE_END of stores says 3 rows, its batches carried 2")
    if CASE == "table-twice":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])) + table_end(STORES, 0) +
               frame(TABLE_BEGIN, bytes([STORES])))
        return expect_error(c, 1, "TABLE_BEGIN of stores: table already sent")
    if CASE == "data-end-open":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([STORES])) + frame(DATA_END))
        return expect_error(c, 1, "DATA_END while table stores is open")
    if CASE == "bad-table":
        c.welcome()
        c.send(frame(TABLE_BEGIN, bytes([9])))
        return expect_error(c, 1, "malformed TABLE_BEGIN: malformed frame")
    print("bad: unknown case %s" % CASE)
    return 2


if __name__ == "__main__":
    sys.exit(run())
