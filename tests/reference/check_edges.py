#!/usr/bin/env python3
"""check_edges.py - checks query results against a generated data set's
edge_cases.json (written by tools/gen-dataset).

usage: check_edges.py CHECK DATA_DIR RESULT_DIR

CHECK is one of:
  rejected  RESULT_DIR/rejected.json equals the planted malformed row counts
  q1        every planted Q1 case is in q1.csv (with its amount printed per
            the spec) or absent, as the manifest says
  q2        the planted Q2 ties are won by the smaller item id
  q4        the tie store lists users 9, 10, 11 (not 12) with the planted
            count; the users missing from the users files top their stores
            with an empty birthdate
  quirks    the data set has its quirks: CRLF files, the quoted store name
            with a comma (and q3.csv/q4.csv print it quoted)
  shape     (RESULT_DIR unused) the generator's promises: exact headers,
            24 monthly files 2023-07..2025-06, created_at sorted within each
            file, items carry their transaction's created_at, named users
            registered before the transaction (or planted as missing),
            user_id on about 4% of transactions, UUID v4 ids
Exit status 0 when the check holds; otherwise 1 with the reasons.
"""

import csv
import json
import os
import re
import sys


def load_manifest(data_dir):
    with open(os.path.join(data_dir, 'edge_cases.json'), encoding='utf-8') as f:
        return json.load(f)


def read_rows(path):
    with open(path, encoding='latin-1', newline='') as f:
        return list(csv.reader(f))[1:]


def money_min(text):
    """Planted amount text -> the spec's Q1 form (fewest decimals, >= 1)."""
    ip, _, frac = text.partition('.')
    frac = frac.rstrip('0') or '0'
    return '%d.%s' % (int(ip), frac)


def check_rejected(man, data_dir, res):
    with open(os.path.join(res, 'rejected.json'), encoding='utf-8') as f:
        got = json.load(f)
    want = man['rejected']
    if got != want:
        return ['rejected.json %s, planted %s' % (got, want)]
    return []


def check_q1(man, data_dir, res):
    rows = {r[0]: r[1] for r in read_rows(os.path.join(res, 'q1.csv'))}
    problems = []
    cases = man['q1_cases']
    for c in cases:
        tid = c['transaction_id']
        if c['in_q1']:
            want = money_min(c['final_amount'])
            if rows.get(tid) != want:
                problems.append('%s (%s %s): expected in q1.csv as %s, got %r'
                                % (c['label'], c['created_at'],
                                   c['final_amount'], want, rows.get(tid)))
        elif tid in rows:
            problems.append('%s (%s %s): must not be in q1.csv'
                            % (c['label'], c['created_at'], c['final_amount']))
    if man['edge_cases'] and len(cases) < 15:
        problems.append('only %d Q1 cases in the manifest' % len(cases))
    return problems


def check_q2(man, data_dir, res):
    problems = []
    ties = man['q2_ties']
    for t in ties:
        rows = {r[0]: r for r in read_rows(os.path.join(res, t['file']))}
        want = [t['month'], t['winner'], t['value']]
        if rows.get(t['month']) != want:
            problems.append('%s: expected %s, got %s'
                            % (t['label'], want, rows.get(t['month'])))
    if man['edge_cases'] and len(ties) != 2:
        problems.append('expected 2 planted Q2 ties, manifest has %d'
                        % len(ties))
    return problems


def check_q4(man, data_dir, res):
    if not man['edge_cases']:
        return []
    q4 = man['q4']
    rows = read_rows(os.path.join(res, 'q4.csv'))
    problems = []
    got = [r for r in rows if r[0] == q4['tie_store_name']]
    want = [[q4['tie_store_name'], u['birthdate'], str(q4['purchases'])]
            for u in q4['top3']]
    if got != want:
        problems.append('tie store: expected %s, got %s' % (want, got))
    for m in q4['missing_users']:
        got = [r for r in rows if r[0] == m['store_name']][:1]
        want = [[m['store_name'], '', str(m['purchases'])]]
        if got != want:
            problems.append('user %d (%s): expected first row %s, got %s'
                            % (m['user_id'], m['why'], want, got))
    return problems


