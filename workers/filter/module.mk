# workers/filter/: the filter kind. The engine and its routes form a library
# so unit tests can drive them without a broker.
$(eval $(call library,filter,workers/filter/filter.c workers/filter/routes.c))
$(eval $(call program,filter,workers/filter/main.c,filter worker pipeline mw common))
UNIT_LIBS += filter
