set terminal svg size 960,520 dynamic font 'sans,12' background '#ffffff'
set output 'ramp.svg'
set title 'Step ramp of /api/slow: p99 latency per offered rate (1 s line: the limit)'
set logscale y
set xlabel 'offered rate (req/s)'
set ylabel 'p99 (ms, log scale)'
set key outside right
set grid
plot 'ramp.dat' index 0 using 1:2 with linespoints title 'alone (1 process)', 'ramp.dat' index 1 using 1:2 with linespoints title 'Node cluster (2 workers)', 'ramp.dat' index 2 using 1:2 with linespoints title 'Pinwheel round-robin', 'ramp.dat' index 3 using 1:2 with linespoints title 'Pinwheel least-connections', 'ramp.dat' index 4 using 1:2 with linespoints title 'Pinwheel power-of-two', 'ramp.dat' index 5 using 1:2 with linespoints title 'Pinwheel least-pending', 'ramp.dat' index 6 using 1:2 with linespoints title 'Pinwheel source-hash', 1000 with lines dashtype 2 lc rgb 'red' title 'p99 = 1 s'
