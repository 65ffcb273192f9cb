# The Docker Compose deployment, end to end (tests/docker/run.sh): installs
# Docker Engine + Compose v2 if missing (as root), builds the images, runs two
# clients at once against the stack and compares with the reference, then a
# chaos phase (docker kill of pipeline and monitor containers while sessions
# run; tests/docker/chaos.py). The host builds gen-dataset for its data sets.
.PHONY: test-docker
test-docker:
	@scripts/deps.sh
	$(MAKE) $(B)/bin/gen-dataset
	B=$(B) tests/docker/run.sh
