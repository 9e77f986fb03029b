"""The op-coverage cases modelled on the peers' suites: HIPS autograd's tests (test_numpy,
test_systematic, test_linalg, test_scipy's special functions) and tinygrad's test/test_ops.py, which ops
and which variants (shapes, axes, keyword arguments, domains) they exercise. ``op_coverage.py`` runs them;
``op_coverage_more.py`` adds the batched, broadcast and 0-d variants and the ops added for issue 26.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_trade import Tensor


def peer_cases(torch, Case):
    """The cases modelled on autograd's and tinygrad's op tests (see op_coverage.py)."""
    F = torch.nn.functional
    tg, ag = "tinygrad", "autograd"
    C = Case
    idx3 = np.array([2, 0, 1, 1])
    cases = []
    add = cases.append

    # -- elementwise arithmetic and pow (tinygrad test_add.., autograd binary ufuncs) --------------
    for name, f in [("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y)]:
        add(C(tg, name, f, shapes=[(45, 65), (45, 65)]))
        add(C(tg, name, f, shapes=[(), ()]))
        add(C(tg, name + " broadcast", f, shapes=[(45, 65), (45, 1)]))
        add(C(ag, name + " broadcast", f, shapes=[(3, 1), (1, 4)]))
    add(C(tg, "div", lambda x, y: x / y, shapes=[(45, 65), (45, 65)], low=0.5, high=2))
    add(C(ag, "true_divide neg", lambda x, y: x / y, shapes=[(3, 4), (4,)], low=-2, high=-0.3))
    add(C(tg, "scalar rsub", lambda x: 2 - x, shapes=[(45, 65)]))
    add(C(tg, "scalar rmul", lambda x: 255 * x, shapes=[(45, 65)]))
    add(C(tg, "neg", lambda x: -x, shapes=[(45, 65)]))
    add(C(tg, "pow const", lambda x: x ** 2.0, shapes=[(45, 65)]))
    add(C(tg, "pow const frac", lambda x: x ** 0.3, shapes=[(45, 65)], low=0.5, high=2))
    add(C(tg, "rpow", lambda x: 2.0 ** x, shapes=[(45, 65)]))
    add(C(tg, "rpow 0.7", lambda x: 0.7 ** x, vals=[[-2.0, -1, 0, 1, 2, 3]]))
    add(C(tg, "pow tensor", lambda x, y: x ** y, shapes=[(45, 65), (45, 65)], low=0.5, high=2))
    add(C(tg, "pow 0**0", lambda x, y: x ** y, vals=[[0.0], [0.0]]))
    add(C(tg, "pow 0**0.3 tensor", lambda x, y: x ** y, vals=[[0.0], [0.3]]))
    add(C(tg, "pow x**0 at 0", lambda x: x ** 0.0, vals=[[0.0]]))
    add(C(tg, "pow x**-1 at 0", lambda x: x ** -1.0, vals=[[-1.0, 0.0, 1.0]]))
    add(C(ag, "op pow", lambda x, y: x ** y, shapes=[(3, 4), (3, 4)], low=0.7, high=2))
    add(C(tg, "maximum", lambda x, y: x.maximum(y), lambda x, y: torch.maximum(x, y), shapes=[(45, 65), (45, 65)]))
    add(C(tg, "minimum", lambda x, y: x.minimum(y), lambda x, y: torch.minimum(x, y), shapes=[(45, 65), (45, 65)]))
    add(C(ag, "maximum broadcast", lambda x, y: x.maximum(y), lambda x, y: torch.maximum(x, y), shapes=[(1, 4), (3, 4)]))
    add(C(tg, "maximum tie", lambda x, y: x.maximum(y), lambda x, y: torch.maximum(x, y),
          vals=[[1.0, 0.0, 3.0, -4.0], [-1.0, -2.0, 3.0, 0.0]]))
    add(C(tg, "relu maximum exact", lambda x: x.maximum(0.0), lambda x: torch.maximum(x, torch.zeros_like(x)),
          vals=[[-1.0, 0.0, 1.0]]))
    add(C(ag, "mod", lambda x, y: x % y, shapes=[(3, 4), (3, 4)], low=0.8, high=2.1))
    add(C(ag, "mod neg divisor", lambda x, y: x % y, vals=[[1.3, -0.7, 2.9], [-0.5, -1.9, -0.4]]))
    add(C(ag, "remainder", lambda x, y: x.remainder(y), lambda x, y: torch.remainder(x, y),
          vals=[[0.3, -0.85, 0.6], [0.7, 1.9, 1.1]]))
    add(C(tg, "fmod", lambda x, y: x.fmod(y), lambda x, y: torch.fmod(x, y), vals=[[5.5, -5.5, 7.2], [2.0, 2.0, -3.0]]))
    add(C(tg, "floordiv", lambda x, y: x // y, lambda x, y: torch.div(x, y, rounding_mode="floor"),
          vals=[[5.0, 6, 7, 0, -5, -6, -7], [3.0]], grad=False))

    # -- unary math (tinygrad test_sin.., autograd unary_ufunc_check) ---------------------------
    def unary(peer, name, ours, theirs=None, low=-2.0, high=2.0, shape=(45, 65)):
        add(C(peer, name, ours, theirs, shapes=[shape], low=low, high=high))

    for name, lo, hi in [("sin", -3, 3), ("cos", -3, 3), ("tan", -1.5, 1.5), ("exp", -2, 2), ("tanh", -3, 3),
                         ("sigmoid", -5, 5), ("relu", -2, 2), ("abs", -2, 2), ("sqrt", 0.1, 4), ("log", 0.1, 4),
                         ("log2", 0.1, 4), ("log10", 0.2, 2), ("log1p", 0.2, 2), ("expm1", -2, 2), ("sinh", -2, 2),
                         ("cosh", -2, 2), ("erf", -3, 3), ("sign", -2, 2), ("floor", -1.5, 1.5),
                         ("ceil", -1.5, 1.5), ("round", -2.5, 2.5), ("trunc", -2.5, 2.5)]:
        f = (lambda n: lambda x: getattr(x, n)())(name)
        unary(tg, name, f, low=lo, high=hi)
        unary(tg, name + " 0-d", f, low=lo, high=hi, shape=())
    for name, theirs, lo, hi in [("asin", "asin", -0.95, 0.95), ("acos", "acos", -0.95, 0.95), ("atan", "atan", -3, 3),
                                 ("arcsinh", "asinh", -0.9, 0.9), ("arctanh", "atanh", -0.9, 0.9),
                                 ("arccosh", "acosh", 1.1, 4), ("erfc", "erfc", -3, 3)]:
        unary(ag, name, (lambda n: lambda x: getattr(x, n)())(name), (lambda n: lambda x: getattr(x, n)())(theirs),
              low=lo, high=hi, shape=(3, 4))
    unary(tg, "asin out of domain (NaN in torch)", lambda x: x.asin(), low=300, high=303)
    unary(tg, "atan large", lambda x: x.atan(), low=300, high=303)
    add(C(tg, "sin specials", lambda x: x.sin(), vals=[[math.nan, math.inf, -math.inf, 0.0]], grad=False))
    add(C(tg, "log specials", lambda x: x.log(), vals=[[math.inf, -math.inf, math.nan]], grad=False))
    add(C(tg, "exp specials", lambda x: x.exp(), vals=[[math.inf, -math.inf, math.nan]], grad=False))
    add(C(tg, "sqrt at 0", lambda x: x.sqrt(), vals=[[0.0]]))
    add(C(tg, "abs exact", lambda x: x.abs(), vals=[[-1.0, 0.0, 1.0]]))
    add(C(tg, "relu exact", lambda x: x.relu(), vals=[[-1.0, 0.0, 1.0]]))
    add(C(tg, "sign exact", lambda x: x.sign(), vals=[[-1.0, 0.0, 1.0]]))
    add(C(tg, "round half even", lambda x: x.round(), vals=[[2.5, -1.5, 1.499, 1.5, 0.0]], grad=False))
    add(C(ag, "square", lambda x: x * x, shapes=[(3, 4)]))
    add(C(ag, "reciprocal", lambda x: 1.0 / x, shapes=[(3, 4)], low=0.5, high=2))
    add(C(tg, "logaddexp", lambda x, y: x.logaddexp(y), lambda x, y: torch.logaddexp(x, y), shapes=[(45, 65), (45, 65)]))
    add(C(tg, "logaddexp extreme", lambda x, y: x.logaddexp(y), lambda x, y: torch.logaddexp(x, y),
          vals=[[1.0, 2000, 30000], [-1.0, 2, 3]]))
    add(C(ag, "hypot", lambda x, y: x.hypot(y), lambda x, y: torch.hypot(x, y), shapes=[(3, 4), (4,)]))
    add(C(ag, "arctan2", lambda x, y: x.arctan2(y), lambda x, y: torch.atan2(x, y), shapes=[(3, 4), (3, 4)], low=0.3))
    for name in ("normal_cdf", "normal_logpdf"):
        theirs = {"normal_cdf": lambda x: torch.special.ndtr(x),
                  "normal_logpdf": lambda x: torch.distributions.Normal(0.0, 1.0).log_prob(x)}[name]
        unary(ag, "scipy norm " + name, (lambda n: lambda x: getattr(x, n)())(name), theirs, low=-3, high=3, shape=(3, 4))
    add(C(ag, "scipy norm logpdf loc scale", lambda x, m, s: x.normal_logpdf(m, s),
          lambda x, m, s: torch.distributions.Normal(m, s).log_prob(x), shapes=[(3, 4), (4,), (3, 4)], low=0.5, high=2))

    # -- activations (tinygrad) --------------------------------------------------------------------
    acts = [("leaky_relu", lambda x: x.leaky_relu(0.01), lambda x: F.leaky_relu(x, 0.01)),
            ("celu 2", lambda x: x.celu(2.0), lambda x: F.celu(x, 2.0)),
            ("selu", lambda x: x.selu(), F.selu), ("silu", lambda x: x.silu(), F.silu),
            ("swish", lambda x: x.swish(), F.silu),
            ("elu", lambda x: x.elu(), F.elu), ("elu 0.1", lambda x: x.elu(0.1), lambda x: F.elu(x, 0.1)),
            ("relu6", lambda x: x.relu6(), F.relu6), ("hardswish", lambda x: x.hardswish(), F.hardswish),
            ("hardsigmoid", lambda x: x.hardsigmoid(), lambda x: F.relu6(x + 3.0) / 6.0), ("mish", lambda x: x.mish(), F.mish),
            ("softsign", lambda x: x.softsign(), F.softsign), ("logsigmoid", lambda x: x.logsigmoid(), F.logsigmoid),
            ("gelu tanh", lambda x: x.gelu("tanh"), lambda x: F.gelu(x, approximate="tanh")),
            ("gelu exact", lambda x: x.gelu(), F.gelu), ("softplus", lambda x: x.softplus(), F.softplus),
            ("softplus beta 3", lambda x: x.softplus(beta=3), lambda x: F.softplus(x, beta=3)),
            ("hardtanh", lambda x: x.hardtanh(), F.hardtanh), ("tanhshrink", lambda x: x.tanhshrink(), F.tanhshrink)]
    for name, ours, theirs in acts:
        add(C(tg, name, ours, theirs, shapes=[(45, 65)], low=-4, high=4))
        add(C(tg, name + " 0-d", ours, theirs, shapes=[()], low=-4, high=4))
    for name, ours, theirs in [("sigmoid extreme", lambda x: x.sigmoid(), torch.sigmoid),
                               ("softplus extreme", lambda x: x.softplus(), F.softplus),
                               ("gelu extreme", lambda x: x.gelu("tanh"), lambda x: F.gelu(x, approximate="tanh")),
                               ("erf extreme", lambda x: x.erf(), torch.erf)]:
        add(C(tg, name + " +", ours, theirs, shapes=[(45, 65)], low=300, high=400))
        add(C(tg, name + " -", ours, theirs, shapes=[(45, 65)], low=-400, high=-300))
    add(C(tg, "softsign exact", lambda x: x.softsign(), F.softsign, vals=[[-1.0, 0.0, 1.0]]))

    # -- reductions and statistics -----------------------------------------------------------------
    red = [("sum", lambda x: x.sum(), lambda x: x.sum()),
           ("sum axis 3", lambda x: x.sum(axis=3), lambda x: x.sum(3)),
           ("sum axis (1,3)", lambda x: x.sum(axis=(1, 3)), lambda x: x.sum((1, 3))),
           ("sum keepdims", lambda x: x.sum(axis=1, keepdims=True), lambda x: x.sum(1, keepdim=True)),
           ("mean", lambda x: x.mean(), lambda x: x.mean()),
           ("mean axis", lambda x: x.mean(axis=(1, 2)), lambda x: x.mean((1, 2))),
           ("max", lambda x: x.max(), lambda x: x.max()), ("min", lambda x: x.min(), lambda x: x.min()),
           ("max axis", lambda x: x.max(axis=1), lambda x: x.max(1)[0]),
           ("min axis keepdims", lambda x: x.min(axis=1, keepdims=True), lambda x: x.min(1, keepdim=True)[0]),
           ("prod", lambda x: x.prod(axis=3), lambda x: x.prod(3)),
           ("prod keepdims", lambda x: x.prod(axis=1, keepdims=True), lambda x: x.prod(1, keepdim=True)),
           ("var", lambda x: x.var(), lambda x: x.var(unbiased=False)),
           ("var axis ddof1", lambda x: x.var(axis=2, ddof=1), lambda x: x.var(2, correction=1)),
           ("var axis ddof0 keepdims", lambda x: x.var(axis=(0, 2), keepdims=True),
            lambda x: x.var((0, 2), correction=0, keepdim=True)),
           ("std", lambda x: x.std(ddof=1), lambda x: x.std()),
           ("std axis", lambda x: x.std(axis=1), lambda x: x.std(1, correction=0)),
           ("std axis ddof2", lambda x: x.std(axis=3, ddof=2), lambda x: x.std(3, correction=2)),
           ("logsumexp", lambda x: x.logsumexp(axis=1), lambda x: torch.logsumexp(x, 1)),
           ("logsumexp keepdims", lambda x: x.logsumexp(axis=(0, 3), keepdims=True),
            lambda x: torch.logsumexp(x, (0, 3), keepdim=True)),
           ("norm", lambda x: x.norm(), lambda x: torch.linalg.vector_norm(x)),
           ("norm axis", lambda x: x.norm(axis=2), lambda x: torch.linalg.vector_norm(x, dim=2)),
           ("norm ord 1", lambda x: x.norm(1, axis=1), lambda x: torch.linalg.vector_norm(x, 1, dim=1)),
           ("norm ord 3", lambda x: x.norm(3, axis=1), lambda x: torch.linalg.vector_norm(x, 3, dim=1)),
           ("norm ord inf", lambda x: x.norm(np.inf, axis=1), lambda x: torch.linalg.vector_norm(x, math.inf, dim=1))]
    for name, ours, theirs in red:
        add(C(tg, name, ours, theirs, shapes=[(3, 4, 5, 6)], low=0.5 if "prod" in name else -2))
    for name, ours, theirs in [("sum", lambda x: x.sum(), lambda x: x.sum()), ("max", lambda x: x.max(), lambda x: x.max()),
                               ("prod", lambda x: x.prod(), lambda x: x.prod()), ("mean", lambda x: x.mean(), lambda x: x.mean())]:
        add(C(tg, name + " 0-d", ours, theirs, shapes=[()]))
    add(C(tg, "max ties", lambda x: x.max(), lambda x: x.max(), vals=[[1.0, 1.0, 0.0, 1.0]]))
    add(C(tg, "sum empty axis", lambda x: x.sum(axis=0), lambda x: x.sum(0), shapes=[(4, 0)]))
    for ddof in (0, 1):
        for keep in (True, False):
            add(C(ag, f"var ddof{ddof} keepdims={keep}", lambda x, d=ddof, k=keep: x.var(keepdims=k, ddof=d),
                  lambda x, d=ddof, k=keep: torch.var(x, correction=d, keepdim=k), shapes=[(3, 4)]))
            add(C(ag, f"std ddof{ddof} keepdims={keep}", lambda x, d=ddof, k=keep: x.std(keepdims=k, ddof=d),
                  lambda x, d=ddof, k=keep: torch.std(x, correction=d, keepdim=k), shapes=[(3, 4)]))
    add(C(ag, "prod with zero", lambda x: x.prod(axis=0), lambda x: x.prod(0), vals=[[[0.0, 2.0], [3.0, 0.0], [1.5, 2.0]]]))
    add(C(tg, "argmax", lambda x: Tensor(x.argmax(axis=1).astype(float)), lambda x: x.argmax(1).double(),
          shapes=[(10, 20)], grad=False))
    add(C(tg, "argmin first of ties", lambda x: Tensor(np.float64(x.argmin())), lambda x: x.argmin().double(),
          vals=[[3.0, 2.0, 2.0]], grad=False))
    for dim in (-1, 0, 1):
        for desc in (True, False):
            add(C(tg, f"sort dim {dim} desc={desc}", lambda x, d=dim, s=desc: x.sort(d, descending=s),
                  lambda x, d=dim, s=desc: x.sort(dim=d, descending=s, stable=True).values, shapes=[(8, 8, 6)]))
            add(C(tg, f"argsort dim {dim} desc={desc}", lambda x, d=dim, s=desc: Tensor(x.argsort(d, s).astype(float)),
                  lambda x, d=dim, s=desc: torch.argsort(x, dim=d, descending=s, stable=True).double(),
                  shapes=[(8, 8, 6)], grad=False))
    for dim in (0, 1, -1):
        for largest in (True, False):
            add(C(tg, f"topk dim {dim} largest={largest}", lambda x, d=dim, lg=largest: x.topk(4, d, lg)[0],
                  lambda x, d=dim, lg=largest: x.topk(4, d, lg).values, shapes=[(5, 5, 4)]))
    add(C(ag, "sort 1-d", lambda x: x.sort(), lambda x: x.sort().values, shapes=[(7,)]))
    add(C(tg, "median", lambda x: x.quantile(0.5), lambda x: torch.quantile(x, 0.5), shapes=[(5, 7)]))
    add(C(tg, "median axis even (torch's: the lower middle)", lambda x: x.quantile(0.5, axis=1, method="lower"),
          lambda x: x.median(1).values, shapes=[(5, 6)]))
    add(C(tg, "nanmedian-free median (numpy's: mean of middles)", lambda x: x.median(axis=1),
          lambda x: torch.quantile(x, 0.5, dim=1), shapes=[(5, 6)]))
    add(C(tg, "median axis odd", lambda x: x.median(axis=1), lambda x: x.median(1).values, shapes=[(5, 7)]))
    add(C(tg, "quantile list", lambda x: x.quantile([0.1, 0.5, 0.9], axis=0),
          lambda x: torch.quantile(x, torch.tensor([0.1, 0.5, 0.9], dtype=x.dtype), dim=0), shapes=[(9, 4)]))

    # -- outputs and losses -------------------------------------------------------------------------
    for axis in (-1, 0, 1):
        add(C(tg, f"softmax axis {axis}", lambda x, a=axis: x.softmax(a), lambda x, a=axis: x.softmax(a), shapes=[(45, 65)]))
        add(C(tg, f"log_softmax axis {axis}", lambda x, a=axis: x.log_softmax(a), lambda x, a=axis: x.log_softmax(a),
              shapes=[(45, 65)]))
    add(C(tg, "softmax 0-d", lambda x: x.softmax(0) if x.ndim else x.reshape(1).softmax().reshape(()),
          lambda x: x.softmax(0), shapes=[()]))
    add(C(tg, "softmax large", lambda x: x.softmax(), lambda x: x.softmax(-1), shapes=[(4, 5)], low=300, high=400))
    add(C(ag, "scipy logsumexp", lambda x: x.logsumexp(), lambda x: torch.logsumexp(x, (0, 1)), shapes=[(3, 4)]))
    add(C(tg, "logsumexp big", lambda x: x.logsumexp(axis=0), lambda x: torch.logsumexp(x, 0), vals=[[1e4, 1e4, -3.0]]))
    target = np.array([3, 0, 9, 4, 1, 7, 2, 2, 5, 8])
    tt = torch.tensor(target)
    add(C(tg, "cross_entropy", lambda x: x.cross_entropy(target), lambda x: F.cross_entropy(x, tt), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy sum", lambda x: x.cross_entropy(target, reduction="sum"),
          lambda x: F.cross_entropy(x, tt, reduction="sum"), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy none", lambda x: x.cross_entropy(target, reduction="none"),
          lambda x: F.cross_entropy(x, tt, reduction="none"), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy smoothing", lambda x: x.cross_entropy(target, label_smoothing=0.1),
          lambda x: F.cross_entropy(x, tt, label_smoothing=0.1), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy probs", lambda x, p: x.cross_entropy(p.softmax()),
          lambda x, p: F.cross_entropy(x, p.softmax(-1)), shapes=[(10, 10), (10, 10)]))
    w = np.linspace(0.5, 2.0, 10)
    add(C(tg, "cross_entropy weight", lambda x: x.cross_entropy(target, weight=w),
          lambda x: F.cross_entropy(x, tt, weight=torch.tensor(w)), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy weight smoothing", lambda x: x.cross_entropy(target, weight=w, label_smoothing=0.2),
          lambda x: F.cross_entropy(x, tt, weight=torch.tensor(w), label_smoothing=0.2), shapes=[(10, 10)]))
    add(C(tg, "cross_entropy probs smoothing", lambda x, p: x.cross_entropy(p.softmax(), label_smoothing=0.1),
          lambda x, p: F.cross_entropy(x, p.softmax(-1), label_smoothing=0.1), shapes=[(10, 10), (10, 10)]))
    seq_t = np.array([[0, 2, 1], [1, 1, 0]])
    add(C(tg, "cross_entropy (N,C,d)", lambda x: x.cross_entropy(seq_t), lambda x: F.cross_entropy(x, torch.tensor(seq_t)),
          shapes=[(2, 4, 3)]))
    add(C(tg, "nll_loss", lambda x: x.log_softmax(1).nll_loss(target), lambda x: F.nll_loss(x.log_softmax(1), tt),
          shapes=[(10, 10)]))
    add(C(tg, "nll_loss weight none", lambda x: x.log_softmax(1).nll_loss(target, weight=w, reduction="none"),
          lambda x: F.nll_loss(x.log_softmax(1), tt, weight=torch.tensor(w), reduction="none"), shapes=[(10, 10)]))
    add(C(tg, "binary_crossentropy", lambda x, y: x.sigmoid().binary_cross_entropy(y.sigmoid()),
          lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()), shapes=[(32, 10), (32, 10)]))
    add(C(tg, "binary_crossentropy_logits", lambda x, y: x.binary_cross_entropy_with_logits(y.sigmoid()),
          lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()), shapes=[(32, 10), (32, 10)]))
    add(C(tg, "bce_logits pos_weight", lambda x, y: x.binary_cross_entropy_with_logits(y.sigmoid(), pos_weight=2.0),
          lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=torch.tensor(2.0)),
          shapes=[(32, 10), (32, 10)]))
    add(C(tg, "huber", lambda x, y: x.huber_loss(y, delta=0.5), lambda x, y: F.huber_loss(x, y, delta=0.5),
          shapes=[(8, 6), (8, 6)]))
    add(C(tg, "smooth_l1", lambda x, y: x.smooth_l1_loss(y, beta=0.7), lambda x, y: F.smooth_l1_loss(x, y, beta=0.7),
          shapes=[(8, 6), (8, 6)]))
    add(C(tg, "mse", lambda x, y: x.mse_loss(y), lambda x, y: F.mse_loss(x, y), shapes=[(8, 6), (8, 6)]))
    add(C(tg, "l1", lambda x, y: x.l1_loss(y), lambda x, y: F.l1_loss(x, y), shapes=[(8, 6), (8, 6)]))

    # -- cumulative and time series -----------------------------------------------------------------
    for name, ours, theirs in [("cumsum", "cumsum", "cumsum"), ("cumprod", "cumprod", "cumprod"),
                               ("logcumsumexp", "logcumsumexp", "logcumsumexp")]:
        for shape, dim in [((10,), 0), ((20, 30), 0), ((20, 30), 1), ((5, 6, 7), 2), ((5, 6, 7), -1), ((2, 0, 4), 1)]:
            add(C(tg, f"{name} {shape} axis {dim}", lambda x, o=ours, d=dim: getattr(x, o)(d),
                  lambda x, t=theirs, d=dim: getattr(torch, t)(x, d), shapes=[shape], low=0.5 if name == "cumprod" else -2))
    for name in ("cummax", "cummin"):
        for shape, dim in [((10,), 0), ((20, 30), 1), ((5, 6, 7), -1)]:
            add(C(tg, f"{name} {shape} axis {dim}", lambda x, o=name, d=dim: getattr(x, o)(d),
                  lambda x, o=name, d=dim: getattr(torch, o)(x, d).values, shapes=[shape]))
    add(C(ag, "cumsum no axis", lambda x: x.cumsum(), lambda x: x.flatten().cumsum(0), shapes=[(10, 11)]))
    add(C(ag, "cumprod with zeros", lambda x: x.cumprod(0), lambda x: x.cumprod(0), vals=[[2.0, 0.0, 3.0, 0.0, 5.0]]))
    add(C(tg, "cummax ties", lambda x: x.cummax(0), lambda x: torch.cummax(x, 0).values, vals=[[1.0, 3.0, 2.0, 3.0, 0.0]]))
    add(C(ag, "diff", lambda x: x.diff(), lambda x: torch.diff(x), shapes=[(5, 6)]))
    add(C(ag, "diff n=2 axis 0", lambda x: x.diff(2, axis=0), lambda x: torch.diff(x, 2, dim=0), shapes=[(5, 6)]))
    add(C(ag, "roll axis 1", lambda x: x.roll(2, axis=1), lambda x: torch.roll(x, 2, 1), shapes=[(4, 5)]))
    add(C(ag, "roll no axis", lambda x: x.roll(2), lambda x: torch.roll(x, 2), shapes=[(4, 5)]))
    add(C(tg, "roll two axes", lambda x: x.roll((1, -2), (0, 1)), lambda x: torch.roll(x, (1, -2), (0, 1)), shapes=[(4, 5)]))
    add(C(ag, "flipud", lambda x: x.flip(0), lambda x: torch.flipud(x), shapes=[(10, 11)]))
    add(C(ag, "fliplr", lambda x: x.flip(1), lambda x: torch.fliplr(x), shapes=[(10, 11)]))
    add(C(tg, "flip (0, 2)", lambda x: x.flip((0, 2)), lambda x: x.flip((0, 2)), shapes=[(4, 3, 6)]))
    for mode_ours, mode_torch in [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")]:
        add(C(tg, f"pad {mode_ours}", lambda x, m=mode_ours: x.pad(((0, 0), (0, 0), (1, 2), (3, 1)), m),
              lambda x, m=mode_torch: F.pad(x, (3, 1, 1, 2), mode=m), shapes=[(2, 3, 5, 6)]))
    add(C(tg, "pad constant value", lambda x: x.pad(((1, 2), (0, 3)), value=1.5), lambda x: F.pad(x, (0, 3, 1, 2), value=1.5),
          shapes=[(3, 3)]))
    add(C(tg, "unfold", lambda x: x.unfold(1, 3, 2), lambda x: x.unfold(1, 3, 2), shapes=[(4, 9, 2)]))
    add(C(tg, "unfold step 1", lambda x: x.unfold(0, 4, 1), lambda x: x.unfold(0, 4, 1), shapes=[(10,)]))

    # -- shapes and indexing ------------------------------------------------------------------------
    add(C(tg, "reshape", lambda x: x.reshape(-1, 4), lambda x: x.reshape(-1, 4), shapes=[(4, 3, 6, 6)]))
    add(C(tg, "permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), shapes=[(2, 3, 4)]))
    add(C(ag, "transpose axes", lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1), shapes=[(2, 3, 4)]))
    add(C(tg, "flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), shapes=[(4, 3, 6, 6)]))
    add(C(tg, "squeeze unit", lambda x: x.squeeze(1), lambda x: x.squeeze(1), shapes=[(3, 1, 4)]))
    add(C(tg, "squeeze all", lambda x: x.squeeze(), lambda x: x.squeeze(), shapes=[(1, 3, 1, 4)]))
    add(C(tg, "squeeze non-unit (torch: no-op)", lambda x: x.squeeze(0), lambda x: x.squeeze(0), shapes=[(3, 4)]))
    add(C(tg, "unsqueeze", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), shapes=[(3, 4)]))
    add(C(ag, "expand_dims", lambda x: x.expand_dims(2), lambda x: x.unsqueeze(2), shapes=[(5, 1, 4)]))
    add(C(tg, "expand", lambda x: x.expand(4, 3, 5), lambda x: x.expand(4, 3, 5), shapes=[(3, 1)]))
    add(C(tg, "expand -1", lambda x: x.expand(2, -1, 4), lambda x: x.expand(2, -1, 4), shapes=[(3, 1)]))
    add(C(tg, "repeat (tile)", lambda x: x.tile((2, 1, 3)), lambda x: x.repeat(2, 1, 3), shapes=[(3, 4)]))
    add(C(ag, "repeat axis 1", lambda x: x.repeat(2, axis=1), lambda x: x.repeat_interleave(2, 1), shapes=[(5, 3, 4)]))
    add(C(ag, "repeat axis 0 1-d", lambda x: x.repeat(2, axis=0), lambda x: x.repeat_interleave(2, 0), shapes=[(5,)]))
    add(C(tg, "repeat_interleave no axis", lambda x: x.repeat_interleave(3), lambda x: x.repeat_interleave(3),
          shapes=[(2, 3)]))
    add(C(ag, "split first", lambda x: x.split(2)[0], lambda x: x.chunk(2)[0], shapes=[(10,)]))
    add(C(tg, "chunk", lambda x: Tensor.stack(x.chunk(3, 1)[:2], 0), lambda x: torch.stack(x.chunk(3, 1)[:2], 0),
          shapes=[(4, 7)]))
    add(C(tg, "split sizes", lambda x: x.split_sizes([2, 5], 1)[1], lambda x: x.split([2, 5], 1)[1], shapes=[(4, 7)]))
    add(C(tg, "cat", lambda x, y: Tensor.cat([x, y, x], 1), lambda x, y: torch.cat([x, y, x], 1), shapes=[(2, 3), (2, 4)]))
    add(C(tg, "stack", lambda x, y: Tensor.stack([x, y], -1), lambda x, y: torch.stack([x, y], -1),
          shapes=[(2, 3), (2, 3)]))
    add(C(tg, "vstack", lambda x, y: Tensor.vstack([x, y]), lambda x, y: torch.vstack([x, y]), shapes=[(3,), (2, 3)]))
    add(C(tg, "hstack", lambda x, y: Tensor.hstack([x, y]), lambda x, y: torch.hstack([x, y]), shapes=[(2, 3), (2, 1)]))
    gidx = np.array([[0, 2, 1], [1, 1, 0]])
    add(C(tg, "gather dim 0", lambda x: x.gather(0, gidx), lambda x: x.gather(0, torch.tensor(gidx)), shapes=[(3, 4)]))
    add(C(tg, "gather dim 1", lambda x: x.gather(1, gidx), lambda x: x.gather(1, torch.tensor(gidx)), shapes=[(3, 4)]))
    add(C(tg, "take_along_axis", lambda x: x.take_along_axis(gidx.T, 0),
          lambda x: torch.take_along_dim(x, torch.tensor(gidx.T), 0), shapes=[(4, 2)]))
    add(C(tg, "scatter_add", lambda x, s: x.scatter_add(0, gidx, s), lambda x, s: x.scatter_add(0, torch.tensor(gidx), s),
          shapes=[(3, 4), (2, 3)]))
    add(C(tg, "one_hot", lambda: Tensor.one_hot(idx3, 4), lambda: F.one_hot(torch.tensor(idx3), 4).double(),
          shapes=[], grad=False))
    add(C(tg, "eye", lambda: Tensor.eye(4, 3), lambda: torch.eye(4, 3, dtype=torch.float64), shapes=[], grad=False))
    add(C(tg, "arange", lambda: Tensor.arange(2, 11, 3), lambda: torch.arange(2, 11, 3, dtype=torch.float64),
          shapes=[], grad=False))
    add(C(tg, "full_like", lambda x: x.full_like(2.0).sum() + x.sum(), lambda x: torch.full_like(x, 2.0).sum() + x.sum(),
          shapes=[(3, 3)]))
    add(C(tg, "zeros_like ones_like", lambda x: x * x.ones_like() + x.zeros_like(),
          lambda x: x * torch.ones_like(x) + torch.zeros_like(x), shapes=[(3, 3)]))
    add(C(ag, "index ints", lambda x: x[3, 0, 1], lambda x: x[3, 0, 1], shapes=[(5, 6, 4)]))
    add(C(ag, "index slice reversed", lambda x: x[::-1, 2:4, :], lambda x: x.flip(0)[:, 2:4, :], shapes=[(5, 6, 4)]))
    add(C(ag, "index lists", lambda x: x[[0, 1, 2], :, :], lambda x: x[[0, 1, 2], :, :], shapes=[(5, 6, 4)]))
    add(C(ag, "index mixed (numpy order)", lambda x: x[3, 2:, [1, 3]], lambda x: x[3, 2:, [1, 3]].T, shapes=[(5, 6, 4)]))
    add(C(ag, "index repeated", lambda x: x[[0, 1, 0]].sum(), lambda x: x[[0, 1, 0]].sum(), shapes=[(3,)]))
    add(C(ag, "where", lambda x, y: Tensor.where(x.data > 0, x, y), lambda x, y: torch.where(x > 0, x, y),
          shapes=[(4, 5), (4, 5)]))
    add(C(ag, "clip", lambda x: x.clip(0.1, 1.1), lambda x: x.clip(0.1, 1.1), shapes=[(5, 5)]))
    add(C(tg, "masked by comparison", lambda x: x * (x != 0), lambda x: x * (x != 0), vals=[[0.0, 1.5, -2.0, 0.0]]))
    add(C(tg, "masked by <", lambda x: x * (x < 0), lambda x: x * (x < 0), shapes=[(4,)]))
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        add(C(tg, "cmp " + op.strip("_"), lambda x, y, o=op: Tensor(getattr(x, o)(y).astype(float)),
              lambda x, y, o=op: getattr(x, o)(y).double(), vals=[[0.0, 1, 2, math.inf, -1], [2.0, 1, 0, math.inf, 0]],
              grad=False))
        add(C(tg, "cmp broadcast " + op.strip("_"), lambda x, y, o=op: Tensor(getattr(x, o)(y).astype(float)),
              lambda x, y, o=op: getattr(x, o)(y).double(), shapes=[(3, 4, 5), (5,)], grad=False))
    add(C(tg, "isnan isfinite", lambda x: Tensor((x.isnan() | x.isfinite()).astype(float)),
          lambda x: (x.isnan() | x.isfinite()).double(), vals=[[-math.inf, 0.0, math.inf, math.nan, 1.1]], grad=False))

    # -- linear algebra (autograd test_linalg, tinygrad matmul/einsum) ------------------------------
    def spd(a):
        return a @ a.swapaxes(-1, -2) + 3 * np.eye(a.shape[-1]) if isinstance(a, np.ndarray) else None

    def sym(x):
        return (x + x.swapaxes(-1, -2)) * 0.5

    def tsym(x):
        return (x + x.transpose(-1, -2)) * 0.5

    eye5 = np.eye(5)
    add(C(tg, "matmul", lambda x, y: x @ y, shapes=[(64, 64), (64, 64)]))
    add(C(tg, "matmul vector", lambda x, y: x @ y, shapes=[(65,), (65, 45)]))
    add(C(tg, "matmul batched vector", lambda x, y: x @ y, shapes=[(4, 3), (1, 3, 3, 5)]))
    add(C(tg, "dot 1-d", lambda x, y: x.dot(y), lambda x, y: x @ y, shapes=[(65,), (65,)]))
    add(C(ag, "dot mat vec", lambda x, y: x.dot(y), lambda x, y: x @ y, shapes=[(10, 11), (11,)]))
    add(C(ag, "dot with float", lambda x, y: x.dot(y), lambda x, y: x * y, shapes=[(10, 11), ()]))
    add(C(ag, "outer", lambda x, y: x.outer(y), lambda x, y: torch.outer(x, y), shapes=[(11,), (11,)]))
    add(C(ag, "inner", lambda x, y: x.inner(y), lambda x, y: torch.inner(x, y), shapes=[(3, 4), (2, 4)]))
    add(C(ag, "kron", lambda x, y: x.kron(y), lambda x, y: torch.kron(x, y), shapes=[(2, 3), (3, 2)]))
    for k in (-1, 0, 1, 2):
        add(C(ag, f"trace offset {k}", lambda x, o=k: x.trace(o), lambda x, o=k: torch.diagonal(x, o).sum(),
              shapes=[(5, 4)]))
        add(C(tg, f"tril {k}", lambda x, o=k: x.tril(o), lambda x, o=k: x.tril(o), shapes=[(4, 5)]))
        add(C(tg, f"triu {k}", lambda x, o=k: x.triu(o), lambda x, o=k: x.triu(o), shapes=[(5, 3, 3)]))
    add(C(ag, "diagonal last axes", lambda x: x.diagonal(0, -1, -2), lambda x: torch.diagonal(x, 0, -1, -2),
          shapes=[(3, 4, 4)]))
    add(C(ag, "diag", lambda x: x.diagonal(), lambda x: torch.diag(x), shapes=[(10, 10)]))
    for axes, sa, sb in [(1, (2, 2), (2, 2)), (2, (4, 2, 2), (2, 2, 4)), (((1,), (0,)), (2, 3, 2), (3, 4, 2)),
                         (((0, 1), (1, 2)), (2, 3, 4), (2, 2, 3, 4))]:
        add(C(ag, f"tensordot axes={axes}", lambda x, y, a=axes: x.tensordot(y, a),
              lambda x, y, a=axes: torch.tensordot(x, y, a), shapes=[sa, sb]))
    for spec, shapes in [("ij->ji", [(3, 4)]), ("ij,jk->ik", [(2, 3), (3, 4)]), ("ijk,lji->lki", [(3, 4, 4), (4, 4, 3)]),
                         ("...jk,...lj->...lk", [(3, 4, 4), (3, 4, 4)]), ("...,...->...", [(3, 4, 4), (3, 4, 4)]),
                         ("ijk,lji,lli->lki", [(3, 4, 4), (4, 4, 3), (4, 4, 3)]), ("->", [()]), ("ijk->", [(4, 6, 8)]),
                         ("ik,k->i", [(3, 4), (4,)]), ("i,i->i", [(5,), (5,)]), ("ijk,ikl->jil", [(2, 4, 5), (2, 5, 7)]),
                         ("pqrs,tuqvr->pstuv", [(3, 5, 8, 10), (11, 7, 5, 13, 8)]), ("ik,jkl,il->ij", [(2, 3), (5, 3, 7), (2, 7)]),
                         ("...id,...jd", [(3, 8, 9), (3, 8, 9)]), ("i...j,ji...->...", [(2, 3, 4, 5), (5, 2, 4)]),
                         ("i,i", [(5,), (5,)]), ("ii->i", [(4, 4)]), ("ii->", [(4, 4)]), ("...ii->...i", [(3, 5, 5)]),
                         ("dog", [(4, 6, 8)])]:
        add(C(tg if len(shapes) != 3 or spec.startswith("ik") else ag, f"einsum {spec}",
              lambda *xs, s=spec: Tensor.einsum(s, *xs), lambda *xs, s=spec: torch.einsum(s, *xs), shapes=shapes))
    add(C(ag, "inv", lambda x: (x + 3 * eye5).inv(), lambda x: torch.linalg.inv(x + 3 * torch.eye(5, dtype=x.dtype)),
          shapes=[(5, 5)]))
    add(C(ag, "inv batched", lambda x: (x + 3 * np.eye(3)).inv(), lambda x: torch.linalg.inv(x + 3 * torch.eye(3, dtype=x.dtype)),
          shapes=[(2, 3, 3)]))
    add(C(ag, "det", lambda x: x.det(), lambda x: torch.linalg.det(x), shapes=[(5, 5)]))
    add(C(ag, "det batched", lambda x: x.det(), lambda x: torch.linalg.det(x), shapes=[(3, 4, 4)]))
    add(C(ag, "slogdet", lambda x: x.slogdet()[1], lambda x: torch.linalg.slogdet(x)[1], shapes=[(5, 5)]))
    add(C(ag, "solve", lambda a, b: (a + 3 * eye5).solve(b), lambda a, b: torch.linalg.solve(a + 3 * torch.eye(5, dtype=a.dtype), b),
          shapes=[(5, 5), (5, 3)]))
    add(C(ag, "solve vector", lambda a, b: (a + 3 * eye5).solve(b),
          lambda a, b: torch.linalg.solve(a + 3 * torch.eye(5, dtype=a.dtype), b), shapes=[(5, 5), (5,)]))
    add(C(ag, "solve batched", lambda a, b: (a + 3 * np.eye(3)).solve(b),
          lambda a, b: torch.linalg.solve(a + 3 * torch.eye(3, dtype=a.dtype), b), shapes=[(2, 3, 3), (2, 3, 2)]))
    add(C(ag, "solve_triangular", lambda a, b: (a + 3 * eye5).solve_triangular(b),
          lambda a, b: torch.linalg.solve_triangular((a + 3 * torch.eye(5, dtype=a.dtype)).tril(), b, upper=False),
          shapes=[(5, 5), (5, 2)]))
    add(C(ag, "solve_triangular upper", lambda a, b: (a + 3 * eye5).solve_triangular(b, upper=True),
          lambda a, b: torch.linalg.solve_triangular((a + 3 * torch.eye(5, dtype=a.dtype)).triu(), b, upper=True),
          shapes=[(5, 5), (5, 2)]))
    add(C(ag, "cholesky", lambda x: (x @ x.T + 5 * eye5).cholesky(),
          lambda x: torch.linalg.cholesky(x @ x.T + 5 * torch.eye(5, dtype=x.dtype)), shapes=[(5, 5)]))
    add(C(ag, "cholesky batched", lambda x: (x @ x.swapaxes(-1, -2) + 3 * np.eye(3)).cholesky(),
          lambda x: torch.linalg.cholesky(x @ x.transpose(-1, -2) + 3 * torch.eye(3, dtype=x.dtype)), shapes=[(2, 3, 3)]))
    add(C(ag, "eigh eigenvalues", lambda x: sym(x).eigh()[0], lambda x: torch.linalg.eigh(tsym(x))[0], shapes=[(5, 5)]))
    add(C(ag, "eigh vectors (sign-free)", lambda x: sym(x).eigh()[1] ** 2, lambda x: torch.linalg.eigh(tsym(x))[1] ** 2,
          shapes=[(5, 5)]))
    add(C(ag, "eigh batched", lambda x: sym(x).eigh()[0], lambda x: torch.linalg.eigh(tsym(x))[0], shapes=[(3, 4, 4)]))
    for shape in [(5, 5), (5, 3), (3, 5), (2, 4, 3)]:
        add(C(ag, f"svd values {shape}", lambda x: x.svd()[1], lambda x: torch.linalg.svdvals(x), shapes=[shape]))
        add(C(ag, f"svd U Vh {shape}", lambda x: x.svd(False)[0] @ x.svd(False)[2],
              lambda x: (lambda u, s, vh: u @ vh)(*torch.linalg.svd(x, full_matrices=False)), shapes=[shape]))
    add(C(ag, "pinv", lambda x: x.pinv(), lambda x: torch.linalg.pinv(x), shapes=[(5, 3)]))
    add(C(ag, "pinv wide", lambda x: x.pinv(), lambda x: torch.linalg.pinv(x), shapes=[(3, 5)]))
    add(C(ag, "matrix norm fro", lambda x: x.norm("fro", (-2, -1)), lambda x: torch.linalg.matrix_norm(x, "fro"),
          shapes=[(3, 4)]))
    add(C(ag, "matrix norm nuc", lambda x: x.norm("nuc", (-2, -1)), lambda x: torch.linalg.matrix_norm(x, "nuc"),
          shapes=[(3, 4)]))
    add(C(ag, "matrix norm 2", lambda x: x.norm(2, (-2, -1)), lambda x: torch.linalg.matrix_norm(x, 2), shapes=[(3, 4)]))
    add(C(ag, "matrix norm inf", lambda x: x.norm(np.inf, (-2, -1)), lambda x: torch.linalg.matrix_norm(x, math.inf),
          shapes=[(3, 4)]))
    add(C(ag, "matrix_power 3", lambda x: x.matrix_power(3), lambda x: torch.linalg.matrix_power(x, 3), shapes=[(4, 4)]))
    add(C(ag, "matrix_power -2", lambda x: (x + 3 * np.eye(4)).matrix_power(-2),
          lambda x: torch.linalg.matrix_power(x + 3 * torch.eye(4, dtype=x.dtype), -2), shapes=[(4, 4)]))

    # -- more of tinygrad's elementwise/reduction cases ----------------------------------------------
    add(C(tg, "exp2", lambda x: x.exp2(), torch.exp2, shapes=[(45, 65)]))
    add(C(tg, "rsqrt", lambda x: x.rsqrt(), torch.rsqrt, shapes=[(45, 65)], low=0.1, high=3))
    add(C(tg, "rsqrt at 0", lambda x: x.rsqrt(), torch.rsqrt, vals=[[0.0]]))
    add(C(tg, "copysign", lambda x, y: x.copysign(y), torch.copysign, shapes=[(45, 65), (45, 65)]))
    add(C(tg, "lerp", lambda x, y, z: x.lerp(y, z), torch.lerp, shapes=[(45, 35), (45, 35), (45, 35)]))
    add(C(tg, "quick_gelu", lambda x: x.quick_gelu(), lambda x: x * torch.sigmoid(1.702 * x), shapes=[(45, 65)]))
    add(C(tg, "isinf", lambda x: Tensor(x.isinf().astype(float)), lambda x: x.isinf().double(),
          vals=[[-math.inf, 0.0, math.inf, math.nan, 1.1]], grad=False))
    add(C(tg, "isclose", lambda x, y: Tensor(x.isclose(y).astype(float)), lambda x, y: x.isclose(y).double(),
          vals=[[1e-7, 1e-8, 1e-9], [0.0, 0.0, 0.0]], grad=False))
    add(C(tg, "any axis", lambda x: Tensor((x > 1.5).astype(float)).sum(axis=(1, 2)).clip(0, 1),
          lambda x: (x > 1.5).any(1).any(1).double(), shapes=[(3, 4, 5, 6)], grad=False))
    add(C(tg, "all", lambda x: Tensor(np.float64(x.all())), lambda x: x.all().double(), shapes=[(3, 4)], grad=False))
    add(C(tg, "logical_not", lambda x: Tensor(x.logical_not().astype(float)), lambda x: x.logical_not().double(),
          vals=[[1.0, 2.0, 0.0, 0.5]], grad=False))
    add(C(tg, "std_mean", lambda x: Tensor.stack(list(x.std_mean(ddof=5))), lambda x: torch.stack(torch.std_mean(x, correction=5)),
          shapes=[(15, 25, 35)]))
    add(C(tg, "var correction 5", lambda x: x.var(ddof=5), lambda x: x.var(correction=5), shapes=[(15, 25, 35)]))
    add(C(tg, "var axis list", lambda x: x.var(axis=[1, 2], ddof=1), lambda x: x.var([1, 2]), shapes=[(15, 25, 35)]))
    add(C(tg, "var one in axis", lambda x: x.var(axis=(0, 4), ddof=1), lambda x: x.var((0, 4)), shapes=[(1, 2, 3, 1, 5)]))
    add(C(tg, "var zero in axis (NaN in torch)", lambda x: x.var(axis=(1, 3), ddof=1), lambda x: x.var((1, 3)),
          shapes=[(1, 0, 3, 0, 5)]))
    add(C(tg, "mean zero axis (NaN in torch)", lambda x: x.mean(axis=(1, 3)), lambda x: x.mean((1, 3)),
          shapes=[(1, 0, 3, 0, 5)]))
    add(C(tg, "std keepdim", lambda x: x.std(keepdims=True, ddof=1), lambda x: x.std(keepdim=True), shapes=[(15, 25, 35)]))
    add(C(tg, "softmax 1-d", lambda x: x.softmax(0), lambda x: x.softmax(0), shapes=[(45,)]))
    add(C(tg, "softmax 3-d axis 1", lambda x: x.softmax(1), lambda x: x.softmax(1), shapes=[(10, 10, 10)]))
    add(C(tg, "logsumexp 4-d", lambda x: x.logsumexp(axis=2), lambda x: torch.logsumexp(x, 2), shapes=[(6, 6, 6, 6)]))
    add(C(tg, "logsumexp 0-d", lambda x: x.logsumexp(), lambda x: torch.logsumexp(x, 0), shapes=[()]))
    add(C(tg, "logcumsumexp numerical", lambda x: x.logcumsumexp(), lambda x: torch.logcumsumexp(x, 0),
          vals=[[0.0, 100.0]]))
    for name, ours, theirs in [("sinh", "sinh", "sinh"), ("cosh", "cosh", "cosh"), ("tanh", "tanh", "tanh"),
                               ("asinh", "arcsinh", "asinh"), ("acosh", "arccosh", "acosh"), ("atanh", "arctanh", "atanh")]:
        for lo in (-300, 300):
            add(C(tg, f"{name} extreme {lo:+d}", lambda x, o=ours: getattr(x, o)(), lambda x, t=theirs: getattr(x, t)(),
                  shapes=[(45, 65)], low=lo, high=lo + 3, grad=name in ("tanh", "asinh")))
    for val in (10, 20):
        add(C(tg, f"hardtanh +-{val}", lambda x, v=val: x.hardtanh(-v, v), lambda x, v=val: F.hardtanh(x, -v, v),
              shapes=[(45, 65)], low=-30, high=30))
    add(C(tg, "topo sort", lambda x: (x + x) * x, shapes=[(45, 65)]))
    add(C(tg, "sum relu", lambda x: x.relu().sum().relu(), shapes=[(3, 4, 5)]))
    for sa, sb in [((5, 3, 14, 16), (5, 1, 14, 1)), ((1, 3, 1, 7, 1), (2, 1, 5, 1, 8))]:
        for name, f in [("add", lambda x, y: x + y), ("div", lambda x, y: x / y), ("pow", lambda x, y: x ** y)]:
            add(C(tg, f"broadcast full {name} {sa}", f, shapes=[sa, sb], low=0.5 if name != "add" else -2, high=3))

    # -- more of autograd's numpy and scipy cases ---------------------------------------------------
    for name, ours, theirs in [("deg2rad", "deg2rad", "deg2rad"), ("rad2deg", "rad2deg", "rad2deg"),
                               ("fabs", "abs", "abs"), ("expit", "sigmoid", "sigmoid")]:
        add(C(ag, name, lambda x, o=ours: getattr(x, o)(), lambda x, t=theirs: getattr(torch, t)(x), shapes=[(3, 4)],
              low=0.1))
    add(C(ag, "logaddexp2", lambda x, y: x.logaddexp2(y), torch.logaddexp2, shapes=[(3, 4), (4,)]))
    add(C(ag, "msort", lambda x: x.sort(axis=0), lambda x: x.sort(dim=0).values, shapes=[(7, 3)]))
    add(C(ag, "partition", lambda x: x.partition(3), lambda x: x.sort().values, shapes=[(7,)]))
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        add(C(ag, name, lambda x, n=name: getattr(x, n)(), lambda x, n=name: getattr(torch, n)(x), shapes=[(7,)]))
    add(C(ag, "rot90", lambda x: x.rot90(), lambda x: torch.rot90(x), shapes=[(10, 11)]))
    add(C(ag, "ravel", lambda x: x.ravel(), lambda x: x.ravel(), shapes=[(5, 6, 4)]))
    add(C(ag, "append", lambda x: x.append(4.0), lambda x: torch.cat([x, torch.tensor([4.0], dtype=x.dtype)]),
          shapes=[(3,)]))
    add(C(ag, "array from tensors", lambda x: Tensor(np.array([x, x * 1.0])), lambda x: torch.stack([x, x * 1.0]),
          shapes=[(3, 2)]))
    add(C(ag, "r_ concatenation", lambda x: np.r_[x, x], lambda x: torch.cat([x, x]), shapes=[(3, 2)]))
    add(C(ag, "make_diagonal", lambda x: x.diag_embed(), lambda x: torch.diag_embed(x), shapes=[(3, 4)]))
    add(C(ag, "nan_to_num", lambda x: (x + np.array([0.0, np.nan, np.inf, -np.inf])).nan_to_num().sin(),
          lambda x: torch.nan_to_num(x + torch.tensor([0.0, math.nan, math.inf, -math.inf], dtype=x.dtype)).sin(),
          shapes=[(4,)]))
    add(C(ag, "logsumexp with b", lambda x, b: (x + b.exp().log()).logsumexp(), lambda x, b: torch.logsumexp(x + b, (0, 1)),
          shapes=[(3, 4), (3, 4)]))
    for name, ours, theirs in [("gammaln", lambda x: x.gammaln(), torch.lgamma),
                               ("digamma", lambda x: x.digamma(), torch.digamma),
                               ("psi", lambda x: x.polygamma(0), lambda x: torch.polygamma(0, x)),
                               ("polygamma 1", lambda x: x.polygamma(1), lambda x: torch.polygamma(1, x)),
                               ("gamma", lambda x: x.gammaln().exp(), lambda x: torch.lgamma(x).exp()),
                               ("rgamma", lambda x: (-x.gammaln()).exp(), lambda x: (-torch.lgamma(x)).exp()),
                               ("logit", lambda x: x.logit(), torch.logit),
                               ("erfinv", lambda x: x.erfinv(), torch.erfinv),
                               ("erfcinv", lambda x: (1.0 - x).erfinv(), lambda x: torch.erfinv(1.0 - x)),
                               ("j0", lambda x: x.bessel_j0(), torch.special.bessel_j0),
                               ("i0", lambda x: x.i0(), torch.special.i0),
                               ("i1", lambda x: x.i1(), torch.special.i1)]:
        add(C(ag, "scipy " + name, ours, theirs, shapes=[(4,)], low=0.3 if "inv" not in name and name != "logit" else 0.1,
              high=2.0 if "inv" not in name and name != "logit" else 0.9))
    add(C(ag, "scipy beta", lambda a, b: (a.gammaln() + b.gammaln() - (a + b).gammaln()).exp(),
          lambda a, b: (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)).exp(), shapes=[(4,), (4,)], low=1.1, high=4))
    add(C(ag, "scipy gammainc", lambda x: Tensor(np.ones_like(x.data)).gammainc(x),
          lambda x: torch.special.gammainc(torch.ones_like(x), x), shapes=[(4,)], low=1.3, high=4))
    N = torch.distributions.Normal
    for bshape in [((4,), (4,), (4,)), ((4, 3), (1, 3), (4, 1))]:
        sh = list(bshape)
        tag = " broadcast" if len(sh[0]) == 2 else ""
        add(C(ag, "norm pdf" + tag, lambda x, m, s: x.normal_logpdf(m, s.abs() + 1.1).exp(),
              lambda x, m, s: N(m, s.abs() + 1.1).log_prob(x).exp(), shapes=sh))
        add(C(ag, "norm logpdf" + tag, lambda x, m, s: x.normal_logpdf(m, s.abs() + 1.1),
              lambda x, m, s: N(m, s.abs() + 1.1).log_prob(x), shapes=sh))
        add(C(ag, "norm cdf" + tag, lambda x, m, s: ((x - m) / (s.abs() + 1.1)).normal_cdf(),
              lambda x, m, s: N(m, s.abs() + 1.1).cdf(x), shapes=sh))
        add(C(ag, "norm sf" + tag, lambda x, m, s: ((m - x) / (s.abs() + 1.1)).normal_cdf(),
              lambda x, m, s: 1 - N(m, s.abs() + 1.1).cdf(x), shapes=sh))
        add(C(ag, "norm logcdf" + tag, lambda x, m, s: ((x - m) / (s.abs() + 1.1)).normal_cdf().log(),
              lambda x, m, s: torch.special.log_ndtr((x - m) / (s.abs() + 1.1)), shapes=sh))
        add(C(ag, "norm ppf" + tag, lambda p, m, s: (p * 0.9 + 0.05).normal_ppf() * (s.abs() + 1.1) + m,
              lambda p, m, s: N(m, s.abs() + 1.1).icdf(p * 0.9 + 0.05), shapes=sh, low=0, high=1))
    T = torch.distributions.StudentT
    add(C(ag, "t logpdf", lambda x, df, m, s: x.student_t_logpdf(df * df + 2.1, m, s * s + 2.1),
          lambda x, df, m, s: T(df * df + 2.1, m, s * s + 2.1).log_prob(x), shapes=[(4,)] * 4))
    add(C(ag, "t pdf broadcast", lambda x, df, m, s: x.student_t_logpdf(df * df + 2.1, m, s * s + 2.1).exp(),
          lambda x, df, m, s: T(df * df + 2.1, m, s * s + 2.1).log_prob(x).exp(),
          shapes=[(4, 3), (1, 3), (4, 3), (4, 1)]))
    add(C(ag, "t cdf", lambda x, df: x.student_t_cdf(df * df + 2.1), lambda x, df: T(df * df + 2.1).cdf(x),
          shapes=[(4,), (4,)]))
    add(C(ag, "chi2 logpdf", lambda x: (x - 1.0) * 0.5 * 0 + (0.5 * 3 - 1) * x.log() - x * 0.5 - 1.5 * math.log(2)
          - math.lgamma(1.5), lambda x: torch.distributions.Chi2(torch.tensor(3.0, dtype=x.dtype)).log_prob(x), shapes=[(4,)], low=1.1, high=4))
    add(C(ag, "gamma logpdf", lambda x, a: (a - 1.0) * x.log() - x - a.gammaln(),
          lambda x, a: torch.distributions.Gamma(a, 1.0).log_prob(x), shapes=[(4,), (4,)], low=1.1, high=4))
    add(C(ag, "beta logpdf", lambda x, a, b: (a - 1.0) * x.log() + (b - 1.0) * (1.0 - x).log() - a.gammaln()
          - b.gammaln() + (a + b).gammaln(), lambda x, a, b: torch.distributions.Beta(a, b).log_prob(x),
          vals=[[0.2, 0.5, 0.7, 0.9], [1.5, 2.2, 3.1, 1.2], [2.5, 1.3, 1.8, 4.0]]))
    kk = np.array([0.0, 1.0, 3.0, 5.0])
    add(C(ag, "poisson logpmf", lambda lam: kk * lam.log() - lam - Tensor(kk + 1.0).gammaln(),
          lambda lam: torch.distributions.Poisson(lam).log_prob(torch.tensor(kk)), shapes=[(4,)], low=1.1, high=4))

    def mvn_ours(x, m, a):
        cov = a @ a.T + np.eye(4)
        chol = cov.cholesky()
        z = chol.solve_triangular((x - m).reshape(-1, 1))
        return -0.5 * (z * z).sum() - chol.diagonal().log().sum() - 2.0 * math.log(2 * math.pi)

    add(C(ag, "mvn logpdf", mvn_ours, lambda x, m, a: torch.distributions.MultivariateNormal(
        m, a @ a.T + torch.eye(4, dtype=a.dtype)).log_prob(x), shapes=[(4,), (4,), (4, 4)]))
    add(C(ag, "mvn entropy", lambda a: 0.5 * (a @ a.T + np.eye(4)).slogdet()[1] + 2.0 * (1 + math.log(2 * math.pi)),
          lambda a: torch.distributions.MultivariateNormal(torch.zeros(4, dtype=a.dtype),
                                                           a @ a.T + torch.eye(4, dtype=a.dtype)).entropy(), shapes=[(4, 4)]))

    # -- numpy interop (autograd calls numpy functions on its arrays) -------------------------------
    add(C(ag, "np.exp(t)", lambda x: np.exp(x), lambda x: torch.exp(x), shapes=[(3, 4)]))
    add(C(ag, "np.sum(t, axis)", lambda x: np.sum(x, axis=(1, 2)), lambda x: x.sum((1, 2)), shapes=[(10, 11, 7)]))
    add(C(ag, "np.mean keepdims", lambda x: np.mean(x, axis=0, keepdims=True), lambda x: x.mean(0, keepdim=True),
          shapes=[(10, 11)]))
    add(C(ag, "np.concatenate", lambda x: np.concatenate([x, x], axis=1), lambda x: torch.cat([x, x], 1), shapes=[(5, 6, 4)]))
    add(C(ag, "np.where", lambda x, y: np.where(x.data > 0, x, y), lambda x, y: torch.where(x > 0, x, y),
          shapes=[(4, 5), (4, 5)]))
    add(C(ag, "np.linalg.solve", lambda a, b: np.linalg.solve(a + 3 * eye5, b),
          lambda a, b: torch.linalg.solve(a + 3 * torch.eye(5, dtype=a.dtype), b), shapes=[(5, 5), (5, 2)]))
    add(C(ag, "ndarray * t", lambda x: np.full((3, 4), 2.0) * x, lambda x: 2.0 * x, shapes=[(3, 4)]))
    return cases
