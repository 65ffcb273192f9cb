# workers/sink/: the sink worker kind (logic in workers/ops/sink_*).
$(eval $(call program,sink,workers/sink/main.c workers/sink/sink_worker.c,ops worker pipeline mw common))
