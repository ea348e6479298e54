#!/usr/bin/env python3
"""PyTorch baseline for the NAS-Bench-201 FreeDARTS scoring (SynFlow and SNIP).

Builds the NB201 DARTS search supernet (TinyNetworkDartsV1 layout, see
shared/reference/README.md section 3 and shared/docs/METHOD.md section 3.1)
with the exact PyTorch state_dict names, loads a reference safetensors file
with strict checking, checks SynFlow and SNIP against the stored results, and
times them on CPU.

Written from the textual description only; no official code is used.

    python bench/pytorch_nb201.py                       # reference file, 2 threads
    python bench/pytorch_nb201.py --threads 1 --json out.json
    python bench/pytorch_nb201.py --config 16,5,100,32  # fresh default init, timing only
    python bench/pytorch_nb201.py --weights w.safetensors  # a `freedarts search --export-weights`
"""

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

OP_NAMES = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
MAX_NODES = 4
# alpha rows: sorted edge keys "a<-b" (target a, source b)
EDGE_KEYS = sorted(f"{a}<-{b}" for a in range(1, MAX_NODES) for b in range(a))
EDGE2INDEX = {k: i for i, k in enumerate(EDGE_KEYS)}
# The shared reference files sit beside the repository (../shared), found from this script.
DEFAULT_WEIGHTS = str(
    Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "nb201_c10_seed4.safetensors"
)
RESULT_PREFIXES = ("synflow_", "snip_", "grasp_", "batch_")


# --------------------------------------------------------------------------- model
class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad, affine):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=True),
        )

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Pooling(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0, affine=False)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1, affine=False)
    if name == "avg_pool_3x3":
        return Pooling()
    raise ValueError(name)


class SearchCell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleDict(
            {k: nn.ModuleList([make_op(n, c) for n in OP_NAMES]) for k in EDGE_KEYS}
        )

    def forward(self, x, alpha):
        nodes = [x]
        for a in range(1, MAX_NODES):
            inter = []
            for b in range(a):
                key = f"{a}<-{b}"
                w = alpha[EDGE2INDEX[key]]
                inter.append(sum(op(nodes[b]) * w[k] for k, op in enumerate(self.edges[key])))
            nodes.append(sum(inter))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, affine=True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, affine=True)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201SearchNet(nn.Module):
    def __init__(self, C=16, N=5, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)
        )
        chans = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
        reds = [False] * N + [True] + [False] * N + [True] + [False] * N
        cells, c_prev = [], C
        for c, r in zip(chans, reds):
            cells.append(ResNetBasicblock(c_prev, c) if r else SearchCell(c))
            c_prev = c
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self.arch_parameters = nn.Parameter(1e-3 * torch.randn(len(EDGE_KEYS), len(OP_NAMES)))

    def forward(self, x):
        alpha = self.arch_parameters  # no softmax (FreeDARTS)
        h = self.stem(x)
        for cell in self.cells:
            h = cell(h, alpha) if isinstance(cell, SearchCell) else cell(h)
        h = self.lastact(h)
        feat = self.global_pooling(h).view(h.size(0), -1)
        return feat, self.classifier(feat)


# --------------------------------------------------------------------------- scoring
def arch_string(score):
    idx = score.argmax(dim=1).tolist()  # first maximum wins
    groups = []
    for a in range(1, MAX_NODES):
        toks = [f"{OP_NAMES[idx[EDGE2INDEX[f'{a}<-{b}']]]}~{b}" for b in range(a)]
        groups.append("|" + "|".join(toks) + "|")
    return "+".join(groups)


def synflow(model, state, x):
    """state copy + abs + forward + backward + |alpha*grad| + argmax."""
    model.load_state_dict(state, strict=True)
    model.train()
    with torch.no_grad():
        for v in model.state_dict().values():
            v.abs_()
    model.zero_grad(set_to_none=True)
    feat, logits = model(x)
    R = logits.sum()
    R.backward()
    a = model.arch_parameters
    score = (a.detach() * a.grad).abs()
    return dict(R=R.detach(), feat=feat.detach(), logits=logits.detach(),
                grad=a.grad.clone(), score=score, arch=arch_string(score))


