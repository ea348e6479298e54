#!/usr/bin/env bash
# Runs freedarts (its own kernels, then burn's with --burn-kernels) and the PyTorch baselines on
# the same machine, one after the other, and prints the timings side by side with their ratios:
# the NB201 supernet (same reference weights) and the DARTS search supernet at 8 and 20 cells.
# Run it on an otherwise idle machine. Needs: cargo build --release; pip install torch
# safetensors numpy (PYTHON names the interpreter, default python3; FREEDARTS another binary, for
# a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
weights=${WEIGHTS:-../shared/reference/nb201_c10_seed4.safetensors}
data=${DATA:-../shared/data/cifar10/train_first200_exact.bin}
fd=${FREEDARTS:-./target/release/freedarts}
[ -x "$fd" ] || { echo "error: $fd not found: run cargo build --release first, or set FREEDARTS" >&2; exit 1; }
out=$(mktemp -d)
$fd bench --init-from "$weights" --data "$data" --json "$out/nb201.json" >/dev/null
$fd bench --init-from "$weights" --data "$data" --burn-kernels --json "$out/nb201_burn.json" >/dev/null
"$py" bench/pytorch_nb201.py --weights "$weights" --threads 2 --json "$out/torch.json" >/dev/null
for cells in 8 20; do
    $fd bench --space darts --cells $cells --snip-repeats 0 --json "$out/darts$cells.json" >/dev/null
    $fd bench --space darts --cells $cells --snip-repeats 0 --burn-kernels \
        --json "$out/darts${cells}_burn.json" >/dev/null
    "$py" bench/pytorch_darts.py --cells $cells --json "$out/torch_darts$cells.json" >/dev/null
    # Whole process: the median of five runs of the default search.
    "$py" - "$fd" $cells > "$out/process$cells.txt" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "search", "--space", "darts", "--cells", sys.argv[2]],
                   check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
print(statistics.median(times))
PY
done
"$py" - "$out" <<'PY'
import json, sys
d = sys.argv[1]
load = lambda name: json.load(open(f"{d}/{name}.json"))
r, rb, t = load("nb201"), load("nb201_burn"), load("torch")
rows = [("NB201 SynFlow search, warm median", r["synflow_warm_s"], rb["synflow_warm_s"], t["synflow_warm_median_s"]),
        ("NB201 SynFlow search, first call", r["synflow_cold_s"], rb["synflow_cold_s"], t["synflow_cold_s"]),
        ("NB201 SNIP batch-64 pass, warm median", r["snip_warm_s"], rb["snip_warm_s"], t["snip_b64_warm_median_s"])]
for cells in (8, 20):
    a, b, c = load(f"darts{cells}"), load(f"darts{cells}_burn"), load(f"torch_darts{cells}")
    rows.append((f"DARTS {cells}-cell SynFlow search, warm", a["synflow_warm_s"], b["synflow_warm_s"], c["synflow_warm_median_s"]))
print(f"{'':40} {'freedarts':>10} {'burn kernels':>13} {'PyTorch':>10} {'PyTorch/freedarts':>18}")
for name, a, b, c in rows:
    print(f"{name:40} {a:>9.3f}s {b:>12.3f}s {c:>9.3f}s {c / a:>17.2f}x")
for cells in (8, 20):
    p = float(open(f"{d}/process{cells}.txt").read())
    print(f"{'DARTS ' + str(cells) + '-cell search, whole process':40} {p:>9.3f}s")
print(f"torch {t['torch_version']}, {r['threads']} threads; peak RSS of the NB201 benchmark: "
      f"freedarts {r['peak_rss_mb']:.0f} MB, burn kernels {rb['peak_rss_mb']:.0f} MB, PyTorch {t['peak_rss_mb']:.0f} MB")
PY
