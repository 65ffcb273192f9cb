#!/usr/bin/env python3
"""reference.py - an independent reference implementation of docs QUERIES.md.

usage: reference.py DATA_DIR OUT_DIR

Reads the data folder, validates every row, loads the valid rows into an
in-memory SQLite database (money as INTEGER thousandths) and computes the four
queries in SQL. Writes q1.csv q2_best_selling.csv q2_most_profitable.csv
q3.csv q4.csv and rejected.json into OUT_DIR. Python 3 standard library only.

Input rules implemented here (the C system implements the same ones)
-------------------------------------------------------------------
Files
  * A table folder is DATA_DIR/<table>/; its files are the regular files whose
    names end in ".csv" (names starting with "." are skipped), read in byte
    order of their names. A missing folder is an empty table.
  * Bytes are taken as they are (decoded as latin-1, so every byte is one
    character and output bytes equal input bytes; UTF-8 names pass through
    and sort in byte order). A UTF-8 BOM at the start of a file is dropped.
  * CSV is RFC 4180 as read by Python's csv module (default dialect): fields
    separated by ",", optionally enclosed in double quotes, "" inside a
    quoted field is one quote, a quoted field may hold "," and line breaks.
    Lines end in "\\n" or "\\r\\n"; the last line may lack its line end.
  * The first record of each file is its header. Columns are found by name;
    a header lacking a needed column is a fatal error (exit 2). An empty
    file (no header) contributes nothing.
  * A line with nothing before its line end (a blank line) is not a row: it
    is skipped and not counted as rejected.
  * Fields are never trimmed: " 5" is not an integer.

A data row is rejected (counted in rejected.json) when its field count differs
from its file's header's field count, or when a field below does not parse:
  table              fields checked
  transactions       store_id (int), final_amount (dec), created_at (ts),
                     user_id (uid)
  transaction_items  item_id (int), quantity (int), subtotal (dec),
                     created_at (ts)
  users              user_id (int), birthdate (date)
  stores             store_id (int)
  menu_items         item_id (int)
Other fields (transaction_id, store_name, item_name, unit_price, ...) are
free text and are never checked.

What "parses" means (ASCII only; no sign, no spaces, anywhere):
  int   1 to 9 digits [0-9]. Leading zeros allowed ("007" is 7). No sign,
        no ".0" (so "3.0" is not an int). Range 0 .. 999999999.
  dec   1 to 9 digits, then optionally "." followed by 1 to 3 digits:
        "63.5", "10.0", "8.075", "75", "075.500" parse; "-1.0", "+1.0",
        ".5", "5.", "1.2345", "1e3", "1,5" do not. Value = exact thousandths
        (integer arithmetic, never a binary float). No sign: every amount is
        non-negative, so sums are too.
  uid   (transactions.user_id) empty (no user), or an int as above
        optionally followed by exactly ".0": "17272", "17272.0" parse and
        both name user 17272; "17272.00", "12.5", "abc", "-1.0" do not.
  date  exactly 10 characters "YYYY-MM-DD": 4-digit year 0000-9999, month
        01-12, day 01 to the month's length in the proleptic Gregorian
        calendar (February has 29 days when year % 4 == 0 and
        (year % 100 != 0 or year % 400 == 0)).
  ts    exactly 19 characters "YYYY-MM-DD HH:MM:SS": the date as above, one
        space, hour 00-23, minute 00-59, second 00-59 (no leap second, no
        "T", no fraction, no zone).

Lookups
  * stores/menu_items/users are looked up by the integer value of the id. If
    an id has several valid rows, its byte-smallest value (name, birthdate)
    wins: rows of one table reach the pipeline in no fixed order.
  * A store_id or item_id without a valid row in stores/menu_items gets an
    empty name (the row still counts); a user without a valid users row gets
    an empty birthdate (QUERIES.md). Rows that share a name (e.g. two empty
    names) are ordered by id after the name.

Output
  * "\\n" line ends, header first. Text fields (transaction_id, names,
    birthdate) are written as read, enclosed in double quotes (with inner
    quotes doubled) only when they contain ',', '"', '\\r' or '\\n'.
  * Q1 money: exact value, fewest decimals but at least one (75.0, 79.515).
    Q2 profit_sum, Q3 tpv: exact sum, exactly two decimals, rounded half away
    from zero. Q1 rows with the same transaction_id are ordered by amount.
  * rejected.json: {"transactions": n, "transaction_items": n, "users": n,
    "stores": n, "menu_items": n} and a newline.
"""

