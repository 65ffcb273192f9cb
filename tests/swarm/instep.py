#!/usr/bin/env python3
"""instep.py - is docker/stack.yml in step with docker-compose.yml?

Both files are resolved by `docker compose config --format json` under the
same settings (the project's .env, an empty env file with every variable
unset so the defaults written in each file meet, and a set of overrides),
and every service of the stack must match its twin in docker-compose.yml on
what decides how the system behaves: image, environment, volumes, networks,
ports (container and host port), health check, hostname, stop grace period,
replica count. The stack must hold every service of the compose file but the
ones it leaves out on purpose (the one-off client, the monitors), and the
same named volumes and networks. Then `docker stack config` (the loader of
`docker stack deploy`) must accept the stack file, i.e. it is valid for
Swarm's schema.

One PASS/FAIL line per check; exit status 1 if any failed.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE = os.path.join(ROOT, "docker-compose.yml")
STACK = os.path.join(ROOT, "docker", "stack.yml")

# Services docker-compose.yml has and the stack leaves out, and environment
# variables only the compose file sets (the monitors' heartbeat addresses).
LEFT_OUT = {"client", "monitor-1", "monitor-2", "monitor-3"}
COMPOSE_ONLY_ENV = {"MONITOR_ADDRS"}

# Every variable the two files read: cleared for the "defaults" case.
VARS = [
    "FILTER_REPLICAS", "AGG_Q2_REPLICAS", "AGG_Q3_REPLICAS", "AGG_Q4_REPLICAS",
    "SINK_REPLICAS", "RABBITMQ_USER", "RABBITMQ_PASS", "PUBLISH_ADDR",
    "GATEWAY_HOST_PORT", "MGMT_HOST_PORT", "CONTROLPLANE_HOST_PORT",
    "ADMIN_TOKEN", "DATA_DIR", "RESULTS_DIR",
    "MONITORS", "DOCKER_SOCKET", "IMAGE_PREFIX", "IMAGE_TAG", "LOG_LEVEL",
    "BASE_IMAGE", "CS_UID", "CS_GID",
]

CASES = [
    (".env", os.path.join(ROOT, ".env"), {}),
    ("defaults (no .env, nothing set)", os.devnull, {}),
    ("overrides", os.path.join(ROOT, ".env"), {
        "FILTER_REPLICAS": "3", "AGG_Q2_REPLICAS": "1", "AGG_Q3_REPLICAS": "4",
        "AGG_Q4_REPLICAS": "5", "SINK_REPLICAS": "3", "RABBITMQ_USER": "u1",
        "RABBITMQ_PASS": "p1x", "GATEWAY_HOST_PORT": "9100",
        "MGMT_HOST_PORT": "15999", "CONTROLPLANE_HOST_PORT": "8181",
        "ADMIN_TOKEN": "t0k3n", "IMAGE_PREFIX": "myregistry:5000/cs",
        "IMAGE_TAG": "v7", "LOG_LEVEL": "debug",
    }),
]

failed = 0


def check(cond, what):
    global failed
    print(("PASS: " if cond else "FAIL: ") + what)
    if not cond:
        failed += 1
    return cond


def resolve(path, env_file, env):
    out = subprocess.run(
        ["docker", "compose", "--project-directory", ROOT, "-f", path,
         "--env-file", env_file, "config", "--format", "json"],
        env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"docker compose config -f {path}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def essence(svc, drop_env=()):
    """What must agree between the two files, of one resolved service."""
    env = {k: v for k, v in (svc.get("environment") or {}).items()
           if k not in drop_env}
    return {
        "image": svc.get("image"),
        "environment": env,
        "volumes": sorted((v.get("type"), v.get("source"), v.get("target"))
                          for v in svc.get("volumes") or []),
        "networks": sorted(svc.get("networks") or {}),
        "ports": sorted((p.get("target"), str(p.get("published")))
                        for p in svc.get("ports") or []),
        "healthcheck": svc.get("healthcheck"),
        "hostname": svc.get("hostname"),
        "stop_grace_period": svc.get("stop_grace_period"),
        "replicas": (svc.get("deploy") or {}).get("replicas", 1),
    }


def compare(name, env_file, overrides):
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env.update(overrides)
    comp = resolve(COMPOSE, env_file, env)
    stack = resolve(STACK, env_file, env)
    cs, ss = comp["services"], stack["services"]
    check(set(ss) == set(cs) - LEFT_OUT,
          f"{name}: the stack has the compose services but {sorted(LEFT_OUT)}"
          f" (stack {sorted(ss)})")
    for svc in sorted(set(ss) & set(cs)):
        a = essence(cs[svc], COMPOSE_ONLY_ENV)
        b = essence(ss[svc])
        diff = [k for k in a if a[k] != b[k]]
        if not check(not diff, f"{name}: service {svc} agrees"
                     + (f" (differs in {', '.join(diff)})" if diff else "")):
            for k in diff:
                print(f"    compose {k}: {a[k]}\n    stack   {k}: {b[k]}")
    for key in ("volumes", "networks"):
        check(set(comp.get(key) or {}) == set(stack.get(key) or {}),
              f"{name}: the same named {key}")


def stack_schema():
    """docker stack's own loader (stack deploy's) must accept the file."""
    env = dict(os.environ)
    out = subprocess.run(["docker", "stack", "config", "-c", STACK], env=env,
                         capture_output=True, text=True, check=False)
    check(out.returncode == 0 and "gateway:" in out.stdout,
          "docker stack config accepts docker/stack.yml (Swarm's schema)"
          + (f": {out.stderr.strip()}" if out.returncode else ""))


def main():
    for name, env_file, overrides in CASES:
        try:
            compare(name, env_file, overrides)
        except RuntimeError as e:
            check(False, f"{name}: {e}")
    stack_schema()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
