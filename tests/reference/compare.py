#!/usr/bin/env python3
"""compare.py - compare query result folders.

usage: compare.py [--exact] [--tol T] EXPECTED_DIR ACTUAL_DIR

Every result file in EXPECTED_DIR is checked against the file of the same
name in ACTUAL_DIR; one line per file (OK/FAIL), exit status 0 when all
match, 1 otherwise, 2 on usage errors.

--exact   byte-identical files: every q*.csv of EXPECTED_DIR, and any other
          file of EXPECTED_DIR (rejected.json) that ACTUAL_DIR also has; on
          a difference, prints the first differing line of the file.
default   numeric comparison for result files that print money as floats
          (the course's reference results): q*.csv files of EXPECTED_DIR.
          Headers must be equal; rows are compared as multisets (order is
          ignored), keyed by their text columns; the value columns
          (final_amount, sellings_qty, profit_sum, tpv, purchases_qty) must
          agree within T (default 0.01).
          q4_all_tied_at_top3.csv (every user tied within a store's top 3)
          is checked against ACTUAL_DIR/q4.csv: per store, the actual rows
          are min(3, n) rows, their counts are the expected top 3 counts,
          and each actual (birthdate, count) is one of the expected rows.
"""

import csv
import os
import sys
from collections import Counter, defaultdict

VALUE_COLUMNS = {'final_amount', 'sellings_qty', 'profit_sum', 'tpv',
                 'purchases_qty'}
TIED_Q4 = 'q4_all_tied_at_top3.csv'


def read_csv(path):
    with open(path, 'r', encoding='latin-1', newline='') as f:
        rows = list(csv.reader(f))
    if not rows:
        return None, []
    return rows[0], rows[1:]


def first_diff(exp_path, act_path):
    with open(exp_path, 'rb') as f:
        exp = f.read().split(b'\n')
    with open(act_path, 'rb') as f:
        act = f.read().split(b'\n')
    for i in range(max(len(exp), len(act))):
        e = exp[i] if i < len(exp) else None
        a = act[i] if i < len(act) else None
        if e != a:
            return ('line %d: expected %r, actual %r'
                    % (i + 1, e if e is None else e.decode('latin-1'),
                       a if a is None else a.decode('latin-1')))
    return 'files differ (line ends?)'


def compare_exact(exp_dir, act_dir):
    failures = 0
    for name in sorted(os.listdir(exp_dir)):
        exp = os.path.join(exp_dir, name)
        if not os.path.isfile(exp):
            continue
        act = os.path.join(act_dir, name)
        if not os.path.isfile(act) and not name.startswith('q'):
            continue
        if not os.path.isfile(act):
            print('FAIL %s: missing in %s' % (name, act_dir))
            failures += 1
            continue
        with open(exp, 'rb') as f:
            eb = f.read()
        with open(act, 'rb') as f:
            ab = f.read()
        if eb == ab:
            print('OK   %s (%d bytes)' % (name, len(eb)))
        else:
            print('FAIL %s: %s' % (name, first_diff(exp, act)))
            failures += 1
    return failures


def to_num(s):
    try:
        return float(s)
    except ValueError:
        return None


def split_rows(header, rows):
    """-> Counter of keys, dict key -> sorted list of value tuples."""
    vcols = [i for i, h in enumerate(header) if h in VALUE_COLUMNS]
    kcols = [i for i, h in enumerate(header) if h not in VALUE_COLUMNS]
    groups = defaultdict(list)
    for r in rows:
        if len(r) != len(header):
            groups[('<bad row>',) + tuple(r)].append(())
            continue
        groups[tuple(r[i] for i in kcols)].append(
            tuple(to_num(r[i]) for i in vcols))
    for k in groups:
        groups[k].sort(key=lambda t: tuple(-1e300 if x is None else x
                                           for x in t))
    return groups


def close(a, b, tol):
    return a is not None and b is not None and abs(a - b) <= tol + 1e-9


def compare_rows(name, exp, act, tol):
    eh, er = exp
    ah, ar = act
    if eh != ah:
        return ['header: expected %r, actual %r' % (eh, ah)]
    problems = []
    eg, ag = split_rows(eh, er), split_rows(ah, ar)
    for k in sorted(set(eg) | set(ag)):
        ev, av = eg.get(k, []), ag.get(k, [])
        if len(ev) != len(av):
            problems.append('%s: %d expected row(s), %d actual'
                            % (','.join(k), len(ev), len(av)))
            continue
        for e, a in zip(ev, av):
            if not all(close(x, y, tol) for x, y in zip(e, a)):
                problems.append('%s: expected %s, actual %s'
                                % (','.join(k), e, a))
    if len(er) != len(ar):
        problems.insert(0, 'rows: expected %d, actual %d' % (len(er), len(ar)))
    return problems


def compare_tied_q4(exp, act):
    eh, er = exp
    ah, ar = act
    if ah != ['store_name', 'birthdate', 'purchases_qty']:
        return ['header: actual %r' % (ah,)]
    problems = []
    es, as_ = defaultdict(list), defaultdict(list)
    for r in er:
        es[r[0]].append((r[1], int(r[2])))
    for r in ar:
        if len(r) != 3 or to_num(r[2]) is None:
            problems.append('bad row %r' % (r,))
            continue
        as_[r[0]].append((r[1], int(r[2])))
    for store in sorted(set(es) | set(as_)):
        e, a = es.get(store, []), as_.get(store, [])
        want = sorted((c for _, c in e), reverse=True)[:3]
        got = sorted((c for _, c in a), reverse=True)
        if want != got:
            problems.append('%s: counts expected %s, actual %s'
                            % (store, want, got))
            continue
        left = Counter(e)
        for row in a:
            if left[row] <= 0:
                problems.append('%s: %s,%d is not among the tied rows'
                                % (store, row[0], row[1]))
            left[row] -= 1
    return problems


def compare_numeric(exp_dir, act_dir, tol):
    failures = 0
    for name in sorted(os.listdir(exp_dir)):
        if not (name.startswith('q') and name.endswith('.csv')):
            continue
        act_name = 'q4.csv' if name == TIED_Q4 else name
        act_path = os.path.join(act_dir, act_name)
        if not os.path.isfile(act_path):
            print('FAIL %s: %s missing' % (name, act_path))
            failures += 1
            continue
        exp = read_csv(os.path.join(exp_dir, name))
        act = read_csv(act_path)
        if name == TIED_Q4:
            problems = compare_tied_q4(exp, act)
        else:
            problems = compare_rows(name, exp, act, tol)
        if problems:
            failures += 1
            print('FAIL %s: %d problem(s)' % (name, len(problems)))
            for p in problems[:8]:
                print('       ' + p)
        else:
            print('OK   %s (%d rows)' % (name, len(exp[1])))
    return failures


def main(argv):
    args = argv[1:]
    exact, tol = False, 0.01
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--exact':
            exact = True
        elif a == '--tol' and i + 1 < len(args):
            i += 1
            tol = float(args[i])
        elif a in ('-h', '--help'):
            print(__doc__.strip())
            return 0
        else:
            pos.append(a)
        i += 1
    if len(pos) != 2 or not all(os.path.isdir(p) for p in pos):
        sys.stderr.write('usage: compare.py [--exact] [--tol T] '
                         'EXPECTED_DIR ACTUAL_DIR\n')
        return 2
    if exact:
        failures = compare_exact(pos[0], pos[1])
    else:
        failures = compare_numeric(pos[0], pos[1], tol)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
