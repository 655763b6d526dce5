#!/usr/bin/python3
"""Turn a vow_bench JSON file into SVG bar charts of vow against its peers.

    vow_bench --benchmark_repetitions=5 --benchmark_out=bench.json --benchmark_out_format=json
    bench/report.py bench.json docs/img

Benchmarks are named `<case>/<implementation>[/<arg>...]` (`then_chain/vow/1000`);
Google Benchmark may append `/repeats:N`, `/iterations:N`, `/real_time`. For every
case, each peer's ratio is peer time / vow time (above 1: vow is faster). The bar is
the ratio of the medians over the repetitions; the error bar spans the slowest and the
fastest pairing (min peer / max vow .. max peer / min vow), so it shows the whole
spread of the runs. A case whose benchmarks use UseRealTime (`/real_time`) compares
wall time, the others CPU time of the timing thread. Implementations whose name starts with `vow` other than
`vow` itself (`vow_inline`) are drawn as peers too; a case without `vow` or without
any peer (e.g. a memory-only case) is listed and skipped.

Writes `<out>/bench-<case>.svg` per case (`then_chain/1000` -> `bench-then_chain_1000.svg`)
and `<out>/bench-summary.svg`; `--format png` for PNG files instead.

    bench/report.py --figures docs/img/figures.json docs/img/bench-figures.svg

charts instead the figures docs/benchmarks.md records (the README's chart), from a
small JSON file copied from its tables: groups of rows (case, peer) with each run as
the two medians it measured, or as the ratio recorded for it. Nothing is
run. A bar is the median of the runs' ratios (with two runs: the lower one, as the
documentation quotes two runs as a range), its error bar spans the lowest to the
highest run, and its label is the figure the documentation gives.
Needs Python 3 and matplotlib (Debian: python3-matplotlib).
"""

import argparse
import json
import os
import re
import statistics
import sys
from collections import defaultdict

# Name parts Google Benchmark adds for options; they say how, not what, was measured.
OPTION_PART = re.compile(r"^(repeats|iterations|threads|min_time|min_warmup_time):.*$|^(real_time|manual_time|process_time)$")
# Argument parts: numbers, or `name:value` from ArgNames.
ARG_PART = re.compile(r"^-?\d+$|^[A-Za-z_]\w*:-?\d+$")

TO_NANOSECONDS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
REFERENCE = "vow"


def parse_name(run_name):
    """`then_chain/vow/1000/real_time` -> ('then_chain/1000', 'vow', True)."""
    parts = run_name.split("/")
    real_time = "real_time" in parts or "manual_time" in parts
    parts = [p for p in parts if not OPTION_PART.match(p)]
    case = parts[0]
    implementation = [p for p in parts[1:] if not ARG_PART.match(p)]
    args = [p for p in parts[1:] if ARG_PART.match(p)]
    if len(implementation) != 1:
        return None
    return "/".join([case] + args), implementation[0], real_time