import csv
import json
import os
import re
import sqlite3
import sys

csv.field_size_limit(1 << 30)

_INT_RE = re.compile(r'[0-9]{1,9}')
_DEC_RE = re.compile(r'([0-9]{1,9})(?:\.([0-9]{1,3}))?')
_DATE_RE = re.compile(r'([0-9]{4})-([0-9]{2})-([0-9]{2})')
_MDAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Every valid "HH:MM:SS" (86,400 strings): membership is the time check.
_TIMES = frozenset('%02d:%02d:%02d' % (h, m, s)
                   for h in range(24) for m in range(60) for s in range(60))


def parse_int(s):
    """int rule -> value, or None."""
    return int(s) if _INT_RE.fullmatch(s) else None


def parse_dec(s):
    """dec rule -> thousandths (int), or None."""
    m = _DEC_RE.fullmatch(s)
    if m is None:
        return None
    frac = (m.group(2) or '').ljust(3, '0')
    return int(m.group(1)) * 1000 + int(frac)


NO_USER = -1


def parse_uid(s):
    """uid rule -> user id (int), NO_USER for empty, or None."""
    if s == '':
        return NO_USER
    if s.endswith('.0'):
        s = s[:-2]
    return parse_int(s)


def date_ok(s):
    m = _DATE_RE.fullmatch(s)
    if m is None:
        return False
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= mo <= 12:
        return False
    dim = _MDAYS[mo - 1]
    if mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0):
        dim = 29
    return 1 <= d <= dim


class Memo(dict):
    """A memoized parser: memo[text] -> parse(text), computed once per text
    (amounts, ids and dates repeat a lot)."""

    def __init__(self, parse):
        super().__init__()
        self.parse = parse

    def __missing__(self, key):
        value = self[key] = self.parse(key)
        return value


def table_files(data_dir, table):
    folder = os.path.join(data_dir, table)
    if not os.path.isdir(folder):
        return []
    names = [n for n in os.listdir(folder)
             if n.endswith('.csv') and not n.startswith('.')
             and os.path.isfile(os.path.join(folder, n))]
    names.sort(key=os.fsencode)
    return [os.path.join(folder, n) for n in names]


def read_table(data_dir, table, columns, convert, sink):
    """Reads every file of a table; sink(rows) gets each file's valid rows
    converted. convert(row, idx) returns a tuple, or None to reject the row
    (idx: the positions of `columns`). Returns the number of rejected rows."""
    rejected = 0
    for path in table_files(data_dir, table):
        with open(path, 'r', encoding='latin-1', newline='') as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                continue
            if header and header[0].startswith('\xef\xbb\xbf'):
                header[0] = header[0][3:]
            missing = [c for c in columns if c not in header]
            if missing:
                sys.stderr.write('reference: %s: header lacks %s\n'
                                 % (path, ','.join(missing)))
                sys.exit(2)
            idx = [header.index(c) for c in columns]
            n = len(header)
            out = []
            for row in reader:
                if len(row) != n:
                    if row:
                        rejected += 1
                    continue  # else a blank line: not a row
                t = convert(row, idx)
                if t is None:
                    rejected += 1
                else:
                    out.append(t)
            sink(out)
    return rejected


