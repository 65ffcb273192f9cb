# tests/chaos/: fault injection on the whole system (private broker, real
# processes, SIGKILL), results compared with the reference.
#   make test-chaos         random kill -9 of pipeline processes and monitors (the
#                           leader included) while sessions run; the 3 monitors
#                           do every restart (CHAOS_SEED=N reproduces a run's
#                           kill schedule)
#   make chaos-soak         the same with 200+ kills on a scale-0.1 set (not in `make test`)
#   make test-crashpoints   one case per CS_FAULT crash point, a broker restart
#                           mid-session, control messages while a stage is down
.PHONY: test-chaos chaos-soak test-crashpoints

CHAOS_ARGS = $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))

test-chaos: programs
	B=$(B) tests/chaos/run.sh chaos $(CHAOS_ARGS)

chaos-soak: programs
	B=$(B) tests/chaos/run.sh chaos --soak $(CHAOS_ARGS)

test-crashpoints: programs
	B=$(B) tests/chaos/run.sh crashpoints
