#!/bin/sh
# Starts rabbitmq-server in the foreground and, once it answers, makes sure
# the user $RABBITMQ_USER/$RABBITMQ_PASS exists as administrator of vhost /.
# (With the defaults guest/guest the built-in user simply keeps its password.)
#
# Cluster mode (docker-compose.cluster.yml), off unless both are set:
#   RABBITMQ_CLUSTER_NODES  the cluster's node names, comma-separated
#                           (rabbit@rabbitmq,rabbit@rabbitmq-2,...): peer
#                           discovery by classic_config, so a blank node
#                           joins the others by configuration, no manual join
#   RABBITMQ_ERLANG_COOKIE  the shared secret of the nodes (and of the CLI
#                           tools, e.g. the healthcheck): written to the
#                           cookie file of user rabbitmq
set -eu
: "${RABBITMQ_USER:=guest}" "${RABBITMQ_PASS:=guest}"
# the healthcheck passes only once the user exists (marker below)
ready=/tmp/cs-broker-ready
rm -f "$ready"

if [ -n "${RABBITMQ_CLUSTER_NODES:-}" ]; then
    if [ -z "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
        echo "rabbitmq-entrypoint: RABBITMQ_CLUSTER_NODES needs RABBITMQ_ERLANG_COOKIE" >&2
        exit 2
    fi
    cookie="$HOME/.erlang.cookie"
    [ ! -f "$cookie" ] || chmod 600 "$cookie"
    printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$cookie"
    chmod 400 "$cookie"
    conf=/tmp/cs-rabbitmq-cluster.conf
    {
        cat /etc/rabbitmq/rabbitmq.conf
        echo "cluster_formation.peer_discovery_backend = classic_config"
        i=0
        for n in $(echo "$RABBITMQ_CLUSTER_NODES" | tr ',' ' '); do
            i=$((i + 1))
            echo "cluster_formation.classic_config.nodes.$i = $n"
        done
        # nodes booting together find each other: retry for a minute
        echo "cluster_formation.discovery_retry_limit = 60"
        echo "cluster_formation.discovery_retry_interval = 1000"
        # a node cut off from the majority stops serving (its clients go
        # to the majority side) rather than diverging
        echo "cluster_partition_handling = pause_minority"
    } > "$conf"
    export RABBITMQ_CONFIG_FILE="$conf"
    echo "rabbitmq-entrypoint: node $RABBITMQ_NODENAME of cluster $RABBITMQ_CLUSTER_NODES"
fi

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
# (In a cluster the users are shared and every node runs this: another
# node may add the user between the check and add_user.)
if rabbitmqctl -q list_users | awk '{print $1}' | grep -qx "$RABBITMQ_USER" ||
    ! rabbitmqctl -q add_user "$RABBITMQ_USER" "$RABBITMQ_PASS" >/dev/null 2>&1; then
    rabbitmqctl -q change_password "$RABBITMQ_USER" "$RABBITMQ_PASS" >/dev/null
fi
rabbitmqctl -q set_user_tags "$RABBITMQ_USER" administrator >/dev/null
rabbitmqctl -q set_permissions -p / "$RABBITMQ_USER" '.*' '.*' '.*' >/dev/null
if [ "$RABBITMQ_USER" != guest ]; then
    rabbitmqctl -q delete_user guest >/dev/null 2>&1 || true
fi
echo "rabbitmq-entrypoint: user $RABBITMQ_USER ready"
touch "$ready"
wait $pid
