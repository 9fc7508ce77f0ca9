#!/usr/bin/env bash
# `aelab export` and `aelab encode` end to end: two small trained runs (an MLP; a conv VAE with a
# transposed conv) exported as safetensors and .npy, read back by an independent reader written
# here and compared bit for bit with the parameters in checkpoint.aelab; names and shapes as
# PyTorch's; codes.npy against the run's codes.csv; --set data.*; errors. With PyTorch
# (/usr/bin/python3 -c 'import torch'), scripts/to_torch.py reproduces the run's test BCE; without
# it that part says SKIPPED. Usage: tests/e2e/export.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

awk 'BEGIN{srand(5); print "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,y"; for(i=0;i<300;i++){s=0; l=""; for(j=0;j<16;j++){v=rand(); s+=v; l=l sprintf("%.4f,",v)}; print l (s>8?"Yes":"No")}}' > "$tmp/t.csv"
data="data: {source: csv, path: $tmp/t.csv, categorical: {y: {\"No\": 0, \"Yes\": 1}}, label: y, scaling: none, test_fraction: 0.25}"
cat > "$tmp/mlp.yaml" <<YAML
name: mlp
$data
model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 3}], decoder: mirror, output_activation: sigmoid}
loss: bce
train: {epochs: 2, batch_size: 32, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
cat > "$tmp/conv.yaml" <<YAML
name: conv
$data
model:
  encoder:
    - {type: reshape, shape: [1, 4, 4]}
    - {type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {type: dense, units: 5, activation: tanh}
  latent: {kind: gaussian, size: 2}
  decoder:
    - {type: dense, units: 12, activation: relu}
    - {type: reshape, shape: [3, 2, 2]}
    - {type: conv_transpose2d, filters: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1, activation: sigmoid}
loss: {type: bce, reduction: sum}
train: {epochs: 2, batch_size: 32, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
for m in mlp conv; do
  "$aelab" run "$tmp/$m.yaml" --out "$tmp/$m" --quiet > "$tmp/$m.log" 2>&1 && ok || bad "$m run: $(tail -3 "$tmp/$m.log")"
  out=$("$aelab" export "$tmp/$m" 2>&1) && [[ "$out" == "$tmp/$m/model.safetensors ("* ]] && ok || bad "$m export: $out"
  out=$("$aelab" export "$tmp/$m" --format npy --out "$tmp/$m-npy" 2>&1) && ok || bad "$m export npy: $out"
  "$aelab" encode "$tmp/$m" --out "$tmp/$m-codes.npy" > /dev/null 2>&1 && ok || bad "$m encode"
done

# The independent reader: checkpoint.aelab's params section (each parameter starts at a multiple of
# 16 floats, in declaration order), safetensors by the format's rules, .npy by its header.
cat > "$tmp/check.py" <<'PY'
import ast, json, os, struct, sys
run, npydir, expect = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def ckpt_params(path):
    b = open(path, "rb").read()
    assert b[:8] == b"AELABCKP"
    pos = 8 + 4 + 8 + 4
    while True:
        tag, ln = struct.unpack_from("<IQ", b, pos)
        pos += 16
        if tag == 2:
            return b[pos:pos + ln]
        pos += ln
def read_npy(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x93NUMPY\x01\x00", b[:8]
    hl = struct.unpack_from("<H", b, 8)[0]
    assert (10 + hl) % 64 == 0 and b[10 + hl - 1:10 + hl] == b"\n"
    d = ast.literal_eval(b[10:10 + hl].decode("latin1"))
    assert d["descr"] == "<f4" and d["fortran_order"] is False, d
    n = 1
    for s in d["shape"]:
        n *= s
    assert len(b) == 10 + hl + 4 * n, (len(b), hl, n)
    return list(d["shape"]), b[10 + hl:]
params = ckpt_params(os.path.join(run, "checkpoint.aelab"))
b = open(os.path.join(run, "model.safetensors"), "rb").read()
hl = struct.unpack_from("<Q", b, 0)[0]
assert hl % 8 == 0, hl
head = json.loads(b[8:8 + hl].decode("utf-8"), object_pairs_hook=lambda kv: dict(kv))
data = b[8 + hl:]
meta = head.pop("__metadata__")
assert meta["format"] == "pt" and all(isinstance(v, str) for v in meta.values()), meta
assert meta["config"] == open(os.path.join(run, "config.yaml")).read(), "metadata config differs"
assert open(os.path.join(npydir, "config.yaml")).read() == meta["config"]
names = list(head)
assert [(k, head[k]["shape"]) for k in names] == [tuple(e) for e in expect], [(k, head[k]["shape"]) for k in names]
ends, floats = 0, 0
for k in sorted(names, key=lambda k: head[k]["data_offsets"][0]):
    t = head[k]
    s, e = t["data_offsets"]
    n = 1
    for x in t["shape"]:
        n *= x
    assert t["dtype"] == "F32" and s == ends and e - s == 4 * n, (k, t)
    ends = e
    want = params[4 * floats:4 * (floats + n)]
    assert data[s:e] == want, k + ": safetensors bytes differ from the checkpoint"
    shape, raw = read_npy(os.path.join(npydir, k + ".npy"))
    assert shape == t["shape"] and raw == want, k + ": npy differs"
    floats += (n + 15) // 16 * 16
assert ends == len(data), (ends, len(data))
assert floats * 4 == len(params), (floats, len(params))
print("ok", len(names))
PY
py() { python3 "$tmp/check.py" "$@" 2>&1; }
out=$(py "$tmp/mlp" "$tmp/mlp-npy" '[["encoder.0.weight",[8,16]],["encoder.0.bias",[8]],["encoder.1.weight",[3,8]],["encoder.1.bias",[3]],["decoder.0.weight",[8,3]],["decoder.0.bias",[8]],["decoder.1.weight",[16,8]],["decoder.1.bias",[16]]]')
[ "$out" = "ok 8" ] && ok || bad "mlp read back: $out"
out=$(py "$tmp/conv" "$tmp/conv-npy" '[["encoder.1.weight",[3,1,3,3]],["encoder.1.bias",[3]],["encoder.2.weight",[5,12]],["encoder.2.bias",[5]],["latent.mu.weight",[2,5]],["latent.mu.bias",[2]],["latent.logvar.weight",[2,5]],["latent.logvar.bias",[2]],["decoder.0.weight",[12,2]],["decoder.0.bias",[12]],["decoder.2.weight",[3,1,3,3]],["decoder.2.bias",[1]]]')
[ "$out" = "ok 12" ] && ok || bad "conv read back: $out"

# codes.npy = codes.csv (written with %.9g: float32 round trip), mu for the gaussian latent
cat > "$tmp/codes.py" <<'PY'
import csv, struct, sys
b = open(sys.argv[1], "rb").read()
hl = struct.unpack_from("<H", b, 8)[0]
head = b[10:10 + hl].decode("latin1")
rows = list(csv.reader(open(sys.argv[2])))[1:]
cs = int(sys.argv[3])
assert "'shape': (%d, %d)" % (len(rows), cs) in head, head
want = b"".join(struct.pack("<f", float(v)) for r in rows for v in r[:cs])
print("same" if b[10 + hl:] == want else "differ")
PY
for m in "mlp 3" "conv 2"; do
  set -- $m
  out=$(python3 "$tmp/codes.py" "$tmp/$1-codes.npy" "$tmp/$1/codes.csv" "$2" 2>&1)
  [ "$out" = same ] && ok || bad "$1 codes.npy vs codes.csv: $out"
done
out=$("$aelab" encode "$tmp/mlp" --set data.test_fraction=0.5 --out "$tmp/half.npy" 2>&1)
[ $? -eq 0 ] && [[ "$out" == *"(150 x 3)" ]] && ok || bad "encode --set data.*: $out"

# errors: exit 2 with a message that says what to do
out=$("$aelab" encode "$tmp/mlp" --set train.epochs=3 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"encode takes data.* keys only"* ]] && ok || bad "encode --set train.*: $rc $out"
out=$("$aelab" export "$tmp/mlp" --format onnx 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"--format 'onnx': expected safetensors or npy"* ]] && ok || bad "--format onnx: $rc $out"
out=$("$aelab" export "$tmp/nothere" 2>&1); rc=$?
[ $rc -ne 0 ] && [[ "$out" == *"nothere"* ]] && ok || bad "missing run folder: $rc $out"
out=$("$aelab" export "$tmp/mlp" --out "$tmp/conv/model2.safetensors" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"holds another config"* ]] && ok || bad "config beside clash: $rc $out"
out=$("$aelab" export 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"missing the run folder"* ]] && ok || bad "no run folder: $rc $out"
out=$("$aelab" encode --help 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"usage: aelab encode RUN_DIR"* ]] && ok || bad "encode --help: $rc"
"$aelab" --help | grep -q "export RUN_DIR" && ok || bad "aelab --help lists export"

