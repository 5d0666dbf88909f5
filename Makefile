# cleave: the thin front of the CMake build. Each target installs what it needs first.
#   make demo         run the main job on a real trained model
#   make test         every test: unit suites, ONNX conformance, models vs ONNX Runtime, fuzzers
#   make bench-local  cleave vs ONNX Runtime, same machine, same run (docs/BENCHMARKS.md)
#   make soak         10 minutes, 64 devices through cleave-cloud and 2 workers (SOAK_SECONDS=600)
#   make bench        cleave-bench: shaped links, a slowed device, every strategy (root; docs/BENCH.md)
#   make bench-quick  the same, one model and two links, under 2 minutes

BUILD     ?= build
FUZZBUILD ?= build-fuzz
ASANBUILD ?= build-asan
TESTDATA  ?= $(BUILD)/testdata
JOBS      ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build testdata test unit sanitize fuzz demo bench-local bench bench-quick soak clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCLEAVE_WERROR=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

testdata: deps
	@scripts/fetch-testdata.sh $(TESTDATA)

unit: build testdata
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Every test again under AddressSanitizer and UndefinedBehaviorSanitizer (clang); any report fails.
sanitize: deps testdata
	cmake -S . -B $(ASANBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCLEAVE_SANITIZE=address,undefined >/dev/null
	cmake --build $(ASANBUILD) -j$(JOBS)
	ln -sfn $(abspath $(TESTDATA)) $(ASANBUILD)/testdata
	cd $(ASANBUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS)

fuzz: deps
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCLEAVE_FUZZ=ON >/dev/null
	cmake --build $(FUZZBUILD) -j$(JOBS) --target cleave-fuzzers
	tests/fuzz/run-fuzzers.sh $(FUZZBUILD) $(FUZZ_SECONDS)

test: unit sanitize fuzz

demo: build testdata
	@scripts/demo.sh $(BUILD) $(TESTDATA)

bench-local: build testdata
	@scripts/bench-local.sh $(BUILD) $(TESTDATA)

BENCH_OUT ?= bench-out
bench: build testdata
	$(BUILD)/bin/cleave-bench --out $(BENCH_OUT) --testdata $(TESTDATA) $(BENCH_ARGS)

bench-quick: build testdata
	$(BUILD)/bin/cleave-bench --quick --out $(BENCH_OUT)-quick --testdata $(TESTDATA)

SOAK_SECONDS ?= 600
soak: build testdata
	cmake --build $(BUILD) -j$(JOBS) --target fault_soak
	cd $(BUILD) && CLEAVE_TESTDATA=$(abspath $(TESTDATA)) CLEAVE_SOAK_SECONDS=$(SOAK_SECONDS) \
	  tests/fault_soak --verbose

clean:
	rm -rf $(BUILD) $(FUZZBUILD) $(ASANBUILD)
