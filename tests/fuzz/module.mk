# tests/fuzz/: libFuzzer harnesses for every parser of outside bytes, built
# with clang (ASan + UBSan + libFuzzer) under build/fuzz/, apart from the
# gcc build. Seeds live in tests/fuzz/corpus/<harness>/; what a run finds
# goes to build/fuzz/corpus/<harness>/, crashes to build/fuzz/crashes/.
#
#   make fuzz          each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke    each harness for 10 s (CI)
#   make fuzz-bins     build only

FUZZ_B       := build/fuzz
FUZZ_CC      ?= $(shell command -v clang-14 || command -v clang)
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := proto batcher filter ctl field csvrows cliview cpstore
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer $(WARN) $(FUZZ_SAN) -MMD -MP
FUZZ_LIB_SRCS := $(wildcard common/*.c) workers/filter/filter.c workers/filter/routes.c \
                 client/view.c controlplane/store.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS    := $(foreach n,$(FUZZ_NAMES),$(FUZZ_B)/fuzz_$(n))

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(foreach d,$(TEST_INCS),-I$(d)) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/libfuzzcommon.a: $(FUZZ_LIB_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_B)/libfuzzcommon.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
$(FUZZ_B)/fuzz_cpstore: LDLIBS += -lsqlite3

.PHONY: fuzz fuzz-smoke fuzz-bins
fuzz-bins: $(FUZZ_BINS)

# One harness after the other; the first crash stops the run (its input is
# in build/fuzz/crashes/, reproduce with `build/fuzz/fuzz_<name> <file>`).
fuzz: $(FUZZ_BINS)
	@set -e; for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_B)/corpus/$$n $(FUZZ_B)/crashes; \
	  echo "== fuzz_$$n for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_B)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_B)/crashes/$$n- \
	    $(FUZZ_B)/corpus/$$n tests/fuzz/corpus/$$n > $(FUZZ_B)/fuzz_$$n.log 2>&1 \
	    && st=0 || st=$$?; \
	  grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' $(FUZZ_B)/fuzz_$$n.log || true; \
	  if [ $$st -ne 0 ]; then echo "FAIL: fuzz_$$n crashed (log: $(FUZZ_B)/fuzz_$$n.log)"; exit 1; fi; \
	  echo "PASS: fuzz_$$n: no crash in $(FUZZ_SECONDS) s"; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

-include $(FUZZ_LIB_OBJS:.o=.d) $(patsubst %,$(FUZZ_B)/obj/tests/fuzz/fuzz_%.d,$(FUZZ_NAMES))
