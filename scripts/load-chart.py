"""Draws `make load`'s chart: latency and answers over time, from `loadgen run --samples`.

Usage: load-chart.py SAMPLES.tsv OUT.png

Top panel: p50, p90 and p99 latency of the requests sent in each second, with
every request that did not get a 200 marked at its send time and latency.
Bottom panel: answers per second by outcome (200, each error status,
timeouts), stacked, so a burst of 503s or 502s shows where it happened.
"""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def nearest_rank(sorted_values, q):
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def main(samples, out):
    latency_by_second = defaultdict(list)
    outcomes_by_second = defaultdict(lambda: defaultdict(int))
    failures = []
    with open(samples, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            second = int(float(row["due_ms"]) // 1000)
            latency = float(row["latency_ms"])
            latency_by_second[second].append(latency)
            outcomes_by_second[second][row["outcome"]] += 1
            if row["outcome"] != "200":
                failures.append((float(row["due_ms"]) / 1000, latency, row["outcome"]))
    if not latency_by_second:
        sys.exit(f"{samples}: no samples")
    seconds = sorted(latency_by_second)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=[3, 2])
    for q, style in ((0.5, "-"), (0.9, "--"), (0.99, ":")):
        values = [nearest_rank(sorted(latency_by_second[s]), q) for s in seconds]
        top.plot([s + 0.5 for s in seconds], values, style, label=f"p{int(q * 100)}", color="#4472c4")
    for outcome in sorted({o for _, _, o in failures}):
        points = [(t, l) for t, l, o in failures if o == outcome]
        top.scatter([t for t, _ in points], [l for _, l in points], s=8, label=outcome, alpha=0.6)
    top.set_ylabel("latency (ms)")
    top.set_ylim(bottom=0)
    top.legend(loc="upper right", fontsize="small")
    top.set_title("latency of the requests sent in each second")
    outcomes = sorted({o for s in seconds for o in outcomes_by_second[s]}, key=lambda o: (o != "200", o))
    # Each second's count holds until the next second starts, the last one too.
    edges = seconds + [seconds[-1] + 1]
    bottom.stackplot(
        edges,
        [[outcomes_by_second[s][o] for s in seconds] + [outcomes_by_second[seconds[-1]][o]] for o in outcomes],
        labels=outcomes,
        step="post",
    )
    bottom.set_ylabel("answers / s")
    bottom.set_xlabel("seconds since the start")
    bottom.legend(loc="upper right", fontsize="small")
    total = sum(len(v) for v in latency_by_second.values())
    fig.suptitle(f"make load: {total} requests, open loop")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
