"""Cross-check against another engine: gradients, a GRU and optimizer steps next to PyTorch's.

PyTorch is a peer here, never a dependency: without torch installed this prints that it is skipped.
Everything runs in float64; the table lists the largest absolute difference of each check.
"""
from __future__ import annotations

import numpy as np
from common import peer_version, table

from tinygrad_trade import Tensor
from tinygrad_trade.nn import GRU
from tinygrad_trade.optim import SGD, Adam, AdamW

class _Ours:
    """The few operations whose names differ between the engines, for tinygrad_trade."""
    softplus = staticmethod(lambda x: x.softplus())
    maximum = staticmethod(lambda a, b: a.maximum(b))
    minimum = staticmethod(lambda a, b: a.minimum(b))
    amax = staticmethod(lambda x, axis: x.max(axis))
    amin = staticmethod(lambda x, axis: x.min(axis))
    var = staticmethod(lambda x, axis: x.var(axis))


def _theirs():
    import torch
    import torch.nn.functional as F

    class Torch:
        softplus = staticmethod(F.softplus)
        maximum = staticmethod(torch.maximum)
        minimum = staticmethod(torch.minimum)
        amax = staticmethod(lambda x, axis: torch.amax(x, dim=axis))
        amin = staticmethod(lambda x, axis: torch.amin(x, dim=axis))
        var = staticmethod(lambda x, axis: torch.var(x, dim=axis, unbiased=False))
    return Torch


# name and an expression written once for both engines (k: the engine's adapter above)
EXPRESSIONS = [
    ("broadcast + * / and pow", lambda k, a, b, c: ((a[:4] * b[:, :1] + c.sum()) / (b * b + 1.0) ** 1.5).sum()),
    ("exp log tanh sigmoid", lambda k, a, b, c: ((a[:4].tanh() * b.sigmoid()).exp() + (c * c + 1.0).log().sum()).sum()),
    ("relu softplus sqrt abs", lambda k, a, b, c: (a.relu().sum(0) * k.softplus(b).abs()[0]
                                                   + (c * c + 0.5).sqrt().sum()).sum()),
    ("maximum minimum (broadcast)", lambda k, a, b, c: (k.maximum(a[:4], b) * k.minimum(c[:, :1], b[:, 1:2])).sum()),
    ("matmul (batched) + reductions", lambda k, a, b, c: ((a.reshape(2, 3, 4) @ b) @ c).mean(1).sum()),
    ("max / min reductions, var", lambda k, a, b, c: (k.amax(a, 1).sum() + k.amin(b, 0).sum() + k.var(c, 0).sum())),
    ("indexing, transpose", lambda k, a, b, c: (a[:, [0, 0, 2]] * b.T[1:4, :1].T).sum() + c[1:, ::2].sum()),
]
SHAPES = [(6, 4), (4, 4), (4, 2)]


def gradient_rows():
    import torch
    theirs_k = _theirs()
    rng = np.random.default_rng(0)
    rows = []
    for name, fn in EXPRESSIONS:
        arrays = [rng.standard_normal(s) for s in SHAPES]
        ours = [Tensor(a, requires_grad=True) for a in arrays]
        y = fn(_Ours, *ours)
        y.backward()
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        yt = fn(theirs_k, *theirs)
        yt.backward()
        diff = max(float(np.abs(o.grad - t.grad.numpy()).max()) for o, t in zip(ours, theirs))
        rows.append([name, f"{abs(y.item() - yt.item()):.1e}", f"{diff:.1e}"])
    return rows


def gru_row():
    import torch
    rng = np.random.default_rng(1)
    B, T, F, H = 3, 7, 4, 5
    x = rng.standard_normal((B, T, F))
    ours = GRU(F, H, rng=2)
    ref = torch.nn.GRU(F, H, batch_first=True).double()
    with torch.no_grad():   # our weights are (in, 3H) with columns [r|z|n]; torch's are (3H, in), rows [r|z|n]
        ref.weight_ih_l0.copy_(torch.tensor(ours.weight_ih.data.T))
        ref.weight_hh_l0.copy_(torch.tensor(ours.weight_hh.data.T))
        ref.bias_ih_l0.copy_(torch.tensor(ours.bias_ih.data))
        ref.bias_hh_l0.copy_(torch.tensor(ours.bias_hh.data))
    hs, h = ours(Tensor(x))
    (hs.tanh().sum() + (h * h).sum()).backward()
    xt = torch.tensor(x)
    hst, ht = ref(xt)
    (hst.tanh().sum() + (ht[0] * ht[0]).sum()).backward()
    out = float(np.abs(hs.data - hst.detach().numpy()).max())
    grads = max(float(np.abs(ours.weight_ih.grad - ref.weight_ih_l0.grad.numpy().T).max()),
                float(np.abs(ours.weight_hh.grad - ref.weight_hh_l0.grad.numpy().T).max()),
                float(np.abs(ours.bias_ih.grad - ref.bias_ih_l0.grad.numpy()).max()),
                float(np.abs(ours.bias_hh.grad - ref.bias_hh_l0.grad.numpy()).max()))
    return ["GRU (3x7x4 -> 5), all gates, BPTT", f"{out:.1e}", f"{grads:.1e}"]


