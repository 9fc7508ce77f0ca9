#!/usr/bin/env bash
# One-class anomaly detection end to end on generated labelled images (3 classes of 8x8 patterns):
# data.normal_labels trains on the normal class only, scores.csv holds every test sample's score and
# whether it is an anomaly, final.json's anomaly_auroc / anomaly_auprc equal the brute-force values
# from scores.csv, a deleted scores.csv is rewritten bit for bit without training, exclude_label
# marks its class; a VAE's -ELBO score and PCA's AUROC; and a per-class experiment ends in the per-class table (results.md,
# results_table.csv) whose mean row is the mean of the class rows.
# Usage: tests/e2e/oneclass.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

python3 "$src/tests/lib/classes_idx.py" "$tmp" 180 3
cat > "$tmp/c.yaml" <<YAML
name: oc
seed: 4
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, test_fraction: 0.4, normal_labels: [0], scaling: gcn_l1}
model:
  encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2}]
train: {epochs: 3, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
"$aelab" run "$tmp/c.yaml" --out "$tmp/r" --quiet 2>"$tmp/r.err" || bad "one-class run failed: $(cat "$tmp/r.err")"
f=$tmp/r/final.json
grep -q '"anomaly_auroc":' "$f" && grep -q '"anomaly_auprc":' "$f" && grep -q 'scores.csv' "$f" && ok ||
  bad "final.json lacks anomaly_auroc / anomaly_auprc / scores.csv: $(cat "$f")"
# scores.csv against the labels, and the two areas recomputed from it by brute force
python3 - "$tmp/r/scores.csv" "$f" "$tmp/r.err" <<'PY' && ok || bad "scores.csv / final.json disagree"
import json, re, sys
rows = [l.strip().split(',') for l in open(sys.argv[1])]
assert rows[0] == ['index', 'label', 'score', 'is_anomaly'], rows[0]
rows = rows[1:]
assert len(rows) == 72, len(rows)                      # 40% of 180: the whole test split
assert [int(r[0]) for r in rows] == list(range(72))
assert all(int(r[3]) == (int(r[1]) != 0) for r in rows)
assert {int(r[1]) for r in rows} == {0, 1, 2}
s = [float(r[2]) for r in rows]; y = [int(r[3]) for r in rows]
pos = [a for a, b in zip(s, y) if b]; neg = [a for a, b in zip(s, y) if not b]
auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
ap, prev = 0.0, 0.0
for t in sorted(set(s), reverse=True):
    tp = sum(1 for a, b in zip(s, y) if a >= t and b); pp = sum(1 for a in s if a >= t)
    ap += (tp / len(pos) - prev) * tp / pp; prev = tp / len(pos)
fj = json.load(open(sys.argv[2]))
assert abs(fj['anomaly_auroc'] - auc) < 1e-8, (fj['anomaly_auroc'], auc)
assert abs(fj['anomaly_auprc'] - ap) < 1e-8, (fj['anomaly_auprc'], ap)
# trained on the normal class only: the 60 class-0 rows less those in the test split
m = re.search(r'(\d+) samples', open(sys.argv[3]).read())
assert m and int(m.group(1)) == 60 - sum(1 for r in rows if int(r[1]) == 0), m
PY
# resumable like the other outputs: a lost scores.csv is written again, the same bytes, no training
cp "$tmp/r/scores.csv" "$tmp/scores.ref"
rm "$tmp/r/scores.csv"
"$aelab" run "$tmp/c.yaml" --out "$tmp/r" --quiet 2>"$tmp/r2.err" || bad "rerun failed: $(cat "$tmp/r2.err")"
cmp -s "$tmp/scores.ref" "$tmp/r/scores.csv" && ok || bad "rewritten scores.csv differs"
[ "$(wc -l < "$tmp/r/metrics.jsonl")" -eq 3 ] && ok || bad "the rerun trained again"
# exclude_label: the held-out class is the anomaly
sed 's/normal_labels: \[0\]/exclude_label: 2/' "$tmp/c.yaml" > "$tmp/x.yaml"
"$aelab" run "$tmp/x.yaml" --out "$tmp/x" --quiet 2>"$tmp/x.err" || bad "exclude_label run failed: $(cat "$tmp/x.err")"
awk -F, 'NR > 1 && ($4 == 1) != ($2 == 2) { b = 1 } END { exit b }' "$tmp/x/scores.csv" && grep -q anomaly_auprc "$tmp/x/final.json" &&
  ok || bad "exclude_label: scores.csv does not mark class 2"

# a VAE scored by its -ELBO (outputs.anomaly_elbo_samples): scores.csv holds other values than the
# reconstruction error of the same model,
# and PCA's reconstruction error is the classical baseline (pca_anomaly_auroc)
cat > "$tmp/v.yaml" <<YAML
name: ocv
seed: 4
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, test_fraction: 0.4, normal_labels: [0], scaling: gcn_l1}
model: {encoder: [{type: dense, units: 8, activation: relu}], latent: {kind: gaussian, size: 2}, output_activation: sigmoid}
loss: {type: bce, reduction: sum}
train: {epochs: 3, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: true}
YAML
"$aelab" run "$tmp/v.yaml" --out "$tmp/v0" --quiet 2>/dev/null || bad "VAE one-class run failed"
"$aelab" run "$tmp/v.yaml" --out "$tmp/v1" --quiet --set outputs.anomaly_elbo_samples=8 2>"$tmp/v1.err" ||
  bad "VAE -ELBO run failed: $(cat "$tmp/v1.err")"
