#!/usr/bin/env bash
# run.sh - `make run`: starts a private broker (unless AMQP_URL is set), then
# 3 monitors, which start the coordinator, replicated workers and a gateway
# and keep them alive (a process that dies or hangs comes back); runs the
# client on the sample folders shipped under .data/, prints where the
# results are, and stops everything it started (also on error or Ctrl-C).
#
#   RUN_FOLDERS   folders under .data/ to run   (default: dataset1 generated)
#   CS_REPLICAS   replica counts                (default: 2 of every kind)
#   RUN_MONITORS  0: start the processes directly, without monitors
#   RUN_KEEP      1: keep everything running after the clients, until Ctrl-C
#                 (to browse the dashboard and the archived results)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${B:=build}"
export B
source scripts/broker.sh
source scripts/pipeline.sh

export CS_REPLICAS=${CS_REPLICAS:-filter=2,agg-q2=2,agg-q3=2,agg-q4=2,sink=2}
export PIPELINE_MONITORS=${RUN_MONITORS:-1} PIPELINE_CONTROLPLANE=1
folders=${RUN_FOLDERS:-dataset1 generated}

broker_start
echo "run: broker $AMQP_URL (management UI: ${MGMT_URL:-n/a})"
pipeline_start
echo "run: dashboard: http://$CONTROLPLANE_ADDR/ (live: sessions, stages, results)"
echo "run: API: curl http://$CONTROLPLANE_ADDR/api/sessions (also /api/stages, /metrics;" \
    "client status|watch|results with CONTROLPLANE_URL=http://$CONTROLPLANE_ADDR)"
status=0
for f in $folders; do
    echo
    echo "run: client --data-folder $f"
    if "$B/bin/client" --data-folder "$f" --gateway "$GATEWAY_ADDR"; then
        echo "run: results of $f are in results/$f/"
        ls -l "results/$f/"
    else
        echo "run: client failed on $f (see above)" >&2
        status=1
    fi
done
echo
echo "run: the control plane saw: $(curl -s "http://$CONTROLPLANE_ADDR/api/sessions" |
    python3 -c 'import json,sys; print(", ".join("%s %s" % (x["id"][:8], x["state"]) for x in json.load(sys.stdin)["sessions"]))' 2>/dev/null || echo '(no answer)')"
if [ "${RUN_KEEP:-0}" = 1 ]; then
    echo "run: RUN_KEEP=1: still running; dashboard http://$CONTROLPLANE_ADDR/ (Ctrl-C stops everything)"
    sleep infinity # Ctrl-C: the EXIT trap (scripts/broker.sh) stops it all
fi
pipeline_stop || status=1
exit $status
