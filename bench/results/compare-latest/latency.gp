set terminal svg size 960,520 dynamic font 'sans,12' background '#ffffff'
set output 'latency.svg'
set title 'Mix 218 req/s, 95 % /fast + 5 % /slow?ms=100: latency percentiles per setup and class'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'latency (ms, log scale)'
set xtics rotate by -20
set key outside right
set grid ytics
plot 'latency.dat' using 2:xtic(1) title '/fast p50', 'latency.dat' using 3:xtic(1) title '/fast p90', 'latency.dat' using 4:xtic(1) title '/fast p99', 'latency.dat' using 5:xtic(1) title '/fast p99.9', 'latency.dat' using 6:xtic(1) title '/slow p50', 'latency.dat' using 7:xtic(1) title '/slow p90', 'latency.dat' using 8:xtic(1) title '/slow p99', 'latency.dat' using 9:xtic(1) title '/slow p99.9'
