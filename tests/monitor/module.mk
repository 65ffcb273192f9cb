# tests/monitor/: the monitors (issue 10) on real processes: election,
# re-election, revival, detection and restart of crashed and hung workers,
# deliberate stops, duplicate ids, /healthz (run.sh; about a minute).
.PHONY: test-monitor
test-monitor: programs
	B=$(B) tests/monitor/run.sh
