#!/usr/bin/env bash
# Learning-rate schedules, Adagrad and model.init through the CLI: metrics.jsonl's `lr` follows the
# schedule; a run trained in two pieces (epochs: k, then the full count on the same folder) ends with
# the same bytes as one uninterrupted run (Adagrad's accumulator and the schedule resume exactly);
# Burda et al.'s schedule and Adam eps are accepted; a config without a schedule resolves as before.
# Usage: tests/e2e/schedule.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

awk 'BEGIN{srand(5); print "a,b,c,d,e,f"; for(i=0;i<400;i++){l=""; for(j=0;j<6;j++) l=l sprintf("%s%.4f", j?",":"", rand()); print l}}' > "$tmp/d.csv"
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s|eval_seconds|[a-z_]*_seconds)":[^,}]*,?//g' "$1"; }
lr_of() { sed -E 's/.*"lr":([^,}]*).*/\1/' "$1" | tr '\n' ' '; }

# steps: the lr column is the schedule's value of every epoch (durations 2, 3, then the last holds)
cat > "$tmp/steps.yaml" <<YAML
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]}
loss: bce
train:
  epochs: 7
  batch_size: 32
  progress: false
  optimizer: {name: adagrad, lr: 0.05}
  schedule: {type: steps, durations: [2, 3, 2], factors: [1, 0.1, 0.01]}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
"$aelab" run "$tmp/steps.yaml" --out "$tmp/steps" --quiet 2>"$tmp/steps.err" || bad "steps run failed: $(cat "$tmp/steps.err")"
got=$(lr_of "$tmp/steps/metrics.jsonl")
[ "$got" = "0.05 0.05 0.005 0.005 0.005 0.0005 0.0005 " ] && ok || bad "steps: lr column '$got'"

# two pieces vs one run: Adagrad (lr_decay, initial accumulator), a geometric stages schedule,
# normal init and the logit-mean output bias
cat > "$tmp/c.yaml" <<YAML
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
model:
  encoder: [{type: dense, units: 16, activation: tanh}, {type: dense, units: 3}]
  init: {scheme: normal, std: 0.01, output_bias: logit_mean}
loss: bce
train:
  epochs: 9
  batch_size: 16
  progress: false
  optimizer: {name: adagrad, lr: 0.05, lr_decay: 0.001, initial_accumulator_value: 0.1}
  schedule: {type: stages, stages: 3, base_epochs: 1, epoch_factor: 2, stages_per_decade: 2}
outputs: {plots: false, probe: false}
YAML
"$aelab" run "$tmp/c.yaml" --out "$tmp/one" --quiet 2>/dev/null || bad "one-piece run failed"
got=$(lr_of "$tmp/one/metrics.jsonl")
[ "$got" = "0.05 0.0158113883 0.0158113883 0.005 0.005 0.005 0.005 0.005 0.005 " ] && ok || bad "stages: lr column '$got'"
"$aelab" run "$tmp/c.yaml" --out "$tmp/two" --quiet --set train.epochs=2 2>/dev/null || bad "first piece failed"
[ "$(wc -l < "$tmp/two/metrics.jsonl")" -eq 2 ] && ok || bad "first piece: $(wc -l < "$tmp/two/metrics.jsonl") epochs"
"$aelab" run "$tmp/c.yaml" --out "$tmp/two" --quiet 2>"$tmp/two.err" || bad "second piece failed"
grep -q "(resumed)" "$tmp/two.err" && ok || bad "second piece did not resume: $(cat "$tmp/two.err")"
for f in metrics.jsonl final.json; do
  if cmp -s <(strip "$tmp/one/$f") <(strip "$tmp/two/$f"); then ok; else bad "two pieces: $f differs"
    diff <(strip "$tmp/one/$f" | tr ',' '\n') <(strip "$tmp/two/$f" | tr ',' '\n') | head -6; fi
done
# the schedule belongs to the configuration: another one is refused on the same folder
"$aelab" run "$tmp/c.yaml" --out "$tmp/two" --quiet --set train.schedule.stages_per_decade=3 2>"$tmp/h.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "different configuration" "$tmp/h.err" && ok || bad "schedule change not detected (exit $rc)"

# Burda et al. 2016: 3^i epochs at 1e-3 * 10^(-i/7), i = 0..7, with Adam's eps 1e-4
"$aelab" check "$tmp/c.yaml" --set 'train.optimizer={name: adam, lr: 1e-3, eps: 1e-4}' \
  --set 'train.schedule={type: stages, stages: 8, base_epochs: 1, epoch_factor: 3, stages_per_decade: 7}' \
  --set train.epochs=3280 > "$tmp/burda.yaml" 2>"$tmp/burda.err" || bad "Burda's schedule: $(cat "$tmp/burda.err")"
grep -q "eps: 1e-4\|eps: 0.0001" "$tmp/burda.yaml" && grep -q "stages_per_decade: 7" "$tmp/burda.yaml" && ok ||
  bad "Burda's config not resolved: $(cat "$tmp/burda.yaml")"

# no schedule: nothing is added to the resolved config (its hash, so older checkpoints still match)
"$aelab" check "$tmp/steps.yaml" --set 'train={epochs: 2}' > "$tmp/plain.yaml" 2>&1 || bad "plain check failed"
grep -q "schedule" "$tmp/plain.yaml" && bad "a config without a schedule gained one" || ok
grep -q "output_bias" "$tmp/plain.yaml" && bad "a config without output_bias gained one" || ok

echo "schedule: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
