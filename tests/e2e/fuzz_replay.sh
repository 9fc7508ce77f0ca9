#!/usr/bin/env bash
# Fuzzers find nothing (regression): builds the four fuzz targets of tests/fuzz/ WITHOUT libFuzzer
# (gcc + the project's libaelab.a beside the aelab binary + tests/fuzz/replay_main.c) and runs every
# committed input through them: the minimised corpora tests/fuzz/corpus/<target>/ and the inputs of
# past findings tests/fuzz/regress/<target>/. An input that crashes, aborts
# (a fuzz invariant) or trips the sanitizers (when the library is the ASan build) fails the test.
# Usage: tests/e2e/fuzz_replay.sh path/to/aelab SOURCE_DIR
set -u
src=$(cd "$2" && pwd)
lib=$(cd "$(dirname "$1")" && pwd)/libaelab.a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -f "$lib" ] || { echo "fuzz_replay: $lib not found"; exit 1; }
flags=(-std=c11 -O1 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
       -I"$src/include/aelab" -I"$src/tests/fuzz")
if nm "$lib" 2>/dev/null | grep -q __asan_init; then # the ASan + UBSan library: same flags
  # shellcheck disable=SC2054
  flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
fi
# shellcheck disable=SC2207
libs=(-ldnnl $(pkg-config --libs yaml-0.1 gsl zlib libpng) -fopenmp -ldl -lm -lpthread)
pass=0 fail=0 inputs=0
for t in config csv idx checkpoint; do
  corpus=$src/tests/fuzz/corpus/$t
  dirs=("$corpus")
  [ -d "$src/tests/fuzz/regress/$t" ] && dirs+=("$src/tests/fuzz/regress/$t")
  n=$(find "${dirs[@]}" -type f 2>/dev/null | wc -l)
  if ! ${CC:-cc} "${flags[@]}" "$src/tests/fuzz/fuzz_$t.c" "$src/tests/fuzz/replay_main.c" "$lib" "${libs[@]}" \
       -o "$tmp/replay_$t" 2> "$tmp/build_$t.log"; then
    fail=$((fail + 1))
    echo "FAIL: fuzz_$t does not build:"; tail -5 "$tmp/build_$t.log"
    continue
  fi
  if [ "$n" -eq 0 ]; then fail=$((fail + 1)); echo "FAIL: no corpus in $corpus"; continue; fi
  if out=$(OMP_NUM_THREADS=1 timeout 120 "$tmp/replay_$t" "${dirs[@]}" 2>&1); then
    pass=$((pass + 1))
    inputs=$((inputs + n))
  else
    fail=$((fail + 1))
    echo "FAIL: fuzz_$t on $corpus:"; printf '%s\n' "$out" | grep -v '^replay:' | head -20
  fi
done
echo "fuzz_replay: $pass passed, $fail failed ($inputs inputs)"
[ "$fail" -eq 0 ]
