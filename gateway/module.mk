# gateway/: TCP front door of the pipeline (sessions, batches, results).
$(eval $(call program,gateway,$(wildcard gateway/*.c),pipeline mw common))
