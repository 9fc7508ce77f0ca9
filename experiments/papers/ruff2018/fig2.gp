set terminal pngcairo size 1016,990 font ',11'
set output 'fig2.png'
set title "Ruff et al. 2018, Fig. 2 (MNIST), by aelab: One-Class Deep SVDD, seed 1\nmost normal (left) and most anomalous (right) in-class test images"
set palette gray; unset colorbox; unset border; unset xtics; set size ratio -1
set xrange [-0.5:312 - 0.5]; set yrange [300 - 0.5:-0.5]
set ytics ('0' 14, '1' 44, '2' 74, '3' 104, '4' 134, '5' 164, '6' 194, '7' 224, '8' 254, '9' 284) scale 0; set ylabel 'normal digit'
plot 'fig2.dat' matrix with image notitle
