"""More op-coverage cases (joined to ``op_coverage.py``'s): the ops added for issue 26 on the peers'
patterns, batched and broadcast variants of every linear-algebra op, and 0-d inputs of every op
that takes one in PyTorch.

Peers: ``autograd`` (numpy-named functions, as HIPS autograd tests them), ``tinygrad`` (torch-named
ones, as tinygrad's test_ops has them) and ``variants`` (the batched, broadcast and 0-d variants of
cases the two peers run only in their plain form).
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_trade import Tensor

AG, TG, VAR = "autograd", "tinygrad", "variants"


def _sym(x):
    return (x + x.swapaxes(-1, -2)) * 0.5


def _tsym(x):
    return (x + x.transpose(-1, -2)) * 0.5


def _symmetric(shape, seed):
    a = np.random.default_rng(seed).uniform(-1, 1, shape)
    return (a + np.swapaxes(a, -1, -2)) * 0.5 + np.diag(np.arange(shape[-1]) * 1.5)


def linalg_cases(torch, C):
    """Batched (leading axes) and broadcast (one operand without the batch) variants."""
    L = torch.linalg
    out = []
    add = out.append

    def eye(n, x):
        return torch.eye(n, dtype=x.dtype)

    b3, b23 = (3,), (2, 3)
    for batch in (b3, b23):
        tag = f" batched {batch}"
        add(C(VAR, "inv" + tag, lambda x: (x + 3 * np.eye(4)).inv(), lambda x: L.inv(x + 3 * eye(4, x)), shapes=[batch + (4, 4)]))
        add(C(VAR, "det" + tag, lambda x: x.det(), L.det, shapes=[batch + (3, 3)]))
        add(C(VAR, "slogdet pair" + tag, lambda x: Tensor.stack(list(x.slogdet()), -1),
              lambda x: torch.stack(list(L.slogdet(x)), -1), shapes=[batch + (3, 3)]))
        add(C(VAR, "logdet" + tag, lambda x: (x @ x.swapaxes(-1, -2) + np.eye(3)).logdet(),
              lambda x: torch.logdet(x @ x.transpose(-1, -2) + eye(3, x)), shapes=[batch + (3, 3)]))
        add(C(VAR, "solve" + tag, lambda a, b: (a + 3 * np.eye(3)).solve(b),
              lambda a, b: L.solve(a + 3 * eye(3, a), b), shapes=[batch + (3, 3), batch + (3, 2)]))
        add(C(VAR, "solve_triangular" + tag, lambda a, b: (a + 3 * np.eye(3)).solve_triangular(b, upper=True),
              lambda a, b: L.solve_triangular((a + 3 * eye(3, a)).triu(), b, upper=True),
              shapes=[batch + (3, 3), batch + (3, 2)]))
        add(C(VAR, "cholesky" + tag, lambda x: (x @ x.swapaxes(-1, -2) + 3 * np.eye(3)).cholesky(),
              lambda x: L.cholesky(x @ x.transpose(-1, -2) + 3 * eye(3, x)), shapes=[batch + (3, 3)]))
        add(C(VAR, "eigh vectors" + tag, lambda x: (_sym(x) + np.diag([0.0, 2, 4])).eigh()[1] ** 2,
              lambda x: L.eigh(_tsym(x) + torch.diag(torch.tensor([0.0, 2, 4], dtype=x.dtype)))[1] ** 2,
              shapes=[batch + (3, 3)]))
        add(C(VAR, "eigvalsh symmetric input" + tag, lambda x: x.eigvalsh(), L.eigvalsh,
              vals=[_symmetric(batch + (4, 4), len(batch))]))
        add(C(VAR, "cholesky symmetric input" + tag, lambda x: x.cholesky(), L.cholesky,
              vals=[_symmetric(batch + (3, 3), 9 + len(batch)) + 3 * np.eye(3)]))
        add(C(VAR, "eigh vectors symmetric input" + tag, lambda x: x.eigh()[1] ** 2, lambda x: L.eigh(x)[1] ** 2,
              vals=[_symmetric(batch + (3, 3), 5 + len(batch))]))
        for shape in [(4, 3), (3, 4)]:
            add(C(VAR, f"svd full U Vh {shape}" + tag, lambda x: x.svd()[0][..., :3] ** 2 + 0 * x.svd()[2][..., :1, :1],
                  lambda x: L.svd(x)[0][..., :3] ** 2 + 0 * L.svd(x)[2][..., :1, :1], shapes=[batch + shape]))
            add(C(VAR, f"svd full Vh {shape}" + tag, lambda x: x.svd()[2][..., :3, :] ** 2,
                  lambda x: L.svd(x)[2][..., :3, :] ** 2, shapes=[batch + shape]))
            add(C(VAR, f"svdvals {shape}" + tag, lambda x: x.svd(compute_uv=False), L.svdvals, shapes=[batch + shape]))
            add(C(VAR, f"pinv {shape}" + tag, lambda x: x.pinv(), L.pinv, shapes=[batch + shape]))
        add(C(VAR, "pinv low rank" + tag, lambda a, b: (a @ b).pinv(), lambda a, b: L.pinv(a @ b),
              shapes=[batch + (4, 2), batch + (2, 3)]))
        add(C(VAR, "matrix_power" + tag, lambda x: x.matrix_power(3), lambda x: L.matrix_power(x, 3), shapes=[batch + (3, 3)]))
        add(C(VAR, "matrix norm fro" + tag, lambda x: x.norm("fro", (-2, -1)), lambda x: L.matrix_norm(x), shapes=[batch + (3, 4)]))
        add(C(VAR, "matrix norm nuc" + tag, lambda x: x.norm("nuc", (-2, -1)), lambda x: L.matrix_norm(x, "nuc"),
              shapes=[batch + (3, 4)]))
        add(C(VAR, "matrix norm 2" + tag, lambda x: x.norm(2, (-2, -1)), lambda x: L.matrix_norm(x, 2), shapes=[batch + (3, 4)]))
        add(C(VAR, "trace" + tag, lambda x: x.trace(0, -2, -1), lambda x: torch.diagonal(x, 0, -2, -1).sum(-1),
              shapes=[batch + (3, 4)]))
        add(C(VAR, "tril" + tag, lambda x: x.tril(-1), lambda x: x.tril(-1), shapes=[batch + (3, 4)]))
        add(C(VAR, "diag_embed" + tag, lambda x: x.diag_embed(), torch.diag_embed, shapes=[batch + (3,)]))
        add(C(VAR, "inner" + tag, lambda x, y: x.inner(y), torch.inner, shapes=[batch + (4,), (2, 4)]))
        add(C(VAR, "cross" + tag, lambda x, y: x.cross(y), L.cross, shapes=[batch + (3,), batch + (3,)]))
        # disjoint Gershgorin discs: real, distinct eigenvalues
        add(C(VAR, "eigvals" + tag, lambda x: (x * 0.3 + np.diag([0.0, 3, 6])).eigvals(),
              lambda x: L.eigvals(x * 0.3 + torch.diag(torch.tensor([0.0, 3, 6], dtype=x.dtype))).real,
              shapes=[batch + (3, 3)]))
        add(C(VAR, "einsum batched matmul" + tag, lambda x, y: Tensor.einsum("...ij,...jk->...ik", x, y),
              lambda x, y: torch.einsum("...ij,...jk->...ik", x, y), shapes=[batch + (2, 3), batch + (3, 2)]))
    # broadcast: one operand without the batch (or with a unit batch axis)
    for sa, sb in [((2, 3, 3), (3, 3)), ((2, 1, 3, 3), (4, 3, 3))]:
        tag = f" broadcast {sa} {sb}"
        add(C(VAR, "matmul" + tag, lambda x, y: x @ y, shapes=[sa, sb]))
        add(C(VAR, "solve" + tag, lambda a, b: (a + 3 * np.eye(3)).solve(b), lambda a, b: L.solve(a + 3 * eye(3, a), b),
              shapes=[sa, sb]))
        add(C(VAR, "det of a broadcast sum" + tag, lambda x, y: (x + y).det(), lambda x, y: L.det(x + y), shapes=[sa, sb]))
        add(C(VAR, "inv of a broadcast sum" + tag, lambda x, y: (x + y + 4 * np.eye(3)).inv(),
              lambda x, y: L.inv(x + y + 4 * eye(3, x)), shapes=[sa, sb]))
        add(C(VAR, "eigvalsh of a broadcast sum" + tag, lambda x, y: _sym(x + y).eigvalsh(),
              lambda x, y: L.eigvalsh(_tsym(x + y)), shapes=[sa, sb]))
        add(C(VAR, "cholesky of a broadcast sum" + tag, lambda x, y: (x @ x.swapaxes(-1, -2) + y @ y.swapaxes(-1, -2)
                                                                      + np.eye(3)).cholesky(),
              lambda x, y: L.cholesky(x @ x.transpose(-1, -2) + y @ y.transpose(-1, -2) + eye(3, x)), shapes=[sa, sb]))
        add(C(VAR, "svdvals of a broadcast sum" + tag, lambda x, y: (x + y).svd(compute_uv=False),
              lambda x, y: L.svdvals(x + y), shapes=[sa, sb]))
        add(C(VAR, "pinv of a broadcast sum" + tag, lambda x, y: (x + y).pinv(), lambda x, y: L.pinv(x + y), shapes=[sa, sb]))
        add(C(VAR, "slogdet of a broadcast sum" + tag, lambda x, y: (x + y).slogdet()[1],
              lambda x, y: L.slogdet(x + y)[1], shapes=[sa, sb]))
        add(C(VAR, "solve_triangular" + tag, lambda a, b: (a + 3 * np.eye(3)).solve_triangular(b),
              lambda a, b: L.solve_triangular((a + 3 * eye(3, a)).tril(), b, upper=False), shapes=[sa, sb]))
    add(C(VAR, "solve vector rhs broadcast", lambda a, b: (a + 3 * np.eye(3)).solve(b),
          lambda a, b: L.solve(a + 3 * eye(3, a), b.expand(2, 3).unsqueeze(-1)).squeeze(-1), shapes=[(2, 3, 3), (3,)]))
    add(C(VAR, "cross broadcast", lambda x, y: x.cross(y), L.cross, shapes=[(4, 3), (1, 3)]))
    return out


def new_op_cases(torch, C):
    """The ops issue 26 found missing or raising, on the peers' patterns."""
    F, L = torch.nn.functional, torch.linalg
    out = []
    add = out.append
    # numpy-named (autograd's tests call them through numpy)
    add(C(AG, "diag of vector k=1", lambda x: x.diag(1), lambda x: torch.diag(x, 1), shapes=[(4,)]))
    add(C(AG, "diag of matrix k=-1", lambda x: x.diag(-1), lambda x: torch.diag(x, -1), shapes=[(4, 5)]))
    add(C(AG, "np.diag", lambda x: np.diag(x), torch.diag, shapes=[(3,)]))
    add(C(AG, "column_stack", lambda x, y: Tensor.column_stack([x, y]), lambda x, y: torch.column_stack([x, y]),
          shapes=[(4,), (4, 2)]))
    add(C(AG, "cross", lambda x, y: x.cross(y), L.cross, shapes=[(5, 3), (5, 3)]))
    add(C(AG, "np.cross", lambda x, y: np.cross(x, y), L.cross, shapes=[(3,), (3,)]))
    add(C(AG, "fmax", lambda x, y: x.fmax(y), torch.fmax, vals=[[1.0, math.nan, 2.0, -1.0], [0.5, 1.0, math.nan, 3.0]]))
    add(C(AG, "fmin", lambda x, y: x.fmin(y), torch.fmin, vals=[[1.0, math.nan, 2.0, -1.0], [0.5, 1.0, math.nan, 3.0]]))
    add(C(AG, "np.fmax broadcast", lambda x, y: np.fmax(x, y), torch.fmax, shapes=[(3, 4), (4,)]))
    add(C(AG, "sinc", lambda x: x.sinc(), torch.sinc, shapes=[(3, 4)]))
    add(C(AG, "sinc at 0", lambda x: x.sinc(), torch.sinc, vals=[[0.0, 1e-5, -1.0, 0.5]]))
    add(C(AG, "np.sinc", lambda x: np.sinc(x), torch.sinc, shapes=[(5,)]))
    add(C(AG, "meshgrid xy", lambda x, y: Tensor.stack(Tensor.meshgrid(x, y)),
          lambda x, y: torch.stack(torch.meshgrid(x, y, indexing="xy")), shapes=[(3,), (4,)]))
    add(C(AG, "np.meshgrid ij", lambda x, y: Tensor.stack(np.meshgrid(x, y, indexing="ij")),
          lambda x, y: torch.stack(torch.meshgrid(x, y, indexing="ij")), shapes=[(3,), (4,)]))
    add(C(AG, "kron vectors", lambda x, y: x.kron(y), torch.kron, shapes=[(3,), (4,)]))
    add(C(AG, "kron scalar", lambda x, y: x.kron(y), torch.kron, shapes=[(), (2, 3)]))
    add(C(AG, "kron 3-d by 2-d", lambda x, y: x.kron(y), torch.kron, shapes=[(2, 1, 2), (2, 3)]))
    add(C(AG, "np.kron vector matrix", lambda x, y: np.kron(x, y), torch.kron, shapes=[(2,), (2, 3)]))
    add(C(AG, "array_split unequal", lambda x: Tensor.cat([p * (i + 1) for i, p in enumerate(x.array_split(3))]),
          lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.tensor_split(x, 3))]), shapes=[(10,)]))
    add(C(AG, "np.array_split axis 1", lambda x: np.array_split(x, 4, axis=1)[1],
          lambda x: torch.tensor_split(x, 4, 1)[1], shapes=[(3, 7)]))
    add(C(AG, "np.linspace tensor ends", lambda a, b: np.linspace(a, b, 7),
          lambda a, b: a.unsqueeze(0) + (b - a).unsqueeze(0) * torch.linspace(0, 1, 7, dtype=a.dtype).reshape(7, 1),
          shapes=[(2,), (2,)]))
    add(C(AG, "np.gradient", lambda x: np.gradient(x, 0.5, axis=0),
          lambda x: torch.gradient(x, spacing=0.5, dim=0)[0], shapes=[(6, 3)]))
    add(C(AG, "np.gradient edge_order 2", lambda x: np.gradient(x, axis=1, edge_order=2),
          lambda x: torch.gradient(x, dim=1, edge_order=2)[0], shapes=[(3, 6)]))
    add(C(AG, "np.gradient coordinates", lambda x: np.gradient(x, np.array([0.0, 0.5, 1.5, 1.7, 3.0])),
          lambda x: torch.gradient(x, spacing=(torch.tensor([0.0, 0.5, 1.5, 1.7, 3.0], dtype=x.dtype),))[0],
          shapes=[(5,)]))
    add(C(AG, "np.linalg.svd (U, S, Vh) full", lambda x: Tensor.cat([p.reshape(-1) ** 2 for p in np.linalg.svd(x)]),
          lambda x: torch.cat([p.reshape(-1) ** 2 for p in L.svd(x)]), shapes=[(4, 4)]))
    add(C(AG, "np.linalg.slogdet pair", lambda x: Tensor.stack(list(np.linalg.slogdet(x))),
          lambda x: torch.stack(list(L.slogdet(x))), shapes=[(4, 4)]))
    # disjoint Gershgorin discs: real, distinct eigenvalues
    add(C(AG, "eigvals real", lambda x: (x * 0.2 + np.diag([0.0, 3, 6, 9])).eigvals(),
          lambda x: L.eigvals(x * 0.2 + torch.diag(torch.tensor([0.0, 3, 6, 9], dtype=x.dtype))).real,
          shapes=[(4, 4)]))
    add(C(AG, "eig vectors real (sign-free)", lambda x: (x * 0.3 + np.diag([0.0, 3, 6])).eig()[1] ** 2,
          lambda x: L.eig(x * 0.3 + torch.diag(torch.tensor([0.0, 3, 6], dtype=x.dtype)))[1].real ** 2,
          shapes=[(3, 3)]))
    add(C(AG, "pinv low rank", lambda a, b: (a @ b).pinv(), lambda a, b: L.pinv(a @ b), shapes=[(5, 2), (2, 4)]))
    add(C(AG, "pinv rank 1", lambda a, b: (a @ b).pinv(), lambda a, b: L.pinv(a @ b), shapes=[(3, 1), (1, 3)]))
    add(C(AG, "eigvalsh symmetric input", lambda x: x.eigvalsh(), L.eigvalsh, vals=[_symmetric((4, 4), 11)]))
    add(C(AG, "cholesky symmetric input", lambda x: x.cholesky(), L.cholesky, vals=[_symmetric((4, 4), 12) + 4 * np.eye(4)]))
    # torch-named (tinygrad's test_ops has them)
    idx = np.array([[0, 2, 1, 0], [1, 1, 0, 2]])
    for red in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            add(C(TG, f"scatter_reduce {red} include_self={inc}",
                  lambda x, s, r=red, i=inc: x.scatter_reduce(0, idx, s, r, include_self=i),
                  lambda x, s, r=red, i=inc: x.scatter_reduce(0, torch.tensor(idx), s, r, include_self=i),
                  shapes=[(3, 4), (2, 4)]))
    sidx = np.array([[0, 2], [3, 1]])
    add(C(TG, "scatter", lambda x, s: x.scatter(1, sidx, s), lambda x, s: x.scatter(1, torch.tensor(sidx), s),
          shapes=[(3, 4), (2, 2)]))
    add(C(TG, "scatter scalar", lambda x: x.scatter(1, sidx, 2.5), lambda x: x.scatter(1, torch.tensor(sidx), 2.5),
          shapes=[(3, 4)]))
    add(C(TG, "select", lambda x: x.select(1, -1), lambda x: x.select(1, -1), shapes=[(3, 4, 2)]))
    for dim in (0, 1, -1):
        add(C(TG, f"softmin dim {dim}", lambda x, d=dim: x.softmin(d), lambda x, d=dim: F.softmin(x, d), shapes=[(4, 5)]))
    add(C(TG, "normalize", lambda x: x.normalize(), F.normalize, shapes=[(4, 5)]))
    add(C(TG, "normalize p=1 dim 0", lambda x: x.normalize(1.0, 0), lambda x: F.normalize(x, 1.0, 0), shapes=[(4, 5)]))
    add(C(TG, "normalize p=3 zero row", lambda x: (x * np.array([[1.0], [0.0]])).normalize(3.0, 1),
          lambda x: F.normalize(x * torch.tensor([[1.0], [0.0]], dtype=x.dtype), 3.0, 1), shapes=[(2, 4)]))
    add(C(TG, "group_norm", lambda x, w, b: _group_norm(x, 2, w, b), lambda x, w, b: F.group_norm(x, 2, w, b),
          shapes=[(3, 4, 5), (4,), (4,)]))
    add(C(TG, "GroupNorm module 4-d", lambda x: _group_norm(x, 3), lambda x: F.group_norm(x, 3), shapes=[(2, 6, 2, 3)]))
    for kw in (dict(), dict(is_causal=True), dict(scale=0.3)):
        add(C(TG, f"scaled_dot_product_attention {kw}", lambda q, k, v, kw=kw: q.scaled_dot_product_attention(k, v, **kw),
              lambda q, k, v, kw=kw: F.scaled_dot_product_attention(q, k, v, **kw), shapes=[(2, 3, 4, 8)] * 3))
    mask = np.random.default_rng(4).uniform(size=(4, 6)) > 0.4
    mask[:, 0] = True
    add(C(TG, "scaled_dot_product_attention bool mask", lambda q, k, v: q.scaled_dot_product_attention(k, v, attn_mask=mask),
          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
          shapes=[(2, 4, 8), (2, 6, 8), (2, 6, 5)]))
    add(C(TG, "scaled_dot_product_attention float mask",
          lambda q, k, v, m: q.scaled_dot_product_attention(k, v, attn_mask=m.data),
          lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m.detach()),
          shapes=[(2, 4, 8), (2, 6, 8), (2, 6, 5), (4, 6)]))
    for kw in (dict(), dict(stride=2), dict(stride=3, padding=1, output_padding=2), dict(dilation=2, padding=1),
               dict(groups=2, stride=2)):
        g = kw.get("groups", 1)
        add(C(TG, f"conv_transpose1d {kw}", lambda x, w, b, kw=kw: x.conv_transpose1d(w, b, **kw),
              lambda x, w, b, kw=kw: F.conv_transpose1d(x, w, b, **kw), shapes=[(2, 4, 7), (4, 3, 3), (3 * g,)]))
    add(C(TG, "conv_transpose1d no bias unbatched", lambda x, w: x.conv_transpose1d(w),
          lambda x, w: F.conv_transpose1d(x, w), shapes=[(4, 7), (4, 2, 3)]))
    add(C(TG, "unfold size 0", lambda x: x.unfold(0, 0, 2), lambda x: x.unfold(0, 0, 2), shapes=[(5,)]))
    add(C(TG, "topk (values, indices)", lambda x: Tensor.stack([x.topk(3).values, Tensor(x.topk(3).indices * 1.0)]),
          lambda x: torch.stack([x.topk(3).values, x.topk(3).indices.double()]), shapes=[(4, 6)]))
    add(C(TG, "slogdet (sign, logabsdet)", lambda x: Tensor.stack(list(x.slogdet())), lambda x: torch.stack(list(L.slogdet(x))),
          shapes=[(4, 4)]))
    # scipy.special's (autograd's test_scipy), wider ranges than op_coverage.py's. Beyond |x| = 3 torch's
    # bessel_j0/j1 drift from the true values (against mpmath: 7e-10 at 4, 1e-8 at 5, 1.7e-7 on [-30, 30];
    # ours stay within 4e-13 there), so the range stops at 3.
    S = torch.special
    for name, ours, theirs, lo, hi in [("j0", "bessel_j0", S.bessel_j0, -3, 3), ("j1", "bessel_j1", S.bessel_j1, -3, 3),
                                       ("i0", "i0", S.i0, -6, 6), ("i1", "i1", S.i1, -6, 6)]:
        add(C(AG, f"scipy {name} on [{lo}, {hi}]", lambda x, o=ours: getattr(x, o)(), theirs, shapes=[(40,)], low=lo, high=hi))
    add(C(AG, "scipy j0 j1 at 0", lambda x: x.bessel_j0() + x.bessel_j1(), lambda x: S.bessel_j0(x) + S.bessel_j1(x),
          vals=[[0.0, 1e-9, -2.5]]))
    for a in (0.5, 2.5, 10.0):
        add(C(AG, f"scipy gammainc a={a}", lambda x, a=a: Tensor(np.full(x.shape, a)).gammainc(x),
              lambda x, a=a: S.gammainc(torch.full_like(x, a), x), shapes=[(6,)], low=0.1, high=3 * a))
    add(C(AG, "scipy gammainc broadcast a", lambda x: Tensor(np.array([0.7, 1.5, 4.0])).gammainc(x),
          lambda x: S.gammainc(torch.tensor([0.7, 1.5, 4.0], dtype=x.dtype), x), shapes=[(2, 3)], low=0.1, high=6))
    add(C(TG, "hardsigmoid values (torch's own kernel)", lambda x: x.hardsigmoid(), F.hardsigmoid,
          vals=[[-3.0, -2.9999999999999996, -1.2, 0.0, 0.7, 2.9999999999999996, 3.0, 4.5]], grad=False))
    add(C(TG, "hardswish at the kinks", lambda x: x.hardswish(), F.hardswish, vals=[[-3.0, 3.0, 0.0, -4.0, 4.0]]))
    return out


