# The two commands of the quick start. Each installs what is missing, configures and builds.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all bootstrap configure build test bench run clean

all: build

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

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

run: configure
	@echo "make run: building the host, airlockctl and the example plugins in $(BUILD_DIR) ..."
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target $(DEMO_TARGETS) >/dev/null
	@scripts/run-demo $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

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
