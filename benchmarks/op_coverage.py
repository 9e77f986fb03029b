"""Op coverage: the op test cases of the peers' suites, run on both engines, values and gradients compared.

The cases are our own, modelled on which ops and which variants (shapes, axes, keyword arguments,
domains) two peers' test lists exercise: HIPS autograd's tests (test_numpy, test_systematic,
test_linalg, test_scipy's special functions) and tinygrad's test/test_ops.py, convolutions and
pooling left aside, as are dtype-only cases (ints, bools, bit ops, casts). Each case runs the same
computation on a float64 Tensor and on a float64 torch tensor (PyTorch is the reference; it is a
peer for this benchmark only): the forward values, then the gradient of ``sum(w * y)`` for fixed
random weights ``w``. The cases: ``op_cases.py`` (the peers' patterns) and ``op_coverage_more.py``
(the ops added for issue 26, batched/broadcast linear algebra, 0-d inputs: the ``variants`` row).

A case *agrees* when ours runs and every value and gradient is within 1e-9 relative of torch's
(``|ours - torch| <= 1e-9 * max(1, max |torch|)``, NaN matching NaN). It is *wrong* when ours runs
and differs, *refused* when ours raises (an op we lack, or an input we refuse on purpose, such as
``asin(300)``), *skipped* when torch itself raises. The figure is agree / (cases torch runs).

    python benchmarks/op_coverage.py            # the summary table and every case that does not agree
    # with torch in another venv: PYTHONPATH=. /work/peers/.venv/bin/python benchmarks/op_coverage.py
"""
from __future__ import annotations

import numpy as np
from common import peer_version, table
from op_cases import peer_cases
from op_coverage_more import linalg_cases, new_op_cases, zero_d_cases

from tinygrad_trade import Tensor

RTOL = 1e-9


class Case:
    """One test case: ``ours(*tensors)`` and ``theirs(*torch_tensors)`` on inputs from ``shapes``
    (uniform in [low, high]) or explicit ``vals``; ``grad=False`` compares forward values only."""

    def __init__(self, peer, op, ours, theirs=None, shapes=None, vals=None, low=-2.0, high=2.0, grad=True):
        self.peer, self.op, self.ours, self.theirs = peer, op, ours, theirs or ours
        self.shapes, self.vals, self.low, self.high, self.grad = shapes, vals, low, high, grad

    def inputs(self, seed):
        if self.vals is not None:
            return [np.array(v, dtype=np.float64) for v in self.vals]
        rng = np.random.default_rng(seed)
        return [rng.uniform(self.low, self.high, s) for s in self.shapes]


def _cases(torch):
    cases = peer_cases(torch, Case)
    # the ops added for issue 26, batched/broadcast linear algebra and 0-d inputs: op_coverage_more.py
    for more in (new_op_cases, linalg_cases, zero_d_cases):
        cases += more(torch, Case)
    return cases


