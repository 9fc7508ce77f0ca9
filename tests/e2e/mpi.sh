#!/usr/bin/env bash
# MPI experiments (-DAELAB_WITH_MPI=ON): `mpirun -n 2 aelab run EXP.yaml` runs every job exactly
# once and writes the same table as a single-process run; finished jobs are skipped; a failing run
# fails the command with its message and the exit code of the failed job first in job order;
# --shard still applies. Builds an MPI-enabled aelab in a temp dir unless the given one already
# is; skips when Open MPI (mpirun + headers) is not installed.
# Usage: tests/e2e/mpi.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
skip() { echo "mpi: skipped ($1)"; echo "mpi: 0 passed, 0 failed"; exit 0; }

command -v mpirun >/dev/null || skip "mpirun not installed"
if ldd "$aelab" 2>/dev/null | grep -q 'libmpi'; then
  bin=$aelab
else
  pkg-config --exists ompi-c 2>/dev/null || pkg-config --exists mpich 2>/dev/null ||
    command -v mpicc >/dev/null || skip "aelab built without MPI and no MPI headers to build it"
  t0=$(date +%s)
  if ! cmake -S "$src" -B "$tmp/b" -DAELAB_WERROR=ON -DAELAB_WITH_MPI=ON >"$tmp/build.log" 2>&1 ||
     ! cmake --build "$tmp/b" -j2 --target aelab_cli >>"$tmp/build.log" 2>&1; then
    tail -20 "$tmp/build.log"
    echo "FAIL: building aelab with -DAELAB_WITH_MPI=ON"
    echo "mpi: 0 passed, 1 failed"
    exit 1
  fi
  echo "mpi: built an MPI-enabled aelab in $(( $(date +%s) - t0 )) s"
  bin=$tmp/b/aelab
fi
mpi=(mpirun -n 2)
if mpirun --version 2>&1 | grep -q 'Open MPI'; then
  mpi=(mpirun --allow-run-as-root --oversubscribe -n 2)
  export OMPI_MCA_btl_vader_single_copy_mechanism=none # containers forbid cross-process memory
fi
mrun() { timeout 300 "${mpi[@]}" "$bin" "$@"; }

awk 'BEGIN{srand(7); print "a,b,c,d,e,f,g,h"; for(i=0;i<600;i++){l=""; for(j=0;j<8;j++) l=l sprintf("%s%.4f", j?",":"", rand()); print l}}' > "$tmp/d.csv"
cat > "$tmp/exp.yaml" <<YAML
experiment: tiny
seeds: [1, 2]
baseline: small
base:
  data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
  model:
    encoder: [{type: dense, units: 16, activation: relu}, {type: dense, units: 3, activation: sigmoid}]
  loss: bce
  train: {epochs: 4, batch_size: 32, progress: false}
  outputs: {plots: false, probe: false}
runs:
  - name: small
    set: {model.encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 3, activation: sigmoid}]}
  - name: big
