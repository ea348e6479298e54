#!/usr/bin/env python3
"""Independent cross-check of `freedarts correlate -o CORRELATION.json`.

Reads the same score files (JSON Lines: a {"header": ...} line, then one {"arch": ...} row
per cell) and NAS-Bench-201 CSVs (joined as `correlate` joins repeated --benchmark files)
itself, and recomputes every number of the JSON with code we
did not write: Kendall's tau-b, Spearman's rho and Pearson's r from scipy.stats; precision at
the top k and the best accuracy in the top k with numpy, from their definitions (k =
ceil(fraction * n) in exact arithmetic, ties at the cut-off broken at random: the JSON holds
expectations over the tie-break). It also checks each proxy's cell count n, the cells left out
(non-finite score), the scored cells missing from the benchmark and the best possible accuracy.
A proxy whose header says smaller is better is negated first, as `correlate` does. Rank
aggregates (`ensembles`) are not reimplemented; files that ask for them are refused.

Usage (use the same score files as the `correlate` run):
    target/release/freedarts correlate SHARD.jsonl... --benchmark BENCH.csv -o CORRELATION.json
    python bench/check_correlation.py CORRELATION.json SHARD.jsonl... --benchmark BENCH.csv

Prints one line per value that differs by more than 1e-9 (absolute; null matches NaN/inf),
then `checked N values, M mismatches`. Exit status 0 when all agree, 1 on any mismatch, 2 on
unreadable or invalid input (with an `error:` line).
"""

import argparse
import csv
import json
import math
import re
import sys
import warnings
from fractions import Fraction

import numpy as np
from scipy import stats

TOLERANCE = 1e-9
SCORE_FORMAT = "freedarts.scores/1"
REPORT_FORMAT = "freedarts.correlation/1"
OP = "(none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)"
ARCH = re.compile(rf"\|{OP}~0\|\+\|{OP}~0\|{OP}~1\|\+\|{OP}~0\|{OP}~1\|{OP}~2\|")


class InputError(Exception):
    pass


def arch_key(text, where):
    arch = text.strip()
    if not ARCH.fullmatch(arch):
        raise InputError(f"{where}: `{text}` is not an NB201 architecture string")
    return arch


def finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def reject_constant(text):
    raise ValueError(f"{text} is not JSON")


def load_scores(paths):
    """Returns [(proxy, larger_is_better)] in header order and {arch: {proxy: float or None}}."""
    proxies, rows, first = [], {}, None
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines = [(i, line) for i, line in enumerate(f, 1) if line.strip()]
        if not lines:
            raise InputError(f"{path}: no header line")
        for i, line in lines:
            try:
                obj = json.loads(line, parse_float=finite_float, parse_constant=reject_constant)
            except ValueError as e:
                raise InputError(f"{path}:{i}: not a JSON object: {e}") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{i}: expected a JSON object")
            if "header" in obj:
                if i != lines[0][0]:
                    raise InputError(f"{path}:{i}: a second header")
                header = obj["header"]
                if header.get("format") != SCORE_FORMAT or header.get("space", "nb201") != "nb201":
                    raise InputError(f"{path}: not an nb201 {SCORE_FORMAT} file")
                if header.get("ensembles"):
                    raise InputError(f"{path}: rank aggregates are not reimplemented here")
                run = (header.get("network"), header.get("seed"))
                if first is not None and run != first:
                    raise InputError(f"{path}: another network or seed than the first file")
                first = run
                for p in header.get("proxies", []):
                    if "name" in p and p["name"] not in dict(proxies):
                        proxies.append((p["name"], p.get("larger_is_better", True)))
            elif i == lines[0][0]:
                raise InputError(f"{path}: the first line is not a header")
            elif isinstance(obj.get("arch"), str):
                merge_row(rows.setdefault(arch_key(obj["arch"], f"{path}:{i}"), {}),
                          obj, proxies, f"{path}:{i}")
            else:
                raise InputError(f"{path}:{i}: a row needs an `arch` string")
    if not proxies:
        raise InputError("no proxy in the score file headers")
    return proxies, rows


