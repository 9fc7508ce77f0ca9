#!/usr/bin/env bash
# Composability on real images: the two combination configs train from one file each on a small
# slice of Fashion-MNIST -- a convolutional + denoising + sparse AE and a convolutional VAE -- and
# report their per-term losses; `aelab sample` draws from the VAE. Skips (saying so) when the
# Fashion-MNIST package is not installed. Usage: tests/e2e/combos.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${AELAB_DATA:-}" ]; then
  echo "combos: skipped: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
  echo "combos: 0 passed, 0 failed"
  exit 0
fi
small=(--set data.limit=512 --set data.test_limit=256 --set train.epochs=2 --set outputs.probe_train=256 --quiet)
"$aelab" run "$src/configs/conv_denoising_sparse.yaml" --out "$tmp/cds" "${small[@]}" 2>"$tmp/e1" && ok || bad "conv+denoising+sparse: $(cat "$tmp/e1")"
for k in '"l1":' '"denoised_mse":' '"noisy_input_mse":' '"bce":'; do
  grep -q "$k" "$tmp/cds/final.json" 2>/dev/null && ok || bad "conv+denoising+sparse final.json lacks $k"
done
[ -s "$tmp/cds/reconstructions.png" ] && ok || bad "no reconstruction grid"
grep -q "conv_transpose2d" "$tmp/cds/config.yaml" && ok || bad "mirrored conv decoder not in the saved config"
"$aelab" run "$src/configs/conv_vae.yaml" --out "$tmp/cvae" "${small[@]}" 2>"$tmp/e2" && ok || bad "conv VAE: $(cat "$tmp/e2")"
for k in '"kl":' '"neg_elbo":' '"recon":'; do
  grep -q "$k" "$tmp/cvae/final.json" 2>/dev/null && ok || bad "conv VAE final.json lacks $k"
done
for f in samples.png interpolation.png; do [ -s "$tmp/cvae/$f" ] && ok || bad "conv VAE: no $f"; done
"$aelab" sample "$tmp/cvae" --n 9 --out "$tmp/s.png" > /dev/null 2>"$tmp/e3" && [ -s "$tmp/s.png" ] && ok || bad "aelab sample: $(cat "$tmp/e3")"
out=$("$aelab" sample "$tmp/cds" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"not a variational model"* ]] && ok || bad "sample on a non-VAE: $rc $out"
echo "combos: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
