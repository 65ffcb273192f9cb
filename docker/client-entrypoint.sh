#!/bin/sh
# Client container entrypoint: runs the client as the owner of the mounted
# /results folder (so result files on the host belong to whoever owns the
# host's results folder), unless CS_UID/CS_GID say otherwise or the container
# already runs as a non-root user (compose `user:`).
set -eu
if [ "$(id -u)" = 0 ]; then
    uid=${CS_UID:-$(stat -c %u /results 2>/dev/null || echo 0)}
    gid=${CS_GID:-$(stat -c %g /results 2>/dev/null || echo 0)}
    if [ "$uid" != 0 ] || [ "$gid" != 0 ]; then
        exec setpriv --reuid="$uid" --regid="$gid" --clear-groups client "$@"
    fi
fi
exec client "$@"
