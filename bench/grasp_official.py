#!/usr/bin/env python3
"""Expected tensors for `freedarts search --proxy grasp --procedure official` (float64).

Runs the GraSP procedure of the official FreeDARTS notebooks, as docs/METHOD.md 2.4 describes
it, on the shared reference weights, in PyTorch, in float64:

NB201 (`NAS_Bench201/exps/algos/FreeDARTS_GraSP_oneshot.ipynb`), on nb201_c10_seed4 and its
stored 64-image batch:
  1. train(); L = cross-entropy of the batch; L.backward() gives g = dL/dalpha;
     Adam(lr 3e-2, betas (0.5, 0.999), weight_decay 1e-3).step() moves alpha to a'.
  2. A deep copy of the network (it holds a'); L again; grads = autograd.grad(L, a',
     create_graph=True); z = sum(grads * g) with g the gradient of step 1 (a constant);
     z.backward() leaves H(a') g in a'.grad.
  3. score = alpha_orig * a'.grad (signed, no minus).
DARTS (`DARTS_CNN/FreeDARTS_GraSP_oneshot.ipynb`), on darts_tiny (C=4, 5 cells) with the
DARTS-normalised batch of darts8_seed0_snip (the 8-cell supernet's double backward in float64
at batch 64 needs more than 22 GB in PyTorch):
  0. every state_dict entry made absolute (weights, BN tensors; alpha is not in the state).
  1. as NB201, with Adam lr 3e-4.
  2. z = sum(grads * a') with a' the copy's own alpha (not detached), so z.backward() leaves
     H(a') a' + g(a') in a'.grad.
  3. score = |alpha_orig * a'.grad|.

The deep copy: PyTorch 1.5 (the notebooks' version) copied neither a Parameter's nor a plain
tensor's .grad; PyTorch >= 1.8 copies a plain tensor's .grad (the DARTS alphas), which would
add the step-1 gradient to a'.grad. The script clears it to repeat the notebooks' run, and
says so.

The supernets are those of bench/pytorch_nb201.py and bench/pytorch_darts.py, rebuilt from
shared/reference/README.md sections 3 and 4 (exact state_dict names, loaded with strict=True);
no official code is used.

    python bench/grasp_official.py                  # writes tests/data/grasp_official_*.safetensors
    python bench/grasp_official.py --out expected   # into ./expected instead
"""

import argparse
import sys
from copy import deepcopy
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pytorch_darts import DartsSearchNet  # noqa: E402
from pytorch_nb201 import NB201SearchNet  # noqa: E402

REFERENCE = HERE.parent.parent / "shared" / "reference"
OUT = HERE.parent / "tests" / "data"
BETAS, WEIGHT_DECAY = (0.5, 0.999), 1e-3


# --------------------------------------------------------------------------- helpers
def load(name):
    with safe_open(str(REFERENCE / name), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}


def model_state(blob, model):
    keys = set(model.state_dict())
    return {k: v for k, v in blob.items() if k in keys}


def adam(params, lr):
    return torch.optim.Adam(params, lr=lr, betas=BETAS, weight_decay=WEIGHT_DECAY)


# --------------------------------------------------------------------------- procedures
def nb201_official():
    blob, meta = load("nb201_c10_seed4.safetensors")
    import json
    cfg = json.loads(meta["config"])
    model = NB201SearchNet(cfg["C"], cfg["N"], cfg["num_classes"])
    model.load_state_dict(model_state(blob, model), strict=True)
    model.double().train()
    x, y = blob["batch_x"].double(), blob["batch_y"]
    alpha = model.arch_parameters
    arch_save = deepcopy(alpha.data)
    opt = adam([alpha], 3e-2)
    opt.zero_grad()
    _, logits = model(x)
    L = F.cross_entropy(logits, y)
    L.backward()
    opt.step()
    vector = alpha.grad  # g at the initial alpha
    p_model = deepcopy(model)
    pa = p_model.arch_parameters
    assert pa.grad is None, "a deep-copied Parameter came with its .grad"
    _, logits2 = p_model(x)
    loss = F.cross_entropy(logits2, y)
    grads = torch.autograd.grad(loss, [pa], create_graph=True)
    g_moved = grads[0].detach().clone()
    prod = (grads[0] * vector).sum()
    prod.backward()
    score = arch_save * pa.grad
    return {
        "L": L.detach().reshape([]), "alpha": arch_save, "grad": vector.clone(),
        "alpha_moved": pa.detach().clone(), "grad_moved": g_moved,
        "hessian_product": pa.grad.clone(), "score": score,
    }


def darts_official():
    import json
    blob, meta = load("darts_tiny.safetensors")
    batch, _ = load("darts8_seed0_snip.safetensors")
    cfg = json.loads(meta["config"])
    model = DartsSearchNet(cfg["C"], cfg["num_classes"], cfg["layers"])
    model.load_state_dict(model_state(blob, model), strict=True)
    model.double().train()
    normal = blob["alpha_normal"].double().requires_grad_()
    reduce = blob["alpha_reduce"].double().requires_grad_()
    model._arch_parameters = [normal, reduce]
    x, y = batch["batch_x"].double(), batch["batch_y"]
    with torch.no_grad():
        for v in model.state_dict().values():
            v.abs_()
    arch_save = deepcopy(model._arch_parameters)
    opt = adam(model._arch_parameters, 3e-4)
    opt.zero_grad()
    logits = model(x)
    L = F.cross_entropy(logits, y)
    L.backward()
    g = [a.grad.clone() for a in model._arch_parameters]
    opt.step()
    p_model = deepcopy(model)
    copied = [a.grad is not None for a in p_model._arch_parameters]
    if any(copied):
        print(f"torch {torch.__version__} deep-copied the alphas' .grad; cleared, as PyTorch 1.5 "
              "(the notebooks') did not copy it")
    for a in p_model._arch_parameters:
        a.grad = None
    pa = p_model._arch_parameters
    loss = F.cross_entropy(p_model(x), y)
    grads = torch.autograd.grad(loss, pa, create_graph=True)
    g_moved = [gr.detach().clone() for gr in grads]
    prod = sum((gr * v).sum() for gr, v in zip(grads, pa))
    prod.backward()
    out = {"L": L.detach().reshape([])}
    for i, name in enumerate(["normal", "reduce"]):
        total = pa[i].grad
        out[f"alpha_{name}"] = arch_save[i].detach().clone()
        out[f"grad_{name}"] = g[i]
        out[f"alpha_moved_{name}"] = pa[i].detach().clone()
        out[f"grad_moved_{name}"] = g_moved[i]
        out[f"hessian_product_{name}"] = total - g_moved[i]  # H(a') a'
        out[f"score_{name}"] = (arch_save[i].detach() * total).abs()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(OUT), help="folder for the files (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["nb201", "darts"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "dtype": "float64", "script": "bench/grasp_official.py"}
    for name, fn, src in [("nb201", nb201_official, "nb201_c10_seed4 + its batch_x/batch_y"),
                          ("darts", darts_official,
                           "darts_tiny + darts8_seed0_snip batch_x/batch_y")]:
        if args.only and args.only != name:
            continue
        tensors = {k: v.detach().contiguous().double() for k, v in fn().items()}
        path = out / f"grasp_official_{name}.safetensors"
        save_file(tensors, str(path), metadata={**meta, "source": src})
        print(f"{path}: L = {tensors['L'].item():.12f}")
        for k, v in tensors.items():
            if k.startswith("score"):
                print(f"  {k}: max|.| = {v.abs().max().item():.6e}")


if __name__ == "__main__":
    main()
