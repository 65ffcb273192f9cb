# pipeline/: topology shared by gateway, coordinator and workers (uses mw).
$(eval $(call library,pipeline,$(wildcard pipeline/*.c)))
