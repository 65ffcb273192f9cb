# cli.sh - the client's control plane commands (client status, watch,
# results) against the real control plane, sourced by run.sh while its
# pipeline runs (needs addr, DATA, WORK, B, GATEWAY_ADDR, ok/ko). A session
# run with `client run` on a generated set with planted bad rows; then:
# `client status` lists it done at 100 %, `client status ID` (and a prefix)
# shows every stage at 100 % and the rejected rows of the client's own
# summary, `--json` is the API's JSON, `client watch --count 2` prints two
# tables, `client results ID --out DIR` writes files byte-identical to the
# run's own output and to the independent reference; an unreachable
# control plane, an unknown id and an unknown command fail as documented.

CLI_URL="http://$addr"
cli() { "$B/bin/client" "$@"; }

"$B/bin/gen-dataset" --out "$DATA/cli" --scale 0.002 --seed 5 > /dev/null 2>&1
python3 tests/reference/reference.py "$DATA/cli" "$WORK/expected-cli" > /dev/null
cli_out="$WORK/out/cli"
mkdir -p "$WORK/out"
if timeout 300 "$B/bin/client" run --data-folder cli --data-root "$DATA" --output "$cli_out" \
    --gateway "$GATEWAY_ADDR" --no-progress > "$cli_out.out" 2> "$cli_out.err"; then
    ok "cli: client run --data-folder exited 0"
else
    ko "cli: client run failed: $(tail -n 3 "$cli_out.err")"
fi
if python3 tests/reference/compare.py --exact "$WORK/expected-cli" "$cli_out" > "$cli_out.cmp" 2>&1; then
    ok "cli: client run's results are byte-identical to the reference"
else
    ko "cli: client run's results differ from the reference: $(head -5 "$cli_out.cmp")"
fi
csid=$(awk '$1 == "session" { print $2 }' "$cli_out.out" | tail -n 1)
if [ -n "$csid" ] && python3 "$API" wait "$addr" "$csid" done 30; then
    ok "cli: the session ($csid) is listed done"
else
    ko "cli: the session '$csid' did not show as done"
fi

# client status: the table lists the session (12-character id) done, 100 %
if cli status --controlplane "$CLI_URL" > "$WORK/cli.status" 2> "$WORK/cli.status.err" &&
    awk -v id="${csid:0:12}" '$1 == id && / done / && / 100% / { f = 1 } END { exit !f }' \
        "$WORK/cli.status"; then
    ok "cli: client status lists the session done at 100 %"
else
    ko "cli: client status: $(cat "$WORK/cli.status" "$WORK/cli.status.err" | head -5)"
fi
if CONTROLPLANE_URL="$CLI_URL" cli status --no-trunc | grep -q "^$csid  "; then
    ok "cli: CONTROLPLANE_URL is read; --no-trunc shows whole ids"
else
    ko "cli: client status --no-trunc (CONTROLPLANE_URL) does not list $csid"
fi

sed 's/^/    /' "$WORK/cli.status"

# client status ID: every stage 100 %, rejected rows as in the client's summary
cli status --controlplane "$CLI_URL" "$csid" > "$WORK/cli.detail" 2>&1 || true
sed 's/^/    /' "$WORK/cli.detail"
stages=$(awk '/^STAGE /{s = 1; next} s && NF == 0 {s = 0} s && $NF == "100%" {n++} END {print n + 0}' \
    "$WORK/cli.detail")
if grep -q "^session     $csid$" "$WORK/cli.detail" && grep -q "^state       done$" "$WORK/cli.detail" &&
    [ "$stages" = 5 ]; then
    ok "cli: client status ID shows the session done, its 5 stages at 100 %"
else
    ko "cli: client status ID ($stages stages at 100 %): $(head -30 "$WORK/cli.detail")"
fi
if python3 - "$cli_out.out" "$WORK/cli.detail" > "$WORK/cli.rej" 2>&1 <<'EOF'
import sys
def table(path, start, cols):
    rows, on = {}, False
    for line in open(path):
        f = line.split()
        if f[:len(start)] == start:
            on = True
        elif on and len(f) == cols and f[-1].isdigit():
            rows[f[0]] = int(f[-1])
        elif on:
            break
    return rows
mine = table(sys.argv[1], ["table", "rows_sent", "rejected"], 3)
shown = table(sys.argv[2], ["TABLE", "REJECTED"], 2)
assert mine and mine.get("total", 0) > 0, "no rejected rows in the summary: %s" % mine
assert mine == shown, "client summary %s != client status %s" % (mine, shown)
print("rejected %s" % mine)
EOF
then
    ok "cli: client status ID shows the rejected rows of the client's summary ($(cat "$WORK/cli.rej"))"
else
    ko "cli: rejected rows differ: $(cat "$WORK/cli.rej")"
fi
if cli status --controlplane "$CLI_URL" "${csid:0:8}" | grep -q "^session     $csid$"; then
    ok "cli: client status accepts a unique id prefix"
else
    ko "cli: client status ${csid:0:8} did not find $csid"
