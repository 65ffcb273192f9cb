# client/: streams a data folder to the gateway, writes the result files;
# status, watch and results ask the control plane over HTTP (libcurl, not
# linked: curl_dl.c opens libcurl.so.4 with dlopen when one of them runs,
# so the main job does not pay for loading it; glibc has dlopen, no -ldl).
# view.c (the pure text of those commands) is also a library for the unit
# tests (tests/unit/test_client_view.c).
$(eval $(call program,client,$(wildcard client/*.c),common))
$(eval $(call library,clientview,client/view.c))
UNIT_LIBS += clientview
