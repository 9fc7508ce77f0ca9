#!/usr/bin/env bash
# The model figures end to end on generated 8x8 images (.npy): a VAE with a 2-D gaussian latent
# writes manifold.png, codes_pca.png and filters.png with their .dat and .gp (listed in final.json,
# PNG sizes as the tiling says, the scripts redraw); a conv model on RGB images writes its kernels
# but no manifold; outputs.manifold/filters 0 and plots: false write none.
# Usage: tests/e2e/figures.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

python3 - "$tmp" <<'PY'
import random, struct, sys
def save(path, descr, shape, payload):  # numpy.lib.format, version 1.0
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload)
rnd = random.Random(7)
def images(n, c):  # a bright square whose corner is the class
    px, lab = bytearray(), bytearray()
    for i in range(n):
        k = i % 4
        for ch in range(c):
            for y in range(8):
                for x in range(8):
                    on = (y < 4) == (k < 2) and (x < 4) == (k % 2 == 0)
                    px.append(min(255, (200 if on else 20) + rnd.randrange(30) + 10 * ch))
        lab.append(k)
    return bytes(px), bytes(lab)
for c, tag in ((1, ""), (3, "rgb")):
    px, lab = images(96, c)
    save(sys.argv[1] + "/X%s.npy" % tag, "|u1", (96, c, 8, 8), px)
    save(sys.argv[1] + "/y%s.npy" % tag, "|u1", (96,), lab)
    px, lab = images(32, c)
    save(sys.argv[1] + "/Xt%s.npy" % tag, "|u1", (32, c, 8, 8), px)
    save(sys.argv[1] + "/yt%s.npy" % tag, "|u1", (32,), lab)
PY

# width height of a PNG, from its IHDR
png_size() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", d[16:24]))' "$1"; }

cat > "$tmp/vae.yaml" <<YAML
variant: variational
data: {source: npy, path: X.npy, labels: y.npy, test_path: Xt.npy, test_labels: yt.npy}
model:
  encoder: [{type: dense, units: 16, activation: relu}]
  latent: {kind: gaussian, size: 2}
train: {epochs: 2, batch_size: 32, progress: false}
outputs: {manifold: 5, filters: 9, probe_folds: 2}
YAML
out=$("$aelab" run "$tmp/vae.yaml" --data-dir "$tmp" --out "$tmp/vae" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "vae: exit $rc: $out"
for f in manifold codes_pca filters; do
  for e in png dat gp; do
    [ -s "$tmp/vae/$f.$e" ] && ok || bad "vae: $f.$e missing"
    grep -q "\"files\":\"[^\"]*\\b$f.$e\\b" "$tmp/vae/final.json" && ok || bad "vae: final.json does not list $f.$e"
  done
done
# 5x5 tiles of 8x8 at scale 4 (about 600 pixels at most 4x): 5 * 33 - 1
[ "$(png_size "$tmp/vae/manifold.png")" = "164 164" ] && ok || bad "manifold.png is $(png_size "$tmp/vae/manifold.png")"
# 9 of the 16 dense rows, 3x3 tiles of 8x8 at scale 16, 3-pixel separators: 3 * 131 - 3
[ "$(png_size "$tmp/vae/filters.png")" = "390 390" ] && ok || bad "filters.png is $(png_size "$tmp/vae/filters.png")"
[ "$(png_size "$tmp/vae/codes_pca.png")" = "1300 600" ] && ok || bad "codes_pca.png is $(png_size "$tmp/vae/codes_pca.png")"
grep -q '^# column 0: -1.28155157' "$tmp/vae/manifold.dat" && grep -q '^# row 0: 1.28155157' "$tmp/vae/manifold.dat" &&
  ok || bad "manifold.dat: grid $(grep -m3 '^# column' "$tmp/vae/manifold.dat")"
grep -q 'filters (9 of 16,' "$tmp/vae/filters.gp" && ok || bad "filters.gp: $(grep -m1 '^#' "$tmp/vae/filters.gp")"
for f in manifold codes_pca filters; do
  (cd "$tmp/vae" && gnuplot -e "outfile='redrawn_$f.png'" $f.gp > /dev/null 2>&1) && [ -s "$tmp/vae/redrawn_$f.png" ] &&
    ok || bad "gnuplot $f.gp does not redraw it"
done

cat > "$tmp/conv.yaml" <<YAML
data: {source: npy, path: Xrgb.npy, labels: yrgb.npy, test_path: Xtrgb.npy, test_labels: ytrgb.npy}
model:
  encoder:
    - {type: conv2d, filters: 6, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {type: dense, units: 2}
  decoder: mirror
  output_activation: sigmoid
loss: bce
train: {epochs: 1, batch_size: 32, progress: false}
outputs: {probe_folds: 2}
YAML
out=$("$aelab" run "$tmp/conv.yaml" --data-dir "$tmp" --out "$tmp/conv" --quiet 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "conv: exit $rc: $out"
# 6 RGB 3x3 kernels: 3x2 tiles at scale 16, 3-pixel separators: 3 * 51 - 3 by 2 * 51 - 3
[ "$(png_size "$tmp/conv/filters.png")" = "150 99" ] && ok || bad "conv filters.png is $(png_size "$tmp/conv/filters.png")"
grep -q 'x y r g b' "$tmp/conv/filters.dat" && ok || bad "conv filters.dat is not RGB"
[ -s "$tmp/conv/codes_pca.png" ] && ok || bad "conv: 2-D deterministic codes: no codes_pca.png"
[ ! -e "$tmp/conv/manifold.png" ] && ok || bad "conv: a deterministic latent drew manifold.png"

out=$("$aelab" run "$tmp/vae.yaml" --data-dir "$tmp" --out "$tmp/off" --quiet --set outputs.manifold=0 \
      --set outputs.filters=0 --set outputs.pca_baseline=false 2>&1); rc=$?
[ $rc -eq 0 ] && ok || bad "off: exit $rc: $out"
[ -z "$(ls "$tmp/off" | grep -E '^(manifold|filters|codes_pca)\.')" ] && ok || bad "off: $(ls "$tmp/off")"
out=$("$aelab" run "$tmp/vae.yaml" --data-dir "$tmp" --out "$tmp/noplots" --quiet --set outputs.plots=false 2>&1)
[ -z "$(ls "$tmp/noplots" | grep -E '\.(png|gp)$')" ] && ok || bad "plots: false: $(ls "$tmp/noplots")"

echo "figures: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