fi
if cli status --controlplane "$CLI_URL" --json "$csid" |
    python3 -c 'import json, sys; s = json.load(sys.stdin); sys.exit(s["id"] != sys.argv[1] or s["state"] != "done")' "$csid"; then
    ok "cli: client status --json ID prints the session's JSON"
else
    ko "cli: client status --json ID is not the session's JSON"
fi

# client watch: --count 2 prints two tables (not a TTY: no escapes)
if timeout 30 "$B/bin/client" watch --controlplane "$CLI_URL" --count 2 --interval 200 \
    > "$WORK/cli.watch" 2>&1 &&
    [ "$(grep -c '^ID  ' "$WORK/cli.watch")" = 2 ] &&
    [ "$(grep -c "^${csid:0:12} " "$WORK/cli.watch")" = 2 ] &&
    ! grep -q $'\033' "$WORK/cli.watch"; then
    ok "cli: client watch --count 2 printed two tables and exited 0"
else
    ko "cli: client watch --count 2: $(head -20 "$WORK/cli.watch")"
fi
if timeout 30 "$B/bin/client" watch --controlplane "$CLI_URL" --until-done --interval 200 \
    > "$WORK/cli.watch2" 2>&1; then
    ok "cli: client watch --until-done exits 0 once no session is running"
else
    ko "cli: client watch --until-done: $(tail -5 "$WORK/cli.watch2")"
fi

# client results: the archive, byte-identical to the run's own files and
# to the reference. The archive may lag the done state: poll for it.
deadline=$((SECONDS + 30))
until cli status --controlplane "$CLI_URL" --json "$csid" 2> /dev/null |
    python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin).get("results"))' ||
    [ $SECONDS -ge $deadline ]; do sleep 0.2; done
dl="$WORK/cli-dl/sub"
if cli results --controlplane "$CLI_URL" "$csid" --out "$dl" > "$WORK/cli.results" 2>&1; then
    ok "cli: client results exited 0: $(tr '\n' ';' < "$WORK/cli.results")"
else
    ko "cli: client results failed: $(cat "$WORK/cli.results")"
fi
same=0 n=0
for f in "$cli_out"/*.csv; do
    n=$((n + 1))
    if cmp -s "$f" "$dl/$(basename "$f")"; then same=$((same + 1)); else
        echo "    differs or missing: $(basename "$f")"; fi
done
if [ "$n" -gt 0 ] && [ "$same" = "$n" ]; then
    ok "cli: the $n downloaded files are byte-identical to the files client run wrote"
else
    ko "cli: only $same of $n downloaded files equal the run's own"
fi
if python3 tests/reference/compare.py --exact "$WORK/expected-cli" "$dl" > "$WORK/cli.dl.cmp" 2>&1; then
    ok "cli: the downloaded files are byte-identical to the reference"
else
    ko "cli: the downloaded files differ from the reference: $(head -5 "$WORK/cli.dl.cmp")"
fi
if [ -d "$dl" ] && ! ls -A "$dl" | grep -q '^\.'; then ok "cli: no temporary file left in the download folder"; else
    ko "cli: temporary files left: $(ls -A "$dl")"; fi

# failures: unreachable, unknown ids, unknown command
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
cli status --controlplane "http://127.0.0.1:$port" > /dev/null 2> "$WORK/cli.unreach" || rc=$?
if [ "$rc" = 1 ] && grep -q "cannot reach the control plane at http://127.0.0.1:$port: " "$WORK/cli.unreach"; then
    ok "cli: an unreachable control plane: exit 1, '$(head -1 "$WORK/cli.unreach")'"
else
    ko "cli: unreachable control plane: exit $rc, $(cat "$WORK/cli.unreach")"
fi
rc=0
cli status --controlplane "$CLI_URL" ffffffff-ffff-4fff-8fff-ffffffffffff > /dev/null 2> "$WORK/cli.bad" || rc=$?
rc2=0
cli results --controlplane "$CLI_URL" no-such-id --out "$WORK/cli-bad" > /dev/null 2>> "$WORK/cli.bad" || rc2=$?
if [ "$rc" = 1 ] && [ "$rc2" = 1 ] && [ "$(grep -c "error: no session" "$WORK/cli.bad")" = 2 ] &&
    [ ! -e "$WORK/cli-bad" ]; then
    ok "cli: an unknown id: exit 1 from status and results, nothing written"
else
    ko "cli: unknown id: exit $rc/$rc2, $(cat "$WORK/cli.bad")"
fi
rc=0
cli frobnicate > /dev/null 2> "$WORK/cli.unknown" || rc=$?
if [ "$rc" = 2 ] && grep -q "^usage: client" "$WORK/cli.unknown" &&
    cli help | grep -q "^  watch" && cli --help | grep -q "^  results ID --out DIR" &&
    cli --help | grep -q -- "--data-folder V" && cli watch --help | grep -q -- "--count V"; then
    ok "cli: an unknown command exits 2 with a usage line; help and --help list the commands"
else
    ko "cli: unknown command exit $rc: $(cat "$WORK/cli.unknown")"
fi
