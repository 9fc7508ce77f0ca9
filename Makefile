# aelab entry points. `make run`: install what is missing, build, run the main job.
# `make test`: install what is missing, build with -Werror, run every test suite (what CI runs).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan valgrind bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DAELAB_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/main_job.sh $(BUILD)/aelab

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same suite under AddressSanitizer + UBSan.
test-asan: deps
	@cmake -S . -B build-asan -DAELAB_WERROR=ON -DAELAB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@bash scripts/deps.sh python3-torch python3-sklearn python3-numpy libopenblas0-pthread
	@bash bench/run.sh $(BUILD)

clean:
	rm -rf build build-asan
