#!/usr/bin/env bash
# The IWAE objective end to end on generated binary data: `loss: {type: iwae, k}` trains (its bound
# falls; metrics.jsonl has train_iwae and no train_kl), repeats bit for bit, and final.json has the
# k-sample NLL (below the one-sample -ELBO), active_units within the code size, and sse = mse·d;
# a VAE (bce sum + kl) gets the same keys; outputs.epoch_elbo adds test_neg_elbo to every metrics
# line. Usage: tests/e2e/iwae.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

# 600 rows of 16 bits: two prototypes, each bit flipped with probability 0.1
awk 'BEGIN{srand(3); for(j=0;j<16;j++) printf "%sc%d", j?",":"", j; print "";
  for(i=0;i<600;i++){p=i%2; l=""; for(j=0;j<16;j++){b=(j<8)==p?1:0; if(rand()<0.1) b=1-b; l=l sprintf("%s%d", j?",":"", b)} print l}}' > "$tmp/d.csv"
config() { # NAME LOSS
  cat > "$tmp/$1.yaml" <<YAML
name: $1
seed: 3
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
model:
  encoder: [{type: dense, units: 16, activation: tanh}]
  latent: {kind: gaussian, size: 4}
loss: $2
train: {epochs: 30, batch_size: 20, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false, nll_samples: 200}
YAML
}
config iw "{type: iwae, k: 5}"
config vae "{type: bce, reduction: sum}"
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
key() { grep -o "\"$2\":[^,}]*" "$1" | head -1 | cut -d: -f2; }

for c in iw vae; do
  if "$aelab" run "$tmp/$c.yaml" --out "$tmp/$c" --quiet > "$tmp/$c.log" 2>&1; then ok; else bad "$c run failed: $(tail -2 "$tmp/$c.log")"; continue; fi
  f=$tmp/$c/final.json
  mse=$(key "$f" mse) sse=$(key "$f" sse) nll=$(key "$f" nll_is) elbo=$(key "$f" neg_elbo) au=$(key "$f" active_units)
  awk -v a="$sse" -v b="$mse" 'BEGIN{exit !(a > 0 && (a - 16 * b) ^ 2 <= (1e-6 * a) ^ 2)}' && ok || bad "$c: sse $sse is not 16 x mse $mse"
  awk -v n="$nll" -v e="$elbo" 'BEGIN{exit !(n > 0 && n < e)}' && ok || bad "$c: nll_is $nll not below neg_elbo $elbo"
  awk -v a="$au" 'BEGIN{exit !(a == int(a) && a >= 0 && a <= 4)}' && ok || bad "$c: active_units '$au'"
  grep -q '"test_sse":' "$tmp/$c/metrics.jsonl" && ok || bad "$c: no test_sse in metrics.jsonl"
done
m=$tmp/iw/metrics.jsonl
grep -q '"train_iwae":' "$m" && ! grep -q '"train_kl":' "$m" && ok || bad "iwae: expected train_iwae and no train_kl: $(head -1 "$m")"
first=$(head -1 "$m" | grep -o '"train_loss":[^,]*' | cut -d: -f2) last=$(tail -1 "$m" | grep -o '"train_loss":[^,]*' | cut -d: -f2)
awk -v a="$first" -v b="$last" 'BEGIN{exit !(b < a - 1)}' && ok || bad "iwae: the bound did not fall ($first -> $last)"
"$aelab" run "$tmp/iw.yaml" --out "$tmp/iw2" --quiet > /dev/null 2>&1 || bad "iwae re-run failed"
for f in final.json metrics.jsonl; do
  cmp -s <(strip "$tmp/iw/$f") <(strip "$tmp/iw2/$f") && ok || bad "iwae: $f differs between two runs of one config"
done
# outputs.epoch_elbo: every epoch's test_neg_elbo (sampled codes) is at or above test_loss's KL-plus-
# reconstruction at the posterior mean on average, and its last value is final.json's kind of number;
# without the key there is no such column.
grep -q '"test_neg_elbo":' "$tmp/vae/metrics.jsonl" && bad "test_neg_elbo written without outputs.epoch_elbo" || ok
"$aelab" run "$tmp/vae.yaml" --out "$tmp/vae_e" --quiet --set outputs.epoch_elbo=true > "$tmp/vae_e.log" 2>&1 || bad "epoch_elbo run failed: $(tail -2 "$tmp/vae_e.log")"
n=$(grep -c '"test_neg_elbo":' "$tmp/vae_e/metrics.jsonl")
[ "$n" -eq 30 ] && ok || bad "epoch_elbo: $n of 30 lines have test_neg_elbo"
awk '{ e = $0; sub(/.*"test_neg_elbo":/, "", e); sub(/[,}].*/, "", e); l = $0; sub(/.*"test_loss":/, "", l); sub(/[,}].*/, "", l)
       se += e; sl += l } END { exit !(NR == 30 && se / NR >= sl / NR) }' "$tmp/vae_e/metrics.jsonl" && ok ||
  bad "epoch_elbo: the sampled -ELBO averages below the posterior-mean loss"
echo "iwae: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
