#!/usr/bin/env bash
# Fig. 2 of Kingma & Welling 2014 from our runs: the lower bound per datapoint (−loss, nats) of the
# training set (mean over the epoch's batches) and of the test set (test_neg_elbo after each epoch:
# sampled codes, outputs.epoch_elbo; test_loss, at the posterior mean, when a run lacks it) against the
# number of training samples evaluated, log axis, one panel per latent size. Writes fig2.dat, fig2.gp
# and fig2.png into OUT. Usage: figures.sh RUNS OUT (RUNS: the paper's runs, runs/papers/kingma2014)
set -euo pipefail
runs=$1/fig2 out=$2
mkdir -p "$out"
dat=$out/fig2.dat
: > "$dat"
panels=()
for nz in 3 5 10 20 200; do
  m=$runs/nz$nz/seed-1/metrics.jsonl
  [ -f "$m" ] || continue
  n=${N_TRAIN:-60000} # training samples per epoch (MNIST)
  echo "# N_z = $nz: samples_evaluated train_bound test_bound" >> "$dat"
  awk -v n="$n" '{ e = $0; sub(/.*"epoch":/, "", e); sub(/,.*/, "", e)
                   tr = $0; sub(/.*"train_loss":/, "", tr); sub(/[,}].*/, "", tr)
                   te = $0; k = index(te, "\"test_neg_elbo\":") ? "test_neg_elbo" : "test_loss"
                   sub(".*\"" k "\":", "", te); sub(/[,}].*/, "", te)
                   printf "%.0f %.4f %.4f\n", e * n, -tr, -te }' "$m" >> "$dat"
  printf '\n\n' >> "$dat"
  panels+=("$nz")
done
[ ${#panels[@]} -gt 0 ] || { echo "figures.sh: no runs under $runs" >&2; exit 1; }
{
  echo "set terminal pngcairo size $((360 * ${#panels[@]})),380 font ',10'"
  echo "set output 'fig2.png'"
  echo "set multiplot layout 1,${#panels[@]} title 'Kingma and Welling 2014, Fig. 2 (MNIST), reproduced by aelab'"
  echo "set logscale x; set format x '10^{%T}'; set xrange [1e5:1e8]; set yrange [-150:-95]"
  echo "set xlabel '# training samples evaluated'; set key bottom right; set grid"
  i=0
  for nz in "${panels[@]}"; do
    [ $i -eq 0 ] && echo "set ylabel 'lower bound L (nats)'" || echo "unset ylabel"
    echo "set title 'N_z = $nz'"
    echo "plot 'fig2.dat' index $i using 1:2 with lines lw 2 title 'train', '' index $i using 1:3 with lines lw 2 dt 2 title 'test'"
    i=$((i + 1))
  done
  echo "unset multiplot"
} > "$out/fig2.gp"
(cd "$out" && gnuplot fig2.gp) # the script names its files relative to its folder
echo "figures.sh: $out/fig2.png (${panels[*]})"
