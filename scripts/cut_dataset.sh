#!/usr/bin/env bash
# cut_dataset.sh SRC DEST [ROWS]: a small data set for many-session runs
# (tests/e2e/admission.sh, scripts/bench_sessions.sh): every CSV file of
# every table folder of SRC cut to its header and first ROWS rows (300).
set -euo pipefail
src=$1 dest=$2 rows=${3:-300}
for t in "$src"/*/; do
    mkdir -p "$dest/$(basename "$t")"
    for f in "$t"*.csv; do
        head -n $((rows + 1)) "$f" > "$dest/$(basename "$t")/$(basename "$f")"
    done
done