def load_times(path):
    """({case: {implementation: [time in ns per repetition]}}, {case: compared on wall time}, context).

    A case is compared on wall time when any of its benchmarks uses real time
    (then all of them are), else on CPU time."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = defaultdict(lambda: defaultdict(list))  # case -> implementation -> [(wall ns, cpu ns)]
    medians = defaultdict(dict)  # used only when the file kept aggregates only
    wall_time = defaultdict(bool)
    for run in data.get("benchmarks", []):
        if run.get("error_occurred"):
            continue
        parsed = parse_name(run.get("run_name", run["name"]))
        if parsed is None:
            continue
        case, implementation, real_time = parsed
        scale = TO_NANOSECONDS.get(run.get("time_unit", "ns"), 1.0)
        times = (run["real_time"] * scale, run["cpu_time"] * scale)
        wall_time[case] |= real_time
        if run.get("run_type", "iteration") == "iteration":
            runs[case][implementation].append(times)
        elif run.get("aggregate_name") == "median":
            medians[case][implementation] = [times]
    for case, by_implementation in medians.items():
        for implementation, times in by_implementation.items():
            runs[case].setdefault(implementation, times)
    chosen = {
        case: {impl: [t[0] if wall_time[case] else t[1] for t in ts] for impl, ts in by_impl.items()}
        for case, by_impl in runs.items()
    }
    return chosen, wall_time, data.get("context", {})


def ratios(times):
    """[(case, peer, ratio, low, high)] for every case that has vow and a peer."""
    rows, skipped = [], []
    for case in times:
        by_implementation = times[case]
        vow = by_implementation.get(REFERENCE)
        peers = [p for p in by_implementation if p != REFERENCE]
        if not vow or not peers:
            skipped.append(case)
            continue
        for peer in peers:
            theirs = by_implementation[peer]
            ratio = statistics.median(theirs) / statistics.median(vow)
            low = min(theirs) / max(vow)
            high = max(theirs) / min(vow)
            rows.append((case, peer, ratio, low, high))
    return rows, skipped


def chart_file(out_dir, name, fmt):
    return os.path.join(out_dir, "bench-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + "." + fmt)


def ratio_ticks(low, high):
    """Powers of two around [low, high], for a log axis labelled 0.5x, 1x, 2x, ..."""
    ticks = [1.0]
    while ticks[0] > low:
        ticks.insert(0, ticks[0] / 2)
    while ticks[-1] < high:
        ticks.append(ticks[-1] * 2)
    return ticks


def draw_bars(plt, labels, rows, title, path, horizontal, fmt, texts=None, caption=None):
    """One bar per row, growing from 1 on a log scale; the min-max spread as error bars.
    `texts`: the label of each bar (default: its ratio, "1.23x"), then written right of
    the bar and its error bar; `caption`: the ratio axis' label."""
    values = [r[2] for r in rows]
    below = [r[2] - r[3] for r in rows]
    above = [r[4] - r[2] for r in rows]
    colours = ["#2a7ab0" if v >= 1 else "#c0504d" for v in values]
    ticks = ratio_ticks(min(r[3] for r in rows), max(r[4] for r in rows))
    limits = (ticks[0] / 1.2, ticks[-1] * 1.6)  # room for the labels
    tick_labels = [f"{t:g}x" for t in ticks]
    caption = caption or "peer time / vow time (> 1: vow is faster)"
    height = max(2.5, 0.4 * len(rows) + 1.5) if horizontal else 4
    width = 9 if horizontal else max(4.5, 1.3 * len(rows) + 2.5)
    fig, ax = plt.subplots(figsize=(width, height))
    positions = list(range(len(rows)))
    if horizontal:
        ax.barh(positions, [v - 1 for v in values], left=1, xerr=[below, above], color=colours, capsize=3)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(*limits)
        ax.set_xticks(ticks, tick_labels)
        ax.minorticks_off()
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_xlabel(caption)
    else:
        ax.bar(positions, [v - 1 for v in values], bottom=1, yerr=[below, above], color=colours, capsize=4)
        ax.set_xticks(positions, labels, rotation=20 if len(rows) > 3 else 0, ha="right" if len(rows) > 3 else "center")
        ax.set_yscale("log")
        ax.set_ylim(*limits)
        ax.set_yticks(ticks, tick_labels)
        ax.minorticks_off()
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_ylabel(caption)
    for i, row in enumerate(rows):
        text = texts[i] if texts else f"{row[2]:.2f}x"
        if horizontal and texts:  # right of the bar and its error bar, clear of the case names
            ax.annotate(text, (max(row[4], 1), i), xytext=(4, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=8)
        elif horizontal:  # past the error bar's far end
            end = row[4] if row[2] >= 1 else row[3]
            ax.annotate(text, (end, i), xytext=(4 if row[2] >= 1 else -4, 0), textcoords="offset points",
                        va="center", ha="left" if row[2] >= 1 else "right", fontsize=8)
        else:
            above_bar = row[2] >= 1
            ax.annotate(text, (i, row[4] if above_bar else row[3]), xytext=(0, 3 if above_bar else -3),
                        textcoords="offset points", ha="center", va="bottom" if above_bar else "top", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)


def run_ratio(run, higher_is_better):
    """A run's ratio, above 1 when vow is faster: as recorded, or from its two medians."""
    if "ratio" in run:
        return run["ratio"]
    return run["vow"] / run["peer"] if higher_is_better else run["peer"] / run["vow"]


def figure_rows(path):
    """([(label, (case, peer, bar, low, high), text)], machine) from a --figures file."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = []
    for group in data["groups"]:
        for row in group["rows"]:
            values = sorted(run_ratio(run, group.get("higher_is_better", False)) for run in row["runs"])
            decimals = row.get("decimals", group.get("decimals", 2))
            shown = lambda v: f"{v:.{decimals}f}"
            low, high = values[0], values[-1]
            if len(values) == 2:  # quoted as a range; the bar reaches what both runs did
                bar = low
                text = f"{shown(low)}x" if shown(low) == shown(high) else f"{shown(low)}–{shown(high)}x"
            else:
                bar = statistics.median(values)
                text = f"{shown(bar)}x" if len(values) == 1 else f"{shown(bar)}x ({shown(low)}–{shown(high)}, {len(values)} runs)"
            label = f"{row['case']} vs {row['peer']} ({group['date']})"
            rows.append((label, (row["case"], row["peer"], bar, low, high), text))
    return rows, data.get("machine", "")


def chart_figures(plt, figures, out_path, fmt):
    rows, machine = figure_rows(figures)
    out_dir = os.path.dirname(out_path)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    draw_bars(plt, [r[0] for r in rows], [r[1] for r in rows],
              f"vow against each peer (docs/benchmarks.md)\n{machine}", out_path,
              horizontal=True, fmt=fmt, texts=[r[2] for r in rows],
              caption="peer time / vow time (> 1: vow is faster)\n"
                      "bar: the median run (of two: the lower); error bar: all runs")
    print(out_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="vow_bench --benchmark_out file (JSON); with --figures, the figures file")
    parser.add_argument("out_dir", help="folder for the charts (created if missing); with --figures, the chart file")
    parser.add_argument("--format", choices=["svg", "png"], default="svg", help="chart file format (default: svg)")
    parser.add_argument("--figures", action="store_true",
                        help="chart recorded figures (docs/img/figures.json) instead of a vow_bench run")
    options = parser.parse_args()

    import matplotlib
    matplotlib.use("agg")  # no display needed
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "vow"  # stable ids: a rerun on the same data gives the same file

    if options.figures:
        chart_figures(plt, options.json, options.out_dir, options.format)
        return
    times, wall_time, context = load_times(options.json)
    rows, skipped = ratios(times)
    if not rows:
        sys.exit(f"report.py: no case in {options.json} has both vow and a peer")
    os.makedirs(options.out_dir, exist_ok=True)

    machine = f"{context.get('num_cpus', '?')} CPUs, {context.get('date', '')[:10]}".strip(", ")
    by_case = defaultdict(list)
    for row in rows:
        by_case[row[0]].append(row)
    for case, case_rows in by_case.items():
        path = chart_file(options.out_dir, case, options.format)
        metric = "wall" if wall_time[case] else "CPU"
        draw_bars(plt, [r[1] for r in case_rows], case_rows, f"{case}: vow against its peers ({metric} time)", path,
                  horizontal=False, fmt=options.format)
        print(path)
    summary = chart_file(options.out_dir, "summary", options.format)
    draw_bars(plt, [f"{r[0]} vs {r[1]}" for r in rows], rows,
              f"vow against each peer: ratio of the medians, min-max of the repetitions\n({machine})", summary,
              horizontal=True, fmt=options.format)
    print(summary)
    for case in skipped:
        print(f"report.py: skipped {case} (no vow or no peer)", file=sys.stderr)


if __name__ == "__main__":
    main()
