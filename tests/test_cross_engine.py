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
from tinygrad_trade import functions as fn
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


# --- elementwise functions: Value (tinygrad_trade.functions) against Tensor (tinygrad_trade.ops) ------
_UNIT, _POS = (-0.9, 0.9), (0.1, 4.0)
FUNCTIONS = {  # name: (call on either engine, domain)
    **{n: ((lambda n: lambda v: getattr(v, n)())(n), d) for n, d in [
        ("exp", (-3, 3)), ("expm1", (-3, 3)), ("log", _POS), ("log1p", (-0.9, 4)), ("log2", _POS),
        ("log10", _POS), ("sqrt", _POS), ("sin", (-3, 3)), ("cos", (-3, 3)), ("tan", (-1.3, 1.3)),
        ("arcsin", _UNIT), ("arccos", _UNIT), ("arctan", (-3, 3)), ("sinh", (-3, 3)), ("cosh", (-3, 3)),
        ("tanh", (-3, 3)), ("arcsinh", (-3, 3)), ("arccosh", (1.1, 5)), ("arctanh", _UNIT), ("erf", (-3, 3)),
        ("erfc", (-3, 3)), ("normal_cdf", (-3, 3)), ("normal_logpdf", (-3, 3)), ("sigmoid", (-6, 6)),
        ("logsigmoid", (-6, 6)), ("softplus", (-6, 6)), ("silu", (-3, 3)), ("selu", (-3, 3)),
        ("softsign", (-3, 3)), ("mish", (-3, 3)), ("gelu", (-3, 3)), ("relu", (-3, 3)), ("abs", (-3, 3)),
        ("sign", (-3, 3)), ("floor", (-3, 3)), ("ceil", (-3, 3)), ("round", (-3, 3)), ("trunc", (-3, 3)),
        ("tanhshrink", (-3, 3)), ("hardswish", (-4, 4)), ("relu6", (-1, 7))]},
    "gelu_tanh": (lambda v: v.gelu(approximate="tanh"), (-3, 3)),
    "leaky_relu": (lambda v: v.leaky_relu(0.2), (-3, 3)),
    "elu": (lambda v: v.elu(0.7), (-3, 3)),
    "celu": (lambda v: v.celu(1.5), (-3, 3)),
    "hardtanh": (lambda v: v.hardtanh(-0.5, 2.0), (-3, 3)),
    "softplus_beta": (lambda v: v.softplus(beta=2.5), (-3, 3)),
    "normal_logpdf_scaled": (lambda v: v.normal_logpdf(0.3, 1.7), (-3, 3)),
}
BINARY_FUNCTIONS = ["logaddexp", "hypot", "arctan2", "mod", "fmod"]


def _grid(lo, hi, n=7):
    """Points spread over (lo, hi), none at a kink of the tested functions (0, integers, halves, bounds)."""
    return np.linspace(lo, hi, n + 2)[1:-1] + 0.0123


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_agree_between_engines(name):
    f, (lo, hi) = FUNCTIONS[name]
    xs = _grid(lo, hi)
    t = Tensor(xs, requires_grad=True)
    gt = grad(f(t).sum(), t, create_graph=True)
    ht = grad(gt.sum(), t)
    for i, x in enumerate(xs):
        v = Value(x)
        y = f(v)
        assert y.data == pytest.approx(f(t).data[i], rel=1e-13, abs=1e-15)
        gv = grad(y, v, create_graph=True)
        assert gv.data == pytest.approx(gt.data[i], rel=1e-12, abs=1e-14)
        assert grad(gv, v) == pytest.approx(ht[i], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", BINARY_FUNCTIONS)
def test_binary_functions_agree_between_engines(name):
    a = np.array([-2.7, -0.6, 0.45, 1.9, 3.3])
    b = np.array([1.3, -0.7, 2.2, -1.45, 0.8])
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = getattr(ta, name)(tb)
    gta, gtb = grad(out.sum(), [ta, tb])
    for i in range(len(a)):
        va, vb = Value(a[i]), Value(b[i])
        y = getattr(va, name)(vb)
        assert y.data == pytest.approx(out.data[i], rel=1e-13, abs=1e-15)
        assert grad(y, [va, vb]) == pytest.approx([gta[i], gtb[i]], rel=1e-12, abs=1e-14)


COMPOSED_ON_TENSOR = {"silu", "gelu", "gelu_tanh", "mish"}  # compositions there (faster on arrays), no rule of their own


@pytest.mark.parametrize("name", sorted(set(fn.UNARY) - COMPOSED_ON_TENSOR))
def test_the_tensor_engine_applies_the_value_engines_rule(name):
    """Each derivative is written once: a function both engines have records the rule of
    tinygrad_trade.functions on a Tensor too, and its forward is that rule's numpy forward."""
    rule = fn.UNARY[name]
    f, (lo, hi) = FUNCTIONS[name]
    x = Tensor(_grid(lo, hi), requires_grad=True)
    y = f(x)
    assert y._op is rule
    np.testing.assert_array_equal(y.data, rule.array(x.data))


@pytest.mark.parametrize("call, rule", [
    (lambda t: t.leaky_relu(0.2), fn.leaky_relu(0.2)), (lambda t: t.elu(0.7), fn.elu(0.7)),
    (lambda t: t.hardtanh(-0.5, 2.0), fn.hardtanh(-0.5, 2.0)), (lambda t: t.softplus(beta=2.5), fn.softplus_beta(2.5)),
    *[((lambda n: lambda t: getattr(t, n)(t * 0.5 + 1.7))(n), fn.BINARY[n]) for n in sorted(fn.BINARY)]])
def test_parametrised_and_binary_rules_are_shared_too(call, rule):
    x = Tensor(_grid(0.2, 3.0), requires_grad=True)
    assert call(x)._op is rule
