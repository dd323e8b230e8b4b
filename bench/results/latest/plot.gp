set terminal pngcairo size 1170,600 font 'sans,10'
set output 'plot.png'
set title 'Cost per unit of work, normalised to HAProxy (lower is better; bars = median, whiskers = min-max; CPU from schedstat)'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set bmargin 7
set logscale y 2
set yrange [0.03125:20]
set ylabel 'ratio to HAProxy (log scale)'
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'
plot 'plot.dat' using 2:3:4:xtic(1) title 'Pinwheel' lc rgb '#d95f02', \
     'plot.dat' using 5:6:7 title 'HAProxy' lc rgb '#1b9e77', \
     'plot.dat' using 8:9:10 title 'HAProxy (tune.bufsize 256 KiB)' lc rgb '#66c2a5', \
     'plot.dat' using 11:12:13 title 'HAProxy (splice, 256 KiB)' lc rgb '#b3e2cd', \
     'plot.dat' using 14:15:16 title 'nginx stream' lc rgb '#7570b3'
