#!/bin/sh
# Starts rabbitmq-server in the foreground and, once it answers, makes sure
# the user $RABBITMQ_USER/$RABBITMQ_PASS exists as administrator of vhost /.
# (With the defaults guest/guest the built-in user simply keeps its password.)
set -eu
: "${RABBITMQ_USER:=guest}" "${RABBITMQ_PASS:=guest}"
# the healthcheck passes only once the user exists (marker below)
ready=/tmp/cs-broker-ready
rm -f "$ready"

rabbitmq-server &
pid=$!
trap 'rabbitmqctl stop >/dev/null 2>&1 || kill -TERM $pid; wait $pid; exit 0' TERM INT

i=0
until rabbitmqctl -q await_startup >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 120 ] || ! kill -0 $pid 2>/dev/null; then
        echo "rabbitmq-entrypoint: broker did not start" >&2
        exit 1
    fi
    sleep 1
done
if rabbitmqctl -q list_users | awk '{print $1}' | grep -qx "$RABBITMQ_USER"; then
    rabbitmqctl -q change_password "$RABBITMQ_USER" "$RABBITMQ_PASS" >/dev/null
else
    rabbitmqctl -q add_user "$RABBITMQ_USER" "$RABBITMQ_PASS" >/dev/null
fi
rabbitmqctl -q set_user_tags "$RABBITMQ_USER" administrator >/dev/null
rabbitmqctl -q set_permissions -p / "$RABBITMQ_USER" '.*' '.*' '.*' >/dev/null
if [ "$RABBITMQ_USER" != guest ]; then
    rabbitmqctl -q delete_user guest >/dev/null 2>&1 || true
fi
echo "rabbitmq-entrypoint: user $RABBITMQ_USER ready"
touch "$ready"
wait $pid
