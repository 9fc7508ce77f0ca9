#!/usr/bin/env bash
# Memory checks: a subset of the suite under valgrind memcheck (leaks, invalid reads/writes,
# uninitialised values): the config, data, ops (batch norm, pooling, IWAE ops too), plug-in, report and baseline units,
# and a short CLI run.
# Skips (saying so) when valgrind is not installed. Usage: tests/e2e/valgrind.sh path/to/aelab SOURCE_DIR
set -u
aelab=$1
bin=$(dirname "$aelab")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
if ! command -v valgrind > /dev/null; then
  echo "valgrind: skipped (not installed)"; echo "valgrind: 0 passed, 0 failed"; exit 0
fi
export OMP_NUM_THREADS=1 CK_FORK=no AELAB_NO_REEXEC=1
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
# The unit suites memcheck runs (one per line: several branches add to it).
units=(
  test_config test_config_edit test_schema test_data test_ops test_ops_noise test_plugin test_report
  test_baseline
  test_tiles
  test_export
  test_ops_norm test_ops_pool
  test_ops_iwae
  test_philox
  test_objective_svdd
)
for t in "${units[@]}"; do
  if [ ! -x "$bin/$t" ]; then echo "FAIL: $bin/$t missing"; fail=$((fail + 1)); continue; fi
  if "${vg[@]}" "$bin/$t" > "$tmp/$t.log" 2>&1; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $t under valgrind"; tail -30 "$tmp/$t.log"; fi
done
awk 'BEGIN{srand(2); print "a,b,c,d"; for(i=0;i<200;i++) printf "%.3f,%.3f,%.3f,%.3f\n", rand(), rand(), rand(), rand()}' > "$tmp/d.csv"
printf 'data: {source: csv, path: %s/d.csv, scaling: none, test_fraction: 0.2}\nmodel: {encoder: [{type: dense, units: 3, activation: sigmoid}]}\nloss: bce\ntrain: {epochs: 2, batch_size: 32}\nregularizers: [{type: contractive, weight: 1.0e-3}]\n' "$tmp" > "$tmp/c.yaml"
if "${vg[@]}" "$aelab" run "$tmp/c.yaml" --out "$tmp/out" --quiet > "$tmp/cli.log" 2>&1; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: aelab run under valgrind"; tail -30 "$tmp/cli.log"; fi
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
