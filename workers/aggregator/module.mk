# workers/aggregator/: the agg-q2/q3/q4 worker kinds (engine in workers/ops/).
$(eval $(call program,aggregator,workers/aggregator/main.c workers/aggregator/agg_worker.c,ops worker pipeline mw common))
