# tests/cluster/: the pipeline on a 3-node RabbitMQ cluster with quorum queues
# (AMQP_URL listing the nodes, CS_QUEUE_TYPE=quorum); one node SIGKILLed
# mid-session while two clients run: both sessions byte-exact, the pause
# measured and printed, the node rejoins (tests/cluster/cluster.py).
#   make test-cluster                  CLUSTER_SEED=N reproduces the node choice
.PHONY: test-cluster

test-cluster: programs
	B=$(B) tests/cluster/run.sh $(if $(CLUSTER_SEED),--seed $(CLUSTER_SEED))
