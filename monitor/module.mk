# monitor/: keeps the pipeline's processes alive (issue 10). The pure logic
# (election, slot table, the local spec, the Docker backend's parser and
# container table) is a library, linked into the unit tests through
# UNIT_LIBS; the program adds the socket, the backends (local.c; docker.c
# with dkapi.c: the Docker Engine API over libcurl) and the HTTP endpoints
# (libmicrohttpd). libcurl and libmicrohttpd are linked here only.
$(eval $(call library,monitor,monitor/elect.c monitor/procs.c monitor/spec.c \
    monitor/dkstate.c))
UNIT_LIBS += monitor
$(eval $(call program,monitor,monitor/main.c monitor/net.c monitor/local.c \
    monitor/docker.c monitor/dkapi.c monitor/http.c monitor/status.c,monitor common))
$(B)/bin/monitor: LDLIBS += -lmicrohttpd -lcurl