def _close(a, b):
    """(agree?, relative error, why) with NaN matching NaN and infinities matching exactly."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, np.inf, f"shape {a.shape} vs {b.shape}"
    nan = np.isnan(b)
    if (np.isnan(a) != nan).any():
        return False, np.inf, "NaN pattern differs"
    a, b = a[~nan], b[~nan]
    inf = np.isinf(b)
    if (a[inf] != b[inf]).any():
        return False, np.inf, "inf differs"
    a, b = a[~inf], b[~inf]
    if not b.size:
        return True, 0.0, ""
    err = float(np.abs(a - b).max()) / max(1.0, float(np.abs(b).max()))
    return err <= RTOL, err, f"relative error {err:.1e}"


def _first_line(e):
    return (str(e).splitlines() or [""])[0]


class Result:
    """What one case gave: status, why, and the relative errors of values, gradients and
    Hessian-vector products (None where not compared)."""

    def __init__(self, status, detail="", value=None, grad=None, hvp=None):
        self.status, self.detail, self.value, self.grad, self.hvp = status, detail, value, grad, hvp


def run_case(case, seed, torch, second=False):
    arrays = case.inputs(seed)
    try:
        tt = [torch.tensor(a, dtype=torch.float64, requires_grad=case.grad) for a in arrays]
        yt = case.theirs(*tt)
    except Exception as e:  # the reference itself refuses: not counted
        return Result("skipped", f"torch: {type(e).__name__}: {_first_line(e)[:80]}")
    try:
        xs = [Tensor(a.copy(), requires_grad=case.grad) for a in arrays]
        y = case.ours(*xs)
    except Exception as e:
        return Result("refused", f"{type(e).__name__}: {_first_line(e)[:100]}")
    ok, verr, why = _close(y.data, yt.detach().numpy())
    if not ok:
        return Result("wrong", "value: " + why, verr)
    if not case.grad or not xs or not yt.requires_grad or y.size == 0:
        return Result("agree", "", verr)
    w = np.random.default_rng(seed + 1).uniform(0.5, 1.5, y.shape)
    try:
        gt = torch.autograd.grad((yt * torch.tensor(w)).sum(), tt, allow_unused=True, create_graph=second)
    except Exception as e:
        return Result("agree", f"torch has no gradient here ({type(e).__name__})", verr)
    from tinygrad_trade import grad
    try:
        ours = grad((y * w).sum(), xs, create_graph=second)
    except Exception as e:
        return Result("refused", f"gradient: {type(e).__name__}: {_first_line(e)[:100]}", verr)
    gerr = 0.0
    for g, g_t in zip(ours, gt):
        ref = np.zeros(np.shape(g)) if g_t is None else g_t.detach().numpy()
        ok, err, why = _close(getattr(g, "data", g), ref)
        gerr = max(gerr, err)
        if not ok:
            return Result("wrong", "gradient: " + why, verr, err)
    if not second:
        return Result("agree", "", verr, gerr)
    # Hessian-vector products: d/dx of sum(v * grad) on both engines
    vs = [np.random.default_rng(seed + 2 + i).uniform(-1, 1, np.shape(a)) for i, a in enumerate(arrays)]
    try:
        st = sum((g_t * torch.tensor(v)).sum() for g_t, v in zip(gt, vs) if g_t is not None and g_t.requires_grad)
        # a gradient that does not depend on the inputs (a linear op): the second derivative is 0
        ht = torch.autograd.grad(st, tt, allow_unused=True) if torch.is_tensor(st) else [None] * len(tt)
    except Exception as e:
        return Result("agree", f"torch has no second derivative here ({type(e).__name__})", verr, gerr)
    so = None
    for g, v in zip(ours, vs):
        term = (g * v).sum() if isinstance(g, Tensor) else None
        so = term if so is None else (so if term is None else so + term)
    if so is None or not so.requires_grad:
        ho = [np.zeros(np.shape(a)) for a in arrays]
    else:
        ho = grad(so, xs)
    herr = 0.0
    for h, h_t in zip(ho, ht):
        ref = np.zeros(np.shape(h)) if h_t is None else h_t.detach().numpy(force=True)
        ok, err, why = _close(h, ref)
        herr = max(herr, err)
        if not ok and np.isnan(ref).any() and np.isfinite(h).all():
            return Result("agree", "torch's second derivative is NaN here, ours finite", verr, gerr, None)
        if not ok:
            return Result("wrong", "second derivative: " + why, verr, gerr, err)
    return Result("agree", "", verr, gerr, herr)


def coverage(torch, second=False):
    """[(case, Result)] for every case."""
    return [(case, run_case(case, 1000 + i, torch, second)) for i, case in enumerate(_cases(torch))]


def summary(rows):
    counts = {k: sum(1 for _, r in rows if r.status == k) for k in ("agree", "wrong", "refused", "skipped")}
    ran = len(rows) - counts["skipped"]
    return counts, ran


def run() -> str:
    version = peer_version("torch")
    head = "### Op coverage against the peers' test lists (float64, PyTorch as reference)"
    if not version:
        return head + "\n\nPyTorch is not installed: skipped (`pip install torch` to run it; it is a peer only)."
    import torch
    torch.set_num_threads(1)
    rows = coverage(torch)
    counts, ran = summary(rows)
    by_peer = []
    for peer in ("autograd", "tinygrad", "variants"):
        sel = [r for c, r in rows if c.peer == peer and r.status != "skipped"]
        agree = sum(1 for r in sel if r.status == "agree")
        by_peer.append([peer, len(sel), agree, f"{100 * agree / max(len(sel), 1):.1f}%",
                        sum(1 for r in sel if r.status == "wrong"), sum(1 for r in sel if r.status == "refused")])
    by_peer.append(["all", ran, counts["agree"], f"{100 * counts['agree'] / max(ran, 1):.1f}%", counts["wrong"],
                    counts["refused"]])
    gaps = [[c.peer, c.op, r.status, r.detail] for c, r in rows if r.status in ("wrong", "refused")]
    out = [head, "", f"PyTorch {version}; `python benchmarks/op_coverage.py`. {len(rows)} cases modelled on HIPS autograd's "
           "and tinygrad's op tests (convolutions, pooling and integer/bool dtypes left aside), the 'variants' row their "
           "batched and broadcast linear algebra and 0-d inputs of every op; agreement is values and "
           f"gradients within {RTOL:g} relative of PyTorch's ({counts['skipped']} cases where PyTorch itself raises "
           "are not counted).", "", table(["peer", "cases", "agree", "share", "wrong", "refused"], by_peer)]
    if gaps:
        out += ["", "Cases that do not agree:", "", table(["peer", "case", "status", "why"], gaps)]
    return "\n".join(out)


if __name__ == "__main__":
    print(run())
