# gateway/: TCP front door of the pipeline (sessions, batches, results).
# The pure cores (result reordering, client-stream checks) are a library,
# linked into the unit tests through UNIT_LIBS.
GW_CORE_SRCS := gateway/reorder.c gateway/stream.c
$(eval $(call library,gwcore,$(GW_CORE_SRCS)))
UNIT_LIBS += gwcore
$(eval $(call program,gateway,$(filter-out $(GW_CORE_SRCS),$(wildcard gateway/*.c)),gwcore pipeline mw common))
