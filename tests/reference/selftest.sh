#!/usr/bin/env bash
# selftest.sh - checks of the test foundations themselves: the reference
# implementation (tests/reference/reference.py) against the course's results
# and the generator's planted edge cases, and the generator
# (tools/gen-dataset) for determinism and its planted cases.
#
# usage: tests/reference/selftest.sh      (B=build dir, default build)
# Prints one line per check and "N passed, M failed"; exit 1 on a failure.
set -u

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
shared="$top/../shared"
B=${B:-build}
case $B in /*) bdir=$B ;; *) bdir=$top/$B ;; esac
gen=$bdir/bin/gen-dataset
refdir=$top/tests/reference
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0

# check NAME CMD...: runs CMD; PASS/FAIL line, the output of a failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "PASS $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name"
        printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

ref() { python3 "$refdir/reference.py" "$@"; }
cmp_num() { python3 "$refdir/compare.py" "$@"; }
edges() { python3 "$refdir/check_edges.py" "$@"; }
gen_tiny() { "$gen" --quiet --scale 0.001 "$@"; }

# A changed copy of the course's results must fail the numeric compare, and
# --exact must name the first differing line.
compare_detects() {
    mkdir -p "$tmp/mut"
    cp "$shared/data/dev-expected/"*.csv "$tmp/mut/"
    sed -i '3s/8402.5$/8402.53/' "$tmp/mut/q3.csv"
    if cmp_num "$shared/data/dev-expected" "$tmp/mut" >/dev/null; then
        echo "a 0.03 difference in q3.csv passed"
        return 1
    fi
    cp "$shared/data/dev-expected/q3.csv" "$tmp/mut/q3.csv"
    sed -i '3s/8402.5$/8402.505/' "$tmp/mut/q3.csv"
    cmp_num "$shared/data/dev-expected" "$tmp/mut" >/dev/null ||
        { echo "a 0.005 difference in q3.csv failed"; return 1; }
    cmp_num --exact "$shared/data/dev-expected" "$tmp/mut" |
        grep -q "FAIL q3.csv: line 3:" ||
        { echo "--exact did not name line 3"; return 1; }
}

differs() { ! diff -rq "$1" "$2" >/dev/null; }

# 1. the reference against the course's reference results
check "reference.py on shared/data/dev matches dev-expected (Q1-Q3, 0.01)" \
    eval 'ref "$shared/data/dev" "$tmp/dev-out" && cmp_num "$shared/data/dev-expected" "$tmp/dev-out"'
check "dev: nothing rejected" \
    grep -qx '{"transactions": 0, "transaction_items": 0, "users": 0, "stores": 0, "menu_items": 0}' \
    "$tmp/dev-out/rejected.json"
check "compare.py detects differences (numeric and --exact)" compare_detects

# 2. the generator: build, determinism
check "build gen-dataset" make -C "$top" -s "$B/bin/gen-dataset"
check "gen-dataset --help" eval '"$gen" --help | grep -q -- "--no-edge-cases"'
check "same seed twice: identical bytes" \
    eval 'gen_tiny --seed 11 --out "$tmp/a" --truth "$tmp/a-truth" &&
          gen_tiny --seed 11 --out "$tmp/b" --truth "$tmp/b-truth" &&
          diff -r "$tmp/a" "$tmp/b" && diff -r "$tmp/a-truth" "$tmp/b-truth"'
check "another seed: different bytes" \
    eval 'gen_tiny --seed 12 --out "$tmp/c" && differs "$tmp/a" "$tmp/c"'
check "shape: headers, 24 months, sorted times, items/users consistent" \
    edges shape "$tmp/a" "$tmp/a"

# 3. the planted edge cases, decided by the reference as the spec says
check "reference.py on the generated set" ref "$tmp/a" "$tmp/a-out"
check "rejected.json = malformed rows planted per table" \
    edges rejected "$tmp/a" "$tmp/a-out"
check "Q1 bounds: 06:00:00/23:00:00 in, 05:59:59/23:00:01/2023/74.999 out" \
    edges q1 "$tmp/a" "$tmp/a-out"
check "Q2 planted ties go to the smaller item_id" \
    edges q2 "$tmp/a" "$tmp/a-out"
check "Q4 ties by user_id as a number; missing users keep an empty birthdate" \
    edges q4 "$tmp/a" "$tmp/a-out"
check "quirks: CRLF files, quoted store name with a comma" \
    edges quirks "$tmp/a" "$tmp/a-out"
check "reference.py = the generator's expected results (byte-exact)" \
    cmp_num --exact "$tmp/a-truth" "$tmp/a-out"

# 4. without edge cases and quirks: clean data, nothing rejected
check "--no-edge-cases --no-quirks: no rejects, results = expected" \
    eval 'gen_tiny --seed 13 --no-edge-cases --no-quirks --out "$tmp/d" --truth "$tmp/d-truth" &&
          ref "$tmp/d" "$tmp/d-out" && edges rejected "$tmp/d" "$tmp/d-out" &&
          ! grep -rlq $'"'"'\r'"'"' "$tmp/d" && cmp_num --exact "$tmp/d-truth" "$tmp/d-out"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
