# coffee-stream: plain GNU make, non-recursive.
#
# Every component directory owns a `module.mk` fragment that adds its sources
# to a library (LIB_<name>_SRCS) or declares a program with $(call program,...).
# Objects and binaries go under $(B) (build/ by default, build/asan for `make asan`).

B        ?= build
CC       ?= gcc
SAN      ?=
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Werror
CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS   := -std=c11 $(OPT) $(WARN) $(SAN) -pthread -MMD -MP
LDFLAGS  := $(SAN) -pthread
LDLIBS   := -lrabbitmq -lcsv -luuid -lcjson -lz -llz4 -lm

PROGRAMS :=
UNIT_LIBS :=

.PHONY: all
# Keep objects make would treat as intermediate (unit-test objects).
.SECONDARY:
all: programs

# $(call library,name,sources) -> $(B)/lib<name>.a
define library
LIB_$(1)_OBJS := $$(patsubst %.c,$$(B)/obj/%.o,$(2))
$$(B)/lib$(1).a: $$(LIB_$(1)_OBJS)
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
ALL_OBJS += $$(LIB_$(1)_OBJS)
endef

# $(call program,name,sources,libs) -> $(B)/bin/<name>
define program
PROG_$(1)_OBJS := $$(patsubst %.c,$$(B)/obj/%.o,$(2))
$$(B)/bin/$(1): $$(PROG_$(1)_OBJS) $$(foreach l,$(3),$$(B)/lib$$(l).a)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
PROGRAMS += $$(B)/bin/$(1)
ALL_OBJS += $$(PROG_$(1)_OBJS)
endef

