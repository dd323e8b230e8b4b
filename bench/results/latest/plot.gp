set terminal pngcairo size 1000,560 font 'sans,11'
set output 'plot.png'
set title 'Cost per unit of work, normalised to HAProxy (lower is better; bars = median, whiskers = min-max)'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set bmargin 5
set yrange [0:*]
set ylabel 'ratio to HAProxy'
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot 'plot.dat' using 2:3:4:xtic(1) title 'Pinwheel' lc rgb '#d95f02', \
     'plot.dat' using 5:6:7 title 'HAProxy' lc rgb '#1b9e77', \
     'plot.dat' using 8:9:10 title 'nginx stream' lc rgb '#7570b3'
