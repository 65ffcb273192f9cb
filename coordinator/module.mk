# coordinator/: the EOF coordinator. The state machine is a library (linked
# into the unit tests through UNIT_LIBS); main.c is the process around it.
$(eval $(call library,coord,coordinator/coord.c coordinator/coord_sess.c))
UNIT_LIBS += coord
$(eval $(call program,coordinator,coordinator/main.c,coord pipeline mw common))
