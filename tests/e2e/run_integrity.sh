#!/usr/bin/env bash
# A run folder stays consistent: a second process on the same folder writes nothing (the folder is
# locked); a re-run refused for a changed config leaves the folder byte-identical; a run whose
# outputs were not all written (disk full, deleted) is not "finished" and a re-run completes it
# without training again; stale temp files are removed; the IDX codes plot is titled by its labels.
# Usage: tests/e2e/run_integrity.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# --- two processes, one folder: the second is refused while the first writes ------------------
awk 'BEGIN{srand(3); print "a,b,c,d,e,f"; for(i=0;i<2000;i++){l=""; for(j=0;j<6;j++) l=l sprintf("%s%.4f", j?",":"", rand()); print l}}' > "$tmp/d.csv"
cat > "$tmp/lock.yaml" <<YAML
name: lock
data: {source: csv, path: $tmp/d.csv, scaling: none}
model: {encoder: [{type: dense, units: 16, activation: relu}, {type: dense, units: 2}]}
train: {epochs: 250, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
"$aelab" run "$tmp/lock.yaml" --out "$tmp/L" --quiet 2>"$tmp/L1.err" &
pid=$!
for _ in $(seq 3000); do # until the first epoch is written, then hold the process there
  [ -s "$tmp/L/metrics.jsonl" ] && break
  sleep 0.01
done
kill -STOP "$pid"
before=$(snapshot "$tmp/L")
"$aelab" run "$tmp/lock.yaml" --out "$tmp/L" --quiet >"$tmp/L2.err" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "error: $tmp/L is being written by process $pid; nothing done" "$tmp/L2.err" && ok ||
  bad "second process on a locked folder: exit $rc: $(cat "$tmp/L2.err")"
[ "$before" = "$(snapshot "$tmp/L")" ] && ok || bad "the refused process changed the folder"
kill -CONT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "first process: exit $rc: $(cat "$tmp/L1.err")"
[ "$(wc -l < "$tmp/L/metrics.jsonl")" -eq 250 ] && ok || bad "metrics.jsonl has $(wc -l < "$tmp/L/metrics.jsonl") lines, not 250"
# the lock goes with the process: a later run just finds the run finished
"$aelab" run "$tmp/lock.yaml" --out "$tmp/L" --quiet 2>"$tmp/L3.err" && grep -q "finished already" "$tmp/L3.err" && ok ||
  bad "re-run after the lock was released: $(cat "$tmp/L3.err")"

# --- an image VAE (IDX data) for the output tests ----------------------------------------------
python3 - "$tmp" <<'PY'
import random, struct, sys
random.seed(5)
n, h, w = 120, 8, 8
lab = [i % 4 for i in range(n)]
px = bytes(min(255, max(0, int(40 * lab[i] + random.gauss(60, 30)))) for i in range(n) for _ in range(h * w))
open(sys.argv[1] + '/img.idx', 'wb').write(struct.pack('>IIII', 0x803, n, h, w) + px)
open(sys.argv[1] + '/lab.idx', 'wb').write(struct.pack('>II', 0x801, n) + bytes(lab))
PY
cat > "$tmp/vae.yaml" <<YAML
name: vae
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, scaling: minmax}
model:
  encoder: [{type: dense, units: 16, activation: relu}]
  latent: {kind: gaussian, size: 2}
loss: bce
train: {epochs: 3, batch_size: 32, progress: false}
outputs: {probe: false, pca_baseline: false}
YAML
run() { "$aelab" run "$tmp/vae.yaml" --out "$tmp/$1" --quiet "${@:2}"; }

# codes.png of labelled IDX data is titled by its labels
run V 2>"$tmp/V.err" && ok || bad "VAE run failed: $(tail -3 "$tmp/V.err")"
grep -q "vae: codes (coloured by label)" "$tmp/V/codes.gp" && ! grep -q "no label" "$tmp/V/codes.gp" && ok ||
  bad "codes plot title: $(grep -i title "$tmp/V/codes.gp")"

# a re-run refused for another config leaves the folder byte-identical (and still usable)
before=$(snapshot "$tmp/V")
run V --set train.optimizer.lr=0.01 >"$tmp/V2.err" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "different configuration" "$tmp/V2.err" && ok || bad "changed config: exit $rc: $(cat "$tmp/V2.err")"
[ "$before" = "$(snapshot "$tmp/V")" ] && ok || bad "the refused re-run changed the folder: $(diff <(echo "$before") <(snapshot "$tmp/V"))"
"$aelab" sample "$tmp/V" --out "$tmp/s.png" >"$tmp/s.err" 2>&1 && [ -s "$tmp/s.png" ] && ok ||
  bad "aelab sample after the refused re-run: $(cat "$tmp/s.err")"

