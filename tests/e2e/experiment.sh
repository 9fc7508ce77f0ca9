#!/usr/bin/env bash
# Comparative experiments end to end: expansion and validation (aelab check), a full run's table
# (results.csv/.md, plots), --jobs 2 (progress lines named by run), --shard 1/2 + 2/2 + `aelab report`
# giving the same table as one process, `check --shard` listing that slice, re-runs skipping finished
# runs, and SIGKILL mid-experiment + re-run ending with the same table.
# Usage: tests/e2e/experiment.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

awk 'BEGIN{srand(11); print "a,b,c,d,e,f,y"; for(i=0;i<800;i++){s=0; l=""; for(j=0;j<6;j++){v=rand(); s+=v; l=l sprintf("%.4f,",v)}; print l (s>3?"Yes":"No")}}' > "$tmp/t.csv"
cat > "$tmp/base.yaml" <<YAML
data: {source: csv, path: $tmp/t.csv, categorical: {y: {"No": 0, "Yes": 1}}, label: y, scaling: none, test_fraction: 0.25}
model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]}
loss: bce
train: {epochs: 40, batch_size: 32}
outputs: {plots: false}
YAML
cat > "$tmp/exp.yaml" <<'YAML'
experiment: t
base: base.yaml
seeds: [1, 2]
baseline: plain
runs:
  - {name: plain}
  - {name: masked, set: {corruption: {type: masking, p: 0.3}}}
  - {name: sparse, set: {regularizers: [{type: l1, weight: 1.0e-3}]}}
YAML
strip() { python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin)); keep = [i for i, h in enumerate(rows[0]) if not h.startswith(("train_seconds", "samples_per_s"))]
print("\n".join(",".join(r[i] for i in keep if i < len(r)) for r in rows))' < "$1"; }

out=$("$aelab" check "$tmp/exp.yaml" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"3 runs x seeds = 6 jobs"* ]] && [[ "$out" == *"masked"*"seed 2"* ]] && ok || bad "check: $rc $out"
sed 's/baseline: plain/baseline: plian/' "$tmp/exp.yaml" > "$tmp/bad.yaml"
out=$("$aelab" check "$tmp/bad.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"bad.yaml:4:11: baseline 'plian' is not a run (did you mean 'plain'?)"* ]] && ok || bad "bad baseline: $rc $out"
sed 's/set: {corruption/set: {corruptoin/' "$tmp/exp.yaml" > "$tmp/bad2.yaml"
out=$("$aelab" check "$tmp/bad2.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"unknown key 'corruptoin'"*"did you mean 'corruption'"* ]] && ok || bad "bad override: $rc $out"

# one process
"$aelab" run "$tmp/exp.yaml" --out "$tmp/A" --quiet > "$tmp/A.out" 2>&1 && ok || bad "run A failed: $(tail -3 "$tmp/A.out")"
grep -q "| masked | 2 |" "$tmp/A/results.md" && grep -q "PCA-2" "$tmp/A/results.md" && grep -q "(p=" "$tmp/A/results.md" && ok || bad "results.md: $(cat "$tmp/A/results.md")"
[ -s "$tmp/A/results.csv" ] && grep -q "^masked,2," "$tmp/A/results.csv" && ok || bad "results.csv"
# a second run skips everything and reproduces the table
"$aelab" run "$tmp/exp.yaml" --out "$tmp/A" --quiet > "$tmp/A2.out" 2>&1
[ "$(grep -c "finished already" "$tmp/A2.out")" -eq 6 ] && ok || bad "re-run did not skip all 6 runs"
# --jobs 2 (one thread each, as above): the same numbers; each progress line names its run and seed
"$aelab" run "$tmp/exp.yaml" --out "$tmp/B" --jobs 2 --threads 2 > /dev/null 2> "$tmp/B.err" && ok || bad "--jobs 2 failed"
grep -q "^masked seed 2: epoch 40/40  loss " "$tmp/B.err" && [ "$(grep -c "^[a-z]* seed [12]: epoch " "$tmp/B.err")" -eq 240 ] &&
  ok || bad "--jobs 2 progress lines without their run: $(grep epoch "$tmp/B.err" | head -3)"
cmp -s <(strip "$tmp/A/results.csv") <(strip "$tmp/B/results.csv") && ok || bad "--jobs 2 table differs"
# shards, then report
"$aelab" run "$tmp/exp.yaml" --out "$tmp/C" --shard 1/2 --quiet > "$tmp/C1.out" 2>&1 && ok || bad "shard 1/2 failed"
grep -q "not finished yet" "$tmp/C/results.md" && ok || bad "partial table should say runs are missing"
# check --shard 1/2 lists exactly the jobs run --shard 1/2 ran
listed=$("$aelab" check "$tmp/exp.yaml" --out "$tmp/C" --shard 1/2 2>&1 | awk '$2 == "seed" {print $4}' | sort | tr '\n' ' ')
ran=$(find "$tmp/C" -name final.json | sed 's,/final.json$,,' | sort | tr '\n' ' ')
[ "$listed" = "$ran" ] && [ "$(echo $listed | wc -w)" -eq 3 ] && ok || bad "check --shard 1/2 listed '$listed', run ran '$ran'"
"$aelab" run "$tmp/exp.yaml" --out "$tmp/C" --shard 2/2 --quiet > /dev/null 2>&1 && ok || bad "shard 2/2 failed"
"$aelab" report "$tmp/exp.yaml" --out "$tmp/C" > /dev/null 2>&1 && ok || bad "report failed"
cmp -s <(strip "$tmp/A/results.csv") <(strip "$tmp/C/results.csv") && ok || bad "sharded table differs"
# SIGKILL mid-experiment, then re-run: the same table
"$aelab" run "$tmp/exp.yaml" --out "$tmp/D" --quiet > /dev/null 2>&1 &
pid=$!
sleep 1.5
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
"$aelab" run "$tmp/exp.yaml" --out "$tmp/D" --quiet > /dev/null 2>&1 && ok || bad "resume after kill failed"
cmp -s <(strip "$tmp/A/results.csv") <(strip "$tmp/D/results.csv") && ok || bad "table after kill -9 differs"
echo "experiment: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
