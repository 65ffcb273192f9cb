# tests/controlplane/: the control plane's API, metrics and history against
# a real broker, pipeline and client (tests/controlplane/run.sh).
.PHONY: test-controlplane
test-controlplane: programs
	B=$(B) tests/controlplane/run.sh
