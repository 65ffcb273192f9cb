#!/usr/bin/env python3
"""check_rejected.py - the rejected-row counts in the client's summary
(stdout) must equal the reference's rejected.json.

usage: check_rejected.py REJECTED_JSON CLIENT_STDOUT
"""
import json
import sys


def client_counts(path):
    counts = {}
    in_table = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            parts = line.split()
            if parts[:3] == ['table', 'rows_sent', 'rejected']:
                in_table = True
                continue
            if in_table:
                if not parts or parts[0] == 'total':
                    break
                counts[parts[0]] = int(parts[2])
    return counts


def main():
    with open(sys.argv[1], encoding='utf-8') as f:
        expected = json.load(f)
    actual = client_counts(sys.argv[2])
    if actual != expected:
        print('rejected rows differ: expected %s, client reported %s'
              % (expected, actual))
        return 1
    print('rejected rows as expected: %s' % actual)
    return 0


if __name__ == '__main__':
    sys.exit(main())
