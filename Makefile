# The two commands of the quick start. Each installs what is missing, configures and builds.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all bootstrap configure build test bench run clean package
.PHONY: test-sanitize test-tsan

all: build

bootstrap:
	@scripts/bootstrap

# -Werror when the environment says CI (as .ci/run does); explicit, so the cache never keeps a stale value.
AIRLOCK_WERROR ?= $(if $(CI),ON,OFF)
# CI builds keep line tables only (-g1, a quarter less compile time; docs/testing.md "CI time").
AIRLOCK_DEBUG_INFO ?= $(if $(CI),-g1,)

configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_WERROR=$(AIRLOCK_WERROR) -DAIRLOCK_DEBUG_INFO=$(AIRLOCK_DEBUG_INFO) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target benchmarks
	@$(BUILD_DIR)/bench/run-benchmarks

# Builds only what the demo needs (the host, airlockctl, the example plugins), then runs it.
DEMO_TARGETS = airlock-host airlockctl example_hello example_grep example_checksum \
	example_journal example_intruder example_embed_demo
DEMO_TARGETS += example_hello_py
DEMO_TARGETS += example_hello_c

run: configure
	@echo "make run: building the host, airlockctl and the example plugins in $(BUILD_DIR) ..."
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target $(DEMO_TARGETS) >/dev/null
	@scripts/run-demo $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

# The Debian package (CPack, cmake/AirlockPackage.cmake): $(BUILD_DIR)/airlock_VERSION_ARCH.deb.
package: build
	@cd $(BUILD_DIR) && cpack -G DEB

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build
# directory. The confined plugins stay uninstrumented (docs/testing.md).
SANITIZE_BUILD_DIR ?= build-sanitize
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1:quarantine_size_mb=8 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=print_suppressions=0

test-sanitize: bootstrap
	@cmake -S . -B $(SANITIZE_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_WERROR=$(AIRLOCK_WERROR) -DAIRLOCK_DEBUG_INFO=$(AIRLOCK_DEBUG_INFO) \
		-DAIRLOCK_SANITIZE=address,undefined >/dev/null
	@cmake --build $(SANITIZE_BUILD_DIR) -j $(JOBS)
	@cd $(SANITIZE_BUILD_DIR) && $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS)

# The supervisor and control tests (the event loop, the log writer thread, the control
# server) under ThreadSanitizer, in build-tsan. Only those test programs are built. One case
# is left to the other builds: its RSS bound (64 MiB for a 32 MiB queue) does not allow for
# TSan's shadow memory of that queue (137 MiB measured; docs/testing.md).
TSAN_BUILD_DIR ?= build-tsan
TSAN_TARGETS = airlock_supervisor_tests airlock_control_tests airlock_control_supervisor_tests
TSAN_ENV = TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

test-tsan: bootstrap
	@cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIRLOCK_WERROR=$(AIRLOCK_WERROR) -DAIRLOCK_DEBUG_INFO=$(AIRLOCK_DEBUG_INFO) \
		-DAIRLOCK_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	@cd $(TSAN_BUILD_DIR)/tests/host/supervisor && $(TSAN_ENV) ./airlock_supervisor_tests '~*never reads the replies*'
	@cd $(TSAN_BUILD_DIR)/tests/host/control && $(TSAN_ENV) ./airlock_control_tests
	@cd $(TSAN_BUILD_DIR)/tests/host/control && $(TSAN_ENV) ./airlock_control_supervisor_tests

# --- fuzzing (docs/fuzzing.md): libFuzzer targets built by clang 16 with ASan and UBSan in
# their own build dir; each runs FUZZ_SECONDS from the checked-in seeds (fuzz/corpus/).
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds

fuzz-build:
	@scripts/bootstrap fuzz
	@cmake -S . -B $(FUZZ_BUILD_DIR) -DAIRLOCK_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16 >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@fuzz/run-fuzz $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# What .ci/run runs: every target for 20 s.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

# Regenerates the seed corpora with the library's encoders (commit the result).
fuzz-seeds: fuzz-build
	@rm -rf fuzz/corpus
	@$(FUZZ_BUILD_DIR)/fuzz/fuzz_seed_generator . fuzz/corpus
