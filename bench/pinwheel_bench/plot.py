"""plot.png: the per-unit costs of every proxy, normalised to HAProxy (gnuplot)."""

import math
import shutil
import textwrap
import subprocess

from .report import BASELINE, FIGURES


def write_plot(out_dir, summary, targets, log):
    """Bars of the per-unit costs, normalised to HAProxy, with min–max error bars."""
    figs = [f for f in FIGURES if f.plot
            and (f.test, f.column, BASELINE) in summary]
    proxies = [t for t in targets if t.server != "direct"
               and any((f.test, f.column, t.name) in summary for f in figs)]
    if not figs or BASELINE not in [t.name for t in proxies] or not shutil.which("gnuplot"):
        log("plot skipped (needs HAProxy results and gnuplot)")
        return None
    dat = out_dir / "plot.dat"
    ratios = []
    with open(dat, "w", encoding="utf-8") as f:
        f.write("# figure " + " ".join(f"{t.name} {t.name}_min {t.name}_max"
                                       for t in proxies) + "\n")
        for fig in figs:
            base = summary[(fig.test, fig.column, BASELINE)]
            cells = []
            for t in proxies:
                s = summary.get((fig.test, fig.column, t.name))
                cells += [f"{v / base[0]:.4f}" for v in s[:3]] if s and base[0] else ["NaN"] * 3
                ratios += [v / base[0] for v in s[:3] if v > 0] if s and base[0] else []
            # Wrapped to the bar group's width, so neighbouring labels never overlap.
            short = "\\n".join(textwrap.wrap(fig.label.replace(" (schedstat)", ""), 14))
            f.write(f'"{short}" ' + " ".join(cells) + "\n")
    series = []
    for i, t in enumerate(proxies):
        c = 2 + 3 * i
        using = f"{c}:{c + 1}:{c + 2}" + (":xtic(1)" if i == 0 else "")
        series.append(f"'plot.dat' using {using} title '{t.label}' lc rgb '{t.colour}'")
    (out_dir / "plot.gp").write_text(
        f"set terminal pngcairo size {max(1000, 130 * len(figs))},600 font 'sans,10'\n"
        "set output 'plot.png'\n"
        "set title 'Cost per unit of work, normalised to HAProxy (lower is better; "
        "bars = median, whiskers = min-max; CPU from schedstat)'\n"
        "set style data histograms\n"
        "set style histogram errorbars gap 2 lw 1\n"
        "set style fill solid 0.85 border -1\n"
        "set boxwidth 0.9\n"
        "set bmargin 7\n"
        # Logarithmic: a ratio of 0.2 is as far from HAProxy as one of 5.
        "set logscale y 2\n"
        # From a power of two below the smallest ratio, so every bar shows.
        f"set yrange [{2.0 ** math.floor(math.log2(min(ratios + [0.125]) / 1.2)):g}:20]\n"
        "set ylabel 'ratio to HAProxy (log scale)'\n"
        "set grid ytics\n"
        "set key top left\n"
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'\n"
        "plot " + ", \\\n     ".join(series) + "\n", encoding="utf-8")
    p = subprocess.run(["gnuplot", "plot.gp"], cwd=out_dir, capture_output=True, timeout=60)
    if p.returncode != 0:
        log(f"gnuplot failed: {p.stderr.decode(errors='replace').strip()}")
        return None
    return "plot.png"
