"""Shared by the tests/test_ops_*.py files: check an op's gradient and second derivative on inputs
drawn by hypothesis, through a fixed random weighting of its output (so every output element
counts, with a different weight)."""
from __future__ import annotations

import numpy as np

from tinygrad_trade import Tensor
from tinygrad_trade.gradcheck import gradcheck, gradgradcheck


def weighted(f, seed=0):
    """x -> sum(w * f(x)) with w fixed by the output's shape (uniform in [0.5, 1.5])."""
    cache = {}

    def loss(*xs):
        y = f(*xs)
        ys = y if isinstance(y, (tuple, list)) else (y,)
        total = None
        for k, yk in enumerate(ys):
            if not isinstance(yk, Tensor):
                continue
            if (k, yk.shape) not in cache:
                cache[(k, yk.shape)] = np.random.default_rng(seed + k).uniform(0.5, 1.5, yk.shape)
            term = (yk * cache[(k, yk.shape)]).sum()
            total = term if total is None else total + term
        return total
    return loss


def check(f, *arrays, second=True, atol=1e-5, rtol=1e-3, eps=1e-6):
    """gradcheck (and gradgradcheck when ``second``) of f at float64 copies of ``arrays``."""
    xs = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    loss = weighted(f)
    assert gradcheck(loss, xs, eps=eps, atol=atol, rtol=rtol)
    if second:
        assert gradgradcheck(loss, xs, eps=eps, atol=atol, rtol=rtol)