def merge_row(entry, obj, proxies, where):
    for name, _ in proxies:
        if name not in obj:
            continue
        value = obj[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputError(f"{where}: {name} = {value!r}; expected a number or null")
        value = None if value is None else float(value)
        if name in entry and entry[name] != value:
            raise InputError(f"{where}: {obj['arch']} scored twice with different {name}")
        entry[name] = value


def load_benchmark(paths, wanted):
    """Returns the accuracy columns and {arch: [accuracy per column]}: the columns in `wanted`
    (those of the report), from the first file, then from each later file joined on `arch`,
    or on `index` in a file without `arch` (as `correlate`'s repeated --benchmark)."""
    columns, table, arch_of_index = [], {}, {}
    for k, path in enumerate(paths):
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            names = reader.fieldnames or []
            mine = [c for c in names if c not in ("arch", "index") and c in wanted]
            key = "arch" if "arch" in names else "index"
            if (k == 0 and key != "arch") or key not in names or not mine:
                raise InputError(f"{path}: needs an `arch` (or, joined, `index`) column and "
                                 "an accuracy column")
            if set(mine) & set(columns):
                raise InputError(f"{path}: a column read from an earlier file")
            seen = set()
            for line, row in enumerate(reader, 2):
                arch = (arch_key(row["arch"], f"{path}:{line}") if key == "arch"
                        else arch_of_index.get(row["index"]))
                if k > 0 and arch not in table:
                    raise InputError(f"{path}:{line}: not a row of {paths[0]}")
                if arch in seen:
                    raise InputError(f"{path}:{line}: {arch} appears twice")
                seen.add(arch)
                if k == 0:
                    table[arch] = []
                    if "index" in names:
                        arch_of_index[row["index"]] = arch
                table[arch].extend(float(row[c]) for c in mine)
            if len(seen) != len(table):
                raise InputError(f"{path}: does not cover every row of {paths[0]}")
            columns.extend(mine)
    if set(wanted) - set(columns):
        raise InputError(f"no file has the column(s) {sorted(set(wanted) - set(columns))}")
    return columns, table


def top_count(n, fraction):
    """ceil(fraction * n) computed exactly, between 1 and n."""
    return min(max(math.ceil(Fraction(repr(fraction)) * n), 1), max(n, 1))


def membership(values, k):
    """P(item in the k largest) under a uniformly random order of equal values: a tie group
    spans descending positions lo..hi, of which max(0, min(hi, k) - lo + 1) are in the top k."""
    lo = stats.rankdata(-values, method="min")
    hi = stats.rankdata(-values, method="max")
    return np.clip(k - lo + 1, 0, hi - lo + 1) / (hi - lo + 1)


def precision_at(score, acc, k):
    """E|top k by score & top k by accuracy| / k; the two tie-breaks are independent."""
    return float(np.sum(membership(score, k) * membership(acc, k)) / k)


def best_in_top(score, acc, k):
    """E[max accuracy of the top k by score]: r of the g cut-off ties are drawn at random,
    and the j-th smallest of them is the largest drawn with chance C(j-1, r-1) / C(g, r)."""
    p = membership(score, k)
    sure = acc[p == 1.0].max(initial=-math.inf)
    tied = np.sort(acc[(p > 0) & (p < 1)])
    if tied.size == 0:
        return float(sure)
    g, r = tied.size, k - int(np.sum(p == 1.0))
    total = math.comb(g, r)
    chance = np.array([math.comb(j - 1, r - 1) / total for j in range(1, g + 1)])
    return float(np.sum(chance * np.maximum(tied, sure)))


def recompute(proxies, rows, table, columns, fractions):
    """{(proxy, column): metrics} for every proxy and column, plus the unmatched count."""
    matched = [a for a in rows if a in table]
    expected = {}
    for proxy, larger in proxies:
        cells = [a for a in matched if rows[a].get(proxy) is not None
                 and math.isfinite(rows[a][proxy])]
        score = np.array([rows[a][proxy] for a in cells]) * (1.0 if larger else -1.0)
        k = [top_count(len(cells), f) for f in fractions]
        for c, column in enumerate(columns):
            acc = np.array([table[a][c] for a in cells])
            m = {"n": len(cells), "skipped": len(matched) - len(cells),
                 "best_possible": max(table[a][c] for a in matched)}
            if len(cells) < 2:
                m.update(kendall_tau=math.nan, spearman=math.nan, pearson=math.nan)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # constant input: NaN, as in freedarts
                    m["kendall_tau"] = float(stats.kendalltau(score, acc, variant="b").statistic)
                    m["spearman"] = float(stats.spearmanr(score, acc).statistic)
                    m["pearson"] = float(stats.pearsonr(score, acc).statistic)
            m["precision_at"] = [precision_at(score, acc, kk) for kk in k]
            m["best_in_top"] = [best_in_top(score, acc, kk) for kk in k]
            expected[(proxy, column)] = m
    return expected, len(rows) - len(matched)


def differs(ours, theirs):
    """JSON has no NaN or infinity: `null` in the report stands for any non-finite value."""
    if isinstance(ours, int):
        return ours != theirs
    if theirs is None or not math.isfinite(ours):
        return theirs is not None or math.isfinite(ours)
    return abs(ours - theirs) > TOLERANCE


def compare(report, proxies, expected, unmatched):
    """Returns (values checked, mismatch lines)."""
    checked, bad = 2, []
    if [tuple(p) for p in report["larger_is_better"]] != proxies:
        bad.append(f"larger_is_better: freedarts {report['larger_is_better']}, headers {proxies}")
    if differs(unmatched, report["unmatched"]):
        bad.append(f"unmatched: freedarts {report['unmatched']}, recomputed {unmatched}")
    results = {(r["proxy"], r["column"]): r for r in report["results"]}
    for key in sorted(set(results) ^ set(expected)):
        bad.append(f"{key[0]} {key[1]}: only in {'freedarts' if key in results else 'recomputed'}")
    for key in [key for key in expected if key in results]:
        for metric, ours in expected[key].items():
            theirs = results[key][metric]
            if not isinstance(ours, list):
                ours, theirs, metric = [ours], [theirs], [metric]
            elif len(ours) == len(theirs):
                metric = [f"{metric}[{i}]" for i in range(len(ours))]
            else:
                bad.append(f"{key[0]} {key[1]} {metric}: {len(theirs)} values, not {len(ours)}")
                continue
            for name, a, b in zip(metric, ours, theirs):
                checked += 1
                if differs(a, b):
                    gap = "" if isinstance(a, int) or b is None else f" (diff {b - a:+.3g})"
                    bad.append(f"{key[0]} {key[1]} {name}: freedarts {b!r}, recomputed {a!r}{gap}")
    return checked, bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("correlation", help="JSON written by `freedarts correlate -o`")
    parser.add_argument("scores", nargs="+", help="the score files given to correlate")
    parser.add_argument("--benchmark", required=True, action="append",
                        help="NAS-Bench-201 accuracies CSV; again: a table joined to it")
    args = parser.parse_args()
    try:
        with open(args.correlation, encoding="utf-8") as f:
            report = json.load(f)
        if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
            raise InputError(f"{args.correlation}: not a {REPORT_FORMAT} file")
        proxies, rows = load_scores(args.scores)
        columns, table = load_benchmark(args.benchmark, {r["column"] for r in report["results"]})
        expected, unmatched = recompute(proxies, rows, table, columns, report["top_fractions"])
        checked, bad = compare(report, proxies, expected, unmatched)
    except (OSError, ValueError, KeyError, TypeError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in bad:
        print(line)
    print(f"checked {checked} values, {len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
