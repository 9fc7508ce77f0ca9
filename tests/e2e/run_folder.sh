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
# --- legends name the classes: a csv label's categories (data.categorical) -------------------------------
for f in codes.gp codes_pca.gp; do
  grep -q "title 'No'" "$tmp/e3/$f" && grep -q "title 'Yes'" "$tmp/e3/$f" && ok || bad "$f legend: $(grep keyentry "$tmp/e3/$f")"
done

# --- loss.png: train and test loss per epoch; each term of a several-term loss on its own panel --------
"$aelab" run "$tmp/c.yaml" --out "$tmp/l1" --set train.epochs=3 --quiet 2>/dev/null || bad "loss run failed"
grep -q "index 0 using 1:2 .* title 'train'" "$tmp/l1/loss.gp" && grep -q "index 1 using 1:2 .* title 'test'" "$tmp/l1/loss.gp" &&
  ! grep -q multiplot "$tmp/l1/loss.gp" && [ -s "$tmp/l1/loss.png" ] && ok || bad "loss.gp (one term): $(grep -A3 ^plot "$tmp/l1/loss.gp")"
"$aelab" run "$tmp/c.yaml" --out "$tmp/l2" --set train.epochs=3 --set variant=variational --set model.latent.size=2 \
  --set 'model.encoder=[{type: dense, units: 8, activation: relu}]' --quiet 2>/dev/null || bad "VAE run failed"
for want in "set multiplot layout 2,2" "set title 'recon'" "set title 'kl'" "index 3 using 1:2"; do
  grep -qF "$want" "$tmp/l2/loss.gp" && ok || bad "VAE loss.gp lacks: $want"
done
# the kl panel's numbers are metrics.jsonl's train_kl
kl=$(grep -o '"train_kl":[^,]*' "$tmp/l2/metrics.jsonl" | cut -d: -f2 | tr '\n' ' ')
dat=$(awk '/^# series 3/{on=1; next} on && NF==2 {printf "%s ", $2}' "$tmp/l2/loss.dat")
[ -n "$kl" ] && [ "$kl" = "$dat" ] && ok || bad "kl panel: '$dat' vs metrics '$kl'"

# AELAB_BASELINE_CACHE: single runs share the cache too (opt-in); the same numbers as without it
AELAB_BASELINE_CACHE="$tmp/bc" "$aelab" run "$tmp/c.yaml" --out "$tmp/s1" --set train.epochs=1 2>"$tmp/s1.err" &&
  AELAB_BASELINE_CACHE="$tmp/bc" "$aelab" run "$tmp/c.yaml" --out "$tmp/s2" --set train.epochs=2 2>"$tmp/s2.err" || bad "cached single runs failed"
grep -q "saved for the next runs on these data: $tmp/bc/pca-" "$tmp/s1.err" && grep -q "(cached: $tmp/bc/pca-" "$tmp/s2.err" && ok ||
  bad "single-run cache: $(cat "$tmp/s1.err" "$tmp/s2.err")"
pcax() { grep -oE '"pca_(mse|probe_accuracy)":[^,]*' "$1"; }
cmp -s <(pcax "$tmp/s2/final.json") <(pcax "$tmp/e3/final.json") && [ -n "$(pcax "$tmp/s2/final.json")" ] && ok ||
  bad "cached single run: $(pcax "$tmp/s2/final.json") vs $(pcax "$tmp/e3/final.json")"

# --- kl_sparsity: the layer it acts on is reported, with that layer's mean activation -------------------
"$aelab" run "$tmp/c.yaml" --out "$tmp/k1" --set train.epochs=2 --quiet \
  --set 'model.encoder=[{type: dense, units: 8, activation: sigmoid}, {type: dense, units: 2}]' \
  --set 'regularizers=[{type: kl_sparsity, layer: "encoder[0]"}]' 2>/dev/null || bad "kl_sparsity run failed"
num() { grep -o "\"$2\":[^,}]*" "$1" | cut -d: -f2; }
grep -q '"kl_sparsity_layer":"encoder\[0\]"' "$tmp/k1/final.json" &&
  awk -v a="$(num "$tmp/k1/final.json" kl_sparsity_mean_activation)" -v c="$(num "$tmp/k1/final.json" mean_code_activation)" \
    'BEGIN{exit !(a > 0 && a < 1 && a != c)}' && ok || bad "kl_sparsity layer: $(cat "$tmp/k1/final.json")"
# on the code (the default): the log's number is final.json's mean_code_activation
out=$("$aelab" run "$tmp/c.yaml" --out "$tmp/k2" --set train.epochs=2 --set 'regularizers=[{type: kl_sparsity}]' \
  --set 'model.encoder=[{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]' 2>&1)