def snip_pass(model, x, y):
    """forward + backward + |alpha*grad| (state must already be loaded, train mode)."""
    model.zero_grad(set_to_none=True)
    _, logits = model(x)
    L = F.cross_entropy(logits, y)
    L.backward()
    a = model.arch_parameters
    score = (a.detach() * a.grad).abs()
    return dict(L=L.detach(), logits=logits.detach(), grad=a.grad.clone(), score=score,
                arch=arch_string(score))


def snip(model, state, x, y):
    model.load_state_dict(state, strict=True)
    model.train()
    return snip_pass(model, x, y)


# --------------------------------------------------------------------------- helpers
def diffs(got, ref):
    got, ref = got.double(), ref.double()
    d = (got - ref).abs()
    m = ref.abs().max().item()
    nz = ref != 0
    rel = (d[nz] / ref[nz].abs()).max().item() if nz.any() else 0.0
    return {"max_abs": d.max().item(),
            "max_abs_over_max_ref": d.max().item() / m if m > 0 else d.max().item(),
            "max_elem_rel": rel}


def fmt_d(d):
    return (f"max|diff|/max|ref| = {d['max_abs_over_max_ref']:.3e}, "
            f"max elementwise rel = {d['max_elem_rel']:.3e}")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB


def timeit(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def parse_config(s):
    vals = [16, 5, 10, 32]
    if s:
        parts = [int(p) for p in s.split(",") if p.strip()]
        if len(parts) > 4:
            raise SystemExit("--config takes at most C,N,CLASSES,SIZE")
        vals[: len(parts)] = parts
    return dict(C=vals[0], N=vals[1], classes=vals[2], size=vals[3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS,
                    help="reference safetensors file (default: %(default)s)")
    ap.add_argument("--config", nargs="?", const="", default=None, metavar="C,N,CLASSES,SIZE",
                    help="build the supernet fresh with PyTorch default init instead of loading "
                         "(missing fields default to 16,5,10,32); no correctness checks")
    ap.add_argument("--seed", type=int, default=0, help="init seed for --config (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--repeats", type=int, default=20, help="SynFlow timed runs (default 20)")
    ap.add_argument("--snip-repeats", type=int, default=5,
                    help="SNIP timed runs after 1 warm-up (default 5)")
    ap.add_argument("--skip-snip", action="store_true", help="SynFlow only (no SNIP check/timing)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    if args.repeats < 1 or args.snip_repeats < 1 or args.threads < 1:
        ap.error("--repeats, --snip-repeats and --threads must be >= 1")

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    res = {"torch_version": torch.__version__, "python": sys.version.split()[0],
           "threads": torch.get_num_threads(), "mode": None}
    try:  # a busy machine distorts every number below; record how busy it was
        res["loadavg_1min_at_start"] = float(open("/proc/loadavg").read().split()[0])
    except OSError:
        pass

    ok = True
    if args.config is None:
        from safetensors import safe_open
        with safe_open(args.weights, framework="pt") as f:
            meta = f.metadata() or {}
            blob = {k: f.get_tensor(k) for k in f.keys()}
        cfg = json.loads(meta["config"])
        # Reference files (made by the official code) name the skeleton C, N, num_classes;
        # `freedarts search --export-weights` names it channels, cells_per_stage, classes,
        # input_size and carries no reference results or batch.
        exported = "freedarts_version" in meta
        if exported:
            if cfg.get("space") != "nb201":
                raise SystemExit(f"{args.weights}: a {cfg.get('space')} export; this script "
                                 "rebuilds the NB201 supernet only")
            C, N, classes, size = (cfg["channels"], cfg["cells_per_stage"], cfg["classes"],
                                   cfg["input_size"])
        else:
            C, N, classes, size = cfg["C"], cfg["N"], cfg["num_classes"], 32
        torch.manual_seed(12345)  # any seed: everything is overwritten by the load
        model = NB201SearchNet(C, N, classes)
        skip = {"arch_alpha"}
        state = {k: v for k, v in blob.items()
                 if not k.startswith(RESULT_PREFIXES) and k not in skip}
        model.load_state_dict(state, strict=True)  # raises on missing/unexpected keys
        for k, v in model.state_dict().items():
            if v.shape != state[k].shape or v.dtype != state[k].dtype:
                raise SystemExit(f"shape/dtype mismatch for {k}")
        if "arch_alpha" in blob and not torch.equal(blob["arch_alpha"], blob["arch_parameters"]):
            raise SystemExit("arch_alpha != arch_parameters in file")
        res.update(mode="export" if exported else "reference", weights=args.weights,
                   config_name=meta.get("config_name", f"freedarts export, seed {meta.get('seed')}"),
                   reference_torch_version=meta.get("torch_version"))
        if "batch_x" in blob:
            bx, by = blob["batch_x"], blob["batch_y"]
        else:
            g = torch.Generator().manual_seed(int(meta.get("seed", 0)) + 1)
            bx = torch.randn(64, 3, size, size, generator=g)
            by = torch.randint(0, classes, (64,), generator=g)
    else:
        c = parse_config(args.config)
        C, N, classes, size = c["C"], c["N"], c["classes"], c["size"]
        torch.manual_seed(args.seed)
        model = NB201SearchNet(C, N, classes)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        g = torch.Generator().manual_seed(args.seed + 1)
        bx = torch.randn(64, 3, size, size, generator=g)
        by = torch.randint(0, classes, (64,), generator=g)
        res.update(mode="config", seed=args.seed)
        meta, blob = {}, {}

    n_params = sum(p.numel() for p in model.parameters())
    res.update(C=C, N=N, classes=classes, input_size=size, params_incl_alpha=n_params,
               params_excl_alpha=n_params - model.arch_parameters.numel())
    x1 = torch.ones(1, 3, size, size)
    res["setup_s"] = time.perf_counter() - t_start

    # ---- 1. SynFlow: first (cold) call = the correctness run, then warm timing
    t0 = time.perf_counter()
    sf = synflow(model, state, x1)
    res["synflow_cold_s"] = time.perf_counter() - t0
    res["synflow_R"] = sf["R"].item()
    res["arch_synflow"] = sf["arch"]
    ts = timeit(lambda: synflow(model, state, x1), warmup=3, repeats=args.repeats)
    res["synflow_warm_median_s"] = statistics.median(ts)
    res["synflow_warm_min_s"] = min(ts)
    res["synflow_warm_max_s"] = max(ts)
    res["synflow_warm_all_s"] = ts
    res["peak_rss_after_synflow_mb"] = peak_rss_mb()

    # ---- 2. SNIP: first call = the correctness run, then 1 warm-up + timed passes
    sn = None
    if not args.skip_snip:
        t0 = time.perf_counter()
        sn = snip(model, state, bx, by)
        res["snip_cold_s"] = time.perf_counter() - t0
        res["snip_L"] = sn["L"].item()
        res["arch_snip"] = sn["arch"]
        model.train()
        ts2 = []
        for i in range(1 + args.snip_repeats):
            model.load_state_dict(state, strict=True)  # fresh BN buffers, not timed
            t0 = time.perf_counter()
            snip_pass(model, bx, by)
            dt = time.perf_counter() - t0
            if i >= 1:
                ts2.append(dt)
        res["snip_b64_warm_median_s"] = statistics.median(ts2)
        res["snip_b64_warm_min_s"] = min(ts2)
        res["snip_b64_warm_max_s"] = max(ts2)
        res["snip_b64_warm_all_s"] = ts2
    res["peak_rss_mb"] = peak_rss_mb()
    res["script_wall_s"] = time.perf_counter() - t_start

    # ---- 3. correctness against the stored tensors (README section 5.3 tolerances)
    if res["mode"] == "reference":
        cor = {}
        cor["synflow_R"] = diffs(sf["R"], blob["synflow_R"])
        cor["synflow_logits"] = diffs(sf["logits"], blob["synflow_logits"])
        cor["synflow_feat"] = diffs(sf["feat"], blob["synflow_feat"])
        cor["synflow_grad"] = diffs(sf["grad"], blob["synflow_grad"])
        cor["synflow_score"] = diffs(sf["score"], blob["synflow_score"])
        cor["synflow_bitexact_score"] = bool(torch.equal(sf["score"], blob["synflow_score"]))
        cor["arch_synflow_match"] = sf["arch"] == meta.get("arch_synflow")
        ok = (cor["synflow_R"]["max_elem_rel"] <= 1e-5
              and cor["synflow_score"]["max_abs_over_max_ref"] <= 1e-4
              and cor["arch_synflow_match"])
        if sn is not None:
            cor["snip_L"] = diffs(sn["L"], blob["snip_L"])
            cor["snip_logits"] = diffs(sn["logits"], blob["snip_logits"])
            cor["snip_grad"] = diffs(sn["grad"], blob["snip_grad"])
            cor["snip_score"] = diffs(sn["score"], blob["snip_score"])
            cor["snip_bitexact_score"] = bool(torch.equal(sn["score"], blob["snip_score"]))
            cor["arch_snip_match"] = sn["arch"] == meta.get("arch_snip")
            ok = (ok and cor["snip_L"]["max_elem_rel"] <= 1e-5
                  and cor["snip_score"]["max_abs_over_max_ref"] <= 3e-2
                  and cor["arch_snip_match"])
        cor["all_within_tolerance"] = ok
        res["correctness"] = cor

    # ---- 4. output
    p = print
    p(f"torch {res['torch_version']} (python {res['python']}), threads = {res['threads']}")
    if "loadavg_1min_at_start" in res:
        p(f"1-min load average at start: {res['loadavg_1min_at_start']:.2f} "
          f"(times are only clean on an idle machine)")
    if res["mode"] == "reference":
        p(f"weights: {args.weights} [{res['config_name']}; reference made with torch "
          f"{res['reference_torch_version']}]")
    elif res["mode"] == "export":
        p(f"weights: {args.weights} [{res['config_name']}]; SNIP batch is random normal; "
          f"compare the SynFlow arch with `freedarts search --seed {meta.get('seed')}`")
    else:
        p(f"fresh default init, seed {args.seed}; SNIP batch is random normal")
    p(f"supernet C={C} N={N} classes={classes} input={size}x{size}; params "
      f"{res['params_incl_alpha']:,} incl. alpha ({res['params_excl_alpha']:,} without)")
    p("")
    p(f"SynFlow  R = {res['synflow_R']:.7f}")
    p(f"         arch = {res['arch_synflow']}")
    if sn is not None:
        p(f"SNIP     L = {res['snip_L']:.7f}")
        p(f"         arch = {res['arch_snip']}")
    if res["mode"] == "reference":
        cor = res["correctness"]
        p("")
        p("correctness vs stored tensors:")
        for k in ("synflow_R", "synflow_logits", "synflow_feat", "synflow_grad", "synflow_score",
                  "snip_L", "snip_logits", "snip_grad", "snip_score"):
            if k in cor:
                p(f"  {k:15s} {fmt_d(cor[k])}")
        p(f"  synflow score bit-exact: {cor['synflow_bitexact_score']}; "
          f"arch_synflow == metadata: {cor['arch_synflow_match']}")
        if sn is not None:
            p(f"  snip score bit-exact:    {cor['snip_bitexact_score']}; "
              f"arch_snip == metadata:    {cor['arch_snip_match']}")
        p(f"  within README 5.3 tolerances: {ok}")
    p("")
    p("timing (seconds):")
    p(f"  setup (import done -> model loaded)     {res['setup_s']:.4f}")
    p(f"  SynFlow first (cold) call               {res['synflow_cold_s']:.4f}")
    p(f"  SynFlow warm median of {args.repeats:<3d}              "
      f"{res['synflow_warm_median_s']:.4f}  (min {res['synflow_warm_min_s']:.4f}, "
      f"max {res['synflow_warm_max_s']:.4f})")
    p(f"  peak RSS after SynFlow                  {res['peak_rss_after_synflow_mb']:.1f} MB")
    if sn is not None:
        p(f"  SNIP b64 first call (incl. state copy)  {res['snip_cold_s']:.4f}")
        p(f"  SNIP b64 warm median of {args.snip_repeats:<3d}             "
          f"{res['snip_b64_warm_median_s']:.4f}  (min {res['snip_b64_warm_min_s']:.4f}, "
          f"max {res['snip_b64_warm_max_s']:.4f})")
    p(f"  peak RSS (whole run)                    {res['peak_rss_mb']:.1f} MB (ru_maxrss/1024)")
    p(f"  script wall (after imports)             {res['script_wall_s']:.3f}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
            fh.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
