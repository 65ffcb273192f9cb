#!/usr/bin/env bash
# docker-setup.sh - makes this machine able to run coffee-stream's Docker
# Compose deployment, installing only what is missing:
#
#   1. Docker Engine (Debian's docker.io) and debootstrap   [apt-get, root]
#   2. Compose v2 (`docker compose`): Debian trixie's docker-compose package,
#      fetched through a private apt sources list that uses this machine's
#      own Debian mirror (read from /etc/apt/sources* at run time)
#   3. a running dockerd (own data root; started only if `docker info` fails)
#   4. the base image debian:bookworm-slim, made locally with debootstrap when
#      it cannot be found (no registry needed); the rootfs tarball is cached
#      under ~/.cache/coffee-stream so that happens once per machine.
#
# Environment:
#   CS_DOCKER_ROOT   dockerd data root        (default /var/lib/coffee-stream-docker)
#   CS_DOCKER_LOG    dockerd log file          (default /tmp/coffee-stream-dockerd.log)
#   CS_DOCKER_PIDFILE file getting the pid of a dockerd this script started
#                    (default /tmp/coffee-stream-dockerd.pid)
#   BASE_IMAGE       base image name           (default debian:bookworm-slim)
#
# Exit status 0 when `docker compose version` works, the daemon answers and
# the base image exists.
set -euo pipefail

DOCKER_ROOT=${CS_DOCKER_ROOT:-/var/lib/coffee-stream-docker}
DOCKER_LOG=${CS_DOCKER_LOG:-/tmp/coffee-stream-dockerd.log}
DOCKER_PIDFILE=${CS_DOCKER_PIDFILE:-/tmp/coffee-stream-dockerd.pid}
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/coffee-stream
export DEBIAN_FRONTEND=noninteractive

say() { echo "docker-setup: $*"; }
die() { echo "docker-setup: $*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 is missing; run this script as root (it uses apt-get)"
}

# The URI of the Debian archive this machine's apt uses (the one serving
# bookworm main, not the security archive). Handles both deb822 .sources
# files and one-line sources.list entries.
mirror_uri() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        case $f in
            *.sources)
                uri=$(awk 'BEGIN{RS="";FS="\n"}
                    { u=""; s="";
                      for (i=1;i<=NF;i++) {
                        if ($i ~ /^URIs:/)   { u=$i; sub(/^URIs:[ \t]*/,"",u); split(u,a,/[ \t]+/); u=a[1] }
                        if ($i ~ /^Suites:/) { s=$i }
                      }
                      if (u ~ /\/debian\/?$/ && s ~ /bookworm/) { print u; exit } }' "$f") ;;
            *)
                uri=$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { u=$i; s=$(i+1); break }
                       if (u ~ /\/debian\/?$/ && s ~ /bookworm/) { print u; exit } }' "$f") ;;
        esac
        if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
    done
    return 1
}

apt_updated=0
apt_install() {
    need_root "$*"
    if [ $apt_updated -eq 0 ]; then apt-get update -q; apt_updated=1; fi
    # docker.io's postinst may try to start a system service; a refusal is fine.
    apt-get install -y -q --no-install-recommends "$@"
}

# ---------------------------------------------------------------- 1. packages
pkgs=()
command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
# docker.io depends on these, but a docker CLI from elsewhere may be on PATH
command -v containerd >/dev/null 2>&1 || pkgs+=(containerd)
command -v runc >/dev/null 2>&1 || pkgs+=(runc)
if [ ${#pkgs[@]} -gt 0 ]; then
    say "installing ${pkgs[*]}"
    apt_install "${pkgs[@]}"
fi
command -v docker >/dev/null 2>&1 || apt_install docker-cli

# ---------------------------------------------------------------- 2. compose v2
if ! docker compose version >/dev/null 2>&1; then
    need_root "docker compose (v2)"
    mirror=$(mirror_uri) || die "cannot find the Debian mirror in /etc/apt/sources*"
    tmp=$(mktemp -d /tmp/cs-compose.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    echo "deb [signed-by=$keyring] $mirror trixie main" > "$tmp/trixie.list"
    mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
    aptopts=(-o "Dir::Etc::sourcelist=$tmp/trixie.list" -o "Dir::Etc::sourceparts=-"
             -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
             -o "APT::Get::List-Cleanup=0")
    say "fetching Compose v2 (Debian trixie's docker-compose) from $mirror"
    apt-get "${aptopts[@]}" update -q
    (cd "$tmp" && apt-get "${aptopts[@]}" download docker-compose)
    dpkg -i "$tmp"/docker-compose_*.deb
    rm -rf "$tmp"
    trap - EXIT
    docker compose version >/dev/null 2>&1 || {
        # a docker CLI outside /usr/bin may not look in Debian's plugin dir
        mkdir -p "$HOME/.docker/cli-plugins"
        ln -sf /usr/libexec/docker/cli-plugins/docker-compose "$HOME/.docker/cli-plugins/docker-compose"
    }
    docker compose version >/dev/null 2>&1 || die "docker compose still missing after install"
fi
say "$(docker compose version)"

# ---------------------------------------------------------------- 3. dockerd
if ! timeout 10 docker info >/dev/null 2>&1; then
    need_root "a running dockerd"
    mkdir -p "$DOCKER_ROOT"
    say "starting dockerd (data root $DOCKER_ROOT, log $DOCKER_LOG)"
    setsid dockerd --data-root "$DOCKER_ROOT" --pidfile "$DOCKER_PIDFILE.daemon" \
        > "$DOCKER_LOG" 2>&1 < /dev/null &
    echo $! > "$DOCKER_PIDFILE"
    for ((i = 0; i < 120; i++)); do
        timeout 5 docker info >/dev/null 2>&1 && break
        kill -0 "$(cat "$DOCKER_PIDFILE")" 2>/dev/null || { tail -n 30 "$DOCKER_LOG" >&2; die "dockerd exited"; }
        sleep 0.5
    done
    timeout 5 docker info >/dev/null 2>&1 || { tail -n 30 "$DOCKER_LOG" >&2; die "dockerd did not answer within 60 s"; }
fi
say "daemon $(docker version -f '{{.Server.Version}}' 2>/dev/null), storage $(docker info -f '{{.Driver}}' 2>/dev/null)"

# ---------------------------------------------------------------- 4. base image
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    tarball="$CACHE/${BASE_IMAGE//[:\/]/_}-rootfs.tar"
    if [ ! -s "$tarball" ]; then
        need_root "debootstrap of $BASE_IMAGE"
        mirror=$(mirror_uri) || die "cannot find the Debian mirror in /etc/apt/sources*"
        suite=${BASE_IMAGE#*:}; suite=${suite%%-*}
        rootfs=$(mktemp -d /tmp/cs-rootfs.XXXXXX)
        say "debootstrap --variant=minbase $suite from $mirror (about a minute)"
        debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 \
            || { tail -n 30 "$rootfs.log" >&2; rm -rf "$rootfs" "$rootfs.log"; die "debootstrap failed"; }
        # trim what a container never needs (like the official -slim image)
        rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
               "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
        mkdir -p "$CACHE"
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs" "$rootfs.log"
    fi
    say "importing $tarball as $BASE_IMAGE"
    docker import -c 'CMD ["bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
fi
say "base image $BASE_IMAGE ready"
