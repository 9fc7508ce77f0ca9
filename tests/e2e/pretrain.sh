#!/usr/bin/env bash
# Greedy layer-wise pretraining then fine-tuning, end to end: each method runs and logs every layer's
# epochs; a run killed (SIGKILL) or stopped (SIGINT, exit 130) during pretraining resumes and ends with
# the same pretraining log, metrics and final results as an uninterrupted run.
# Usage: tests/e2e/pretrain.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

awk 'BEGIN{srand(11); for(j=0;j<32;j++) printf("%sc%d", j?",":"", j); print ""; for(i=0;i<3000;i++){l=""; k=i%3; for(j=0;j<32;j++) l=l sprintf("%s%.3f", j?",":"", (j%3==k)?0.7+0.3*rand():0.3*rand()); print l}}' > "$tmp/d.csv"
cat > "$tmp/c.yaml" <<YAML
name: pretrain_e2e
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
model:
  encoder: [{type: dense, units: 64, activation: sigmoid}, {type: dense, units: 32, activation: sigmoid}, {type: dense, units: 4}]
loss: bce
pretrain: {method: rbm, epochs: 20, batch_size: 1}
train: {epochs: 4, batch_size: 16, progress: false}
outputs: {plots: false, probe: false}
YAML
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
same() { # same results as the reference
  local d=$1 what=$2 f
  for f in pretrain.jsonl metrics.jsonl final.json; do
    if cmp -s <(strip "$tmp/ref/$f") <(strip "$d/$f"); then ok; else bad "$f differs after $what"; fi
  done
}
lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet 2>/dev/null || bad "reference run failed"
[ "$(lines "$tmp/ref/pretrain.jsonl")" -eq 60 ] && ok || bad "pretrain.jsonl: $(lines "$tmp/ref/pretrain.jsonl") lines, expected 3 layers x 20 epochs"
[ -f "$tmp/ref/final.json" ] && [ "$(lines "$tmp/ref/metrics.jsonl")" -eq 4 ] && ok || bad "fine-tuning did not finish"
grep -q '"layer":2,"epoch":20' "$tmp/ref/pretrain.jsonl" && ok || bad "the top layer was not pretrained"

# SIGKILL during pretraining (after some epochs of layer 0, then of layer 1), then a full re-run
for at in 8 30; do
  "$aelab" run "$tmp/c.yaml" --out "$tmp/k" --quiet 2>/dev/null &
  pid=$!
  for _ in $(seq 600); do [ "$(lines "$tmp/k/pretrain.jsonl")" -ge "$at" ] && break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
[ ! -f "$tmp/k/metrics.jsonl" ] && ok || bad "SIGKILL landed after pretraining: the test did not cut it"
"$aelab" run "$tmp/c.yaml" --out "$tmp/k" --quiet 2>/dev/null || bad "resume after SIGKILL failed"
same "$tmp/k" "SIGKILL in pretraining"
ls "$tmp/k" | grep -q '\.tmp\.' && bad "temp files left in $tmp/k" || ok

# SIGINT during pretraining: exit 130 naming the pretraining checkpoint; the re-run resumes
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 600); do [ "$(lines "$tmp/int/pretrain.jsonl")" -ge 25 ] && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && grep -q "pretrain.aelab" "$tmp/int.err"; then ok; else bad "SIGINT: exit $rc: $(cat "$tmp/int.err")"; fi
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>/dev/null || bad "resume after SIGINT failed"
same "$tmp/int" "SIGINT in pretraining"

# the other methods, and their keys in the resolved config
for m in autoencoder "denoising, level: 0.3, tied: false"; do
  "$aelab" run "$tmp/c.yaml" --out "$tmp/m" --quiet --set "pretrain={method: $m, epochs: 2, batch_size: 32}" \
    2>"$tmp/m.err" && [ "$(lines "$tmp/m/pretrain.jsonl")" -eq 6 ] && ok || bad "method $m: $(cat "$tmp/m.err")"
  rm -rf "$tmp/m"
done
"$aelab" check "$tmp/c.yaml" > "$tmp/check.out" 2>&1
grep -q "cd_k: 1" "$tmp/check.out" && grep -q "final_momentum: 0.9" "$tmp/check.out" && ok || bad "resolved config lacks the pretrain defaults"

echo "pretrain: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
