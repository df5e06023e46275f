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