include $(sort $(wildcard */module.mk */*/module.mk))

# The layering, enforced: the folders whose headers a folder's sources may
# include (its own first). A folder not listed has no include path and does
# not build. So the client cannot include the middleware, the operators
# (workers/ops) cannot include the worker runtime, and nothing but the tests
# reaches into a program's folder.
define includes
$$(B)/obj/$(1)/%.o: INCS := $(foreach d,$(2),-I$(d))
$$(B)/tidy/$(1)/%.ok: INCS := $(foreach d,$(2),-I$(d))
endef
L_COMMON   := common
L_MW       := $(L_COMMON) middleware
L_PIPELINE := $(L_MW) pipeline
L_RUNTIME  := $(L_PIPELINE) workers/runtime
$(eval $(call includes,common,$(L_COMMON)))
$(eval $(call includes,middleware,$(L_MW)))
$(eval $(call includes,pipeline,$(L_PIPELINE)))
$(eval $(call includes,workers/runtime,$(L_RUNTIME)))
$(eval $(call includes,workers/ops,workers/ops $(L_COMMON)))
$(eval $(call includes,workers/filter,workers/filter $(L_RUNTIME)))
$(eval $(call includes,workers/aggregator,workers/aggregator workers/ops $(L_RUNTIME)))
$(eval $(call includes,workers/sink,workers/sink workers/ops $(L_RUNTIME)))
$(eval $(call includes,coordinator,coordinator $(L_PIPELINE)))
$(eval $(call includes,gateway,gateway $(L_PIPELINE)))
$(eval $(call includes,client,client $(L_COMMON)))
$(eval $(call includes,monitor,monitor $(L_COMMON)))
$(eval $(call includes,controlplane,controlplane $(L_PIPELINE)))
$(eval $(call includes,tools/gen-dataset,tools/gen-dataset $(L_COMMON)))
# tests see everything (path-qualified includes from the root for programs'
# internals: "coordinator/coord.h")
TEST_INCS := . tests/unit tests/middleware workers/filter $(L_RUNTIME)
$(eval $(call includes,tests,$(TEST_INCS)))

# Unit tests: every tests/unit/test_*.c is one cmocka binary linked with all libs.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
# Operator libraries (UNIT_LIBS += name in a module.mk) come first: they use the rest.
ALL_LIBS  = $(foreach l,$(UNIT_LIBS) worker pipeline mw common,$(B)/lib$(l).a)
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
ALL_OBJS += $(patsubst %.c,$(B)/obj/%.o,$(UNIT_SRCS))

# Unit tests that run whole programs (the worker runtime, the coordinator
# service) against the fake middleware tests/unit/fake_mw.c. The fake and its
# helpers come first and libmw.a is not linked at all, so a middleware
# function the fake lacks is a link error, never a silent call into the real
# library.
FAKE_MW_TESTS := test_worker test_worker_log test_coord_service
FAKE_MW_OBJS  := $(patsubst %.c,$(B)/obj/%.o,tests/unit/fake_mw.c tests/unit/fake_mw_script.c \
                   tests/unit/tfix.c tests/unit/wkinds.c)
FAKE_MW_LIBS   = $(foreach l,$(UNIT_LIBS) worker pipeline common,$(B)/lib$(l).a)
$(patsubst %,$(B)/tests/%,$(FAKE_MW_TESTS)): $(B)/tests/%: \
    $(B)/obj/tests/unit/%.o $(FAKE_MW_OBJS) $(FAKE_MW_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
ALL_OBJS += $(FAKE_MW_OBJS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(INCS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

.PHONY: programs unit-bins
programs: $(PROGRAMS)
unit-bins: $(UNIT_BINS)

# ---------------------------------------------------------------- tests
.PHONY: test unit test-middleware test-e2e test-reference asan test-asan deps \
        clean run bench demo-multi lint format format-check tidy

# Entry points users type install missing Debian packages first (a no-op when
# everything is there), then build and run in a sub-make.
test:
	@scripts/deps.sh
	$(MAKE) programs unit-bins
	$(MAKE) lint format-check tidy
	$(MAKE) unit
	$(MAKE) test-reference
	$(MAKE) test-middleware
	$(MAKE) test-monitor
	$(MAKE) test-e2e
	$(MAKE) test-controlplane
	$(MAKE) test-chaos
	$(MAKE) test-crashpoints
	$(MAKE) test-hostile
	$(MAKE) test-valgrind
	$(MAKE) fuzz-smoke

# Each binary gets UNIT_TIMEOUT seconds: a test that hangs fails.
UNIT_TIMEOUT ?= 120
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; timeout $(UNIT_TIMEOUT) $$t; done

test-reference: programs
	B=$(B) tests/reference/selftest.sh

test-middleware: programs
	B=$(B) tests/middleware/run.sh

test-e2e: programs
	B=$(B) tests/e2e/run.sh
	B=$(B) tests/e2e/sessions.sh
	B=$(B) tests/e2e/gateway_kill.sh
	B=$(B) tests/e2e/stage_down.sh
	B=$(B) tests/e2e/backpressure.sh
	B=$(B) tests/e2e/admission.sh
	B=$(B) tests/e2e/pool.sh

asan:
	@scripts/deps.sh
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  programs unit-bins
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=1 \
	  unit test-middleware test-e2e test-hostile

test-asan: asan

run:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) scripts/run.sh

demo-multi:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) scripts/demo_multi.sh

# bench: scale 0.1 (BENCH_SCALE=...); bench-full: scale 1 (~3.3 GB, generated
# once into ~/.cache/coffee-stream/data); bench-scaling: the report at each of
# BENCH_SCALES, time per GB, then 1, 2 and 3 filter replicas (docs/BENCHMARKS.md)
.PHONY: bench-full bench-scaling bench-sessions
BENCH_SCALES ?= 0.01 0.1 1
bench:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) scripts/bench.sh

bench-full:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) BENCH_SCALE=1 BENCH_SCALES= scripts/bench.sh

# sessions at scale: BENCH_SESSIONS (1000) tiny sessions at once against
# MAX_SESSIONS (64) slots; the rest wait in the gateway's line
bench-sessions:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) scripts/bench_sessions.sh

bench-scaling:
	@scripts/deps.sh
	$(MAKE) programs
	B=$(B) BENCH_SCALES="$(BENCH_SCALES)" scripts/bench.sh

deps:
	scripts/deps.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	  --suppress=missingIncludeSystem -I common -I middleware -I workers/runtime \
	  common middleware pipeline gateway client workers coordinator monitor \
	  controlplane tools

# The style is .clang-format's (4 spaces, Linux braces, 80 columns):
# `make format` applies it, `make format-check` (in `make test`) fails on any
# file it would change.
C_FILES = $$(git ls-files '*.c' '*.h')
format:
	clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run --Werror $(C_FILES) && \
	  echo "format-check: every C file as .clang-format says"

# clang-tidy with .clang-tidy's checks (bugprone-*, cert-err33-c) on every
# program and library source, each with its folder's include path; a file
# is checked again only when it changed.
TIDY_SRCS := $(filter-out tests/%,$(patsubst ./%,%,$(shell git ls-files '*.c' 2>/dev/null)))
$(B)/tidy/%.ok: %.c .clang-tidy
	@mkdir -p $(@D)
	clang-tidy --quiet $< -- $(INCS) $(CPPFLAGS) -std=c11 && touch $@
tidy: $(patsubst %.c,$(B)/tidy/%.ok,$(TIDY_SRCS))
	@echo "tidy: $(words $(TIDY_SRCS)) sources clean"

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d)
