# `make test-swarm`: the Docker Swarm deployment (docker/stack.yml) end to
# end on a single-node swarm on this machine (tests/swarm/run.sh; installs
# Docker and Compose itself, like test-docker, whose images it reuses). The
# host builds the client that talks to the stack's published gateway port.
.PHONY: test-swarm
test-swarm:
	@scripts/deps.sh
	$(MAKE) $(B)/bin/client
	B=$(B) tests/swarm/run.sh
