# aelab entry points. `make run`: install what is missing, build, run the main job.
# `make test`: install what is missing, build with -Werror, run every test suite (what CI runs).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-portable test-asan bench papers clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DAELAB_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/main_job.sh $(BUILD)/aelab

# Every suite (unit, gradient checks, CLI, bad inputs, fuzz replay, kill-and-resume, experiments,
# plug-ins, MPI) in the native build, then again in a portable build with valgrind memcheck, then
# the sanitizer stage.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-portable
	@$(MAKE) --no-print-directory test-asan ASAN_SKIP='$(ASAN_SKIP)'

# The suite in a build without -march=native (what valgrind 3.19 can decode on AVX-512 machines,
# and what a distribution package would ship), valgrind memcheck included, with oneDNN capped at
# AVX2: on an AVX-512 machine the suite thus runs both instruction sets' kernels.
PORTABLE_ISA ?= AVX2
test-portable: deps
	@cmake -S . -B build-portable -DAELAB_WERROR=ON -DAELAB_NATIVE=OFF >/dev/null
	@cmake --build build-portable -j $(JOBS)
	@cd build-portable && ONEDNN_MAX_CPU_ISA=$(PORTABLE_ISA) ctest --output-on-failure -j $(JOBS)

# The suite under AddressSanitizer + UBSan (leaks included). valgrind cannot run sanitized binaries;
# the long end-to-end scripts already ran above and only repeat the units' code paths.
ASAN_SKIP ?= valgrind|mpi|resume|experiment|combos
test-asan: deps
	@cmake -S . -B build-asan -DAELAB_WERROR=ON -DAELAB_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -E '$(ASAN_SKIP)'

bench: build
	@bash scripts/deps.sh python3-torch python3-sklearn python3-numpy libopenblas0-pthread
	@bash bench/run.sh $(BUILD)

# The paper reproductions (experiments/papers/*/README.md): hours on 2 cores; resumable (call it again).
# PAPERS=hinton2006 runs one.
papers: build
	@bash scripts/papers.sh $(PAPERS)

clean:
	rm -rf build build-asan build-portable