YAML
# results.csv without the timing columns (train_seconds_*, samples_per_s_*)
strip() { awk -F, 'NR==1{for(i=1;i<=NF;i++) k[i]=($i !~ /^(train_seconds|samples_per_s)/)}
                   {l=""; for(i=1;i<=NF;i++) if(k[i]) l=l (l==""?"":",") $i; print l}' "$1"; }

# 2 ranks vs one process, one thread per run in both: the same numbers
mrun run "$tmp/exp.yaml" --out "$tmp/A" --threads 1 >"$tmp/A.out" 2>"$tmp/A.err"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "mpirun -n 2 exited $rc: $(tail -5 "$tmp/A.err")"
grep -q 'aelab: mpi: 4 jobs over 2 ranks' "$tmp/A.err" && ok || bad "no MPI start line: $(head -3 "$tmp/A.err")"
grep -q '| small (baseline)' "$tmp/A.out" && ok || bad "rank 0 did not print the table"
[ "$(grep -c 'samples x' "$tmp/A.err")" -eq 4 ] && ok || bad "expected 4 trainings: $(grep 'samples x' "$tmp/A.err")"
n=0
for r in small big; do for s in 1 2; do [ -f "$tmp/A/$r/seed-$s/final.json" ] && n=$((n + 1)); done; done
[ "$n" -eq 4 ] && ok || bad "$n of 4 jobs have final.json"
"$bin" run "$tmp/exp.yaml" --out "$tmp/B" --threads 1 >/dev/null 2>"$tmp/B.err" && ok || bad "single-process run failed: $(tail -3 "$tmp/B.err")"
grep -q 'aelab: mpi:' "$tmp/B.err" && bad "without mpirun the MPI build still used MPI" || ok
if [ -f "$tmp/A/results.csv" ] && [ -f "$tmp/B/results.csv" ] && cmp -s <(strip "$tmp/A/results.csv") <(strip "$tmp/B/results.csv"); then
  ok
else
  bad "results.csv differs between mpirun -n 2 and one process"
  diff <(strip "$tmp/A/results.csv") <(strip "$tmp/B/results.csv") | head -6
fi
[ "$(strip "$tmp/A/results.csv" | wc -l)" -ge 3 ] && ok || bad "results.csv has no rows"

# again: every job is finished, so every one is skipped and the table stays
mrun run "$tmp/exp.yaml" --out "$tmp/A" --threads 1 >/dev/null 2>"$tmp/A2.err" && ok || bad "re-run failed"
[ "$(grep -c 'finished already' "$tmp/A2.err")" -eq 4 ] && ok || bad "re-run did not skip the 4 finished jobs"
cmp -s <(strip "$tmp/A/results.csv") <(strip "$tmp/B/results.csv") && ok || bad "re-run changed results.csv"

# --shard 2/2 under mpirun: jobs 1 and 3 only (seed 2 of each run)
mrun run "$tmp/exp.yaml" --out "$tmp/S" --threads 1 --shard 2/2 >/dev/null 2>"$tmp/S.err" && ok || bad "shard run failed"
got=$(cd "$tmp/S" 2>/dev/null && find . -name final.json | sort | tr '\n' ' ')
[ "$got" = "./big/seed-2/final.json ./small/seed-2/final.json " ] && ok || bad "--shard 2/2 ran: $got"

# a failing run (caught when it starts, on whichever rank) fails the command with its message;
# the run already going finishes
cat > "$tmp/bad.yaml" <<YAML
experiment: bad
base: {data: {source: csv, path: $tmp/d.csv, scaling: none}, model: {encoder: [{type: dense, units: 3}]},
       train: {epochs: 40, batch_size: 16, progress: false}, outputs: {plots: false, probe: false}}
runs:
  - {name: slow}
  - {name: broken, set: {train.epochs: -1}}
YAML
mrun run "$tmp/bad.yaml" --out "$tmp/E" --threads 1 >/dev/null 2>"$tmp/E.err"; rc=$?
[ "$rc" -eq 2 ] && ok || bad "failing run: exit $rc, expected 2"
grep -q 'aelab: error: rank [01]: run broken seed 42: .*train.epochs' "$tmp/E.err" && ok ||
  bad "failing run: message missing: $(grep aelab "$tmp/E.err" | tail -3)"
[ -f "$tmp/E/slow/seed-42/final.json" ] && ok || bad "the run in progress did not finish"

# the exit code follows the rule of --jobs and in-order runs (ae_experiment.h): the failed job first
# in job order (the divergence, 3), not the first to fail in time (the config error, 2)
diverge_experiment "$tmp/div.yaml" div
mrun run "$tmp/div.yaml" --out "$tmp/V" --threads 1 >/dev/null 2>"$tmp/V.err"; rc=$?
[ "$rc" -eq 3 ] && grep -q 'aelab: error: rank [01]: run diverges seed 42: training diverged' "$tmp/V.err" && ok ||
  bad "diverging run under mpirun: exit $rc, expected 3: $(grep error "$tmp/V.err" | tail -2)"
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