python3 - "$tmp/v0/scores.csv" "$tmp/v1/scores.csv" "$tmp/v1/final.json" <<'PY' && ok || bad "VAE -ELBO scores"
import json, sys
r = [float(l.split(',')[2]) for l in open(sys.argv[1]).read().split()[1:]]
e = [float(l.split(',')[2]) for l in open(sys.argv[2]).read().split()[1:]]
f = json.load(open(sys.argv[3]))
assert len(r) == len(e) and r != e, "the same scores"
assert 0 <= f["pca_anomaly_auroc"] <= 1 and 0 <= f["anomaly_auroc"] <= 1, f
PY

# the per-class experiment: one row per normal class, mean ± sd over two seeds, the mean row
cat > "$tmp/e.yaml" <<YAML
experiment: perclass
base: c.yaml
grid: {data.normal_labels: [0, 1, 2]}
seeds: [1, 2]
table: {rows: data.normal_labels, metric: anomaly_auroc}
outputs: {dir: $tmp/exp}
YAML
"$aelab" run "$tmp/e.yaml" --quiet > "$tmp/e.out" 2>&1 || bad "experiment failed: $(tail -3 "$tmp/e.out")"
md=$tmp/exp/results.md
grep -q '^## anomaly_auroc by normal_labels' "$md" && grep -q '^| normal_labels | base |' "$md" &&
  [ "$(grep -cE '^\| [012] \| [0-9.]+ ± [0-9.e-]+ \|$' "$md")" -eq 3 ] && grep -q '^| mean | ' "$md" && ok ||
  bad "results.md lacks the per-class table: $(cat "$md")"
python3 - "$tmp/exp/results_table.csv" "$tmp/exp" <<'PY' && ok || bad "results_table.csv: $(cat "$tmp/exp/results_table.csv")"
import csv, json, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0] == ['normal_labels', 'base_mean', 'base_sd', 'base_seeds'], rows[0]
assert [r[0] for r in rows[1:]] == ['0', '1', '2', 'mean'], rows
for k, r in enumerate(rows[1:4]):
    v = [json.load(open(f'{sys.argv[2]}/base_normal_labels={k}/seed-{s}/final.json'))['anomaly_auroc'] for s in (1, 2)]
    assert abs(float(r[1]) - statistics.mean(v)) < 1e-8 and abs(float(r[2]) - statistics.stdev(v)) < 1e-8, (r, v)
    assert r[3] == '2'
assert abs(float(rows[4][1]) - statistics.mean(float(r[1]) for r in rows[1:4])) < 1e-8
PY
echo "oneclass: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
