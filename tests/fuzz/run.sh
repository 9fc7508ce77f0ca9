#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for a given time, at most
# two at once, at the lowest CPU priority; then minimises each corpus into tests/fuzz/corpus/<t>/.
# Usage: tests/fuzz/run.sh [-t SECONDS] [-j PARALLEL] [-k] [-b] [TARGET...]
#   -t SECONDS  fuzzing time per target (default 600)
#   -j N        targets fuzzed at the same time (default 2)
#   -k          keep going after a finding (libFuzzer fork mode; findings go to $FUZZ_WORK/artifacts)
#   -b          build and write the seed inputs only
#   TARGET      config, csv, idx, checkpoint (default: all four)
# Env: FUZZ_WORK (build, working corpora, logs, artifacts; default /tmp/aelab-fuzz), CC (clang).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_WORK:-/tmp/aelab-fuzz}
cc=${CC:-clang}
secs=600 jobs=2 keep=0 build_only=0
while getopts "t:j:kb" opt; do
  case $opt in
    t) secs=$OPTARG ;; j) jobs=$OPTARG ;; k) keep=1 ;; b) build_only=1 ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=${*:-config csv idx checkpoint}
mkdir -p "$work/obj" "$work/seeds" "$work/corpus" "$work/logs" "$work/artifacts"

# --- build ---------------------------------------------------------------------------------
cflags="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fno-sanitize-recover=undefined
        -I$src/include/aelab -I$src/tests/fuzz"