# an output that cannot be written (a folder in the way of reconstructions.png): exit 4, no
# final.json, so the re-run is not "finished already": it writes the outputs without training
mkdir -p "$tmp/P/reconstructions.png/x"
run P >"$tmp/P1.err" 2>&1; rc=$?
[ "$rc" -eq 4 ] && grep -q "reconstructions.png" "$tmp/P1.err" && ok || bad "blocked output: exit $rc: $(tail -2 "$tmp/P1.err")"
[ ! -e "$tmp/P/final.json" ] && ok || bad "final.json written although an output failed"
rm -r "$tmp/P/reconstructions.png"
metrics=$(sha256sum < "$tmp/P/metrics.jsonl")
run P 2>"$tmp/P2.err"; rc=$?
[ "$rc" -eq 0 ] && ! grep -q "finished already" "$tmp/P2.err" && grep -q "trained already" "$tmp/P2.err" && ok ||
  bad "re-run after the failed output: exit $rc: $(cat "$tmp/P2.err")"
[ -s "$tmp/P/reconstructions.png" ] && [ -s "$tmp/P/final.json" ] && ok || bad "re-run did not write the missing outputs"
[ "$metrics" = "$(sha256sum < "$tmp/P/metrics.jsonl")" ] && ok || bad "re-run trained again"
run P 2>"$tmp/P3.err" && grep -q "finished already" "$tmp/P3.err" && ok || bad "complete run not skipped: $(cat "$tmp/P3.err")"

# a deleted output and stale temp files (of a process that is gone): the re-run restores the one
# and removes the others
sh -c 'exit 0' & dead=$!
wait "$dead"
rm "$tmp/V/samples.png"
touch "$tmp/V/final.json.tmp.$dead" "$tmp/V/loss.png.tmp.$dead" "$tmp/V/keep.tmp.notes"
run V 2>"$tmp/V3.err"; rc=$?
[ "$rc" -eq 0 ] && ! grep -q "finished already" "$tmp/V3.err" && [ -s "$tmp/V/samples.png" ] && ok ||
  bad "deleted samples.png: exit $rc, $(cat "$tmp/V3.err")"
[ -z "$(ls "$tmp/V" | grep "\.tmp\.$dead")" ] && [ -e "$tmp/V/keep.tmp.notes" ] && ok || bad "temp files: $(ls "$tmp/V")"
run V 2>"$tmp/V4.err" && grep -q "finished already" "$tmp/V4.err" && ok || bad "restored run not skipped"

# a write that fails (the file size limit stands in for a full disk: the same calls fail, with
# EFBIG instead of ENOSPC) says why, for the checkpoint too; exit 4, no final.json
(trap '' XFSZ; ulimit -f 20; "$aelab" run "$tmp/vae.yaml" --out "$tmp/F" --quiet >"$tmp/F.err" 2>&1); rc=$?
[ "$rc" -eq 4 ] && grep -q "cannot write '$tmp/F/checkpoint.aelab': File too large" "$tmp/F.err" && [ ! -e "$tmp/F/final.json" ] &&
  [ -z "$(ls "$tmp/F" | grep '\.tmp\.')" ] && ok || bad "failed checkpoint write: exit $rc: $(cat "$tmp/F.err")"

# gnuplot exits 0 after a PNG cut short by the limit: the image is checked (PNG's IEND chunk), the
# run fails with exit 4 and no final.json, and a re-run without the limit completes it
awk 'BEGIN{srand(3); print "a,b,c,d"; for(i=0;i<200;i++) printf "%.3f,%.3f,%.3f,%.3f\n", rand(), rand(), rand(), rand()}' > "$tmp/g.csv"
printf 'data: {source: csv, path: %s/g.csv, scaling: none, test_fraction: 0.2}\nmodel: {encoder: [{type: dense, units: 2, activation: sigmoid}]}\ntrain: {epochs: 3, batch_size: 32}\noutputs: {probe: false, pca_baseline: false}\n' "$tmp" > "$tmp/g.yaml"
(trap '' XFSZ; ulimit -f 12; "$aelab" run "$tmp/g.yaml" --out "$tmp/G" --quiet >"$tmp/G.err" 2>&1); rc=$?
[ "$rc" -eq 4 ] && grep -q "gnuplot wrote an incomplete image to '$tmp/G/loss.png'" "$tmp/G.err" && [ ! -e "$tmp/G/final.json" ] &&
  [ ! -e "$tmp/G/loss.png" ] && ok || bad "PNG cut short by gnuplot: exit $rc: $(cat "$tmp/G.err")"
"$aelab" run "$tmp/g.yaml" --out "$tmp/G" --quiet 2>/dev/null && [ -e "$tmp/G/final.json" ] &&
  tail -c 8 "$tmp/G/loss.png" | od -An -c | grep -q 'I   E   N   D' && ok || bad "re-run after a cut-short PNG"

echo "run_integrity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
