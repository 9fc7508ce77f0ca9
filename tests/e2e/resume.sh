#!/usr/bin/env bash
# Faults lose nothing: a run killed with SIGKILL at random moments and re-run (several times), or
# stopped with SIGINT (exit 130, checkpoint written) and re-run, ends with the same metrics and
# final results as an uninterrupted run; a finished run is skipped; a corrupted checkpoint is a
# clear error. Usage: tests/e2e/resume.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

awk 'BEGIN{srand(7); print "a,b,c,d,e,f,g,h"; for(i=0;i<3000;i++){l=""; for(j=0;j<8;j++) l=l sprintf("%s%.4f", j?",":"", rand()); print l}}' > "$tmp/d.csv"
cat > "$tmp/c.yaml" <<YAML
name: resume
data: {source: csv, path: $tmp/d.csv, scaling: none, test_fraction: 0.2}
model:
  encoder: [{type: dense, units: 64, activation: relu}, {type: dense, units: 3, activation: sigmoid}]
corruption: {type: masking, p: 0.1}
loss: bce
train: {epochs: 150, batch_size: 16, progress: false}
outputs: {plots: false, probe: false}
YAML
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }

"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet 2>/dev/null || bad "reference run failed"

# SIGKILL at random moments, then re-run until it finishes
for trial in 1 2 3; do
  out="$tmp/k$trial"
  for attempt in 1 2 3 4; do
    "$aelab" run "$tmp/c.yaml" --out "$out" --quiet 2>/dev/null &
    pid=$!
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  "$aelab" run "$tmp/c.yaml" --out "$out" --quiet 2>/dev/null || bad "resume $trial failed"
  if cmp -s <(strip "$tmp/ref/metrics.jsonl") <(strip "$out/metrics.jsonl"); then ok; else bad "metrics differ after kill -9 (trial $trial)"; fi
  if cmp -s <(strip "$tmp/ref/final.json") <(strip "$out/final.json"); then ok; else bad "final.json differs after kill -9 (trial $trial)"; fi
  ls "$out" | grep -q '\.tmp\.' && bad "temp files left in $out" || ok
done

# SIGINT: finishes the batch, writes a checkpoint, exits 130; the re-run resumes mid-epoch
# (sent once the first epoch is written: the handler is installed and training is under way, on a
# fast machine or a slow one alike)
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 600); do [ -s "$tmp/int/metrics.jsonl" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && grep -q "run the same command again to resume" "$tmp/int.err"; then ok; else bad "SIGINT: exit $rc: $(cat "$tmp/int.err")"; fi
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet 2>"$tmp/int2.err" || bad "resume after SIGINT failed"
grep -q "(resumed)" "$tmp/int2.err" && ok || bad "second run did not resume"
if cmp -s <(strip "$tmp/ref/final.json") <(strip "$tmp/int/final.json"); then ok; else bad "final.json differs after SIGINT"; fi
if cmp -s <(strip "$tmp/ref/metrics.jsonl") <(strip "$tmp/int/metrics.jsonl"); then ok; else bad "metrics differ after SIGINT"; fi

# a finished run is skipped
"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet 2>"$tmp/skip.err" && grep -q "finished already" "$tmp/skip.err" && ok || bad "finished run not skipped"
# more epochs extend a finished run
"$aelab" run "$tmp/c.yaml" --out "$tmp/int" --quiet --set train.epochs=152 2>"$tmp/ext.err" && grep -q resumed "$tmp/ext.err" && [ "$(wc -l < "$tmp/int/metrics.jsonl")" -eq 152 ] && ok || bad "extending a finished run"
# gaussian corruption (Philox noise, a seed per step from the checkpointed run stream): 3 epochs
# extended to 6 end like 6 epochs straight
sed 's/{type: masking, p: 0.1}/{type: gaussian, sigma: 0.3, clip: [0, 1]}/; s/epochs: 150/epochs: 6/' "$tmp/c.yaml" > "$tmp/g.yaml"
"$aelab" run "$tmp/g.yaml" --out "$tmp/g6" --quiet 2>/dev/null || bad "gaussian reference run failed"
"$aelab" run "$tmp/g.yaml" --out "$tmp/g3" --quiet --set train.epochs=3 2>/dev/null &&
  "$aelab" run "$tmp/g.yaml" --out "$tmp/g3" --quiet 2>"$tmp/g.err" && grep -q resumed "$tmp/g.err" || bad "gaussian resume failed"
if cmp -s <(strip "$tmp/g6/metrics.jsonl") <(strip "$tmp/g3/metrics.jsonl") &&
   cmp -s <(strip "$tmp/g6/final.json") <(strip "$tmp/g3/final.json"); then ok; else bad "gaussian corruption: resumed run differs"; fi
# outputs.eval_every: the test metrics after every 4th epoch and the last (4 and 6) only; the training
# (checkpoint, final.json) is the every-epoch run's, and the figure's gaps do not stop the run
"$aelab" run "$tmp/g.yaml" --out "$tmp/ev" --quiet --set outputs.eval_every=4 --set outputs.plots=true 2>/dev/null ||
  bad "eval_every run failed"
[ "$(grep -c '"test_loss"' "$tmp/ev/metrics.jsonl")" -eq 2 ] && grep '"epoch":4,' "$tmp/ev/metrics.jsonl" | grep -q test_loss &&
  grep '"epoch":6,' "$tmp/ev/metrics.jsonl" | grep -q test_loss && ok || bad "eval_every: test metrics not on epochs 4 and 6"
nofiles() { strip "$1" | sed -E 's/,"files":"[^"]*"//'; }
cmp -s "$tmp/g6/checkpoint.aelab" "$tmp/ev/checkpoint.aelab" && cmp -s <(nofiles "$tmp/g6/final.json") <(nofiles "$tmp/ev/final.json") &&
  [ -s "$tmp/ev/loss.png" ] && ok || bad "eval_every changed the training or lost loss.png"
# another config in the same folder is refused
"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet --set train.optimizer.lr=0.01 2>"$tmp/h.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "different configuration" "$tmp/h.err" && ok || bad "config change not detected (exit $rc)"
# corrupted checkpoint: one flipped byte in the parameters
cp -r "$tmp/ref" "$tmp/cor"
printf '\x55' | dd of="$tmp/cor/checkpoint.aelab" bs=1 seek=300 conv=notrunc status=none
"$aelab" run "$tmp/c.yaml" --out "$tmp/cor" --quiet 2>"$tmp/c.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "CRC mismatch" "$tmp/c.err" && ok || bad "corruption not detected (exit $rc): $(cat "$tmp/c.err")"
head -c 100 "$tmp/ref/checkpoint.aelab" > "$tmp/cor/checkpoint.aelab"
"$aelab" run "$tmp/c.yaml" --out "$tmp/cor" --quiet 2>"$tmp/c.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "truncated" "$tmp/c.err" && ok || bad "truncation not detected (exit $rc): $(cat "$tmp/c.err")"
echo "garbage" > "$tmp/cor/checkpoint.aelab"
"$aelab" run "$tmp/c.yaml" --out "$tmp/cor" --quiet 2>"$tmp/c.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "not an aelab checkpoint" "$tmp/c.err" && ok || bad "bad magic not detected (exit $rc)"

echo "resume: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