libs="-lgsl -lgslcblas -lyaml -lpng -lz -lm -ldl"
build_failed=0
newest_h=$(ls -t "$src"/include/aelab/*.h "$src"/framework/*/*.h "$src"/tests/fuzz/*.h | head -1)
for f in "$src"/framework/*/*.c "$src"/variants/*.c "$src"/variants/*/*.c; do
  o="$work/obj/$(basename "$f" .c).o"
  [ "$o" -nt "$f" ] && [ "$o" -nt "$newest_h" ] && continue
  # shellcheck disable=SC2086
  nice -n 19 "$cc" -c $cflags -fsanitize=fuzzer-no-link,address,undefined -fopenmp=libgomp -I"$(dirname "$f")" "$f" -o "$o" ||
    { echo "run.sh: cannot compile $f (checkpoint target skipped)"; build_failed=1; rm -f "$o"; }
done
objs() { for n in "$@"; do echo "$work/obj/$n.o"; done; }
link() { # target, objects...
  local t=$1; shift
  # shellcheck disable=SC2086
  "$cc" $cflags -fsanitize=fuzzer,address,undefined "$src/tests/fuzz/fuzz_$t.c" "$@" -fopenmp=libgomp \
    -ldnnl $libs -o "$work/fuzz_$t"
}
data_objs=$(objs data_csv data_idx data_dataset data_scale ae_error)
for t in $targets; do
  case $t in
    config) # shellcheck disable=SC2046
      link config $(objs config_emit config_get config_parse config_set config_tree ae_error) ;;
    csv | idx) link "$t" $data_objs ;;
    checkpoint) if [ $build_failed -eq 0 ]; then link checkpoint "$work"/obj/*.o; else targets=${targets/checkpoint/}; fi ;;
    *) echo "run.sh: unknown target '$t'"; exit 2 ;;
  esac
done

# --- seeds ---------------------------------------------------------------------------------
s=$work/seeds
mkdir -p "$s/config" "$s/csv" "$s/idx" "$s/checkpoint"
cp "$src"/configs/*.yaml "$s/config/" 2>/dev/null || true
printf 'model:\n  encoder: [{type: dense, units: 3}]\n\0model.encoder[0].units=5\0train.optimizer={name: sgd, lr: 0.1}\0a.b[2]=x' > "$s/config/sets"
printf 'a: 1\nb: [1, 2.5, "x", null]\nc: {d: true, e: ~}\n"k: v": "#x"\n' > "$s/config/mixed"
printf 'a:\n  - {b: 1}\n  - [c, d]\n  - - e\n    - f: g\n' > "$s/config/nested"
printf 'a: &x 1\nb: *x\n' > "$s/config/alias"
printf 'a: |\n  text\n  more\nb: >\n  folded\n' > "$s/config/block"
printf 'a,b,y\n1,2,Yes\n3,NA,No\n0.5,-1e3,No\n' > "$s/csv/basic"
printf 'a;b;y\n1;?;0\n"2";"3,5";1\n' > "$s/csv/semi"
printf '"a","b ""q""",y\r\n1,2,1\r\n\r\n3,4,0\r\n' > "$s/csv/quoted"
printf 'a,b,y\n1,2,Yes\n' | gzip -c > "$s/csv/gz"
python3 - "$s/idx" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
img = struct.pack('>IIII', 0x803, 3, 2, 2) + bytes(range(0, 240, 20))
lab = struct.pack('>II', 0x801, 3) + bytes([0, 2, 1])
open(d + '/images', 'wb').write(img)
open(d + '/labels', 'wb').write(lab)
open(d + '/images.gz', 'wb').write(gzip.compress(img))
open(d + '/labels.gz', 'wb').write(gzip.compress(lab))
open(d + '/short', 'wb').write(img[:20])
PY
if [[ " $targets " == *" checkpoint "* ]]; then
  AELAB_FUZZ_SEED_DIR="$s/checkpoint" "$work/fuzz_checkpoint" -runs=0 "$s/checkpoint" > "$work/logs/seed.log" 2>&1 ||
    { echo "run.sh: writing the checkpoint seeds failed: see $work/logs/seed.log"; exit 1; }
fi
[ $build_only -eq 1 ] && { echo "built: $(cd "$work" && ls fuzz_*)"; exit 0; }

# --- fuzz ----------------------------------------------------------------------------------
maxlen() { case $1 in checkpoint) echo 8192 ;; csv) echo 4096 ;; *) echo 2048 ;; esac; }
fuzz_one() {
  local t=$1 dict=() mode=()
  [ -f "$src/tests/fuzz/$t.dict" ] && dict=(-dict="$src/tests/fuzz/$t.dict")
  [ $keep -eq 1 ] && mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  mkdir -p "$work/corpus/$t"
  cp -n "$src/tests/fuzz/corpus/$t"/* "$work/corpus/$t/" 2>/dev/null || true
  local start=$SECONDS rc=0 extra=() timer=()
  [ -d "$src/tests/fuzz/regress/$t" ] && extra=("$src/tests/fuzz/regress/$t")
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "%U %S" -o "$work/logs/$t.cpu")
  rm -f "$work/logs/$t.cpu"
  nice -n 19 "${timer[@]}" "$work/fuzz_$t" "${mode[@]}" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(maxlen "$t")" -artifact_prefix="$work/artifacts/$t-" -print_final_stats=1 \
    "$work/corpus/$t" "$s/$t" "${extra[@]}" > "$work/logs/$t.log" 2>&1 || rc=$?
  local cpu
  cpu=$(tail -1 "$work/logs/$t.cpu" 2>/dev/null | awk '{printf "%.0f", $1 + $2}')
  echo "fuzz_$t: exit $rc after $((SECONDS - start)) s (${cpu:-?} s CPU); $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/logs/$t.log" | grep -Eo '[0-9]+$' || echo '?') runs; log $work/logs/$t.log"
}
running=0
for t in $targets; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

# --- minimise into the committed corpus -------------------------------------------------------
# (edges only, -use_counters=0, keeps the committed corpora small; $FUZZ_WORK keeps the full ones)
for t in $targets; do
  out="$src/tests/fuzz/corpus/$t"
  rm -rf "$work/merged-$t"
  mkdir -p "$work/merged-$t" "$out"
  nice -n 19 "$work/fuzz_$t" -merge=1 -use_counters=0 -max_len="$(maxlen "$t")" -timeout=10 "$work/merged-$t" "$out" \
    "$work/corpus/$t" "$s/$t" > "$work/logs/merge-$t.log" 2>&1 || { echo "merge $t failed: see $work/logs/merge-$t.log"; continue; }
  rm -f "$out"/*
  cp "$work/merged-$t"/* "$out/"
  echo "corpus/$t: $(ls "$out" | wc -l) files, $(cat "$out"/* | wc -c) bytes"
done
ls "$work"/artifacts/ 2>/dev/null | sed 's/^/finding: /' || true
