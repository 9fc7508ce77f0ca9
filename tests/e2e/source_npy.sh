#!/usr/bin/env bash
# The `npy` data source end to end: .npy files written the way np.save writes them (no NumPy needed),
# trained with `aelab run` as uint8 images through conv layers (labels, test files, the probe) and
# as a float64 table with a test_fraction split; `aelab list` shows the source; a malformed file is
# exit 2 naming it. Usage: tests/e2e/source_npy.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

python3 - "$tmp" <<'PY'
import random, struct, sys
def save(path, descr, shape, payload):  # numpy.lib.format, version 1.0
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload)
rnd = random.Random(5)
def images(n):  # 8x8: a bright square whose corner is the class
    px, lab = bytearray(), bytearray()
    for i in range(n):
        c = i % 4
        for y in range(8):
            for x in range(8):
                on = (y < 4) == (c < 2) and (x < 4) == (c % 2 == 0)
                px.append(min(255, (200 if on else 20) + rnd.randrange(30)))
        lab.append(c)
    return bytes(px), bytes(lab)
px, lab = images(64)
save(sys.argv[1] + "/X.npy", "|u1", (64, 1, 8, 8), px)
save(sys.argv[1] + "/y.npy", "|u1", (64,), lab)
px, lab = images(16)
save(sys.argv[1] + "/Xt.npy", "|u1", (16, 1, 8, 8), px)
save(sys.argv[1] + "/yt.npy", "<i8", (16,), b"".join(struct.pack("<q", v) for v in lab))
rows = [[rnd.gauss(0, 1) for _ in range(5)] for _ in range(40)]
save(sys.argv[1] + "/T.npy", "<f8", (40, 5), b"".join(struct.pack("<5d", *r) for r in rows))
save(sys.argv[1] + "/big.npy", ">f4", (2, 2), bytes(16))
PY

cat > "$tmp/img.yaml" <<YAML
data: {source: npy, path: X.npy, labels: y.npy, test_path: Xt.npy, test_labels: yt.npy}
model:
  encoder:
    - {type: conv2d, filters: 4, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {type: dense, units: 3}
  decoder: mirror
  output_activation: sigmoid
loss: bce
train: {epochs: 3, batch_size: 16, progress: false}
outputs: {plots: false, pca_baseline: false, probe_folds: 2}
YAML
out=$("$aelab" run "$tmp/img.yaml" --data-dir "$tmp" --out "$tmp/img" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "images: exit $rc: $out"
final=$(cat "$tmp/img/final.json" 2>/dev/null)
[[ $final == *'"probe_accuracy"'* && $final == *'"split":"test"'* ]] && ok || bad "images: final.json: $final"
grep -q '"test_loss"' "$tmp/img/metrics.jsonl" 2>/dev/null && ok || bad "images: no test_loss in metrics.jsonl"
grep -q 'scaling: none' "$tmp/img/config.yaml" && grep -q 'test_limit: 0' "$tmp/img/config.yaml" && ok ||
  bad "images: resolved config: $(grep -A12 '^data' "$tmp/img/config.yaml")"

cat > "$tmp/table.yaml" <<YAML
data: {source: npy, path: $tmp/T.npy, scaling: standard, test_fraction: 0.25}
model: {encoder: [{type: dense, units: 2}]}
train: {epochs: 2, batch_size: 8, progress: false}
outputs: {plots: false, probe: false}
YAML
out=$("$aelab" run "$tmp/table.yaml" --out "$tmp/table" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "table: exit $rc: $out"
[ "$(grep -c '"test_loss"' "$tmp/table/metrics.jsonl" 2>/dev/null)" = 2 ] && ok || bad "table: metrics: $(cat "$tmp/table/metrics.jsonl")"

"$aelab" list | grep -q '^  npy  *NumPy .npy arrays' && ok || bad "aelab list does not show npy"

sed 's|path: X.npy|path: big.npy|' "$tmp/img.yaml" > "$tmp/big.yaml"
out=$("$aelab" check "$tmp/big.yaml" --data-dir "$tmp" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *"$tmp/big.npy: dtype '>f4' is not little-endian"* ]] && ok || bad "big-endian: exit $rc: $out"

echo "source_npy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
