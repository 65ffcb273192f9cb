# controlplane/: the control plane (issue 12): the coordinator's session
# snapshots (cs.events) kept in memory and in SQLite, served over HTTP
# (libmicrohttpd). libsqlite3 and libmicrohttpd are linked here only.
# The stages' view (stages.c, pure) is a library for the unit tests.
$(eval $(call library,cpstages,controlplane/stages.c))
UNIT_LIBS += cpstages
$(eval $(call program,controlplane,controlplane/main.c controlplane/store.c \
    controlplane/http.c controlplane/dash.c controlplane/qpoll.c \
    controlplane/archive.c controlplane/results.c controlplane/sessreq.c,\
    cpstages pipeline mw common))
$(B)/bin/controlplane: LDLIBS += -lmicrohttpd -lsqlite3
