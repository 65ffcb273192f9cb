# tests/cluster/: the pipeline on a 3-node RabbitMQ cluster with quorum queues
# (AMQP_URL listing the nodes, CS_QUEUE_TYPE=quorum); one node SIGKILLed
# mid-session while two clients run: both sessions byte-exact, the pause
# measured and printed, the node rejoins.
#   make test-cluster          three private nodes on loopback (tests/cluster/cluster.py;
#                              CLUSTER_SEED=N reproduces the node choice); in CI
#   make test-cluster-docker   the same with docker-compose.cluster.yml and the
#                              project's images (tests/cluster/docker.sh; not in CI)
.PHONY: test-cluster test-cluster-docker

test-cluster: programs
	B=$(B) tests/cluster/run.sh $(if $(CLUSTER_SEED),--seed $(CLUSTER_SEED))

test-cluster-docker:
	@scripts/deps.sh
	$(MAKE) $(B)/bin/gen-dataset
	B=$(B) tests/cluster/docker.sh
