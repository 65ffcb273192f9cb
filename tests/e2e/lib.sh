#!/usr/bin/env bash
# lib.sh - what every end-to-end suite starts with (source it from a script
# under tests/): repository root as working dir, B, SHARED, the broker and
# pipeline libraries, a scratch folder WORK (removed on exit) with DATA in
# it, and PASS/FAIL accounting closing with "N passed, M failed".
#   e2e_init NAME   sets all of that up
#   ok MSG / ko MSG one line per check
#   e2e_summary     prints the closing line; returns non-zero on failure
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${B:=build}"
export B
SHARED="$(pwd)/../shared"
if [ ! -d "$SHARED/data/dev" ]; then
    echo "e2e: $SHARED/data/dev is missing (shared/ must sit beside the repo)" >&2
    exit 1
fi
source scripts/broker.sh
source scripts/pipeline.sh

passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
ko() { echo "FAIL: $*"; failed=$((failed + 1)); }

e2e_init() {
    WORK=$(mktemp -d "/tmp/cs-$1.XXXXXX")
    cleanup_add "rm -rf '$WORK'"
    DATA="$WORK/data"
    mkdir -p "$DATA"
}

e2e_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
