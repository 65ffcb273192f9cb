# The Docker Compose deployment, end to end (tests/docker/run.sh): installs
# Docker Engine + Compose v2 if missing (as root), builds the images, runs two
# clients at once against the stack and compares with the reference.
.PHONY: test-docker
test-docker:
	tests/docker/run.sh