def load(data_dir, db):
    ints, decs, uids = Memo(parse_int), Memo(parse_dec), Memo(parse_uid)
    dates = Memo(date_ok)
    times = _TIMES

    def tx(row, idx):
        i_tid, i_store, i_final, i_ts, i_uid = idx
        s, a, u, t = ints[row[i_store]], decs[row[i_final]], uids[row[i_uid]], row[i_ts]
        if (s is None or a is None or u is None or len(t) != 19
                or t[10] != ' ' or t[11:] not in times or not dates[t[:10]]):
            return None
        return (row[i_tid], s, a, t, None if u == NO_USER else u)

    def item(row, idx):
        i_item, i_qty, i_sub, i_ts = idx
        it, q, sb, t = ints[row[i_item]], ints[row[i_qty]], decs[row[i_sub]], row[i_ts]
        if (it is None or q is None or sb is None or len(t) != 19
                or t[10] != ' ' or t[11:] not in times or not dates[t[:10]]):
            return None
        return (it, q, sb, t)

    def user(row, idx):
        u, b = ints[row[idx[0]]], row[idx[1]]
        if u is None or not dates[b]:
            return None
        return (u, b)

    def named(row, idx):
        i = ints[row[idx[0]]]
        return None if i is None else (i, row[idx[1]])

    specs = [
        ('transactions', ['transaction_id', 'store_id', 'final_amount',
                          'created_at', 'user_id'], tx, 'tx', 5),
        ('transaction_items', ['item_id', 'quantity', 'subtotal',
                               'created_at'], item, 'items', 4),
        ('users', ['user_id', 'birthdate'], user, 'users', 2),
        ('stores', ['store_id', 'store_name'], named, 'stores', 2),
        ('menu_items', ['item_id', 'item_name'], named, 'menu', 2),
    ]
    db.executescript('''
        CREATE TABLE tx (tid TEXT, store INTEGER, final INTEGER, ts TEXT,
                         uid INTEGER);
        CREATE TABLE items (item INTEGER, qty INTEGER, sub INTEGER, ts TEXT);
        CREATE TABLE users (id INTEGER, birthdate TEXT);
        CREATE TABLE stores (id INTEGER, name TEXT);
        CREATE TABLE menu (id INTEGER, name TEXT);
    ''')
    rejected = {}
    for table, cols, conv, sqlt, ncol in specs:
        sql = 'INSERT INTO %s VALUES (%s)' % (sqlt, ','.join('?' * ncol))
        rejected[table] = read_table(data_dir, table, cols, conv,
                                     lambda rows: db.executemany(sql, rows))
    # A repeated id keeps its byte-smallest value (SQLite's BINARY collation
    # compares bytes): the rule the pipeline documents, since rows of one
    # table reach it in no fixed order.
    db.executescript('''
        CREATE TABLE users1 AS SELECT id, MIN(birthdate) AS birthdate
            FROM users GROUP BY id;
        CREATE TABLE stores1 AS SELECT id, MIN(name) AS name
            FROM stores GROUP BY id;
        CREATE TABLE menu1 AS SELECT id, MIN(name) AS name
            FROM menu GROUP BY id;
        CREATE UNIQUE INDEX users1_id ON users1 (id);
        CREATE UNIQUE INDEX stores1_id ON stores1 (id);
        CREATE UNIQUE INDEX menu1_id ON menu1 (id);
    ''')
    return rejected


# "In 2024 and 2025" and "between 06:00 and 23:00, both included".
IN_YEARS = "substr(ts, 1, 4) IN ('2024', '2025')"
IN_HOURS = "substr(ts, 12, 8) BETWEEN '06:00:00' AND '23:00:00'"

Q1 = '''
SELECT tid, final FROM tx
WHERE %s AND %s AND final >= 75000
ORDER BY tid, final
''' % (IN_YEARS, IN_HOURS)

Q2 = '''
WITH m AS (
  SELECT substr(ts, 1, 7) AS ym, item, SUM(qty) AS qty, SUM(sub) AS sub
  FROM items WHERE %s GROUP BY ym, item),
r AS (
  SELECT ym, item, qty, sub,
    ROW_NUMBER() OVER (PARTITION BY ym ORDER BY qty DESC, item ASC) AS rq,
    ROW_NUMBER() OVER (PARTITION BY ym ORDER BY sub DESC, item ASC) AS rs
  FROM m)
SELECT r.ym, COALESCE(menu1.name, ''), r.qty, r.sub, r.rq, r.rs
FROM r LEFT JOIN menu1 ON menu1.id = r.item
WHERE r.rq = 1 OR r.rs = 1 ORDER BY r.ym
''' % IN_YEARS

