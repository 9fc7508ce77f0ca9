#!/usr/bin/env bash
# A run folder that explains itself (issue 18): train.epochs 0 evaluates the untrained model (final.json
# with test metrics, codes figure, a checkpoint at epoch 0: the re-run is skipped, a longer run starts
# from it with the bytes of a fresh one); the PCA baseline cached across an experiment's runs; probe and
# PCA costs in the log. Usage: tests/e2e/run_folder.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1
awk 'BEGIN{srand(11); print "a,b,c,d,e,f,y"; for(i=0;i<400;i++){l=""; s=0; for(j=0;j<6;j++){v=rand(); s+=v; l=l sprintf("%.4f,", v)} print l (s>3?"Yes":"No")}}' > "$tmp/d.csv"
cat > "$tmp/c.yaml" <<YAML
name: rf
data: {source: csv, path: $tmp/d.csv, label: y, categorical: {y: {"No": 0, "Yes": 1}}, scaling: none, test_fraction: 0.25}
model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2}]}
train: {epochs: 0, batch_size: 32, progress: false}
outputs: {grid: 0}
YAML
strip() { sed -E 's/"[a-z_]*seconds":[^,}]*,?//g; s/"samples_per_s":[^,}]*,?//g' "$1"; }

# --- train.epochs: 0 ---------------------------------------------------------------------------------
out=$("$aelab" run "$tmp/c.yaml" --out "$tmp/e0" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "epochs 0: exit $rc: $out"
grep -q '"epochs":0,' "$tmp/e0/final.json" && grep -q '"mse":' "$tmp/e0/final.json" &&
  grep -q '"probe_accuracy":' "$tmp/e0/final.json" && ok || bad "epochs 0 final.json: $(cat "$tmp/e0/final.json")"
[ -s "$tmp/e0/codes.png" ] && [ -s "$tmp/e0/checkpoint.aelab" ] && ok || bad "epochs 0 files: $(ls "$tmp/e0")"
[ ! -e "$tmp/e0/loss.png" ] && [ ! -s "$tmp/e0/metrics.jsonl" ] && ok || bad "epochs 0: a loss curve without epochs"
out=$("$aelab" run "$tmp/c.yaml" --out "$tmp/e0" 2>&1)
[[ $out == *"finished already (0 epochs"* ]] && ok || bad "epochs 0 re-run not skipped: $out"
# 3 more epochs start from the untrained model's checkpoint: the same bytes as a fresh 3-epoch run
out=$("$aelab" run "$tmp/c.yaml" --out "$tmp/e0" --set train.epochs=3 2>&1)
[[ $out == *"(resumed)"* ]] && ok || bad "epochs 0 -> 3 did not resume: $out"
"$aelab" run "$tmp/c.yaml" --out "$tmp/e3" --set train.epochs=3 --quiet 2>/dev/null || bad "fresh 3 epochs failed"
cmp -s <(strip "$tmp/e0/final.json") <(strip "$tmp/e3/final.json") && ok || bad "epochs 0 then 3 != 3: $(strip "$tmp/e0/final.json")"
cmp -s <(strip "$tmp/e0/metrics.jsonl") <(strip "$tmp/e3/metrics.jsonl") && ok || bad "metrics of 0 then 3 != 3"
echo "run_folder: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
