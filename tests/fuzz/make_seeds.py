#!/usr/bin/env python3
"""make_seeds.py - (re)writes the seed corpora under tests/fuzz/corpus/:
valid protocol frames and conversations, CSV heads of ../shared/data/dev
(plus quoted, CRLF and malformed rows), control messages, field values.

    python3 tests/fuzz/make_seeds.py [SHARED_DATA_DIR]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/data/dev")
OUT = os.path.join(HERE, "corpus")
TABLES = ["transactions", "transaction_items", "users", "stores", "menu_items"]


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def s16(b):
    return struct.pack(">H", len(b)) + b


def frame(t, payload):
    return struct.pack(">IB", len(payload), t) + payload


def head(table, n):
    path = os.path.join(DEV, table)
    f = sorted(x for x in os.listdir(path) if x.endswith(".csv"))[0]
    with open(os.path.join(path, f), "rb") as fh:
        return b"".join(fh.readline() for _ in range(n))


# ---- proto: byte 0 = cap/chunk selector (0xff: cap 1020, chunk 22)
hello = frame(1, b"CSTR" + struct.pack(">H", 1) + s16(b"fuzz-client"))
rows = head("stores", 4).split(b"\n", 1)[1]
batch = frame(0x11, bytes([3]) + struct.pack(">I", 3) + rows)
conv = (hello + frame(0x10, b"\x03") + batch + frame(0x12, b"\x03" + struct.pack(">Q", 3))
        + frame(0x13, b""))
put("proto", "hello", b"\xff" + hello)
put("proto", "conversation", b"\xff" + conv)
put("proto", "conversation_bytewise", b"\x3f" + conv)
put("proto", "welcome", b"\xff" + frame(2, struct.pack(">H", 1) +
                                         s16(b"0b7e1f9a-3c51-4b7e-9d2a-5f6c7d8e9f01") +
                                         struct.pack(">I", 8 << 20)))
put("proto", "error", b"\xff" + frame(3, struct.pack(">H", 5) + s16(b"no data from the client for 3 s")))
put("proto", "result", b"\xff" + frame(0x20, s16(b"q1.csv") + struct.pack(">I", 0) +
                                        b"transaction_id,final_amount\nab,75.0\n"))
put("proto", "result_end", b"\xff" + frame(0x21, b"\x00\x05" + b"".join(
    bytes([t]) + struct.pack(">Q", t * 7) for t in range(5))))
put("proto", "too_big", b"\x00" + struct.pack(">IB", 1 << 30, 0x11) + b"xx")
put("proto", "unknown_type", b"\xff" + frame(0x7f, b"abc"))
put("proto", "bad_version", b"\xff" + frame(1, b"CSTR" + struct.pack(">H", 2) + s16(b"x")))
put("proto", "bad_magic", b"\xff" + frame(1, b"HTTP" + struct.pack(">H", 1) + s16(b"x")))
put("proto", "trailing", b"\xff" + frame(0x10, b"\x03\x00"))
put("proto", "http_garbage", b"\xffGET / HTTP/1.1\r\nHost: x\r\n\r\n")

# ---- batcher: byte 0 = chunk/limit selector
for t in TABLES:
    put("batcher", t, b"\xf7" + head(t, 6))
put("batcher", "quoted", b"\x93" + b'1,"a, ""b""\nc",2\r\n3,"x",4\n5,6,7')
put("batcher", "crlf_blank", b"\x40" + b"a,b\r\n\r\n\nc,d\r\n")
put("batcher", "unterminated", b"\x21" + b'a,"b\nc,d\n')

# ---- filter: byte 0 = table id (+16: shard 1); rows without the header
for i, t in enumerate(TABLES):
    put("filter", t, bytes([i]) + head(t, 8).split(b"\n", 1)[1])
put("filter", "stores_quoted", b"\x03" + b'7,"G, Coffee ""X""\nSt",s,1,c,st,1.0,2.0\n')
put("filter", "transactions_bad", b"\x00" +
    b"t1,1,1,,17272.0,10,0,75.5,2024-02-30 10:00:00\n"
    b"t2,x,1,,,10,0,75.5,2024-01-01 10:00:00\n"
    b"t3,1,1,,,10,0,1e3,2024-01-01 10:00:00\n"
    b"t4,1,1,,,10,0\n"
    b"t5,1,1,,17272.5,10,0,80,2025-12-31 23:00:00\r\n")
put("filter", "users_bad", b"\x02" + b"1,f,1990-02-29,x\n2,m,2000-02-29,y\n3,m,,z\n")

# ---- ctl: JSON control messages (the shapes of common/ctl.h): done declares
# flows {q, s, n}; report carries ids as inclusive ranges "r" and rejected rows
# per id "rej"; finish carries the stage's input flows and rejected totals.
SID = "0b7e1f9a-3c51-4b7e-9d2a-5f6c7d8e9f01"
S = '"session":"%s"' % SID
TS = '"ts":1700000000000'


def flows(*fl):
    return '"flows":[%s]' % ",".join(fl)


def decl(q, s, n):
    return '{"q":"%s","s":"%s","n":%d}' % (q, s, n)


def ids(q, s, ranges, rej=()):
    f = '{"q":"%s","s":"%s","r":[%s]' % (q, s, ",".join("[%d,%d]" % r for r in ranges))
    if rej:
        f += ',"rej":[%s]' % ",".join("[%d,%d]" % r for r in rej)
    return f + "}"


def sender(stage, replica):
    return '"stage":"%s","replica":%d,%s' % (stage, replica, TS)


ctl = {
    "session_start": '{"type":"session_start",%s,%s,"reply_to":"gw-1"}' % (S, TS),
    "done": '{"type":"done",%s,%s,%s}' % (S, sender("gateway", 0), flows(
        *(decl("filter." + t, t, n) for t, n in zip(TABLES, [812, 0, 3, 1, 1])))),
    "done_filter": '{"type":"done",%s,%s,%s}' % (S, sender("filter", 2), flows(
        decl("agg-q2.0", "transaction_items", 4), decl("agg-q3.1", "transactions", 17),
        decl("agg-q4.0", "users", 2), decl("sink.1", "transactions", 9))),
    "done_agg": '{"type":"done",%s,%s,%s}' % (S, sender("agg-q2", 1),
                                              flows(decl("sink.0", "agg-q2.1", 4))),
    "done_sink": '{"type":"done",%s,%s}' % (S, sender("sink", 1)),
    "report": '{"type":"report",%s,%s,%s}' % (S, sender("filter", 1), flows(
        ids("filter.users", "users", [(0, 31), (40, 40)], [(3, 2)]),
        ids("filter.stores", "stores", [(0, 0)]))),
    "report_agg": '{"type":"report",%s,%s,%s}' % (S, sender("agg-q3", 0), flows(
        ids("agg-q3.0", "transactions", [(0, 6), (5, 9), (12, 12)], [(5, 1), (5, 1)]),
        '{"q":"agg-q3.0","s":"stores","rej":[[1,3]]}')),
    "report_max": '{"type":"report",%s,%s,%s}' % (S, sender("sink", 0), flows(
        '{"q":"sink.0","s":"agg-q4.0","n":9007199254740992,"r":[[0,67108863]],'
        '"rej":[[67108863,9007199254740992]]}')),
    "hello": '{"type":"hello",%s,"sessions":["%s","aaaaaaaa-0000-4000-8000-000000000001"]}'
             % (sender("agg-q2", 0), SID),
    "hello_empty": '{"type":"hello","stage":"filter","replica":2}',
    "drain": '{"type":"drain",%s,%s}' % (S, TS),
    "finish": '{"type":"finish",%s,%s,"reply_to":"gw-1","rejected":{"transactions":4,'
              '"users":2},%s}' % (S, TS, flows(decl("agg-q3.0", "transactions", 7),
                                               decl("agg-q3.0", "stores", 0))),
    "abort": '{"type":"abort",%s,"reason":"client disconnected"}' % S,
    "end": '{"type":"end",%s,"status":"ok","reason":"","rejected":{"users":1}}' % S,
    "shutdown": '{"type":"shutdown",%s}' % TS,
    # near misses the decoder must refuse
    "bad_types": '{"type":"done",%s,"replica":"x","flows":{"q":1}}' % S,
    "bad_range": '{"type":"report",%s,%s}' % (S, flows(ids("filter.users", "users", [(5, 4)]))),
    "bad_big_id": '{"type":"report",%s,%s}' % (S, flows(ids("filter.users", "users",
                                                             [(0, 67108864)]))),
    "bad_dup_flow": '{"type":"done",%s,%s}' % (S, flows(decl("sink.0", "x", 1),
                                                        decl("sink.0", "x", 1))),
    "bad_fraction": '{"type":"done",%s,%s}' % (S, flows('{"q":"sink.0","s":"x","n":1.5}')),
    "bad_hello": '{"type":"hello","replica":0,"sessions":["%s"]}' % SID,
}
for k, v in ctl.items():
    put("ctl", k, v.encode())

# ---- field: values of every parsed kind
for i, v in enumerate([b"123", b"000000001", b"1234567890", b"63.5", b"8.075", b"75",
                       b"1.2345", b"-1", b"2024-02-29 23:00:00", b"2023-02-29 06:00:00",
                       b"2024-12-31 24:00:00", b"17272.0", b"", b"1990-01-31",
                       b"\x01\x02\x03\x04\x05\x06\x07\x08\x09"]):
    put("field", "v%02d" % i, v)
