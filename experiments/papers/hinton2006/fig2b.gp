set terminal pngcairo size 900,560 font ',11'
set output 'fig2b.png'
set title 'Hinton and Salakhutdinov 2006, Fig. 2B (MNIST 784-1000-500-250-30): test squared error per image'
set xlabel 'fine-tuning epoch (Adam, lr 1e-3, batch 100)'; set ylabel 'squared error per test image'
set logscale y; set yrange [2:40]; set ytics (2, 3, 4, 5, 7, 10, 14, 20, 30); set grid; set key top right
pca = 0.0176865639 * 784
plot 'fig2b.dat' index 0 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'pretrained (seed-1)', 'fig2b.dat' index 1 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'pretrained (seed-2)', 'fig2b.dat' index 2 using 1:2 with lines lw 2 lc rgb '#1f77b4' title 'pretrained (seed-3)', 'fig2b.dat' index 3 using 1:2 with lines lw 2 lc rgb '#d62728' title 'random init (seed-1)', 'fig2b.dat' index 4 using 1:2 with lines lw 2 lc rgb '#d62728' title 'random init (seed-2)', 'fig2b.dat' index 5 using 1:2 with lines lw 2 lc rgb '#d62728' title 'random init (seed-3)', pca with lines dt 2 lw 2 lc rgb '#555555' title sprintf('PCA-30 (%.2f)', pca), 3.00 with lines dt 3 lw 2 lc rgb '#2ca02c' title 'paper: autoencoder 3.00'