# PyTorch: W2's model (configs/peer/w2.yaml, smaller) on generated MNIST-named IDX images, exported and
# loaded into an nn.Module by scripts/to_torch.py, gives the run's test BCE to 1e-5
if /usr/bin/python3 -c 'import torch, yaml' 2>/dev/null; then
  mkdir -p "$tmp/data/mnist"
  python3 - "$tmp/data/mnist" <<'PY'
import gzip, random, struct, sys
random.seed(2)
for split, n in (("train", 256), ("t10k", 100)):
    with gzip.open(f"{sys.argv[1]}/{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 12, 12) + bytes(random.randrange(256) for _ in range(n * 144)))
    with gzip.open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
  "$aelab" run "$src/configs/peer/w2.yaml" --data-dir "$tmp/data" --out "$tmp/w2" --quiet --set data.name=mnist \
    --set train.epochs=2 --set 'model.encoder=[{type: dense, units: 32, activation: relu}, {type: dense, units: 8}]' \
    > "$tmp/w2.log" 2>&1 && ok || bad "small w2 run: $(tail -3 "$tmp/w2.log")"
  # and a conv VAE (conv2d, gaussian heads, transposed conv): the layouts are PyTorch's
  cat > "$tmp/cv.yaml" <<'YAML'
name: cv
data: {source: idx, name: mnist}
model:
  encoder:
    - {type: conv2d, filters: 4, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {type: dense, units: 8, activation: tanh}
  latent: {kind: gaussian, size: 3}
  decoder:
    - {type: dense, units: 144, activation: relu}
    - {type: reshape, shape: [4, 6, 6]}
    - {type: conv_transpose2d, filters: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1, activation: sigmoid}
loss: {type: bce, reduction: sum}
train: {epochs: 2, batch_size: 32, progress: false}
outputs: {plots: false, probe: false, pca_baseline: false}
YAML
  "$aelab" run "$tmp/cv.yaml" --data-dir "$tmp/data" --out "$tmp/cv" --quiet > "$tmp/cv.log" 2>&1 && ok || bad "conv vae run: $(tail -3 "$tmp/cv.log")"
  for m in w2 cv; do
    "$aelab" export "$tmp/$m" --data-dir "$tmp/data" > /dev/null 2>&1 && ok || bad "$m export"
    out=$(/usr/bin/python3 "$src/scripts/to_torch.py" "$tmp/$m" --data-dir "$tmp/data" --check 2>&1) && ok || bad "to_torch.py $m: $out"
    echo "$m: $out"
  done
else
  echo "to_torch.py: SKIPPED (/usr/bin/python3 cannot import torch and yaml; make bench installs PyTorch)"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
