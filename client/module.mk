# client/: streams a data folder to the gateway, writes the result files;
# status, watch and results ask the control plane over HTTP (libcurl, linked
# here only). view.c (the pure text of those commands) is also a library for
# the unit tests (tests/unit/test_client_view.c).
$(eval $(call program,client,$(wildcard client/*.c),common))
$(B)/bin/client: LDLIBS += -lcurl
$(eval $(call library,clientview,client/view.c))
UNIT_LIBS += clientview
