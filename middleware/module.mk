# middleware/: libmw, the only code that talks AMQP (rabbitmq-c).
$(eval $(call library,mw,$(wildcard middleware/*.c)))
