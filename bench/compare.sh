#!/usr/bin/env bash
# Runs freedarts and the PyTorch baseline on the same weights, one after the other on an
# otherwise idle machine, and prints the warm timings side by side with their ratio.
# Needs: cargo build --release; pip install torch safetensors numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
weights=${WEIGHTS:-../shared/reference/nb201_c10_seed4.safetensors}
data=${DATA:-../shared/data/cifar10/train_first200_exact.bin}
out=$(mktemp -d)
./target/release/freedarts bench --init-from "$weights" --data "$data" --json "$out/rust.json" >/dev/null
python3 bench/pytorch_nb201.py --weights "$weights" --threads 2 --json "$out/torch.json" >/dev/null
python3 - "$out/rust.json" "$out/torch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
rows = [("SynFlow search, warm median", r["synflow_warm_s"], t["synflow_warm_median_s"]),
        ("SynFlow search, first call", r["synflow_cold_s"], t["synflow_cold_s"]),
        ("SNIP batch-64 pass, warm median", r["snip_warm_s"], t["snip_b64_warm_median_s"])]
print(f"{'':34} {'freedarts':>10} {'PyTorch':>10} {'PyTorch/freedarts':>18}")
for name, a, b in rows:
    print(f"{name:34} {a:>9.3f}s {b:>9.3f}s {b / a:>17.2f}x")
print(f"torch {t['torch_version']}, {r['threads']} threads; peak RSS freedarts {r['peak_rss_mb']:.0f} MB, PyTorch {t['peak_rss_mb']:.0f} MB")
PY
