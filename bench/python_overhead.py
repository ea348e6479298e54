"""What a Python call costs over the same Rust call, measured in one run.

For a SynFlow search (NB201, default settings) and a 100-cell score (`sample:100`, synflow),
it times, alternating, `repeats` times each:

- the Python call (`freedarts.search` / `freedarts.score`), wall clock around the call;
- the library's own time for the same call, as the library reports it in that call's result
  (`timings.total_s` of the search, `summary.seconds` of the scoring): the Rust call without
  the binding around it;
- the `freedarts` binary with the same settings, wall clock around the process (start-up and
  printing included), for scale.

Medians are printed; overhead = python / rust - 1. Run from the repository root after
`pip install .` (and `cargo build --release` for the binary):

    python bench/python_overhead.py [--repeats 7] [--bin target/release/freedarts]
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import freedarts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--bin", default=os.path.join("target", "release", "freedarts"))
    args = ap.parse_args()

    # Warm up once: the first call of a process sets up the backend's thread pool.
    freedarts.search()
    rows = []
    tmp = tempfile.mkdtemp(prefix="freedarts-bench-")

    py_t, rust_t, cli_t = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        r = freedarts.search()
        py_t.append(time.perf_counter() - t)
        rust_t.append(r.timings["total_s"])
        t = time.perf_counter()
        subprocess.run([args.bin, "search"], check=True, capture_output=True)
        cli_t.append(time.perf_counter() - t)
    rows.append(("search nb201 synflow", py_t, rust_t, cli_t))

    py_t, rust_t, cli_t = [], [], []
    for i in range(args.repeats):
        t = time.perf_counter()
        s = freedarts.score("sample:100", ["synflow"])
        py_t.append(time.perf_counter() - t)
        rust_t.append(s.summary["seconds"])
        out = os.path.join(tmp, f"cli{i}.jsonl")
        t = time.perf_counter()
        subprocess.run(
            [args.bin, "score", "--archs", "sample:100", "--proxy", "synflow", "-o", out, "--quiet"],
            check=True,
            capture_output=True,
        )
        cli_t.append(time.perf_counter() - t)
    rows.append(("score 100 cells synflow", py_t, rust_t, cli_t))

    print(f"{'call':26} {'python s':>9} {'rust s':>9} {'overhead':>9} {'cli process s':>14}")
    for name, py_t, rust_t, cli_t in rows:
        py_m, rust_m, cli_m = (statistics.median(x) for x in (py_t, rust_t, cli_t))
        print(f"{name:26} {py_m:9.4f} {rust_m:9.4f} {py_m / rust_m - 1:+9.2%} {cli_m:14.4f}")


if __name__ == "__main__":
    main()
