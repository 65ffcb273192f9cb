# tools/gen-dataset: deterministic synthetic data sets with the real schema,
# its quirks and planted edge cases (see tools/gen-dataset/main.c).
$(eval $(call program,gen-dataset,$(wildcard tools/gen-dataset/*.c),common))
