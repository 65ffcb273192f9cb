# workers/ops/: the pure operator logic of the aggregator and the sink
# (engines, row codecs, result formatting). No runtime calls, so the unit
# tests link it without a broker.
$(eval $(call library,ops,$(wildcard workers/ops/*.c)))
UNIT_LIBS += ops
