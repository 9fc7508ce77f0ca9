#!/usr/bin/env bash
# model.init.dictionary end to end on generated 8x8 images: the first convolution's kernels come from the
# learned dictionary (unit-length atoms, one per kernel, the same bytes on a second run) while every
# other parameter keeps the init scheme's draws (the run's own random stream is not used); a resumed
# run does not learn it again; a first layer that is not a convolution is a clear error at the key.
# Usage: tests/e2e/init_dict.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"

python3 "$src/tests/lib/classes_idx.py" "$tmp" 120 4
cat > "$tmp/d.yaml" <<YAML
name: d
seed: 5
data: {source: idx, images: $tmp/img.idx, labels: $tmp/lab.idx, test_fraction: 0.25, scaling: minmax}
model:
  encoder: [{type: conv2d, filters: 4, kernel: 3, padding: 1, bias: false}, {type: batch_norm},
            {type: activation, activation: leaky_relu}, {type: max_pool2d, kernel: 2, stride: 2},
            {type: dense, units: 3, bias: false}]
  decoder: mirror
  init: {scheme: glorot, dictionary: {images: 40, iterations: 200}}
train: {epochs: 0, batch_size: 16, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
# the parameters of a run as NAME=comma-separated floats, one line each (from its exported .npy files)
params() {
  "$aelab" export "$1" --format npy --out "$1/npy" > /dev/null 2>&1 || { echo "export of $1 failed"; return; }
  python3 - "$1/npy" <<'PY'
import os, struct, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    b = open(os.path.join(d, f), "rb").read()
    hl = b[8] | b[9] << 8
    if b"'<f4'" not in b[10:10 + hl]:
        continue
    v = struct.unpack("<%df" % ((len(b) - 10 - hl) // 4), b[10 + hl:])
    print(f[:-4] + "=" + ",".join(repr(x) for x in v))
PY
}
"$aelab" run "$tmp/d.yaml" --out "$tmp/a" --quiet 2>"$tmp/a.err" || bad "run failed: $(cat "$tmp/a.err")"
grep -q "encoder\[0\].weight from a dictionary of 4 atoms (1440 patches of 40 images, 200 batches)" "$tmp/a.err" && ok ||
  bad "no dictionary message: $(cat "$tmp/a.err")"
params "$tmp/a" > "$tmp/a.txt"
python3 - "$tmp/a.txt" <<'PY' && ok || bad "encoder.0.weight: not 4 unit-length kernels of 3x3"
import math, sys
p = dict(l.strip().split("=", 1) for l in open(sys.argv[1]))
w = [float(x) for x in p["encoder.0.weight"].split(",")]
assert len(w) == 36, len(w)
for k in range(4):
    n = math.sqrt(sum(x * x for x in w[9 * k:9 * k + 9]))
    assert abs(n - 1) < 1e-5, (k, n)
PY
# the same config again: the same bytes; without the dictionary: only encoder.0.weight differs
"$aelab" run "$tmp/d.yaml" --out "$tmp/b" --quiet 2>/dev/null || bad "second run failed"
params "$tmp/b" > "$tmp/b.txt"
cmp -s "$tmp/a.txt" "$tmp/b.txt" && ok || bad "two runs of the same config differ"
sed 's/, dictionary: {images: 40, iterations: 200}//' "$tmp/d.yaml" > "$tmp/plain.yaml"
"$aelab" run "$tmp/plain.yaml" --out "$tmp/c" --quiet 2>/dev/null || bad "run without the dictionary failed"
params "$tmp/c" > "$tmp/c.txt"
diff "$tmp/a.txt" "$tmp/c.txt" | grep '^[<>]' | cut -d= -f1 | tr -d '<> ' | sort -u > "$tmp/diff.txt"
[ "$(cat "$tmp/diff.txt")" = "encoder.0.weight" ] && ok || bad "parameters that differ from the plain init: $(cat "$tmp/diff.txt")"
# a longer run resumes from the checkpoint: no second dictionary
"$aelab" run "$tmp/d.yaml" --out "$tmp/a" --quiet --set train.epochs=1 2>"$tmp/r.err" || bad "resume failed: $(cat "$tmp/r.err")"
grep -q "(resumed)" "$tmp/r.err" && ! grep -q "from a dictionary" "$tmp/r.err" && ok || bad "the resumed run learned again: $(cat "$tmp/r.err")"
# a dense first layer: the key's place and what is needed
"$aelab" run "$tmp/d.yaml" --out "$tmp/e" --quiet --set 'model.encoder=[{type: dense, units: 3}]' 2>"$tmp/e.err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "d.yaml:9:.*model.init.dictionary needs the encoder's first layer with weights to be a convolution" "$tmp/e.err" && ok ||
  bad "dense first layer: exit $rc: $(cat "$tmp/e.err")"
echo "init_dict: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
