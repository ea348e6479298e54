#!/usr/bin/env python3
"""How our zero-cost proxies rank NAS-Bench-201 cells next to published values of the same
proxies (NAS-Bench-Suite-Zero's `zc_proxies_naslib_cifar10.csv`, 725 cells, by default).

Data-dependent proxies depend on the batch and the initial weights, so only rankings can agree;
this prints, per proxy both sides have, the number of cells both scored (finite values only),
Spearman's rho between our values and the published ones, and each side's Spearman with one
accuracy column on those same cells (scipy.stats, code we did not write). Score files are read
and validated as `bench/check_correlation.py` reads them (shards of one run may be given
together).

Usage (from the repository root, scipy installed, see bench/README.md):
    python bench/published_agreement.py bench/results/nb201-data6/shard-*-of-16.jsonl
    python bench/published_agreement.py SCORES.jsonl --published FILE.csv \\
        --benchmark ../shared/data/nb201/accuracies.csv --column cifar10_test

Exit status 0, or 2 with an `error:` line on unreadable or invalid input.
"""

import argparse
import csv
import math
import os
import sys

from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_correlation import InputError, arch_key, load_scores  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                      "nb201")
# Our proxy name -> the published file's column, where the two differ.
PUBLISHED_NAME = {"jacob_cov": "jacov"}


def number(text):
    """A finite float, or None for an empty, non-numeric or non-finite cell."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def load_columns(path, wanted):
    """{arch: {column: float or None}} for the `wanted` columns a CSV has, and those columns."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        names = reader.fieldnames or []
        if "arch" not in names:
            raise InputError(f"{path}: no `arch` column")
        have = [c for c in wanted if c in names]
        table = {}
        for line, row in enumerate(reader, 2):
            arch = arch_key(row["arch"], f"{path}:{line}")
            if arch in table:
                raise InputError(f"{path}:{line}: {arch} a second time")
            table[arch] = {c: number(row[c]) for c in have}
    return table, have


def rho(xs, ys):
    return stats.spearmanr(xs, ys).statistic if len(xs) > 2 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scores", nargs="+", help="freedarts score files (JSON Lines)")
    parser.add_argument("--published", default=os.path.join(SHARED,
                                                            "zc_proxies_naslib_cifar10.csv"))
    parser.add_argument("--benchmark", default=os.path.join(SHARED, "accuracies.csv"))
    parser.add_argument("--column", default="cifar10_test",
                        help="the benchmark's accuracy column (default cifar10_test)")
    args = parser.parse_args()
    try:
        proxies, ours = load_scores(args.scores)
        wanted = [PUBLISHED_NAME.get(name, name) for name, _ in proxies]
        published, have = load_columns(args.published, wanted)
        accuracy, found = load_columns(args.benchmark, [args.column])
        if not found:
            raise InputError(f"{args.benchmark}: no `{args.column}` column")
    except (InputError, OSError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"| proxy | cells | Spearman ours vs published | ours vs {args.column} "
          f"| published vs {args.column} |")
    print("|---|---|---|---|---|")
    for name, _ in proxies:
        column = PUBLISHED_NAME.get(name, name)
        if column not in have:
            continue
        triples = [(row.get(name), published[arch][column], accuracy.get(arch, {}).get(args.column))
                   for arch, row in ours.items() if arch in published]
        triples = [t for t in triples if None not in t]
        if not triples:
            print(f"| {name} | 0 | | | |")
            continue
        mine, theirs, acc = zip(*triples)
        print(f"| {name} | {len(triples)} | {rho(mine, theirs):.3f} | {rho(mine, acc):.3f} "
              f"| {rho(theirs, acc):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
