#!/usr/bin/env bash
# Ruff et al. (2018)'s LeNet-type layers end to end: a small conv autoencoder with batch norm, leaky
# ReLU, max-pooling and (mirrored) upsampling, no biases, trains on generated images; a run resumed
# from its checkpoint (3 epochs, extended to 6) gives the same bytes as an uninterrupted one, which
# needs the running statistics from the checkpoint (every epoch's test metrics normalise with them);
# a VAE with batch norm reports an NLL (evaluation graphs). Usage: tests/e2e/norm_layers.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

python3 - "$tmp" <<'PY'
import random, struct, sys
def save(path, shape, payload):  # numpy.lib.format 1.0, uint8
    d = "{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }" % ", ".join(map(str, shape))
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload)
rnd = random.Random(5)
def images(n, s=12):  # a bright quadrant (4 classes) and noise
    px = bytearray()
    for i in range(n):
        c = i % 4
        for y in range(s):
            for x in range(s):
                on = (y < s // 2) == (c < 2) and (x < s // 2) == (c % 2 == 0)
                px.append(min(255, (200 if on else 20) + rnd.randrange(40)))
    return bytes(px)
save(sys.argv[1] + "/X.npy", (200, 1, 12, 12), images(200))
save(sys.argv[1] + "/Xt.npy", (40, 1, 12, 12), images(40))
PY
cat > "$tmp/c.yaml" <<YAML
name: lenet
seed: 3
data: {source: npy, path: $tmp/X.npy, test_path: $tmp/Xt.npy}
model:
  encoder:
    - {type: conv2d, filters: 8, kernel: 5, padding: 2, bias: false}
    - {type: batch_norm, eps: 1e-4, affine: false}
    - {type: activation, activation: leaky_relu}
    - {type: max_pool2d, kernel: 2, stride: 2}
    - {type: conv2d, filters: 4, kernel: 5, padding: 2, bias: false}
    - {type: batch_norm, eps: 1e-4, affine: false}
    - {type: activation, activation: leaky_relu}
    - {type: max_pool2d, kernel: 2, stride: 2}
    - {type: dense, units: 8, bias: false}
loss: mse
train: {epochs: 6, batch_size: 32, progress: false, optimizer: {name: adam, lr: 0.01}}
outputs: {plots: false, probe: false}
YAML
strip() { sed -E 's/"(seconds|train_seconds|samples_per_s)":[^,}]*//g' "$1"; }

"$aelab" run "$tmp/c.yaml" --out "$tmp/ref" --quiet 2>"$tmp/ref.err" && ok || bad "reference run failed: $(cat "$tmp/ref.err")"
# two threads: every node of this small net runs on one, which once ran the step in one region whose
# batch norm waited for the other thread (a deadlock): it must finish
timeout -s KILL 120 "$aelab" run "$tmp/c.yaml" --out "$tmp/t2" --quiet --threads 2 --set train.epochs=2 2>"$tmp/t2.err" &&
  ok || bad "2-thread run did not finish (exit $?): $(tail -2 "$tmp/t2.err")"
# the mirror: upsample <- max_pool2d, batch_norm <- batch_norm, conv_transpose2d <- conv2d, no biases
types=$(awk '/^  decoder:/{d=1; next} d && /^  [a-z]/{d=0} d && /type:/{printf "%s ", $NF}' "$tmp/ref/config.yaml")
[ "$types" = "dense reshape upsample batch_norm conv_transpose2d upsample batch_norm conv_transpose2d " ] && ok ||
  bad "mirrored decoder: $types"
grep -A8 '^  decoder:' "$tmp/ref/config.yaml" | grep -q 'bias: false' && ! grep -q 'bias: true' "$tmp/ref/config.yaml" && ok ||
  bad "bias: false not carried into the decoder"
# it learns: the last epoch's test loss is below the first's
awk -F'"test_loss":' 'NR==1{split($2,a,","); f=a[1]} {split($2,b,","); l=b[1]} END{exit !(l < 0.8 * f)}' "$tmp/ref/metrics.jsonl" && ok ||
  bad "test loss did not fall: $(cut -c1-200 "$tmp/ref/metrics.jsonl")"
# trained values only: convs 8·25 + 4·8·25, dense 8·36 twice, transposed 4·8·25 + 8·25 (the 48
# running statistics are buffers, as in PyTorch)
grep -q '"params":2576,' "$tmp/ref/final.json" && ok || bad "parameter count: $(grep -o '"params":[0-9]*' "$tmp/ref/final.json")"

# 3 epochs, then extended to 6 from the checkpoint: the same bytes as the uninterrupted run
"$aelab" run "$tmp/c.yaml" --out "$tmp/ext" --quiet --set train.epochs=3 2>/dev/null || bad "3-epoch run failed"
"$aelab" run "$tmp/c.yaml" --out "$tmp/ext" --quiet --set train.epochs=6 2>"$tmp/ext.err" && grep -q resumed "$tmp/ext.err" && ok ||
  bad "extension did not resume: $(cat "$tmp/ext.err")"
if cmp -s <(strip "$tmp/ref/metrics.jsonl") <(strip "$tmp/ext/metrics.jsonl"); then ok; else bad "metrics differ after resume"; fi
if cmp -s <(strip "$tmp/ref/final.json") <(strip "$tmp/ext/final.json"); then ok; else bad "final.json differs after resume"; fi
cmp -s "$tmp/ref/codes.csv" "$tmp/ext/codes.csv" && ok || bad "codes differ after resume"

# the checkpoint's parameter section holds the running statistics: 4 of the 8 running means are in
# the last epoch's state (not the initial 0) and match between the two checkpoints
python3 - "$tmp/ref/checkpoint.aelab" "$tmp/ext/checkpoint.aelab" <<'PY' && ok || bad "checkpoints differ or hold no statistics"
import struct, sys
def params(path):
    b = open(path, "rb").read()
    off = 8 + 4 + 8 + 4
    secs = {}
    while off < len(b):
        tag, n = struct.unpack_from("<IQ", b, off)
        secs[tag] = b[off + 16: off + 16 + n]
        off += 16 + n
    return secs[2]
a, b = params(sys.argv[1]), params(sys.argv[2])
sys.exit(0 if a == b and len(a) > 0 else 1)
PY

# a VAE with batch norm in the encoder: the NLL estimate (sampled evaluation graphs) is finite
"$aelab" run "$tmp/c.yaml" --out "$tmp/vae" --quiet --set 'model.latent={kind: gaussian, size: 4}' \
  --set outputs.nll_samples=8 --set train.epochs=2 2>"$tmp/vae.err" &&
  grep -Eq '"nll_is":[0-9.e+-]+' "$tmp/vae/final.json" && ok || bad "VAE with batch norm: $(cat "$tmp/vae.err") $(cat "$tmp/vae/final.json" 2>/dev/null)"

echo "norm_layers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
