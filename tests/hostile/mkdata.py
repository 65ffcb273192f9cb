#!/usr/bin/env python3
"""mkdata.py - builds the hostile suite's data folders from a generated set.

usage: mkdata.py SRC DATA_DIR

  rej      SRC plus hand-made malformed rows of every kind in every table
  bom      SRC with a UTF-8 byte-order mark before every header
  crlf     SRC with CRLF line ends
  quoted   SRC with store and item names quoted, holding commas, "" and newlines
  nousers  SRC without its users/ folder
  empty    SRC plus an empty users file
  badhdr   SRC with a stores header that does not match
  binary   SRC with a stores file of binary bytes
  long     SRC plus a transactions file whose line 3 is 2001 bytes long
"""
import os
import random
import shutil
import sys

SRC, DATA = sys.argv[1], sys.argv[2]

BAD = {
    # one malformed row per kind, per table (field count, then each parsed field)
    "transactions": [
        b"bad-t1,1,1,,,10.0,0.0,80.0\n",                               # 8 fields
        b"bad-t2,1,1,,,10.0,0.0,80.0,2024-03-01 10:00:00,extra\n",     # 10 fields
        b"bad-t3,x1,1,,,10.0,0.0,80.0,2024-03-01 10:00:00\n",          # store_id
        b"bad-t4,1234567890,1,,,10.0,0.0,80.0,2024-03-01 10:00:00\n",  # store_id digits
        b"bad-t5,1,1,,,10.0,0.0,-80.0,2024-03-01 10:00:00\n",          # signed amount
        b"bad-t6,1,1,,,10.0,0.0,8e1,2024-03-01 10:00:00\n",            # exponent
        b"bad-t7,1,1,,,10.0,0.0,80.1234,2024-03-01 10:00:00\n",        # 4 decimals
        b"bad-t8,1,1,,,10.0,0.0,80.0,2024-02-30 10:00:00\n",           # no such day
        b"bad-t9,1,1,,,10.0,0.0,80.0,2024-03-01 24:00:00\n",           # hour 24
        b"bad-t10,1,1,,,10.0,0.0,80.0,2024-03-01T10:00:00\n",          # ISO 'T'
        b"bad-t11,1,1,,17272.5,10.0,0.0,80.0,2024-03-01 10:00:00\n",   # user_id .5
        b"bad-t12,1,1,,abc,10.0,0.0,80.0,2024-03-01 10:00:00\n",       # user_id text
    ],
    "transaction_items": [
        b"bad-i1,1,2,3.0,6.0\n",                                       # 5 fields
        b"bad-i2,x,2,3.0,6.0,2024-03-01 10:00:00\n",                   # item_id
        b"bad-i3,1,two,3.0,6.0,2024-03-01 10:00:00\n",                 # quantity
        b"bad-i4,1,2,3.0,6.0.0,2024-03-01 10:00:00\n",                 # subtotal
        b"bad-i5,1,2,3.0,6.0,2023-13-01 10:00:00\n",                   # month 13
    ],
    "users": [
        b"900001,female,1990-01-01\n",                                 # 3 fields
        b"x900002,female,1990-01-01,2023-07-01 10:00:00\n",            # user_id
        b"900003,female,1990-02-29,2023-07-01 10:00:00\n",             # not a leap year
        b"900004,female,01/02/1990,2023-07-01 10:00:00\n",             # date format
    ],
    "stores": [
        b"77,G Coffee @ Bad,street,1,city\n",                          # 5 fields
        b"7x,G Coffee @ Bad,street,1,city,state,1.0,2.0\n",            # store_id
    ],
    "menu_items": [
        b"88,Bad Item,coffee,1.0,False,,,extra\n",                     # 8 fields
        b"8.5,Bad Item,coffee,1.0,False,,\n",                          # item_id
    ],
}


def copy(name):
    dst = os.path.join(DATA, name)
    shutil.copytree(SRC, dst)
    return dst


def csvs(root):
    for dp, _, fs in os.walk(root):
        for f in sorted(fs):
            if f.endswith(".csv"):
                yield os.path.join(dp, f)


def rewrite(path, fn):
    with open(path, "rb") as f:
        b = f.read()
    with open(path, "wb") as f:
        f.write(fn(b))


d = copy("rej")
for table, rows in BAD.items():
    path = next(csvs(os.path.join(d, table)))
    rewrite(path, lambda b, rows=rows: b + (b"" if b.endswith(b"\n") else b"\n") + b"".join(rows))

d = copy("bom")
for p in csvs(d):
    rewrite(p, lambda b: b"\xef\xbb\xbf" + b)

d = copy("crlf")
for p in csvs(d):
    rewrite(p, lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def quote_names(b):
    out = []
    for i, line in enumerate(b.split(b"\n")):
        cols = line.split(b",")
        if i > 0 and len(cols) > 2 and b'"' not in line and i % 2 == 1:
            cols[1] = b'"' + cols[1] + b', ""the"" one\nsecond line"'
        out.append(b",".join(cols))
    return b"\n".join(out)


d = copy("quoted")
for t in ("stores", "menu_items"):
    for p in csvs(os.path.join(d, t)):
        rewrite(p, quote_names)

d = copy("nousers")
shutil.rmtree(os.path.join(d, "users"))

d = copy("empty")
open(os.path.join(d, "users", "users_000000.csv"), "wb").close()

d = copy("badhdr")
rewrite(next(csvs(os.path.join(d, "stores"))),
        lambda b: b"store_id,name,street,postal_code,city,state,latitude,longitude" +
        b[b.index(b"\n"):])

d = copy("binary")
rng = random.Random(7)
with open(next(csvs(os.path.join(d, "stores"))), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(3000)))

d = copy("long")
hdr = open(next(csvs(os.path.join(d, "transactions"))), "rb").readline()
with open(os.path.join(d, "transactions", "transactions_000000.csv"), "wb") as f:
    f.write(hdr + b"ok-1,1,1,,,10.0,0.0,80.0,2024-03-01 10:00:00\n")
    line = b"long-1,1,1,,,10.0,0.0,80.0,2024-03-01 10:00:00"
    f.write(line + b"x" * (2000 - len(line)) + b"\n")
