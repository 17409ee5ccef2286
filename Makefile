# The two commands: `make run` and `make test`. Everything else is a helper.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Every test labelled "unit" (ctest -L unit fails on one that was not built).
UNIT_TESTS = core_test auth_test exec_test ctl_output_test ctl_cli_test proto_compat_test batcher_test \
             server_loops_test worker_test outbox_logic_test store_test tls_test http_tls_test

.PHONY: all deps build test test-unit test-integration test-e2e test-asan test-deploy run stack-start \
        stack-stop format format-check bench bench-quick diagrams clean chaos chaos-quick \
        fuzz fuzz-quick fuzz-build

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every suite: unit, integration (private PostgreSQL/Redis), e2e (real binaries), the offline
# deployment checks, ASan/UBSan, the quick fault suite, then each fuzz target for a few seconds.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-deploy
	$(MAKE) test-asan
	$(MAKE) chaos-quick
	$(MAKE) fuzz-quick

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

test-e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own build tree.
test-asan: deps
	cmake -S . -B $(BUILD_DIR)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DJQ_SANITIZE=ON
	cmake --build $(BUILD_DIR)-asan -j $(JOBS) --target $(UNIT_TESTS)
	cd $(BUILD_DIR)-asan && ctest --output-on-failure -L unit

# The deployment files, offline (no Docker engine, cluster or cloud account): docker-compose
# config, yamllint, shellcheck, the Kubernetes overlays rendered and schema-checked, terraform/
# parsed and checked, the runtime image's packages against ldd of the built binaries
# (tools/deploy-check, docs/deploy.md).
test-deploy: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target jq-server jq-worker jq-ctl
	@bash tools/deploy-check/run-all.sh $(BUILD_DIR)

# libFuzzer targets (docs/fuzzing.md) built with clang in their own tree; only the fuzz
# targets and the libraries they link are built. A crash or a failed invariant fails the run
# and leaves the reproducer in $(FUZZ_DIR)/fuzz-crashes/<target>/.
FUZZ_DIR ?= $(BUILD_DIR)-fuzz
FUZZ_SECONDS ?= 300
FUZZ_QUICK_SECONDS ?= 10

fuzz-build: deps
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DJQ_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_all

# Each target for FUZZ_QUICK_SECONDS (part of `make test`).
fuzz-quick: fuzz-build
	@bash fuzz/run.sh --build $(FUZZ_DIR) --seconds $(FUZZ_QUICK_SECONDS)

# Each target for FUZZ_SECONDS (default 5 minutes); `make fuzz FUZZ_TARGETS=config` runs one.
fuzz: fuzz-build
	@bash fuzz/run.sh --build $(FUZZ_DIR) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Private PostgreSQL + Redis + jq-server + jq-worker under .jq/; Ctrl-C stops everything.
run: build
	@bash scripts/run.sh

stack-start: build
	@bash scripts/dev-stack.sh start

stack-stop:
	@bash scripts/dev-stack.sh stop

# Benchmarks (SPEC §14): private PostgreSQL (fsync on), Redis and jq-server, jq-bench scenarios
# beside graphile-worker and BullMQ; writes bench/results/*.json and docs/performance.md.
bench: build
	@bash bench/install-bench-deps.sh
	@bash bench/run.sh

# The same scenarios with smaller sizes, under 5 minutes.
bench-quick: build
	@bash bench/install-bench-deps.sh
	@bash bench/run.sh --quick

format:
	find src tests fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format -i

format-check:
	find src tests fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-asan $(BUILD_DIR)-fuzz

# docs/img/architecture.png from docs/architecture.dot (graphviz, from Debian's archive).
diagrams:
	@command -v dot >/dev/null || apt-get install -y -q graphviz
	dot -Tpng -Gdpi=110 docs/architecture.dot -o docs/img/architecture.png

# The fault suite (issue 7, docs/reliability.md): 3 servers, 4 workers, a mixed load, one fault
# at a time, invariants checked after each; exits non-zero on a failed invariant.
chaos: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target jq-server jq-worker jq-ctl jq-kafka-mock
	@bash scripts/chaos.sh --build $(BUILD_DIR)

# A few faults (worker kill -9, server kill -9, SIGSTOP past the lease, the self-test), under
# 3 minutes; part of `make test`.
chaos-quick: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target jq-server jq-worker jq-ctl jq-kafka-mock
	@bash scripts/chaos.sh --quick --build $(BUILD_DIR)
