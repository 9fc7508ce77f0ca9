#!/usr/bin/env bash
# Experiments under stress: SIGINT to a --jobs 2 experiment started with SIGINT ignored (as a shell
# without job control starts background jobs) stops every worker at a checkpoint with exit 130 and
# the resume hint, and the same command then finishes; one exit-code rule for --jobs 1 and 2 (a
# diverging run gives 3); a mean-loss run and a summed-loss (VAE) run never share a table column
# or bar chart; `aelab report` before any run finished says so.
# Usage: tests/e2e/experiment_robust.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

awk 'BEGIN{srand(3); print "a,b,c,d,e,f,y"; for(i=0;i<200;i++){s=0; l=""; for(j=0;j<6;j++){v=rand(); s+=v; l=l sprintf("%.4f,",v)}; print l (s>3?"Yes":"No")}}' > "$tmp/t.csv"
base="data: {source: csv, path: $tmp/t.csv, categorical: {y: {\"No\": 0, \"Yes\": 1}}, label: y, scaling: none, test_fraction: 0.25}"

# --- SIGINT: forwarded to the workers, checkpoints written, exit 130, then the same command finishes
cat > "$tmp/sig.yaml" <<YAML
experiment: sig
base:
  $base
  model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]}
  loss: bce
  train: {epochs: 1000, batch_size: 32, progress: false}
  outputs: {plots: false, probe: false, pca_baseline: false}
runs:
  - {name: a}
  - {name: b}
YAML
(trap '' INT; exec sleep 30) & probe=$!
for _ in $(seq 100); do [ "$(cat "/proc/$probe/comm" 2>/dev/null)" = sleep ] && break; sleep 0.02; done
ign=$(awk '/^SigIgn/{print $2}' "/proc/$probe/status")
kill $probe 2>/dev/null; wait $probe 2>/dev/null
(( 0x$ign & 2 )) && ok || bad "precondition: a process started like the experiment below should have SIGINT ignored (SigIgn $ign)"
(trap '' INT; exec "$aelab" run "$tmp/sig.yaml" --out "$tmp/S" --jobs 2 --threads 2 --quiet > "$tmp/S.out" 2> "$tmp/S.err") &
pid=$!
started=0
for _ in $(seq 600); do # both workers train (each has written an epoch)
  [ -s "$tmp/S/a/seed-42/metrics.jsonl" ] && [ -s "$tmp/S/b/seed-42/metrics.jsonl" ] && { started=1; break; }
  sleep 0.05
done
[ $started -eq 1 ] && ok || bad "the two workers did not start training: $(tail -3 "$tmp/S.err")"
kill -INT $pid
for _ in $(seq 400); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
if kill -0 $pid 2>/dev/null; then
  bad "the experiment ignored SIGINT (still running 20 s later)"
  kill -9 $pid 2>/dev/null
fi
wait $pid; rc=$?
[ $rc -eq 130 ] && ok || bad "SIGINT: exit $rc, expected 130: $(tail -3 "$tmp/S.err")"
grep -q "aelab: error: interrupted.*run the same command again to resume" "$tmp/S.err" && ok ||
  bad "SIGINT: no resume hint from the experiment: $(tail -3 "$tmp/S.err")"
sleep 0.2
left=$(pgrep -f "$tmp/sig.yaml")
[ -z "$left" ] && ok || { bad "workers still running after the experiment exited: $left"; kill -9 $left 2>/dev/null; }
[ -s "$tmp/S/a/seed-42/checkpoint.aelab" ] && [ -s "$tmp/S/b/seed-42/checkpoint.aelab" ] && ok || bad "SIGINT: a worker wrote no checkpoint"
[ ! -e "$tmp/S/a/seed-42/final.json" ] && [ ! -e "$tmp/S/b/seed-42/final.json" ] && ok || bad "SIGINT came after the runs had finished (make them longer)"
"$aelab" run "$tmp/sig.yaml" --out "$tmp/S" --jobs 2 --threads 2 --quiet > "$tmp/S2.out" 2> "$tmp/S2.err"; rc=$?
[ $rc -eq 0 ] && ok || bad "re-run after SIGINT: exit $rc: $(tail -3 "$tmp/S2.err")"
[ "$(grep -c '(resumed)' "$tmp/S2.err")" -eq 2 ] && ok || bad "re-run did not resume both runs: $(grep 'samples x' "$tmp/S2.err")"
[ "$(wc -l < "$tmp/S/a/seed-42/metrics.jsonl")" -eq 1000 ] && grep -q "| b | 1 |" "$tmp/S/results.md" && ok || bad "re-run did not finish the table"