m=$(num "$tmp/k2/final.json" mean_code_activation)
[[ $out == *"kl_sparsity layer code: mean activation $(printf %.4g "$m")"* ]] && ! grep -q kl_sparsity_layer "$tmp/k2/final.json" &&
  ok || bad "kl_sparsity on the code: $m vs $out"

# --- the PCA baseline cached across an experiment's runs, and what the baselines cost --------------
cat > "$tmp/exp.yaml" <<YAML
experiment: cache
base: c.yaml
seeds: [1, 2]
runs:
  - {name: plain, set: {train.epochs: 2}}
  - {name: masked, set: {train.epochs: 2, corruption: {type: masking, p: 0.3}}}
  - {name: wide, set: {train.epochs: 2, model.encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 3}]}}
  - {name: untrained}
YAML
out=$("$aelab" run "$tmp/exp.yaml" --out "$tmp/x" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "experiment: exit $rc: $out"
saved=$(grep -c "PCA-[0-9]* baseline .*saved for the next runs" <<< "$out")
cached=$(grep -c "PCA-[0-9]* baseline .*(cached: " <<< "$out")
files=$(ls "$tmp/x/baseline_cache" | wc -l)
# 8 jobs; the same data and code size share one file: at most 2 sizes x 2 seeds of them
[ "$saved" -eq "$files" ] && [ "$files" -ge 2 ] && [ "$files" -le 4 ] && [ $((saved + cached)) -eq 8 ] && ok ||
  bad "cache: $saved saved, $cached cached, $files files: $out"
grep -q "probe [0-9.]* s (fitted on 300 codes" <<< "$out" && ok || bad "probe cost not said: $out"
# every job's PCA numbers are those a run without the cache computes
pca() { grep -oE '"pca_(mse|probe_accuracy)":[^,]*' "$1"; }
for j in plain/seed-1 wide/seed-2 untrained/seed-2; do
  "$aelab" run "$tmp/x/$j/config.yaml" --out "$tmp/alone_${j//\//_}" --quiet 2>/dev/null || bad "$j alone failed"
  [ -n "$(pca "$tmp/x/$j/final.json")" ] && cmp -s <(pca "$tmp/x/$j/final.json") <(pca "$tmp/alone_${j//\//_}/final.json") && ok ||
    bad "$j: cached PCA numbers $(pca "$tmp/x/$j/final.json") vs $(pca "$tmp/alone_${j//\//_}/final.json")"
done

# --- the experiment's reconstruction figure: one scale, a denoising run's noisy row named ---------------
python3 - "$tmp" <<'PY'
import random, struct, sys
d = "{'descr': '|u1', 'fortran_order': False, 'shape': (64, 1, 8, 8), }"
d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
rnd = random.Random(5)
px = bytes(rnd.randrange(256) for _ in range(64 * 64))
open(sys.argv[1] + "/X.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + px)
PY
cat > "$tmp/img.yaml" <<YAML
experiment: img
base:
  data: {source: npy, path: $tmp/X.npy, test_fraction: 0.25}
  model: {encoder: [{type: dense, units: 4}]}
  train: {epochs: 1, batch_size: 16}
  outputs: {probe: false, pca_baseline: false}
runs:
  - {name: plain}
  - {name: masked, set: {corruption: {type: masking, p: 0.3}}}
YAML
"$aelab" run "$tmp/img.yaml" --out "$tmp/img" --quiet >/dev/null 2>&1 || bad "image experiment failed"
gp="$tmp/img/reconstructions.gp"
[ "$(grep -c "set label 'noisy input'" "$gp")" -eq 1 ] && [ "$(grep -c "set label 'reconstruction'" "$gp")" -eq 2 ] &&
  [ -s "$tmp/img/reconstructions.png" ] && ok || bad "reconstruction stack: $(grep -E 'label|title' "$gp")"
# the same scale: both panels as wide (lmargin/rmargin), the masked one 3/2 as tall
awk 'BEGIN{n=0} /lmargin/{l[n]=$5} /rmargin/{r[n]=$5} /bmargin/{b[n]=$5} /tmargin/{t[n]=$5; n++}
     END{w0=r[0]-l[0]; w1=r[1]-l[1]; q=(t[1]-b[1])/(t[0]-b[0]); exit !(n==2 && w0-w1<1e-5 && w1-w0<1e-5 && q>1.45 && q<1.55)}' "$gp" &&
  ok || bad "reconstruction stack scale: $(grep margin "$gp")"

echo "run_folder: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
