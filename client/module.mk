# client/: streams a data folder to the gateway, writes the result files.
$(eval $(call program,client,$(wildcard client/*.c),common))