def optimizer_rows(steps=20):
    import torch
    configs = [
        ("SGD momentum 0.9, nesterov, wd 0.01", lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("SGD momentum 0.9, dampening 0.5", lambda p: SGD(p, lr=0.05, momentum=0.9, dampening=0.5),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.5)),
        ("Adam", lambda p: Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
        ("Adam amsgrad, wd 0.1 (L2)", lambda p: Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
         lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
        ("AdamW wd 0.1 (decoupled)", lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
         lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    ]
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((16, 3)), rng.standard_normal(16)
    w0 = rng.standard_normal(3)
    rows = []
    for name, ours_opt, torch_opt in configs:
        w = Tensor(w0.copy(), requires_grad=True)
        wt = torch.tensor(w0.copy(), requires_grad=True)
        o, t = ours_opt([w]), torch_opt([wt])
        Xt, yt = torch.tensor(X), torch.tensor(y)
        for _ in range(steps):
            o.zero_grad()
            ((Tensor(X) @ w - y).tanh() ** 2).mean().backward()
            o.step()
            t.zero_grad()
            ((Xt @ wt - yt).tanh() ** 2).mean().backward()
            t.step()
        rows.append([f"{name}, {steps} steps", "-", f"{float(np.abs(w.data - wt.detach().numpy()).max()):.1e}"])
    return rows


def op_rows():
    """Every op of the op-coverage cases (benchmarks/op_coverage.py): the largest relative difference
    of values, gradients and Hessian-vector products over its cases."""
    import torch
    from op_coverage import coverage
    groups = {}
    notes = []
    for case, r in coverage(torch, second=True):
        if r.status == "skipped":
            continue
        g = groups.setdefault(case.op.split(" (")[0].split()[0], [0, [], [], [], 0])
        g[0] += 1
        if r.status != "agree":
            g[4] += 1
            continue
        for k, v in ((1, r.value), (2, r.grad), (3, r.hvp)):
            if v is not None:
                g[k].append(v)
        if r.detail:
            notes.append(f"{case.op}: {r.detail}")
    fmt = lambda xs: f"{max(xs):.0e}" if xs else "-"  # noqa: E731
    rows = [[op, n, fmt(v), fmt(g), fmt(h), bad or ""] for op, (n, v, g, h, bad) in sorted(groups.items())]
    return rows, notes


def run() -> str:
    version = peer_version("torch")
    head = "### Cross-check against PyTorch (float64): largest absolute differences"
    if not version:
        return head + "\n\nPyTorch is not installed: skipped (`pip install torch` to run it; it is a peer only)."
    import torch
    torch.set_num_threads(1)
    rows = gradient_rows() + [gru_row()] + optimizer_rows()
    ops, notes = op_rows()
    out = [head, "", f"PyTorch {version}. Gradient rows: the same expression on both engines, random "
           "inputs with broadcasting; optimizer rows: parameters after the steps.", "",
           table(["check", "value", "gradients / parameters"], rows), "",
           "Every op, from the cases of `benchmarks/op_coverage.py`: the largest difference relative to "
           "max(1, max |torch|) of values, gradients and Hessian-vector products (second derivatives through "
           "`create_graph=True` on our side, double backward on torch's); 'not run' counts the cases we refuse "
           "(listed in the op-coverage section).", "",
           table(["op", "cases", "values", "gradients", "2nd derivatives", "not run"], ops)]
    if notes:
        out += ["", "Notes: " + "; ".join(notes) + "."]
    return "\n".join(out)


if __name__ == "__main__":
    print(run())
