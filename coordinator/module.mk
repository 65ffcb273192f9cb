# coordinator/: the EOF coordinator. The state machine and the process around
# it (service.c) are a library (linked into the unit tests through UNIT_LIBS);
# main.c only calls coord_service_main().
$(eval $(call library,coord,coordinator/coord.c coordinator/coord_sess.c coordinator/coord_stall.c coordinator/coord_snap.c \
    coordinator/events.c coordinator/service.c))
UNIT_LIBS += coord
$(eval $(call program,coordinator,coordinator/main.c,coord pipeline mw common))
