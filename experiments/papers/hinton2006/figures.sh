#!/usr/bin/env bash
# Fig. 2B's comparison from our runs: the test squared error per image (784 x test_mse) after every
# fine-tuning epoch of the pretrained network and of the same network from random weights, each seed
# a line, with PCA-30 (pca_mse x 784 of a finished run) as a level; fig2b.dat, fig2b.gp, fig2b.png in
# OUT. Usage: figures.sh RUNS OUT (RUNS: the paper's runs, runs/papers/hinton2006)
set -euo pipefail
runs=$1/fig2b out=$2
mkdir -p "$out"
dat=$out/fig2b.dat plots=() i=0 pca=""
: > "$dat"
for run in pretrained random_init; do
  for m in "$runs/$run"/seed-*/metrics.jsonl; do
    [ -f "$m" ] || continue
    seed=$(basename "$(dirname "$m")")
    echo "# $run $seed: epoch sse" >> "$dat"
    awk '{ e = $0; sub(/.*"epoch":/, "", e); sub(/,.*/, "", e)
           m = $0; sub(/.*"test_mse":/, "", m); sub(/[,}].*/, "", m); printf "%d %.4f\n", e, m * 784 }' "$m" >> "$dat"
    printf '\n\n' >> "$dat"
    color=$([ $run = pretrained ] && echo '#1f77b4' || echo '#d62728')
    plots+=("'fig2b.dat' index $i using 1:2 with lines lw 2 lc rgb '$color' title '${run/_/ } ($seed)'")
    i=$((i + 1))
    f=$(dirname "$m")/final.json
    [ -z "$pca" ] && [ -f "$f" ] && pca=$(grep -o '"pca_mse":[0-9.e-]*' "$f" | cut -d: -f2 || true)
  done
done
[ $i -gt 0 ] || { echo "figures.sh: no runs under $runs" >&2; exit 1; }
{
  echo "set terminal pngcairo size 900,560 font ',11'"
  echo "set output 'fig2b.png'"
  echo "set title 'Hinton and Salakhutdinov 2006, Fig. 2B (MNIST 784-1000-500-250-30): test squared error per image'"
  echo "set xlabel 'fine-tuning epoch (Adam, lr 1e-3, batch 100)'; set ylabel 'squared error per test image'"
  echo "set logscale y; set yrange [2:40]; set ytics (2, 3, 4, 5, 7, 10, 14, 20, 30); set grid; set key top right"
  [ -n "$pca" ] && echo "pca = $pca * 784"
  line="plot "
  for p in "${plots[@]}"; do line+="$p, "; done
  [ -n "$pca" ] && line+="pca with lines dt 2 lw 2 lc rgb '#555555' title sprintf('PCA-30 (%.2f)', pca), "
  line+="3.00 with lines dt 3 lw 2 lc rgb '#2ca02c' title 'paper: autoencoder 3.00'"
  echo "$line"
} > "$out/fig2b.gp"
(cd "$out" && gnuplot fig2b.gp) # the script names its files relative to its folder
echo "figures.sh: $out/fig2b.png ($i runs)"
