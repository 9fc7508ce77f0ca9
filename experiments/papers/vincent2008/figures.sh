#!/usr/bin/env bash
# The filter figure of Vincent et al. 2008 from our runs: the first-layer filters of the autoencoders
# trained at 0%, 25% and 50% masking noise side by side (each run's filters.dat: the same 100 hidden
# units, all started from the same initial weights), titled with each code's linear-probe accuracy;
# filters.gp and filters.png in OUT, and filters.md: the probe accuracies and the test cross-entropy
# as a table (seed 1's, and the probe's mean over every seed run). Usage: figures.sh RUNS OUT (RUNS: the paper's runs, runs/papers/vincent2008)
set -euo pipefail
runs=$1/filters out=$2
mkdir -p "$out"
gp=$out/filters.gp md=$out/filters.md plots=() n=0
printf '| masking noise | linear-probe accuracy (test), seed 1 | mean over seeds (per seed) | test cross-entropy per image, seed 1 |\n|---|---|---|---|\n' > "$md"
for level in 0 25 50; do
  run=$runs/noise$level/seed-1
  [ -f "$run/final.json" ] || continue
  acc=$(grep -o '"probe_accuracy":[0-9.e-]*' "$run/final.json" | cut -d: -f2 || true)
  ce=$(grep -o '"loss":[0-9.e-]*' "$run/final.json" | head -1 | cut -d: -f2 || true)
  acc=$(printf %.4f "${acc:-nan}") ce=$(printf %.2f "${ce:-nan}")
  seeds=$(cat "$runs/noise$level"/seed-*/final.json | grep -o '"probe_accuracy":[0-9.e-]*' | cut -d: -f2 |
          awk '{v[NR] = $1; s += $1} END {if (NR) {printf "%.4f (", s / NR; for (i = 1; i <= NR; i++) printf "%s%.4f", (i > 1 ? ", " : ""), v[i]; printf ")"}}' || true)
  printf '| %s%% | %s | %s | %s |\n' "$level" "$acc" "${seeds:-n/a}" "$ce" >> "$md"
  cp "$run/filters.dat" "$out/filters_noise$level.dat"
  plots+=("set title '$level% masking noise (probe accuracy $acc)'; plot 'filters_noise$level.dat' matrix with image pixels notitle")
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "figures.sh: no finished runs under $runs" >&2; exit 1; }
{
  echo "# Vincent et al. 2008's filter figure from aelab runs (first-layer weights, 100 of 500 units, each tile scaled to its own range)."
  echo "# Written by experiments/papers/vincent2008/figures.sh; run 'gnuplot filters.gp' here to redraw filters.png."
  echo "set terminal pngcairo size $((n * 430)),470 font 'sans,11'"
  echo "set output 'filters.png'"
  echo "set multiplot layout 1,$n"
  echo "unset key; unset colorbox; unset xtics; unset ytics; set border 0; set size ratio -1"
  echo "set palette gray; set cbrange [0:1]; set xrange [-0.5:288.5]; set yrange [288.5:-0.5]"
  for p in "${plots[@]}"; do echo "$p"; done
  echo "unset multiplot"
} > "$gp"
(cd "$out" && gnuplot filters.gp)
echo "figures.sh: $out/filters.png ($n runs)"
