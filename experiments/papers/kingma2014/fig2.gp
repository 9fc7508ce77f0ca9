set terminal pngcairo size 1800,380 font ',10'
set output 'fig2.png'
set multiplot layout 1,5 title 'Kingma and Welling 2014, Fig. 2 (MNIST), reproduced by aelab'
set logscale x; set format x '10^{%T}'; set xrange [1e5:1e8]; set yrange [-150:-95]
set xlabel '# training samples evaluated'; set key bottom right; set grid
set ylabel 'lower bound L (nats)'
set title 'N_z = 3'
plot 'fig2.dat' index 0 using 1:2 with lines lw 2 title 'train', '' index 0 using 1:3 with lines lw 2 dt 2 title 'test'
unset ylabel
set title 'N_z = 5'
plot 'fig2.dat' index 1 using 1:2 with lines lw 2 title 'train', '' index 1 using 1:3 with lines lw 2 dt 2 title 'test'
unset ylabel
set title 'N_z = 10'
plot 'fig2.dat' index 2 using 1:2 with lines lw 2 title 'train', '' index 2 using 1:3 with lines lw 2 dt 2 title 'test'
unset ylabel
set title 'N_z = 20'
plot 'fig2.dat' index 3 using 1:2 with lines lw 2 title 'train', '' index 3 using 1:3 with lines lw 2 dt 2 title 'test'
unset ylabel
set title 'N_z = 200'
plot 'fig2.dat' index 4 using 1:2 with lines lw 2 title 'train', '' index 4 using 1:3 with lines lw 2 dt 2 title 'test'
unset multiplot
