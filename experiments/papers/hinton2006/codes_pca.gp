# codes2d: test codes and PCA-2, coloured by label
# Written by aelab. Restyle freely, then run `gnuplot codes_pca.gp` in this folder to redraw codes_pca.png.
if (!exists("outfile")) outfile = 'codes_pca.png'
set terminal pngcairo size 1300,600 enhanced font 'sans,10'
set output outfile
set encoding utf8
set linetype 1 lc rgb '#1f77b4' lw 2 pt 7 ps 1
set linetype 2 lc rgb '#d62728' lw 2 pt 7 ps 1
set linetype 3 lc rgb '#2ca02c' lw 2 pt 7 ps 1
set linetype 4 lc rgb '#ff7f0e' lw 2 pt 7 ps 1
set linetype 5 lc rgb '#9467bd' lw 2 pt 7 ps 1
set linetype 6 lc rgb '#8c564b' lw 2 pt 7 ps 1
set linetype 7 lc rgb '#e377c2' lw 2 pt 7 ps 1
set linetype 8 lc rgb '#7f7f7f' lw 2 pt 7 ps 1
set linetype 9 lc rgb '#bcbd22' lw 2 pt 7 ps 1
set linetype 10 lc rgb '#17becf' lw 2 pt 7 ps 1
set linetype cycle 10
set border 3 lc rgb '#404040'
set tics nomirror out scale 0.6
set grid back lt 1 lc rgb '#e6e6e6' lw 1
set title 'codes2d: test codes and PCA-2, coloured by label' noenhanced font 'sans,13'
unset title
set size noratio
unset key
set multiplot layout 1,2 title 'codes2d: test codes and PCA-2, coloured by label' noenhanced font 'sans,13' margins 0.06, 0.85, 0.1, 0.86 spacing 0.07, 0.1
set title '2-D codes (deterministic latent)' noenhanced font 'sans,11'
set xlabel 'z1' noenhanced
set ylabel 'z2' noenhanced
set autoscale xy
set offsets graph 0.02, graph 0.02, graph 0.02, graph 0.02
plot 'codes_pca.dat' using 1:2:6 with points pt 7 ps 0.4 lc variable notitle
set key at screen 0.87, screen 0.86 left top vertical title 'label' samplen 1 spacing 1.1 noenhanced
set title 'PCA-2 (fitted on the training set)' noenhanced font 'sans,11'
set xlabel 'PC1' noenhanced
set ylabel 'PC2' noenhanced
set autoscale xy
set offsets graph 0.02, graph 0.02, graph 0.02, graph 0.02
plot 'codes_pca.dat' using 3:4:6 with points pt 7 ps 0.4 lc variable notitle, \
  keyentry with points pt 7 ps 1.2 lc 1 title '0', \
  keyentry with points pt 7 ps 1.2 lc 2 title '1', \
  keyentry with points pt 7 ps 1.2 lc 3 title '2', \
  keyentry with points pt 7 ps 1.2 lc 4 title '3', \
  keyentry with points pt 7 ps 1.2 lc 5 title '4', \
  keyentry with points pt 7 ps 1.2 lc 6 title '5', \
  keyentry with points pt 7 ps 1.2 lc 7 title '6', \
  keyentry with points pt 7 ps 1.2 lc 8 title '7', \
  keyentry with points pt 7 ps 1.2 lc 9 title '8', \
  keyentry with points pt 7 ps 1.2 lc 10 title '9'
unset multiplot
set output
