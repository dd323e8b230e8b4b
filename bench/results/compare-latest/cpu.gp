set terminal svg size 960,520 dynamic font 'sans,12' background '#ffffff'
set output 'cpu.svg'
set title 'Load test (50 req/s /api/slow): busy % per core'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'busy %'
set yrange [0:105]
set xtics rotate by -20
set key outside right
plot 'cpu.dat' using 2:xtic(1) title 'core 0', 'cpu.dat' using 3 title 'core 1'
