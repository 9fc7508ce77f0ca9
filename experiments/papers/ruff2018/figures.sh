#!/usr/bin/env bash
# Fig. 2 (MNIST part) of Ruff et al. 2018 from our runs: for each normal digit, the K most normal (left)
# and K most anomalous (right) in-class test images by One-Class Deep SVDD's score (svdd runs, seed 1,
# scores.csv), black on white. Writes fig2.dat (the image matrix), fig2_index.csv (digit, side, rank,
# test index, score), fig2.gp and fig2.png into OUT. The MNIST test images are looked up in $AELAB_DATA
# (colon-separated folders holding mnist/). Usage: figures.sh RUNS OUT (RUNS: runs/papers/ruff2018)
set -euo pipefail
runs=$1/svdd out=$2 k=${FIG2_K:-5}
images=""
IFS=: read -r -a dirs <<< "${AELAB_DATA:-}"
for d in "${dirs[@]}"; do
  for f in "$d/mnist/t10k-images-idx3-ubyte" "$d/mnist/t10k-images-idx3-ubyte.gz"; do
    [ -z "$images" ] && [ -f "$f" ] && images=$f
  done
done
[ -n "$images" ] || { echo "figures.sh: no mnist/t10k-images-idx3-ubyte[.gz] under AELAB_DATA=${AELAB_DATA:-}" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $images in *.gz) zcat "$images" > "$tmp/t10k" ;; *) cp "$images" "$tmp/t10k" ;; esac

# The chosen test images: per digit, in-class rows (label = digit) sorted by score; K lowest, K highest.
index=$out/fig2_index.csv
echo "digit,side,rank,test_index,score" > "$index"
digits=()
for c in 0 1 2 3 4 5 6 7 8 9; do
  s=$runs/base_normal_labels=$c/seed-1/scores.csv
  [ -f "$s" ] || continue
  awk -F, -v c="$c" 'NR > 1 && $2 == c { print $1, $3 }' "$s" | sort -g -k2,2 > "$tmp/in"
  n=$(wc -l < "$tmp/in")
  [ "$n" -ge $((2 * k)) ] || { echo "figures.sh: digit $c has $n in-class test images, fewer than $((2 * k))" >&2; exit 1; }
  head -n "$k" "$tmp/in" | awk -v c="$c" '{ printf "%s,normal,%d,%s,%s\n", c, NR, $1, $2 }' >> "$index"
  tail -n "$k" "$tmp/in" | tac | awk -v c="$c" '{ printf "%s,anomalous,%d,%s,%s\n", c, NR, $1, $2 }' >> "$index"
  digits+=("$c")
done
[ ${#digits[@]} -gt 0 ] || { echo "figures.sh: no Deep SVDD runs with scores.csv under $runs" >&2; exit 1; }

# One line of 784 pixels per chosen image, in the index's order (IDX: 16-byte header, 28x28 bytes each).
tail -n +2 "$index" | while IFS=, read -r _ _ _ i _; do
  od -An -tu1 -v -j $((16 + i * 784)) -N 784 "$tmp/t10k" | tr -s ' \n' ' '; echo
done > "$tmp/pixels"

# The matrix: a row of 2K tiles per digit, 2-pixel white gaps, a 12-pixel gap between the two sides.
awk -v k="$k" '
  { for (p = 0; p < 784; p++) img[NR - 1, p] = $(p + 1) }
  END {
    rows = NR / (2 * k); width = 2 * k * 30 + 12
    for (r = 0; r < rows; r++)
      for (y = 0; y < 30; y++) {
        line = ""
        for (x = 0; x < width; x++) {
          t = -1; xx = x
          if (xx >= k * 30) xx -= 12
          if (x < k * 30 || x >= k * 30 + 12) { t = int(xx / 30); px = xx % 30 }
          v = 0
          if (t >= 0 && px < 28 && y < 28) v = img[r * 2 * k + t, y * 28 + px]
          line = line (x ? " " : "") (255 - v)
        }
        print line
      }
  }' "$tmp/pixels" > "$out/fig2.dat"

rows=${#digits[@]}
{
  echo "set terminal pngcairo size $((2 * k * 30 * 3 + 36 + 80)),$((rows * 30 * 3 + 90)) font ',11'"
  echo "set output 'fig2.png'"
  echo "set title \"Ruff et al. 2018, Fig. 2 (MNIST), by aelab: One-Class Deep SVDD, seed 1\\nmost normal (left) and most anomalous (right) in-class test images\""
  echo "set palette gray; unset colorbox; unset border; unset xtics; set size ratio -1"
  echo "set xrange [-0.5:$((2 * k * 30 + 12)) - 0.5]; set yrange [$((rows * 30)) - 0.5:-0.5]"
  tics=""
  for i in "${!digits[@]}"; do tics+="${tics:+, }'${digits[$i]}' $((i * 30 + 14))"; done
  echo "set ytics ($tics) scale 0; set ylabel 'normal digit'"
  echo "plot 'fig2.dat' matrix with image notitle"
} > "$out/fig2.gp"
(cd "$out" && gnuplot fig2.gp) # the script names its files relative to its folder
echo "figures.sh: $out/fig2.png (digits ${digits[*]}, $k per side)"
