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

# ---- ctl: JSON control messages
S = '"session":"0b7e1f9a-3c51-4b7e-9d2a-5f6c7d8e9f01"'
ctl = {
    "session_start": '{"type":"session_start",%s,"reply_to":"gw-1"}' % S,
    "done": '{"type":"done",%s,"stage":"gateway","replica":0,"ts":1700000000000,'
            '"counts":{"filter.transactions":3,"filter.stores":1},"rejected":{"users":2}}' % S,
    "report": '{"type":"report",%s,"stage":"filter","replica":1,"counts":{"filter.stores":1}}' % S,
    "finish": '{"type":"finish",%s,"reply_to":"gw-1","rejected":{"transactions":4}}' % S,
    "abort": '{"type":"abort",%s,"reason":"client disconnected"}' % S,
    "end": '{"type":"end",%s,"status":"ok","reason":"","rejected":{"filter.users":1}}' % S,
    "shutdown": '{"type":"shutdown"}',
    "drain": '{"type":"drain",%s}' % S,
    "bad_types": '{"type":"done",%s,"replica":"x","counts":[1,2]}' % S,
}
for k, v in ctl.items():
    put("ctl", k, v.encode())

# ---- field: values of every parsed kind
for i, v in enumerate([b"123", b"000000001", b"1234567890", b"63.5", b"8.075", b"75",
                       b"1.2345", b"-1", b"2024-02-29 23:00:00", b"2023-02-29 06:00:00",
                       b"2024-12-31 24:00:00", b"17272.0", b"", b"1990-01-31",
                       b"\x01\x02\x03\x04\x05\x06\x07\x08\x09"]):
    put("field", "v%02d" % i, v)
