"""The same expression on a Tensor and elementwise on Values: identical values and gradients.

Both engines share the backward machinery but have their own forward kernels and rules, so this
checks them against each other to 1e-12, including broadcasting of a row/column/scalar operand
(the Tensor's gradient for it is summed over the broadcast; each Value's gradient accumulates
over every element that used it) and a final reduction.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_trade.testing.strategies import arrays, budget, floats, reals
from tinygrad_trade import Tensor, Value, grad
from tinygrad_trade.graph import toposort

TOL = dict(rtol=1e-12, atol=1e-12)

# each works on (Value, Value, Value) and on (Tensor (m, n), Tensor row/col/scalar, 0-d Tensor)
EXPRESSIONS = {
    "affine_tanh": lambda x, r, s: (x * r + s).tanh(),
    "sigmoid_scaled": lambda x, r, s: (x - r).sigmoid() * s,
    "log_div_exp": lambda x, r, s: (x * x + 1.0).log() / (r.exp() + 1.0),
    "pow_value_value": lambda x, r, s: (x.softplus() + 0.5) ** s.tanh() - r,
    "kinks": lambda x, r, s: (x.relu() + r.abs()) * s - (x * r).abs(),
    "numbers_both_sides": lambda x, r, s: 2.0 ** x - 3.0 / (r * r + 1.0) + (x.softplus() + 0.1).sqrt() * (1.0 - s),
    "polynomial": lambda x, r, s: -x ** 3 + 2 * x ** 2 * r - x / (s * s + 0.5) + 0.5 * x,
    "shared_subexpression": lambda x, r, s: ((x * r).tanh() + 1.0) * (x * r).tanh() - (x * r).sigmoid() ** 2,
}
REDUCTIONS = ["sum", "mean", "weighted"]


def _setup(data):
    m, n = data.draw(st.integers(1, 4), label="m"), data.draw(st.integers(1, 4), label="n")
    rkind = data.draw(st.sampled_from(["row", "col", "scalar", "full"]), label="r")
    rshape = {"row": (n,), "col": (m, 1), "scalar": (), "full": (m, n)}[rkind]
    X = data.draw(arrays((m, n), reals), label="X")
    R = data.draw(arrays(rshape, reals), label="R")
    S = data.draw(floats(-2.0, 2.0), label="s")
    return m, n, X, R, S


def _values(X, R, S):
    Xv = [[Value(v) for v in row] for row in X]
    Rv = np.empty(R.shape, dtype=object)
    for idx in np.ndindex(R.shape):
        Rv[idx] = Value(R[idx])
    return Xv, Rv, Value(S)


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@settings(max_examples=budget(60))
@given(data=st.data())
def test_tensor_and_values_agree(name, data):
    expr = EXPRESSIONS[name]
    m, n, X, R, S = _setup(data)
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
    W = data.draw(arrays((m, n), floats(-2.0, 2.0)), label="W")

    # Tensor
    xt, rt, st_ = Tensor(X, requires_grad=True), Tensor(R, requires_grad=True), Tensor(S, requires_grad=True)
    yt = expr(xt, rt, st_)
    out_t = {"sum": lambda: yt.sum(), "mean": lambda: yt.mean(), "weighted": lambda: (yt * W).sum()}[reduction]()
    out_t.backward()

    # Values, element by element, the r operand broadcast by reference (so its gradient accumulates)
    Xv, Rv, sv = _values(X, R, S)
    Rb = np.broadcast_to(Rv, (m, n))
    ys = [[expr(Xv[i][j], Rb[i, j], sv) for j in range(n)] for i in range(m)]
    terms = [ys[i][j] * (W[i, j] if reduction == "weighted" else 1.0) for i in range(m) for j in range(n)]
    out_v = sum(terms[1:], terms[0])
    if reduction == "mean":
        out_v = out_v * (1.0 / (m * n))
    out_v.backward()

    np.testing.assert_allclose(yt.data, [[y.data for y in row] for row in ys], **TOL)
    assert out_t.item() == pytest.approx(out_v.data, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(xt.grad, [[v.grad for v in row] for row in Xv], **TOL)
    np.testing.assert_allclose(rt.grad, np.vectorize(lambda v: v.grad, otypes=[float])(Rv).reshape(R.shape), **TOL)
    if st_.grad is None:  # the expression does not use s: the Tensor is never reached
        assert sv.grad == 0.0 and not any(node is sv for node in toposort(out_v))
    else:
        assert st_.grad.shape == () and float(st_.grad) == pytest.approx(sv.grad, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@settings(max_examples=budget(20))
@given(data=st.data())
def test_second_derivatives_agree(name, data):
    """d2/dx2 of each element through grad(create_graph=True) on both engines."""
    expr = EXPRESSIONS[name]
    m, n, X, R, S = _setup(data)
    xt = Tensor(X, requires_grad=True)
    rt, st_ = Tensor(R), Tensor(S)
    g = grad(expr(xt, rt, st_).sum(), xt, create_graph=True)
    h = grad(g.sum(), xt)  # elementwise expression: the Hessian is diagonal, this is its diagonal

    Xv, Rv, sv = _values(X, R, S)
    Rb = np.broadcast_to(Rv, (m, n))
    for i in range(m):
        for j in range(n):
            x = Xv[i][j]
            gv = grad(expr(x, Rb[i, j], sv), x, create_graph=True)
            assert gv.data == pytest.approx(g.data[i, j], rel=1e-12, abs=1e-12)
            assert grad(gv, x) == pytest.approx(h[i, j], rel=1e-11, abs=1e-11)


@settings(max_examples=budget(50))
@given(data=st.data())
def test_matmul_against_value_dot_products(data):
    """x @ W with Values as explicit sums of products: same outputs and gradients."""
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    X, Wm = data.draw(arrays((m, k))), data.draw(arrays((k, n)))
    xt, wt = Tensor(X, requires_grad=True), Tensor(Wm, requires_grad=True)
    (xt @ wt).tanh().sum().backward()
    Xv = [[Value(v) for v in row] for row in X]
    Wv = [[Value(v) for v in row] for row in Wm]
    total = Value(0.0)
    for i in range(m):
        for j in range(n):
            dot = Xv[i][0] * Wv[0][j]
            for q in range(1, k):
                dot = dot + Xv[i][q] * Wv[q][j]
            total = total + dot.tanh()
    total.backward()
    np.testing.assert_allclose(xt.grad, [[v.grad for v in row] for row in Xv], **TOL)
    np.testing.assert_allclose(wt.grad, [[v.grad for v in row] for row in Wv], **TOL)
