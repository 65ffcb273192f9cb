# controlplane/: the control plane (issue 12): the coordinator's session
# snapshots (cs.events) kept in memory and in SQLite, served over HTTP
# (libmicrohttpd). libsqlite3 and libmicrohttpd are linked here only.
# The stages' view (stages.c, pure) and the history (store.c, archive.c:
# SQLite and files) are libraries for the unit tests.
$(eval $(call library,cpstages,controlplane/stages.c))
$(eval $(call library,cphistory,controlplane/store.c controlplane/archive.c))
UNIT_LIBS += cpstages cphistory
$(eval $(call program,controlplane,controlplane/main.c controlplane/http.c \
    controlplane/dash.c controlplane/qpoll.c controlplane/results.c \
    controlplane/sessreq.c,cpstages cphistory pipeline mw common))
$(B)/bin/controlplane: LDLIBS += -lmicrohttpd -lsqlite3
$(B)/tests/test_cp_archive: LDLIBS += -lsqlite3
