#!/usr/bin/env python3
"""cp_check.py ADDR RESULTS_DIR FOLDER... - the Compose deployment's control
plane (tests/docker/run.sh): within 60 s it lists a done session with
archived results for every folder the clients ran, and each folder's result
files (as the client wrote them under RESULTS_DIR/FOLDER) are byte-identical
to the archived files of one of those sessions. Exit 0 or 1 (why on stdout)."""
import json
import sys
import time
import urllib.request

FILES = ["q1.csv", "q2_best_selling.csv", "q2_most_profitable.csv", "q3.csv", "q4.csv"]


def get(addr, path):
    with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=10) as r:
        return r.read()


def main():
    addr, results, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
    deadline, done = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        try:
            done = [s for s in json.loads(get(addr, "/api/sessions"))["sessions"]
                    if s["state"] == "done" and s.get("results")]
        except (OSError, ValueError):
            done = []
        if len(done) >= len(folders):
            break
        time.sleep(0.5)
    print("done sessions with results: %d" % len(done))
    if len(done) < len(folders):
        print("not every session is listed done with its results")
        return 1
    archived = [[get(addr, "/api/sessions/%s/results/%s" % (s["id"], f)) for f in FILES]
                for s in done]
    for folder in folders:
        mine = []
        for f in FILES:
            with open("%s/%s/%s" % (results, folder, f), "rb") as fh:
                mine.append(fh.read())
        if mine not in archived:
            print("%s: no archived session has the same five files" % folder)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
