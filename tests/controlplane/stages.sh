# stages.sh - sourced by tests/controlplane/run.sh (its pipeline, broker,
# WORK, DATA, addr and ok/ko): GET /api/stages and the stages' metrics
# (stages.py), then the dashboard in headless Chromium (browser/dash.mjs):
#  - every stage with its CS_REPLICAS slots, all alive, queue depths;
#  - a session raises every stage's counters, the filter's by at least the
#    session's batches;
#  - a filter replica killed with SIGKILL is reported not alive within 10 s,
#    and once started again alive with a new pid and one restart more;
#  - the page shows the stages alive, a session whose progress rises while
#    its later stages are released one by one (SIGSTOP/SIGCONT), then done,
#    its result links (once the API has them) returning the client's files,
#    and a client killed mid-stream as an aborted session with its error;
#    a screenshot goes to $B/artifacts/dashboard.png.
STAGES_PY=tests/controlplane/stages.py

# stages_checks ARGS...: runs stages.py and counts its checks
stages_checks() {
    python3 "$STAGES_PY" "$@" > "$WORK/stages.out" 2>&1 ||
        echo "FAIL: stages.py $1 exited non-zero: $(tail -n 2 "$WORK/stages.out")" >> "$WORK/stages.out"
    checks_from "$WORK/stages.out"
}

# pids_of PATTERN: the pids of the pipeline processes named PATTERN, comma-separated
pids_of() {
    local i out=()
    for i in "${!PIPELINE_NAMES[@]}"; do
        # shellcheck disable=SC2254
        case ${PIPELINE_NAMES[$i]} in $1) out+=("${PIPELINE_PIDS[$i]}") ;; esac
    done
    local IFS=,
    echo "${out[*]}"
}

stages_checks shape "$addr" "$CS_REPLICAS" 15
stages_checks metrics "$addr" "$CS_REPLICAS"

# Counters rise with a session.
mkdir -p "$WORK/out"
python3 "$STAGES_PY" save "$addr" "$WORK/stages-before.json"
"$B/bin/gen-dataset" --out "$DATA/stg" --scale 0.001 --seed 5 > /dev/null 2>&1
if timeout 300 "$B/bin/client" --data-folder stg --data-root "$DATA" --output "$WORK/out/stg" \
    --gateway "$GATEWAY_ADDR" --no-progress > "$WORK/out/stg.out" 2> "$WORK/out/stg.err"; then
    stg=$(awk '$1 == "session" { print $2 }' "$WORK/out/stg.out" | tail -n 1)
    stages_checks rose "$addr" "$WORK/stages-before.json" "$stg"
else
    ko "stages: the client on stg failed: $(tail -n 3 "$WORK/out/stg.err")"
fi

# A replica killed: not alive within a bound; started again: one restart more.
victim=filter-1
for i in "${!PIPELINE_NAMES[@]}"; do
    if [ "${PIPELINE_NAMES[$i]}" = "$victim" ]; then vi=$i; fi
done
vpid=${PIPELINE_PIDS[$vi]}
restarts=$(python3 "$STAGES_PY" restarts "$addr" filter 1)
mapfile -d '' -t vcmd < "/proc/$vpid/cmdline"
mapfile -d '' -t venv < "/proc/$vpid/environ"
kill -KILL "$vpid"
wait "$vpid" 2> /dev/null || true
stages_checks down "$addr" filter 1 "$vpid" 10
mv "$PIPELINE_LOGS/$victim.log" "$PIPELINE_LOGS/$victim.log.1"
env -i "${venv[@]}" "${vcmd[@]}" > "$PIPELINE_LOGS/$victim.log" 2>&1 &
PIPELINE_PIDS[$vi]=$!
if pipeline_wait_log "$PIPELINE_LOGS/$victim.log" "started stage=" 30; then
    ok "stages: $victim started again"
else
    ko "stages: $victim did not start again"
fi
stages_checks back "$addr" filter 1 "$vpid" "$restarts" 15

# The dashboard in a real browser (node + playwright-core + Debian's chromium).
BROWSER_DIR=tests/controlplane/browser
if ! command -v node > /dev/null || [ ! -x /usr/bin/chromium ]; then
    ko "dashboard: node or /usr/bin/chromium missing (scripts/deps.sh installs them)"
elif ! (cd "$BROWSER_DIR" && { [ -d node_modules/playwright-core ] ||
    npm ci --no-audit --no-fund > "$WORK/npm.log" 2>&1; }); then
    ko "dashboard: npm ci failed: $(tail -n 3 "$WORK/npm.log")"
else
    "$B/bin/gen-dataset" --out "$DATA/dash" --scale 0.002 --seed 8 > /dev/null 2>&1
    mkdir -p "$B/artifacts"
    shot="$(cd "$B/artifacts" && pwd)/dashboard.png"
    freeze=""
    for s in agg-q2 agg-q3 agg-q4 sink; do freeze+="$s=$(pids_of "$s-*");"; done
    client=("$B/bin/client" --data-folder dash --data-root "$DATA" --output "$WORK/out/dash"
        --gateway "$GATEWAY_ADDR" --no-progress --session-retries 0)
    # small batches: the gateway's backlog bound holds the client mid-stream
    # while the filter is stopped
    abort=("$B/bin/client" --data-folder dash --data-root "$DATA" --output "$WORK/out/dash-abort"
        --gateway "$GATEWAY_ADDR" --no-progress --session-retries 0 --batch-bytes 1024)
    CP_URL="http://$addr" FREEZE="$freeze" FILTER_PIDS="$(pids_of 'filter-*')" \
        CLIENT="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${client[@]}")" \
        CLIENT_ABORT="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${abort[@]}")" \
        RESULTS_DIR="$WORK/out/dash" SHOT="$shot" \
        timeout 600 node "$BROWSER_DIR/dash.mjs" > "$WORK/dash.out" 2>&1 ||
        echo "FAIL: dash.mjs exited non-zero" >> "$WORK/dash.out"
    checks_from "$WORK/dash.out"
    [ -s "$shot" ] && echo "dashboard screenshot: $shot"
fi
