# cleave: the thin front of the CMake build. Each target installs what it needs first.
#   make demo         run the main job on a real trained model
#   make test         every test: unit suites, ONNX conformance, models vs ONNX Runtime, fuzzers
#   make bench-local  cleave vs ONNX Runtime, same machine, same run (docs/BENCHMARKS.md)

BUILD     ?= build
FUZZBUILD ?= build-fuzz
TESTDATA  ?= $(BUILD)/testdata
JOBS      ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build testdata test unit fuzz demo bench-local clean

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

fuzz: deps
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCLEAVE_FUZZ=ON >/dev/null
	cmake --build $(FUZZBUILD) -j$(JOBS) --target cleave-fuzzers
	tests/fuzz/run-fuzzers.sh $(FUZZBUILD) $(FUZZ_SECONDS)

test: unit fuzz

demo: build testdata
	@scripts/demo.sh $(BUILD) $(TESTDATA)

bench-local: build testdata
	@scripts/bench-local.sh $(BUILD) $(TESTDATA)

clean:
	rm -rf $(BUILD) $(FUZZBUILD)
