#!/usr/bin/env bash
# Deep SVDD end to end on generated labelled images (3 classes of 8x8 patterns, class 0 normal): an
# autoencoder run, then `loss: svdd` warm-started from it (model.init.from, {name}/{seed} and a path
# {KEY}, relative to the run folder): the encoder parameters are loaded, the scores are squared distances
# (>= 0) and AUROC is written; a run stopped and extended ends bit-identical to an uninterrupted one
# (the centre lives in the checkpoint); a missing source run and another encoder are clear errors.
# Usage: tests/e2e/svdd.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

python3 "$src/tests/lib/classes_idx.py" "$tmp" 240 5
enc='[{type: conv2d, filters: 3, kernel: 3, padding: 1, bias: false}, {type: batch_norm, affine: false},
    {type: activation, activation: leaky_relu}, {type: max_pool2d, kernel: 2, stride: 2},
    {type: dense, units: 4, bias: false}]'
cat > "$tmp/ae.yaml" <<YAML
name: pre
seed: 3
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, test_fraction: 0.4, normal_labels: [0], scaling: gcn_l1}
model: {encoder: $enc, decoder: mirror}
train: {epochs: 3, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
cat > "$tmp/svdd.yaml" <<YAML
name: oc
seed: 3
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, test_fraction: 0.4, normal_labels: [0], scaling: gcn_l1}
model: {encoder: $enc, decoder: [{type: dense, units: 64, bias: false}], init: {from: "../{name}-ae-{seed}"}}
loss: {type: svdd, eps: 0.1}
train: {epochs: 6, batch_size: 16, progress: false, optimizer: {name: adam, lr: 0.001, weight_decay: 1e-6}}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
"$aelab" run "$tmp/ae.yaml" --out "$tmp/oc-ae-3" --quiet 2>"$tmp/ae.err" || bad "autoencoder run failed: $(cat "$tmp/ae.err")"
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/ref" --quiet 2>"$tmp/ref.err" || bad "svdd run failed: $(cat "$tmp/ref.err")"
grep -q "encoder loaded from $tmp/ref/../oc-ae-3" "$tmp/ref.err" && ok || bad "no warm start: $(cat "$tmp/ref.err")"
grep -q '"anomaly_auroc":' "$tmp/ref/final.json" && grep -q '"svdd":' "$tmp/ref/final.json" && ok ||
  bad "final.json lacks anomaly_auroc / svdd: $(cat "$tmp/ref/final.json")"
# scores are squared distances: >= 0, and not all equal
awk -F, 'NR > 1 { if ($3 < 0) neg = 1; v[$3] = 1 } END { n = 0; for (k in v) n++; exit !(neg == 0 && n > 10) }' \
  "$tmp/ref/scores.csv" && ok || bad "scores.csv: negative or constant scores"

# stopped after 2 epochs, then extended to 6: the same bytes as the uninterrupted run (the centre is
# not recomputed from the trained encoder on resume: it comes back from the checkpoint)
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/ext" --quiet --set train.epochs=2 2>/dev/null || bad "2-epoch run failed"
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/ext" --quiet 2>"$tmp/ext.err" || bad "extension failed: $(cat "$tmp/ext.err")"
grep -q "(resumed)" "$tmp/ext.err" && ! grep -q "encoder loaded" "$tmp/ext.err" && ok ||
  bad "the extension did not resume, or warm-started again: $(cat "$tmp/ext.err")"
if cmp -s <(strip "$tmp/ref/metrics.jsonl") <(strip "$tmp/ext/metrics.jsonl"); then ok; else bad "metrics differ after resume"; fi
if cmp -s <(strip "$tmp/ref/final.json") <(strip "$tmp/ext/final.json"); then ok; else bad "final.json differs after resume"; fi
cmp -s "$tmp/ref/scores.csv" "$tmp/ext/scores.csv" && ok || bad "scores.csv differs after resume"

# {KEY} placeholders: a config key's one value ({data.normal_labels} is [0]) picks the same source
cp -r "$tmp/oc-ae-3" "$tmp/oc-ae-0"
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/key" --quiet --set 'model.init.from=../{name}-ae-{data.normal_labels}' 2>"$tmp/key.err" ||
  bad "{data.normal_labels} placeholder: $(cat "$tmp/key.err")"
if cmp -s <(strip "$tmp/ref/final.json") <(strip "$tmp/key/final.json"); then ok; else bad "{KEY} placeholder: another result"; fi

# warm-start errors: no such run; another encoder (shapes named)
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/e1" --quiet --set 'model.init.from=/nonexistent/run' 2>"$tmp/e1.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "model.init.from: no finished run in /nonexistent/run" "$tmp/e1.err" && ok ||
  bad "missing source run: exit $rc: $(cat "$tmp/e1.err")"
"$aelab" run "$tmp/svdd.yaml" --out "$tmp/e2" --quiet --set 'model.encoder[4].units=5' --set "model.init.from=$tmp/oc-ae-3/checkpoint.aelab" 2>"$tmp/e2.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "encoder\[4\].weight is 4x48 in the run in $tmp/oc-ae-3, 5x48 here" "$tmp/e2.err" && ok ||
  bad "mismatched encoder: exit $rc: $(cat "$tmp/e2.err")"
echo "svdd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
