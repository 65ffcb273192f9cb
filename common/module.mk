# common/: code shared by every component (no AMQP here).
$(eval $(call library,common,$(wildcard common/*.c)))
