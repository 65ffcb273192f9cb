#!/usr/bin/env bash
# deps.sh - installs the Debian packages coffee-stream needs to build and
# test. As root it runs apt-get; otherwise it prints the command and fails.
set -euo pipefail

PKGS=(gcc make pkg-config librabbitmq-dev libcsv-dev uuid-dev libcjson-dev
      zlib1g-dev libcmocka-dev rabbitmq-server sqlite3 python3 curl procps
      iproute2 clang libclang-rt-14-dev valgrind libmicrohttpd-dev
      libcurl4-openssl-dev liblz4-dev libsqlite3-dev clang-format clang-tidy
      cppcheck chromium)
# node and npm drive the dashboard's browser test (tests/controlplane/browser):
# the machine's own Node.js when it has one, else Debian's
command -v npm > /dev/null || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} packages present"
    exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# rabbitmq-server's postinst tries to start a system service; a policy that
# refuses it is fine (tests start their own private node).
apt-get install -y -q --no-install-recommends "${missing[@]}"
