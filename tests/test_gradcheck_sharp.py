"""The sharp default of check_gradients raises no false alarm on any op of the library, at first and second
order, over hypothesis-generated inputs inside each op's domain (away from kinks), on Tensors and Values;
and catches a derivative off by 1e-4 (relative) in a module's backward."""
import operator

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_trade import CustomOp, Tensor, Value, no_grad
from tinygrad_trade.testing import GradcheckError, check_gradients
from tinygrad_trade.testing.strategies import DISTINCT, DOMAINS, budget, op_domain, tensors, values

_OPERATORS = {"neg": operator.neg, "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "**": operator.pow, "@": operator.matmul}
_ARGS = {"clip": (-0.5, 0.7), "quantile": (0.3,), "polygamma": (1,), "topk": (2,)}


def _apply(name, args):
    if name in _OPERATORS:
        return _OPERATORS[name](*args)
    out = getattr(args[0], name)(*args[1:], *_ARGS.get(name, ()))
    return out[0] if name in ("topk", "std_mean") and isinstance(out, tuple) else out


def _check(name, xs):
    if name in DISTINCT and len(xs) == 2:
        assume(not np.isin(np.ravel(xs[0].data), np.ravel(xs[1].data)).any())
    if name in ("huber_loss", "smooth_l1_loss"):
        # differences of grid values are multiples of 0.01, so they can sit exactly on |d| = delta = 1, where
        # the first derivative is continuous but the second jumps (a kink of the second order)
        assume(np.all(np.abs(np.abs(np.subtract(xs[0].data, xs[1].data)) - 1.0) > 3e-3))
    with no_grad():
        out = _apply(name, xs)
        assume(all(np.isfinite(o.data).all() for o in (out if isinstance(out, tuple) else (out,))))
    check_gradients(lambda *ts: _apply(name, ts), *xs, order=2)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_op_passes_the_sharp_check_to_second_order(name):
    on_tensor = name in _OPERATORS or hasattr(Tensor, name)
    on_value = name != "@" and (name in _OPERATORS or hasattr(Value, name))
    if not (on_tensor or on_value):
        pytest.skip(f"{name}: neither a Tensor nor a Value op")

    @settings(max_examples=budget(6), database=None, deadline=None)
    @given(data=st.data())
    def run(data):
        shape = (2, 2) if name == "@" else (3,)
        if on_tensor:
            _check(name, [data.draw(tensors(shape=shape, elements=op_domain(name, k), unique=name in DISTINCT))
                          for k in range(len(DOMAINS[name]))])
        if on_value:
            _check(name, [data.draw(values(domain=op_domain(name, k))) for k in range(len(DOMAINS[name]))])
    run()


class OffLinear(CustomOp):
    """y = x W with a backward for W that is off by ``off`` (relative)."""

    def __init__(self, off):
        self.off = off

    def forward(self, x, w):
        self.x, self.w = x, w
        return x @ w

    def backward(self, g):
        return g @ self.w.T, (1 + self.off) * (self.x.T @ g)


@pytest.mark.parametrize("off", [1e-4, 3e-4])
def test_a_weight_gradient_off_by_1e_4_is_caught_and_torch_tolerances_miss_it(off):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(5, 3)), Tensor(rng.normal(size=(3, 2)), requires_grad=True, label="W")
    f = lambda w: OffLinear.apply(Tensor(x), w, off=off).tanh()   # noqa: E731
    with pytest.raises(GradcheckError, match="W: 6 of 6 elements disagree"):
        check_gradients(f, w)
    assert check_gradients(f, w, tolerances="torch")
    assert check_gradients(lambda w: OffLinear.apply(Tensor(x), w, off=0.0).tanh(), w)
