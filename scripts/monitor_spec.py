#!/usr/bin/env python3
"""monitor_spec.py - writes the monitors' spec (monitor/spec.h): every
process of a local pipeline to keep alive, the 3 monitors included.

  monitor_spec.py --bin DIR --logs DIR --cwd DIR --replicas SPEC
                  --gateway-port N --http-ports P1,P2,P3 [--gateway-id ID]
                  [--wrapper "valgrind ..."] [--auto-replica]
                  [--controlplane-port N]

The environment every process needs in common (AMQP_URL, CS_STATE_DIR,
MONITOR_ADDRS, ...) is inherited from the monitors, which inherit it from
whoever starts them; the spec adds what differs per process. Prints JSON.
"""
import argparse
import json
import shlex

STAGES = (("filter", "filter"), ("agg-q2", "aggregator"), ("agg-q3", "aggregator"),
          ("agg-q4", "aggregator"), ("sink", "sink"))


def replicas(spec):
    counts = {stage: 1 for stage, _ in STAGES}
    for item in filter(None, (spec or "").split(",")):
        name, _, n = item.partition("=")
        counts[name.strip()] = int(n)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--logs", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--replicas", default="")
    ap.add_argument("--gateway-port", required=True)
    ap.add_argument("--gateway-id", default="gw-local")
    ap.add_argument("--http-ports", required=True)
    ap.add_argument("--wrapper", default="")
    ap.add_argument("--auto-replica", action="store_true")
    ap.add_argument("--controlplane-port", default="",
                    help="also keep the control plane alive, on this port")
    a = ap.parse_args()
    wrapper = shlex.split(a.wrapper)

    def slot(name, binary, **env):
        return {"name": name, "argv": wrapper + ["%s/%s" % (a.bin, binary)],
                "cwd": a.cwd, "env": env, "log": "%s/%s.log" % (a.logs, name)}

    slots = [slot("coordinator", "coordinator")]
    for stage, binary in STAGES:
        for i in range(replicas(a.replicas)[stage]):
            slots.append(slot("%s-%d" % (stage, i), binary, CS_STAGE=stage,
                              CS_REPLICA_ID="auto" if a.auto_replica else str(i)))
    slots.append(slot("gateway", "gateway", GATEWAY_PORT=a.gateway_port,
                      GATEWAY_BIND="127.0.0.1", GATEWAY_ID=a.gateway_id))
    if a.controlplane_port:
        slots.append(slot("controlplane", "controlplane",
                          CONTROLPLANE_PORT=a.controlplane_port,
                          CONTROLPLANE_BIND="127.0.0.1"))
    for i, port in enumerate(a.http_ports.split(","), 1):
        s = slot("monitor-%d" % i, "monitor", MONITOR_ID=str(i),
                 MONITOR_HTTP_PORT=port)
        s["argv"] = ["%s/monitor" % a.bin]  # never under the wrapper
        slots.append(s)
    print(json.dumps({"slots": slots}, indent=1))


if __name__ == "__main__":
    main()
