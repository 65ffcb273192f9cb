# workers/runtime/: the one worker runtime every worker kind links.
$(eval $(call library,worker,$(wildcard workers/runtime/*.c)))