def _group_norm(x, groups, w=None, b=None, eps=1e-5):
    from tinygrad_trade.nn import GroupNorm
    m = GroupNorm(groups, x.shape[1], eps=eps, affine=w is not None)
    if w is not None:
        m.weight, m.bias = w, b
    return m(x)


def zero_d_cases(torch, C):
    """0-d inputs for every op that takes one in PyTorch."""
    F = torch.nn.functional
    out = []
    add = out.append
    unary = {  # ours: (theirs, low, high)
        "sin": ("sin", -2, 2), "cos": ("cos", -2, 2), "tan": ("tan", -1, 1), "exp": ("exp", -2, 2),
        "log": ("log", 0.2, 3), "sqrt": ("sqrt", 0.2, 3), "abs": ("abs", -2, 2), "tanh": ("tanh", -2, 2),
        "sigmoid": ("sigmoid", -2, 2), "relu": ("relu", -2, 2), "log1p": ("log1p", -0.5, 2), "expm1": ("expm1", -2, 2),
        "log2": ("log2", 0.2, 3), "log10": ("log10", 0.2, 3), "exp2": ("exp2", -2, 2), "rsqrt": ("rsqrt", 0.2, 3),
        "arcsin": ("asin", -0.9, 0.9), "arccos": ("acos", -0.9, 0.9), "arctan": ("atan", -2, 2),
        "sinh": ("sinh", -2, 2), "cosh": ("cosh", -2, 2), "arcsinh": ("asinh", -2, 2), "arccosh": ("acosh", 1.2, 3),
        "arctanh": ("atanh", -0.9, 0.9), "erf": ("erf", -2, 2), "erfc": ("erfc", -2, 2), "erfinv": ("erfinv", -0.9, 0.9),
        "logit": ("logit", 0.1, 0.9), "gammaln": ("lgamma", 0.3, 3), "digamma": ("digamma", 0.3, 3),
        "deg2rad": ("deg2rad", -2, 2), "rad2deg": ("rad2deg", -2, 2), "sign": ("sign", -2, 2),
        "floor": ("floor", -2, 2), "ceil": ("ceil", -2, 2), "trunc": ("trunc", -2, 2), "sinc": ("sinc", -2, 2),
        "nan_to_num": ("nan_to_num", -2, 2), "i0": ("i0", -2, 2), "i1": ("special.i1", -2, 2),
        "bessel_j0": ("special.bessel_j0", -2, 2), "bessel_j1": ("special.bessel_j1", -2, 2),
    }
    for ours, (theirs, lo, hi) in unary.items():
        if ours in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "log1p", "expm1",
                    "log2", "log10", "erf", "sign", "floor", "ceil", "trunc"):
            continue  # op_coverage.py's own 0-d cases
        add(C(VAR, f"{ours} 0-d", lambda x, o=ours: getattr(x, o)(),
              lambda x, t=theirs: getattr(torch.special, t[8:])(x) if t.startswith("special.") else getattr(torch, t)(x),
              shapes=[()], low=lo, high=hi))
    for name, ours, theirs in [("softmin", lambda x: x.softmin(0), lambda x: F.softmin(x, 0)),
                               ("log_softmax", lambda x: x.log_softmax(0), lambda x: x.log_softmax(0)),
                               ("logsumexp axis 0", lambda x: x.logsumexp(0), lambda x: torch.logsumexp(x, 0)),
                               ("cumsum", lambda x: x.cumsum(0), lambda x: x.cumsum(0)),
                               ("cumprod", lambda x: x.cumprod(0), lambda x: x.cumprod(0)),
                               ("logcumsumexp", lambda x: x.logcumsumexp(0), lambda x: x.logcumsumexp(0)),
                               ("cummax", lambda x: x.cummax(0), lambda x: x.cummax(0).values),
                               ("cummin", lambda x: x.cummin(0), lambda x: x.cummin(0).values),
                               ("sum axis 0", lambda x: x.sum(axis=0), lambda x: x.sum(0)),
                               ("mean axis 0", lambda x: x.mean(axis=0), lambda x: x.mean(0)),
                               ("prod axis 0", lambda x: x.prod(axis=0), lambda x: x.prod(0)),
                               ("min", lambda x: x.min(), lambda x: x.min()),
                               ("var", lambda x: x.var(), lambda x: x.var(correction=0)),
                               ("std", lambda x: x.std(), lambda x: x.std(correction=0)),
                               ("norm", lambda x: x.norm(), lambda x: torch.linalg.vector_norm(x)),
                               ("norm ord 1", lambda x: x.norm(1), lambda x: torch.linalg.vector_norm(x, 1)),
                               ("sort", lambda x: x.sort(0), lambda x: x.sort(0).values),
                               ("topk", lambda x: x.topk(1, 0).values, lambda x: x.topk(1, 0).values),
                               ("flip", lambda x: x.flip(), lambda x: x.flip(())),
                               ("roll", lambda x: x.roll(1), lambda x: torch.roll(x, 1)),
                               ("reshape", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1)),
                               ("expand", lambda x: x.expand(2, 3), lambda x: x.expand(2, 3)),
                               ("unsqueeze", lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0)),
                               ("squeeze", lambda x: x.squeeze(), lambda x: x.squeeze()),
                               ("flatten", lambda x: x.flatten(), lambda x: x.flatten()),
                               ("tile", lambda x: x.tile((2, 2)), lambda x: x.repeat(2, 2)),
                               ("atleast_2d", lambda x: x.atleast_2d(), torch.atleast_2d),
                               ("clip", lambda x: x.clip(-0.5, 0.5), lambda x: x.clip(-0.5, 0.5)),
                               ("unfold", lambda x: x.unfold(0, 1, 1), lambda x: x.unfold(0, 1, 1)),
                               ("stack", lambda x: Tensor.stack([x, x * 2]), lambda x: torch.stack([x, x * 2])),
                               ("hstack", lambda x: Tensor.hstack([x, x]), lambda x: torch.hstack([x, x])),
                               ("column_stack", lambda x: Tensor.column_stack([x, x]), lambda x: torch.column_stack([x, x])),
                               ("kron", lambda x: x.kron(x), lambda x: torch.kron(x, x)),
                               ("dot", lambda x: x.dot(x), lambda x: x * x),
                               ("where", lambda x: Tensor.where(x.data > 0, x, -x), lambda x: torch.where(x > 0, x, -x)),
                               ("normal_cdf", lambda x: x.normal_cdf(), torch.special.ndtr),
                               ("square", lambda x: x * x, lambda x: torch.square(x)),
                               ("celu", lambda x: x.celu(1.5), lambda x: F.celu(x, 1.5))]:
        add(C(VAR, f"{name} 0-d", ours, theirs, shapes=[()], low=0.3 if "prod" in name else -2))
    for name, f, theirs in [("add", lambda x, y: x + y, None), ("mul", lambda x, y: x * y, None),
                            ("div", lambda x, y: x / y, None), ("pow", lambda x, y: x ** y, None),
                            ("maximum", lambda x, y: x.maximum(y), torch.maximum),
                            ("minimum", lambda x, y: x.minimum(y), torch.minimum),
                            ("fmax", lambda x, y: x.fmax(y), torch.fmax), ("fmin", lambda x, y: x.fmin(y), torch.fmin),
                            ("logaddexp", lambda x, y: x.logaddexp(y), torch.logaddexp),
                            ("hypot", lambda x, y: x.hypot(y), torch.hypot), ("arctan2", lambda x, y: x.arctan2(y), torch.atan2),
                            ("copysign", lambda x, y: x.copysign(y), torch.copysign),
                            ("mod", lambda x, y: x % y, None), ("fmod", lambda x, y: x.fmod(y), torch.fmod)]:
        add(C(VAR, f"{name} 0-d with 0-d", f, theirs, shapes=[(), ()], low=0.5, high=2))
        add(C(VAR, f"{name} 0-d with (3, 4)", f, theirs, shapes=[(), (3, 4)], low=0.5, high=2))
    add(C(VAR, "lerp 0-d", lambda x, y, z: x.lerp(y, z), torch.lerp, shapes=[(), (), ()]))
    for name, ours, theirs in [("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: F.leaky_relu(x, 0.1)),
                               ("hardsigmoid (relu6 form)", lambda x: x.hardsigmoid(), lambda x: F.relu6(x + 3.0) / 6.0)]:
        add(C(VAR, f"{name} 0-d", ours, theirs, shapes=[()], low=-4, high=4))
    return out
