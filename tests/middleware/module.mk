# tests/middleware/: mwt, the middleware integration test driver (one program,
# one mode per case or role); tests/middleware/run.sh runs it against a broker.
$(eval $(call program,mwt,$(wildcard tests/middleware/*.c),mw common))