def check_quirks(man, data_dir, res):
    problems = []
    if not man['quirks']:
        return []
    if not man['crlf_files']:
        problems.append('no CRLF file listed')
    for name in man['crlf_files']:
        with open(os.path.join(data_dir, name), 'rb') as f:
            data = f.read()
        if data.count(b'\r\n') != data.count(b'\n') or b'\r\n' not in data:
            problems.append('%s: not CRLF throughout' % name)
    qs = man['quoted_store']
    if ',' not in qs['store_name']:
        problems.append('quoted store name has no comma: %r' % qs['store_name'])
    with open(os.path.join(data_dir, 'stores', 'stores.csv'), 'rb') as f:
        stores = f.read().decode('latin-1')
    quoted = '"%s"' % qs['store_name'].replace('"', '""')
    if quoted not in stores:
        problems.append('stores.csv lacks %s' % quoted)
    for name in ('q3.csv', 'q4.csv'):
        with open(os.path.join(res, name), encoding='latin-1') as f:
            if quoted not in f.read():
                problems.append('%s does not print %s' % (name, quoted))
    return problems


HEADERS = {
    'transactions': 'transaction_id,store_id,payment_method_id,voucher_id,'
                    'user_id,original_amount,discount_applied,final_amount,'
                    'created_at',
    'transaction_items': 'transaction_id,item_id,quantity,unit_price,'
                         'subtotal,created_at',
    'users': 'user_id,gender,birthdate,registered_at',
}
UUID4 = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-'
                   r'[0-9a-f]{12}')
TS = re.compile(r'[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}')


def monthly(data_dir, table, problems):
    folder = os.path.join(data_dir, table)
    months = ['%04d%02d' % (2023 + (m + 6) // 12, (m + 6) % 12 + 1)
              for m in range(24)]
    want = ['%s_%s.csv' % (table, ym) for ym in months]
    got = sorted(os.listdir(folder))
    if got != want:
        problems.append('%s: files %s' % (table, got))
    for name in got:
        path = os.path.join(folder, name)
        with open(path, encoding='latin-1', newline='') as f:
            rows = list(csv.reader(f))
        if ','.join(rows[0]) != HEADERS[table]:
            problems.append('%s: header %r' % (name, rows[0]))
        # valid-looking rows only: planted malformed rows are out of order
        width = len(rows[0])
        yield name, [r for r in rows[1:] if len(r) == width]


def check_shape(man, data_dir, res):
    problems = []
    reg = {}
    for _, rows in monthly(data_dir, 'users', problems):
        for r in rows:
            if r[0].isdigit() and TS.fullmatch(r[3]):
                reg[int(r[0])] = r[3]
    missing = {m['user_id'] for m in man.get('q4', {}).get('missing_users', [])}
    tx_ts = {}
    n_tx = n_user = 0
    planted_bad = {row['row'].split(',', 1)[0]
                   for row in man.get('reject_rows', [])}
    for name, rows in monthly(data_dir, 'transactions', problems):
        prev = ''
        for r in rows:
            ts = r[8]
            if r[0] in planted_bad:
                continue
            if ts < prev:
                problems.append('%s: %s after %s' % (name, ts, prev))
            prev = ts
            if not UUID4.fullmatch(r[0]):
                problems.append('%s: id %r' % (name, r[0]))
            tx_ts[r[0]] = ts
            n_tx += 1
            uid = r[4][:-2] if r[4].endswith('.0') else r[4]
            if uid:
                n_user += 1
                u = int(uid)
                if u not in missing and not reg.get(u, '9') < ts:
                    problems.append('%s: user %s at %s registered %s'
                                    % (name, uid, ts, reg.get(u)))
    for name, rows in monthly(data_dir, 'transaction_items', problems):
        prev = ''
        for r in rows:
            if r[0] in planted_bad:
                continue
            if r[5] < prev:
                problems.append('%s: %s after %s' % (name, r[5], prev))
            prev = r[5]
            if r[0] not in tx_ts:
                problems.append('%s: item of unknown transaction %s'
                                % (name, r[0]))
            elif tx_ts[r[0]] != r[5]:
                problems.append('%s: item of %s at %s, transaction at %s'
                                % (name, r[0], r[5], tx_ts[r[0]]))
    share = n_user / max(n_tx, 1)
    if not 0.025 < share < 0.06:
        problems.append('user_id on %.1f%% of transactions' % (100 * share))
    return problems[:20]


CHECKS = {'rejected': check_rejected, 'q1': check_q1, 'q2': check_q2,
          'q4': check_q4, 'quirks': check_quirks,
          'shape': check_shape}


def main(argv):
    if len(argv) != 4 or argv[1] not in CHECKS:
        sys.stderr.write(__doc__)
        return 2
    man = load_manifest(argv[2])
    problems = CHECKS[argv[1]](man, argv[2], argv[3])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
