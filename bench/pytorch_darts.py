"""PyTorch baseline of the DARTS-space FreeDARTS SynFlow search, for `freedarts bench --space darts`.

The search supernet (`DartsSearchNet`, which bench/grasp_official.py imports too) is written
here from its definition (shared/docs/METHOD.md 3.2-3.3: the DARTS operations and
`model_search.py`) with the state_dict names of shared/reference/README.md section 4: stem conv
3x3 + BN, L cells with reductions at L/3 and
2L/3, 4 intermediate nodes over 14 mixed edges of 8 candidate ops, every search BN without
affine parameters, global average pooling and a linear head. The SynFlow search follows the
DARTS notebooks (METHOD.md 2.2): train mode, every state entry made absolute (alpha excluded,
it is not in the state), an all-ones 1x3xHxW input, R = sum of the logits, then
S = |alpha * dR/dalpha| for the normal and the reduction alpha and the top-2 parse.

Usage (from the repository root, after `pip install torch safetensors numpy`):

    python bench/pytorch_darts.py                 # 8 cells, C=16, 32x32, 2 threads
    python bench/pytorch_darts.py --cells 20
    python bench/pytorch_darts.py --json pt.json
    /usr/bin/time -v python bench/pytorch_darts.py --repeats 1   # whole process

The weights are PyTorch's default initialisation under --seed, so the timing, not the
architecture, is what compares with freedarts.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn

PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
              "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]


# The search supernet with the official state_dict names (bench/grasp_official.py loads the
# reference weights into it with strict=True).
class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, pad, bias=False),
                                nn.BatchNorm2d(c_out, affine=False))

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x.mul(0.0) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


def sep_conv(c, k, stride, pad):
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c, c, k, stride, pad, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False),
        nn.ReLU(), nn.Conv2d(c, c, k, 1, pad, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))


def dil_conv(c, k, stride, pad):
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c, c, k, stride, pad, dilation=2, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False))


class Sep(nn.Module):  # so that the state_dict names read `.op.N`
    def __init__(self, seq):
        super().__init__()
        self.op = seq

    def forward(self, x):
        return self.op(x)


class MixedOp(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self._ops = nn.ModuleList([
            Zero(stride),
            nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False)),
            nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False),
                          nn.BatchNorm2d(c, affine=False)),
            Identity() if stride == 1 else FactorizedReduce(c, c),
            Sep(sep_conv(c, 3, stride, 1)),
            Sep(sep_conv(c, 5, stride, 2)),
            Sep(dil_conv(c, 3, stride, 2)),
            Sep(dil_conv(c, 5, stride, 4)),
        ])

    def forward(self, x, w):
        return sum(wk * op(x) for wk, op in zip(w, self._ops))


class Cell(nn.Module):
    def __init__(self, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self._ops = nn.ModuleList(
            MixedOp(c, 2 if reduction and j < 2 else 1) for i in range(4) for j in range(2 + i))
        self._bns = nn.ModuleList()

    def forward(self, s0, s1, weights):
        states, offset = [self.preprocess0(s0), self.preprocess1(s1)], 0
        for _ in range(4):
            s = sum(self._ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-4:], dim=1)


class DartsSearchNet(nn.Module):
    def __init__(self, C, classes, layers):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))
        c_pp, c_p, c = 3 * C, 3 * C, C
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cells.append(Cell(c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, classes)
        self._arch_parameters = []  # plain tensors, as in the official model (not in the state)

    def forward(self, x):
        normal, reduce = self._arch_parameters
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(self.global_pooling(s1).flatten(1))


def parse_top2(score):
    """The DARTS rule: per node the two strongest incoming edges, each by its best non-none op."""
    genes, start = [], 0
    for i in range(4):
        rows = score[start:start + 2 + i]
        best = [max(range(1, len(PRIMITIVES)), key=lambda k: r[k]) for r in rows]
        strength = [r[b] for r, b in zip(rows, best)]
        for j in sorted(range(len(rows)), key=lambda j: -strength[j])[:2]:
            genes.append((PRIMITIVES[best[j]], j))
        start += 2 + i
    return genes


def synflow_search(model, size, state):
    """One search: restore the weights, abs the state, one forward/backward on ones, score, parse."""
    model.load_state_dict(state)
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.abs_()
    model.zero_grad()
    for a in model._arch_parameters:
        a.grad = None
    model.train()
    r = model(torch.ones(1, 3, size, size)).sum()
    r.backward()
    scores = [(a * a.grad).abs().tolist() for a in model._arch_parameters]
    return [parse_top2(s) for s in scores], r.item()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", type=int, default=8)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the timings as JSON")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    model = DartsSearchNet(a.channels, a.classes, a.cells)
    # Drawn after the weights, as the official model does: normal, then reduce.
    model._arch_parameters = [(1e-3 * torch.randn(14, len(PRIMITIVES))).requires_grad_()
                              for _ in range(2)]
    params = sum(v.numel() for v in model.parameters())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    t = time.perf_counter()
    genotype, r = synflow_search(model, a.input_size, state)
    cold = time.perf_counter() - t
    for _ in range(3):
        synflow_search(model, a.input_size, state)
    times = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        synflow_search(model, a.input_size, state)
        times.append(time.perf_counter() - t)
    out = {
        "torch_version": torch.__version__,
        "threads": a.threads,
        "cells": a.cells,
        "channels": a.channels,
        "input_size": a.input_size,
        "parameters": params,
        "synflow_R": r,
        "synflow_cold_s": cold,
        "synflow_warm_median_s": statistics.median(times),
        "synflow_warm_min_s": min(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "genotype": genotype,
    }
    print(f"DARTS supernet, {a.cells} cells, C={a.channels}, {params / 1e6:.6f} M parameters")
    print(f"SynFlow search: cold {cold * 1e3:.1f} ms, warm median "
          f"{out['synflow_warm_median_s'] * 1e3:.1f} ms over {a.repeats} runs")
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
