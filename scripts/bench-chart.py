"""Draws the chart of docs/performance.md from `make bench`'s results.

Usage: bench-chart.py RESULTS.tsv OUT.png

Two panels side by side, one bar per proxy path (median over the rounds):
requests per second, and server CPU time per request. The upstream's own row,
path (a), is left out: it is the reference the proxies call, and its bar
would dwarf theirs.
"""

import csv
import statistics
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def medians(path):
    by_path = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            by_path.setdefault(row["path"], []).append(row)
    return {
        name: (
            statistics.median(float(r["rps"]) for r in rows),
            statistics.median(float(r["cpu_us_per_request"]) for r in rows),
            len(rows),
        )
        for name, rows in by_path.items()
    }


def main(results, out):
    data = {name: v for name, v in medians(results).items() if not name.startswith("(a)")}
    names = list(data)
    # A variant's label carries its flags: wrap it so the panels keep their width.
    labels = [textwrap.fill(n, 34) for n in names]
    rps = [data[n][0] for n in names]
    cpu = [data[n][1] for n in names]
    rounds = max(v[2] for v in data.values())
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    for axis, values, title, unit in (
        (left, rps, "Throughput", "requests / s"),
        (right, cpu, "Server CPU per request", "µs"),
    ):
        bars = axis.barh(labels, values, color="#4472c4")
        axis.invert_yaxis()
        axis.set_title(title)
        axis.set_xlabel(unit)
        axis.bar_label(bars, fmt="%.0f", padding=3)
        axis.margins(x=0.15)
    fig.suptitle(f"make bench, median of {rounds} round(s), wrk on the same 2 cores")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
