#!/bin/sh
# Monitor container entrypoint: runs the monitor as the unprivileged user cs
# (uid 10001) with the group that owns the Docker socket as its one extra
# group, found here at start because its number differs between hosts
# (root:docker or root:root, mode 660, in dockerd's default setup). When the
# socket is not group-writable (or the container already runs as a user of
# its own, compose `user:`), the monitor runs as it is.
set -eu
sock=/var/run/docker.sock
case ${DOCKER_HOST:-} in unix://*) sock=${DOCKER_HOST#unix://} ;; esac
if [ "$(id -u)" = 0 ] && [ -S "$sock" ]; then
    gid=$(stat -c %g "$sock")
    mode=$(stat -c %a "$sock")
    case $mode in
        *[67][0-7]) exec setpriv --reuid=10001 --regid=10001 --groups="$gid" monitor "$@" ;;
    esac
    echo "monitor-entrypoint: $sock (mode $mode) is not group-writable: running as root" >&2
fi
exec monitor "$@"
