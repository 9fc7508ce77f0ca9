#!/usr/bin/env bash
# data.binarize and data.validation through whole runs: val_* metrics every epoch and in final.json,
# the final evaluation on the last epoch's draw, bit-identical reruns, and a run resumed (at an epoch
# boundary, and mid-epoch after SIGINT) that ends with the same numbers as an uninterrupted one.
# Usage: tests/e2e/data_transforms.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

awk 'BEGIN{srand(11); print "a,b,c,d,e,f,g,h,i,j"; for(i=0;i<2500;i++){l=""; for(j=0;j<10;j++) l=l sprintf("%s%.3f", j?",":"", rand()); print l}}' > "$tmp/d.csv"
cat > "$tmp/c.yaml" <<YAML
name: transforms
seed: 5
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2, validation: 0.1, binarize: dynamic}
model:
  encoder: [{type: dense, units: 32, activation: relu}, {type: dense, units: 3}]
loss: bce
train: {epochs: 60, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }
same() { cmp -s <(strip "$1") <(strip "$2"); }
field() { grep -o "\"$2\":[^,}]*" "$1" | tail -1 | cut -d: -f2; }

"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet 2>"$tmp/ref.err" || bad "reference run failed: $(cat "$tmp/ref.err")"
m=$tmp/ref/metrics.jsonl f=$tmp/ref/final.json
[ "$(grep -c '"val_loss":.*"val_mse":.*"val_bce":' "$m")" -eq 60 ] && ok || bad "val_loss/val_mse/val_bce missing from metrics lines"
grep -q '"val_loss":.*"val_mse":.*"val_bce":' "$f" && ok || bad "val_* missing from final.json: $(cat "$f")"
# the final evaluation reads the last epoch's draw of the test and validation rows
[ "$(field "$m" test_loss)" = "$(field "$f" loss)" ] && [ "$(field "$m" val_loss)" = "$(field "$f" val_loss)" ] && ok ||
  bad "final.json is not the last epoch's evaluation: $(tail -1 "$m") vs $(cat "$f")"
# the validation rows are not trained on: 1800 training rows (2500 - 20% test - 10% of the rest)
grep -q "1800 samples" "$tmp/ref.err" && ok || bad "training rows: $(cat "$tmp/ref.err")"
# the binarized rows are what the model sees: other numbers than the gray levels, and than a static draw
"$aelab" run "$tmp/c.yaml" --out "$tmp/none" --quiet --set train.epochs=2 --set data.binarize=none 2>/dev/null &&
  "$aelab" run "$tmp/c.yaml" --out "$tmp/static" --quiet --set train.epochs=2 --set data.binarize=static 2>/dev/null &&
  "$aelab" run "$tmp/c.yaml" --out "$tmp/dyn2" --quiet --set train.epochs=2 2>/dev/null || bad "2-epoch runs failed"
[ "$(field "$tmp/none/final.json" loss)" != "$(field "$tmp/dyn2/final.json" loss)" ] &&
  [ "$(field "$tmp/static/final.json" loss)" != "$(field "$tmp/dyn2/final.json" loss)" ] && ok || bad "binarize changes nothing"

# same config, same seed: the same bits
"$aelab" run "$tmp/c.yaml" --out "$tmp/again" --quiet 2>/dev/null || bad "rerun failed"
same "$m" "$tmp/again/metrics.jsonl" && same "$f" "$tmp/again/final.json" && ok || bad "rerun differs"

# resumed at an epoch boundary (a finished 30-epoch run extended to 60)
"$aelab" run "$tmp/c.yaml" --out "$tmp/ext" --quiet --set train.epochs=30 2>/dev/null &&
  "$aelab" run "$tmp/c.yaml" --out "$tmp/ext" --quiet 2>"$tmp/ext.err" && grep -q resumed "$tmp/ext.err" || bad "extension failed"
same "$m" "$tmp/ext/metrics.jsonl" && same "$f" "$tmp/ext/final.json" && ok || bad "resumed at an epoch boundary: differs"

# SIGINT mid-run: the batch finishes, a checkpoint is written; the re-run resumes and draws the same bits
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 600); do [ -s "$tmp/int/metrics.jsonl" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ] && ok || bad "SIGINT: exit $rc: $(cat "$tmp/int.err")"
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>"$tmp/int2.err" && grep -q "(resumed)" "$tmp/int2.err" || bad "no resume after SIGINT"
same "$m" "$tmp/int/metrics.jsonl" && same "$f" "$tmp/int/final.json" && ok || bad "resumed after SIGINT: differs"

echo "data_transforms: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