Q3 = '''
WITH h AS (
  SELECT substr(ts, 1, 4) || '-H' ||
         CASE WHEN substr(ts, 6, 2) <= '06' THEN '1' ELSE '2' END AS half,
         store, SUM(final) AS tpv
  FROM tx WHERE %s AND %s GROUP BY half, store)
SELECT h.half, COALESCE(stores1.name, '') AS name, h.tpv
FROM h LEFT JOIN stores1 ON stores1.id = h.store
ORDER BY h.half, name, h.store
''' % (IN_YEARS, IN_HOURS)

Q4 = '''
WITH c AS (
  SELECT store, uid, COUNT(*) AS n FROM tx
  WHERE uid IS NOT NULL AND %s GROUP BY store, uid),
r AS (
  SELECT store, uid, n,
    ROW_NUMBER() OVER (PARTITION BY store ORDER BY n DESC, uid ASC) AS rn
  FROM c)
SELECT COALESCE(stores1.name, '') AS name, COALESCE(users1.birthdate, ''), r.n
FROM r LEFT JOIN stores1 ON stores1.id = r.store
       LEFT JOIN users1 ON users1.id = r.uid
WHERE r.rn <= 3
ORDER BY name, r.store, r.n DESC, r.uid
''' % IN_YEARS


def money_min(th):
    """Thousandths -> fewest decimals, at least one: 75.0 79.5 79.515."""
    ip, fp = divmod(th, 1000)
    frac = ('%03d' % fp).rstrip('0') or '0'
    return '%d.%s' % (ip, frac)


def money_2(th):
    """Thousandths -> two decimals, half away from zero (th >= 0 here)."""
    assert th >= 0
    ip, fp = divmod((th + 5) // 10, 100)
    return '%d.%02d' % (ip, fp)


def text(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_csv(path, header, lines):
    with open(path, 'w', encoding='latin-1', newline='') as f:
        f.write(header + '\n')
        for line in lines:
            f.write(line + '\n')


def run(data_dir, out_dir):
    db = sqlite3.connect(':memory:')
    rejected = load(data_dir, db)
    os.makedirs(out_dir, exist_ok=True)
    p = lambda name: os.path.join(out_dir, name)

    write_csv(p('q1.csv'), 'transaction_id,final_amount',
              (text(t) + ',' + money_min(a) for t, a in db.execute(Q1)))
    q2 = db.execute(Q2).fetchall()
    write_csv(p('q2_best_selling.csv'),
              'year_month_created_at,item_name,sellings_qty',
              ('%s,%s,%d' % (ym, text(n), q)
               for ym, n, q, _, rq, _ in q2 if rq == 1))
    write_csv(p('q2_most_profitable.csv'),
              'year_month_created_at,item_name,profit_sum',
              ('%s,%s,%s' % (ym, text(n), money_2(s))
               for ym, n, _, s, _, rs in q2 if rs == 1))
    write_csv(p('q3.csv'), 'year_half_created_at,store_name,tpv',
              ('%s,%s,%s' % (h, text(n), money_2(v))
               for h, n, v in db.execute(Q3)))
    write_csv(p('q4.csv'), 'store_name,birthdate,purchases_qty',
              ('%s,%s,%d' % (text(n), text(b), c)
               for n, b, c in db.execute(Q4)))
    with open(p('rejected.json'), 'w', encoding='ascii', newline='') as f:
        f.write(json.dumps({k: rejected[k] for k in (
            'transactions', 'transaction_items', 'users', 'stores',
            'menu_items')}) + '\n')
    db.close()


def main(argv):
    if len(argv) != 3 or argv[1] in ('-h', '--help'):
        sys.stderr.write('usage: reference.py DATA_DIR OUT_DIR\n')
        return 0 if len(argv) > 1 and argv[1] in ('-h', '--help') else 2
    if not os.path.isdir(argv[1]):
        sys.stderr.write('reference: %s: not a directory\n' % argv[1])
        return 2
    run(argv[1], argv[2])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
