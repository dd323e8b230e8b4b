set terminal svg size 960,520 dynamic font 'sans,12' background '#ffffff'
set output 'keepalive.svg'
set title 'Keep-alive: 10 long-lived connections, share of requests per backend (busiest first)'
set style data histogram
set style histogram rowstacked
set style fill solid 0.8 border -1
set ylabel '% of requests'
set yrange [0:100]
set xtics rotate by -20
set key outside right
plot 'keepalive.dat' using 2:xtic(1) title 'backend 1', 'keepalive.dat' using 3 title 'backend 2'
