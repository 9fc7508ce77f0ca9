# Vincent et al. 2008's filter figure from aelab runs (first-layer weights, 100 of 500 units, each tile scaled to its own range).
# Written by experiments/papers/vincent2008/figures.sh; run 'gnuplot filters.gp' here to redraw filters.png.
set terminal pngcairo size 1290,470 font 'sans,11'
set output 'filters.png'
set multiplot layout 1,3
unset key; unset colorbox; unset xtics; unset ytics; set border 0; set size ratio -1
set palette gray; set cbrange [0:1]; set xrange [-0.5:288.5]; set yrange [288.5:-0.5]
set title '0% masking noise (probe accuracy 0.9272)'; plot 'filters_noise0.dat' matrix with image pixels notitle
set title '25% masking noise (probe accuracy 0.9473)'; plot 'filters_noise25.dat' matrix with image pixels notitle
set title '50% masking noise (probe accuracy 0.9494)'; plot 'filters_noise50.dat' matrix with image pixels notitle
unset multiplot