# --- exit code: the failed run first in job order, for --jobs 1 and --jobs 2 (the config error of
# 'broken' comes first in time with two workers, the divergence first in job order)
awk 'BEGIN{srand(4); print "a,b,c,d"; for(i=0;i<40;i++) printf "%.3f,%.3f,%.3f,%.3f\n", rand(), rand(), rand(), rand()}' > "$tmp/n.csv"
diverge_experiment "$tmp/div.yaml" div "{name: fine, set: {data.path: $tmp/n.csv, train.optimizer.lr: 0.01}}"
for j in 1 2; do
  "$aelab" run "$tmp/div.yaml" --out "$tmp/D$j" --jobs $j --quiet > /dev/null 2> "$tmp/D$j.err"; rc=$?
  [ $rc -eq 3 ] && ok || bad "--jobs $j: exit $rc, expected 3 (the divergence of the first run): $(tail -2 "$tmp/D$j.err")"
  grep -q "run diverges seed 42" "$tmp/D$j.err" && ok || bad "--jobs $j: the message does not name the run: $(tail -2 "$tmp/D$j.err")"
  [ ! -e "$tmp/D$j/fine" ] && ok || bad "--jobs $j: a run started after a failure"
done

# --- a column holds one unit: the VAE's per-sample sums beside the mean-loss run's means
cat > "$tmp/mix.yaml" <<YAML
experiment: mix
base:
  $base
  model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]}
  train: {epochs: 3, batch_size: 32, progress: false}
  outputs: {plots: true, probe: false}
seeds: [1, 2]
baseline: under
runs:
  - {name: under, set: {variant: undercomplete, loss: bce, regularizers: [{type: l1, weight: 1.0e-3}]}}
  - {name: vae, set: {variant: variational, model.latent: {kind: gaussian, size: 2}}}
YAML
"$aelab" run "$tmp/mix.yaml" --out "$tmp/M" --quiet > /dev/null 2> "$tmp/M.err" && ok || bad "mixed experiment failed: $(tail -3 "$tmp/M.err")"
python3 - "$tmp/M/results.csv" <<'PY' && ok || bad "results.csv mixes loss units in a column"
import csv, sys
rows = {r["run"]: r for r in csv.DictReader(open(sys.argv[1]))}
u, v = rows["under"], rows["vae"]
for col in ("loss", "recon"):  # a mean-loss run and a summed-loss run never share a column
    if u.get(col + "_mean") and v.get(col + "_mean"):
        sys.exit("%s: under %s, vae %s" % (col, u[col + "_mean"], v[col + "_mean"]))
ok = float(v["loss_per_sample_mean"]) > 1 and not u.get("loss_per_sample_mean") and float(u["loss_mean"]) < 1
sys.exit(0 if ok and not v.get("loss_per_sample_p") else "loss_per_sample: %r %r" % (u, v))
PY
mixed=""
for f in "$tmp"/M/bars_loss*.dat "$tmp"/M/bars_recon*.dat; do
  [ -e "$f" ] && grep -q under "$f" && grep -q vae "$f" && mixed+=" $(basename "$f")"
done
# (bars_mse has both runs: charts are drawn; none of loss or recon puts both on one axis)
grep -q under "$tmp/M/bars_mse.dat" && grep -q vae "$tmp/M/bars_mse.dat" && [ -z "$mixed" ] && ok ||
  bad "bar charts: mse not drawn or loss units mixed:$mixed"
grep -q "loss_per_sample" "$tmp/M/results.md" && grep -q "reduction: sum" "$tmp/M/results.md" && ok || bad "results.md does not explain the per-sample columns"

# --- `aelab report` before any run finished
out=$("$aelab" report "$tmp/mix.yaml" --out "$tmp/never" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *"$tmp/never: no run of experiment mix has finished yet"*"aelab run $tmp/mix.yaml"* ]] && ok ||
  bad "report of a never-run experiment: exit $rc: $out"
echo "experiment_robust: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
