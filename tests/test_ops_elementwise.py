"""Elementwise ops (ops/elementwise.py) and activations (ops/activations.py): forward values
against numpy/scipy, gradients and second derivatives by gradcheck over hypothesis shapes and
domains, broadcasting of the binary ones, domain errors, NaN propagation, flat ops, comparisons,
0 ** 0, complex input, and numpy interop."""
import math

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor, grad
from tinygrad_trade.gradcheck import gradcheck, gradgradcheck
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, broadcast_pairs, budget, floats, grid

small_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)

# name: (Tensor function, numpy/scipy reference, domain of the input, smooth?)
UNARY = {
    "sin": (lambda x: x.sin(), np.sin, floats(-3, 3), True),
    "cos": (lambda x: x.cos(), np.cos, floats(-3, 3), True),
    "tan": (lambda x: x.tan(), np.tan, floats(-1.2, 1.2), True),
    "arcsin": (lambda x: x.arcsin(), np.arcsin, floats(-0.9, 0.9), True),
    "arccos": (lambda x: x.acos(), np.arccos, floats(-0.9, 0.9), True),
    "arctan": (lambda x: x.arctan(), np.arctan, floats(-3, 3), True),
    "sinh": (lambda x: x.sinh(), np.sinh, floats(-3, 3), True),
    "cosh": (lambda x: x.cosh(), np.cosh, floats(-3, 3), True),
    "arcsinh": (lambda x: x.asinh(), np.arcsinh, floats(-3, 3), True),
    "arccosh": (lambda x: x.arccosh(), np.arccosh, floats(1.1, 4), True),
    "arctanh": (lambda x: x.atanh(), np.arctanh, floats(-0.9, 0.9), True),
    "log1p": (lambda x: x.log1p(), np.log1p, floats(-0.9, 3), True),
    "expm1": (lambda x: x.expm1(), np.expm1, floats(-3, 3), True),
    "log2": (lambda x: x.log2(), np.log2, floats(0.1, 4), True),
    "log10": (lambda x: x.log10(), np.log10, floats(0.1, 4), True),
    "erf": (lambda x: x.erf(), sp.erf, floats(-3, 3), True),
    "erfc": (lambda x: x.erfc(), sp.erfc, floats(-3, 3), True),
    "normal_cdf": (lambda x: x.normal_cdf(), sp.ndtr, floats(-6, 6), True),
    "normal_logpdf": (lambda x: x.normal_logpdf(), lambda x: -0.5 * x * x - 0.5 * math.log(2 * math.pi),
                      floats(-4, 4), True),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda x: np.where(x > 0, x, 0.1 * x), grid, False),
    "elu": (lambda x: x.elu(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), grid, False),
    "selu": (lambda x: x.selu(), lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
             grid, False),
    "celu": (lambda x: x.celu(2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)), grid, False),
    "silu": (lambda x: x.silu(), lambda x: x * sp.expit(x), floats(-5, 5), True),
    "gelu": (lambda x: x.gelu(), lambda x: x * sp.ndtr(x), floats(-4, 4), True),
    "gelu_tanh": (lambda x: x.gelu("tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
                  floats(-4, 4), True),
    "mish": (lambda x: x.mish(), lambda x: x * np.tanh(np.logaddexp(0, x)), floats(-5, 5), True),
    "softsign": (lambda x: x.softsign(), lambda x: x / (1 + np.abs(x)), grid, False),
    "logsigmoid": (lambda x: x.logsigmoid(), lambda x: -np.logaddexp(0, -x), floats(-30, 30), True),
    "softplus_beta": (lambda x: x.softplus(beta=2.5), lambda x: np.logaddexp(0, 2.5 * x) / 2.5, floats(-8, 8), True),
    "hardtanh": (lambda x: x.hardtanh(-0.5, 0.8), lambda x: np.clip(x, -0.5, 0.8), grid, False),
    "relu6": (lambda x: (x * 3).relu6(), lambda x: np.clip(3 * x, 0, 6), grid, False),
    "hardsigmoid": (lambda x: x.hardsigmoid(), lambda x: np.clip(x / 6 + 0.5, 0, 1), grid, False),
    "hardswish": (lambda x: x.hardswish(), lambda x: x * np.clip(x / 6 + 0.5, 0, 1), grid, False),
    "tanhshrink": (lambda x: x.tanhshrink(), lambda x: x - np.tanh(x), floats(-3, 3), True),
    "quick_gelu": (lambda x: x.quick_gelu(), lambda x: x * sp.expit(1.702 * x), floats(-4, 4), True),
    "exp2": (lambda x: x.exp2(), np.exp2, floats(-3, 3), True),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), floats(0.2, 4), True),
    "deg2rad": (lambda x: x.deg2rad(), np.deg2rad, floats(-3, 3), True),
    "rad2deg": (lambda x: x.rad2deg(), np.rad2deg, floats(-3, 3), True),
    "logit": (lambda x: x.logit(), sp.logit, floats(0.05, 0.95), True),
    "gammaln": (lambda x: x.gammaln(), sp.gammaln, floats(0.1, 30), True),
    "digamma": (lambda x: x.digamma(), sp.digamma, floats(0.1, 30), True),
    "trigamma": (lambda x: x.polygamma(1), lambda x: sp.polygamma(1, x), floats(0.1, 30), True),
    "normal_ppf": (lambda x: x.normal_ppf(), sp.ndtri, floats(0.01, 0.99), True),
    "erfinv": (lambda x: x.erfinv(), sp.erfinv, floats(-0.98, 0.98), True),
    "nan_to_num": (lambda x: x.nan_to_num(), np.nan_to_num, floats(-3, 3), True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=budget(8))
@given(data=st.data())
def test_unary_forward_gradient_and_second_derivative(name, data):
    fn, ref, dom, smooth = UNARY[name]
    shape = data.draw(small_shapes, label="shape")
    x = data.draw(arrays(shape, dom), label="x")
    np.testing.assert_allclose(fn(Tensor(x)).data, ref(x), rtol=1e-12, atol=1e-14)
    check_gradients(fn, Tensor(x), order=2 if smooth else 1)


def test_kink_subgradients_are_the_documented_ones():
    x = Tensor([0.0, 0.0, 0.0, 0.0, -0.5, 0.8, 0.0], requires_grad=True)
    parts = [x[0].leaky_relu(0.2), x[1].elu(0.7), x[2].softsign(), x[3].hardtanh(-0.5, 0.8),
             x[4].hardtanh(-0.5, 0.8), x[5].hardtanh(-0.5, 0.8), x[6].relu6()]
    g = grad(Tensor.stack(parts).sum(), x)
    np.testing.assert_array_equal(g, [0.2, 0.7, 1.0, 1.0, 0.0, 0.0, 0.0])


def test_tails_are_accurate_and_stable():
    x = Tensor([-40.0, -10.0, 0.0, 10.0, 40.0])
    np.testing.assert_allclose(x.normal_cdf().data, sp.ndtr(x.data), rtol=1e-13, atol=0)
    np.testing.assert_allclose(x.erfc().data, sp.erfc(x.data), rtol=1e-14, atol=0)
    np.testing.assert_allclose(Tensor([-800.0, 800.0]).logsigmoid().data, [-800.0, 0.0])
    a, b = Tensor([1000.0, -1000.0]), Tensor([1000.0, -1001.0])
    np.testing.assert_allclose(a.logaddexp(b).data, np.logaddexp(a.data, b.data), rtol=1e-15)


BINARY = {  # name: (Tensor function, reference, left domain, right domain, smooth?)
    "logaddexp": (lambda a, b: a.logaddexp(b), np.logaddexp, floats(-5, 5), floats(-5, 5), True),
    "hypot": (lambda a, b: a.hypot(b), np.hypot, floats(0.2, 3), floats(-3, -0.2), True),
    "arctan2": (lambda a, b: a.arctan2(b), np.arctan2, floats(0.2, 3), floats(-3, 3), True),
    "mod": (lambda a, b: a % b, np.mod, grid, floats(0.7, 0.9), False),
    "fmod": (lambda a, b: a.fmod(b), np.fmod, grid, floats(0.7, 0.9), False),
    "logaddexp2": (lambda a, b: a.logaddexp2(b), np.logaddexp2, floats(-5, 5), floats(-5, 5), True),
    "copysign": (lambda a, b: a.copysign(b), np.copysign, floats(0.1, 3) | floats(-3, -0.1),
                 floats(0.1, 3) | floats(-3, -0.1), False),
    "lerp": (lambda a, b: a.lerp(b, 0.3), lambda a, b: a + 0.3 * (b - a), floats(-3, 3), floats(-3, 3), True),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=budget(8))
@given(data=st.data())
def test_binary_broadcasting_gradients(name, data):
    fn, ref, da, db, smooth = BINARY[name]
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
                       label="shapes").input_shapes
    a, b = data.draw(arrays(sa, da), label="a"), data.draw(arrays(sb, db), label="b")
    np.testing.assert_allclose(fn(Tensor(a), Tensor(b)).data, ref(a, b), rtol=1e-13, atol=1e-14)
    check_gradients(fn, Tensor(a), Tensor(b), order=2 if smooth else 1)


def test_mod_and_fmod_have_torch_gradients_and_floor_ops_have_none():
    a, b = Tensor([5.5, -5.5], requires_grad=True), Tensor([2.0, 2.0], requires_grad=True)
    ga, gb = grad((a % b).sum(), [a, b])
    np.testing.assert_array_equal(ga, [1, 1])
    np.testing.assert_array_equal(gb, [-2, 3])  # -floor(a / b)
    ga, gb = grad(a.fmod(b).sum(), [a, b])
    np.testing.assert_array_equal(gb, [-2, 2])  # -trunc(a / b)
    np.testing.assert_array_equal((a // b).data, [2, -3])
    for f in (lambda t: t.sign(), lambda t: t.floor(), lambda t: t.ceil(), lambda t: t.round(),
              lambda t: t.trunc(), lambda t: t // 2.0, lambda t: 7.0 // t):
        g = grad(f(a).sum(), a)
        np.testing.assert_array_equal(g, [0, 0])
    np.testing.assert_array_equal(Tensor([0.5, 1.5, 2.5, -0.5]).round().data, [0, 2, 2, -0])  # half to even
    with pytest.raises(ZeroDivisionError, match="mod"):
        a % 0.0


def test_hypot_at_origin_has_zero_gradient():
    a, b = Tensor([0.0, 3.0], requires_grad=True), Tensor([0.0, 4.0], requires_grad=True)
    ga, gb = grad(a.hypot(b).sum(), [a, b])
    np.testing.assert_allclose(ga, [0.0, 0.6])
    np.testing.assert_allclose(gb, [0.0, 0.8])


@pytest.mark.parametrize("call, bad, match", [
    (lambda t: t.arcsin(), 1.5, "arcsin: input must be in"),
    (lambda t: t.arccos(), -1.0, "arccos"),           # the end point with a gradient: infinite derivative
    (lambda t: t.arctanh(), 1.0, "arctanh"),
    (lambda t: t.arccosh(), 0.5, "arccosh"),
    (lambda t: t.log1p(), -1.0, "log1p: input must be > -1"),
    (lambda t: t.log2(), 0.0, "log2: input must be positive"),
    (lambda t: t.log10(), -2.0, "log10"),
])
def test_domain_errors_name_the_op_and_value(call, bad, match):
    with pytest.raises(ValueError, match=match):
        call(Tensor([0.5, bad], requires_grad=True))


def test_nan_propagates_instead_of_raising():
    x = Tensor([np.nan, 0.5])
    for f in (lambda t: t.arcsin(), lambda t: t.log1p(), lambda t: t.log(), lambda t: t.sqrt(), lambda t: t.erf(), lambda t: t.normal_cdf(),
              lambda t: t.log2(), lambda t: t.softmax(), lambda t: t.cumsum(), lambda t: t.logaddexp(1.0)):
        y = f(x).data
        assert np.isnan(y[0]) or np.isnan(y).all()


def test_normal_logpdf_with_mean_and_std_tensors():
    x, m, s = (Tensor(v, requires_grad=True) for v in ([0.3, -1.2], [0.1], [0.5, 2.0]))
    from scipy.stats import norm
    np.testing.assert_allclose(x.normal_logpdf(m, s).data, norm.logpdf(x.data, m.data, s.data), rtol=1e-13)
    check_gradients(lambda a, b, c: a.normal_logpdf(b, c), Tensor(x.data), Tensor(m.data), Tensor(s.data), order=2)
    with pytest.raises(ValueError, match="std must be positive"):
        x.normal_logpdf(0.0, Tensor([1.0, 0.0]))


def test_student_t_logpdf_matches_scipy_with_tensor_parameters():
    from scipy.stats import t as student_t
    x, df, scale = np.array([-1.2, 0.3, 2.5]), np.array([2.5, 4.0, 9.0]), np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(Tensor(x).student_t_logpdf(df, 0.2, scale).data,
                               student_t.logpdf(x, df, 0.2, scale), rtol=1e-13)
    check_gradients(lambda a, b, c: a.student_t_logpdf(b, 0.2, c), Tensor(x), Tensor(df), Tensor(scale), order=2)
    with pytest.raises(ValueError, match="df must be positive"):
        Tensor(x).student_t_logpdf(0.0)
    with pytest.raises(ValueError, match="polygamma: input must be positive"):
        Tensor([0.0]).digamma()


def test_quantile_function_tails_and_special_values():
    p = np.array([1e-300, 1e-20, 1e-5, 0.5, 1 - 1e-12])
    np.testing.assert_allclose(Tensor(p).normal_ppf().data, sp.ndtri(p), rtol=1e-14)
    np.testing.assert_allclose(Tensor([-0.9999999, 0.99999]).erfinv().data, sp.erfinv([-0.9999999, 0.99999]), rtol=1e-13)
    with pytest.raises(ValueError, match="normal_ppf: input must be a probability"):
        Tensor([0.0, 0.5]).normal_ppf()
    x = Tensor([np.nan, np.inf, -1.0], requires_grad=True)
    np.testing.assert_array_equal(grad(x.nan_to_num().sum(), x), [0.0, 0.0, 1.0])
    c = Tensor([0.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(grad(c.copysign(-1.0).sum(), c), [0.0, -1.0])


def test_predicates_and_reductions_to_booleans():
    t = Tensor([0.0, np.inf, -np.inf, np.nan, 1.5])
    np.testing.assert_array_equal(t.isinf(), np.isinf(t.data))
    np.testing.assert_array_equal(t.isclose(t.data + 1e-9, equal_nan=True), [True, True, True, True, True])
    np.testing.assert_array_equal(t.logical_not(), t.data == 0)
    assert t.any() and not t.all() and Tensor([[1.0, 2.0], [0.0, 3.0]]).all(axis=1).tolist() == [True, False]


# --------------------------------------------------------------------------------------------
# comparisons, hashing, 0 ** 0, construction
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(15))
@given(pair=broadcast_pairs, data=st.data())
def test_comparisons_are_elementwise_boolean_arrays(pair, data):
    sa, sb = pair.input_shapes
    a = data.draw(arrays(sa, st.integers(-2, 2).map(float)), label="a")
    b = data.draw(arrays(sb, st.integers(-2, 2).map(float)), label="b")
    ta = Tensor(a, requires_grad=True)
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        for other in (b, Tensor(b)):
            out = getattr(ta, op)(other)
            assert isinstance(out, (np.ndarray, np.bool_)) and out.dtype == bool  # 0-d: numpy's bool
            np.testing.assert_array_equal(out, getattr(a, op)(b))


def test_masking_by_a_comparison_really_masks_and_hash_is_identity():
    t = Tensor([0.0, 2.0, -3.0], requires_grad=True)
    np.testing.assert_array_equal((t * (t != 0)).data, [0.0, 2.0, -3.0])
    np.testing.assert_array_equal((t * (t > 0)).data, [0.0, 2.0, 0.0])
    u = Tensor([0.0, 2.0, -3.0])
    assert len({t, u}) == 2 and {t: 1}[t] == 1 and hash(t) == id(t) // 16 or hash(t) != hash(u)
    assert isinstance(t == u, np.ndarray)
    with pytest.raises(ValueError, match="=="):
        t == Tensor([1.0, 2.0])


def test_zero_to_the_zero_is_one_with_torch_gradients():
    a, b = Tensor([0.0, 0.0, 2.0], requires_grad=True), Tensor([0.0, 2.0, 0.0], requires_grad=True)
    y = a ** b
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 1.0])
    ga, gb = grad(y.sum(), [a, b])
    np.testing.assert_array_equal(ga, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(gb, [0.0, 0.0, math.log(2.0)])
    x = Tensor([0.0, 3.0], requires_grad=True)
    assert grad((x ** 0).sum(), x).tolist() == [0.0, 0.0]
    assert gradgradcheck(lambda p, q: (p ** q).sum(), [Tensor([0.5, 1.5], requires_grad=True),
                                                        Tensor([2.0, 1.3], requires_grad=True)])
    z, two = Tensor([0.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    (gz,) = grad((z ** two).sum(), [z], create_graph=True)
    assert grad(gz.sum(), z).tolist() == [2.0]  # d2/dz2 z**2 at 0, through the zero-base branch
    with pytest.raises(ValueError, match="0 \\*\\* negative"):
        Tensor([0.0]) ** Tensor([-1.0])
    with pytest.raises(ValueError, match="non-negative base"):
        Tensor([-1.0]) ** Tensor([2.0])


@pytest.mark.parametrize("bad, match", [(1 + 2j, "complex"), ([Tensor(1.0)], "Tensor.stack"), ([1 + 0j], "complex"),
                                        (np.array([object()]), "object"), (["a", 1], "numeric"),
                                        ([[1.0, 2.0], [3.0]], "numeric")])
def test_complex_and_object_input_is_a_clear_error(bad, match):
    with pytest.raises(TypeError, match=match):
        Tensor(bad)


# --------------------------------------------------------------------------------------------
# numpy interop
# --------------------------------------------------------------------------------------------
def test_numpy_ufuncs_and_functions_record_the_graph():
    x = Tensor([0.5, 1.0, 2.0], requires_grad=True)
    ys = [np.exp(x), np.log(x), np.sin(x), np.sqrt(x), np.ones(3) * x, x + np.ones(3), np.float64(2.0) * x,
          np.maximum(x, 1.0), np.sum(x, axis=0), np.mean(x), np.std(x, ddof=1), np.cumsum(x),
          np.add.accumulate(x), np.add.reduce(x), np.linalg.norm(x), np.dot(x, x), np.concatenate([x, x]),
          np.where(x.data > 1, x, 0.0), np.logaddexp(x, 0.0), np.square(x), np.abs(x), -np.negative(x)]
    refs = [np.exp(x.data), np.log(x.data), np.sin(x.data), np.sqrt(x.data), x.data, x.data + 1,
            2 * x.data, np.maximum(x.data, 1), x.data.sum(), x.data.mean(), x.data.std(ddof=1),
            np.cumsum(x.data), np.cumsum(x.data), x.data.sum(), np.linalg.norm(x.data), x.data @ x.data,
            np.r_[x.data, x.data], np.where(x.data > 1, x.data, 0), np.logaddexp(x.data, 0), x.data ** 2,
            x.data, x.data]
    for y, r in zip(ys, refs):
        assert isinstance(y, Tensor) and y.requires_grad
        np.testing.assert_allclose(y.data, r, rtol=1e-15)
    assert gradcheck(lambda t: np.sum(np.exp(t) * np.ones(3)), [x])
    assert isinstance(np.equal(x, x.data), np.ndarray) and np.isnan(x).dtype == bool


def test_unsupported_numpy_calls_raise_one_clear_error_naming_the_method():
    x = Tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match="numpy ufunc 'cbrt' is not supported on a Tensor"):
        np.cbrt(x)
    with pytest.raises(TypeError, match=r"or t.numpy\(\) to leave the graph"):
        np.convolve(x, x)  # (np.ptp, once here, is supported now: max - min)
    with pytest.raises(TypeError, match="Tensor.quantile"):
        np.percentile(x, 50)
    with pytest.raises(TypeError, match="out="):
        np.exp(x, out=np.empty(2))


FLOAT32_OPS = ["sin", "arctanh", "log1p", "exp2", "erf", "erfinv", "normal_cdf", "normal_ppf", "normal_logpdf", "gammaln",
               "digamma", "logit", "nan_to_num", "floor", "rsqrt", "leaky_relu", "elu", "gelu", "mish", "logsigmoid",
               "hardtanh", "softmax", "log_softmax", "logsumexp", "std", "prod", "norm", "cumsum", "cumprod", "cummax",
               "logcumsumexp", "diff", "inv", "det", "svd", "eigh", "tril", "sort", "median", "pinv", "cholesky"]


@pytest.mark.parametrize("name", FLOAT32_OPS)
def test_float32_in_float32_out_values_and_gradients(name):
    data = np.array([[2.0, 0.4], [0.4, 1.0]]) if name == "cholesky" else np.array([[0.2, 0.4], [0.6, 0.3]])
    x = Tensor(data, requires_grad=True, dtype=np.float32)
    y = getattr(x, name)()
    y = y[1] if isinstance(y, tuple) else y
    assert y.dtype == np.float32
    assert grad((y * 1.0).sum(), x).dtype == np.float32


@settings(max_examples=budget(15))
@given(pair=broadcast_pairs, data=st.data())
def test_fmax_fmin_ignore_nan_with_torchs_gradient(pair, data):
    sa, sb = pair.input_shapes
    a = data.draw(arrays(sa, floats(-2, 2)), label="a")
    b = data.draw(arrays(sb, floats(-2, 2)), label="b")
    np.testing.assert_array_equal(Tensor(a).fmax(b).data, np.fmax(a, b))
    np.testing.assert_array_equal(Tensor(a).fmin(b).data, np.fmin(a, b))
    gap = np.abs(np.subtract(a, b))
    if gap.size and gap.min() > 1e-3:  # away from the kink a == b
        check_gradients(lambda x, y: x.fmax(y), Tensor(a), Tensor(b), order=2)
        check_gradients(lambda x, y: x.fmin(y), Tensor(a), Tensor(b), order=2)


def test_fmax_nan_and_ties():
    a = Tensor([1.0, np.nan, 2.0, np.nan], requires_grad=True)
    b = Tensor([1.0, 3.0, np.nan, np.nan], requires_grad=True)
    np.testing.assert_array_equal(a.fmax(b).data, np.fmax(a.data, b.data))
    ga, gb = grad(a.fmax(b).sum(), [a, b])
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0, 1.0])  # a tie goes to self (torch); past a NaN to the other
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0, 0.0])  # side; both NaN: to self, as torch
    np.testing.assert_array_equal(np.fmin(a, b).data, np.fmin(a.data, b.data))  # numpy's ufunc on a Tensor


@settings(max_examples=budget(15))
@given(shape=small_shapes, data=st.data())
def test_sinc_smooth_through_zero(shape, data):
    x = data.draw(arrays(shape, floats(-3, 3)), label="x")
    np.testing.assert_allclose(Tensor(x).sinc().data, np.sinc(x), rtol=1e-14, atol=1e-15)
    check_gradients(lambda t: t.sinc(), Tensor(x), order=2)
    near = np.array([0.0, 1e-9, -5e-4, 9.99e-4, 1.001e-3, 0.3])
    np.testing.assert_allclose(Tensor(near).sinc().data, np.sinc(near), rtol=1e-15)
    t = Tensor(near, requires_grad=True)
    g = grad(t.sinc().sum(), t)
    px = np.pi * near[2:]
    exact = (np.cos(px) * px - np.sin(px)) / (px * near[2:])  # d/dx sin(pi x)/(pi x)
    np.testing.assert_allclose(g[2:], exact, rtol=1e-6, atol=1e-12)  # the closed form loses digits near 0
    np.testing.assert_allclose(g[1], -np.pi ** 2 * 1e-9 / 3, rtol=1e-12)  # the series there
    assert g[0] == 0.0
    h = grad(grad(t.sinc().sum(), t, create_graph=True).sum(), t)
    np.testing.assert_allclose(h[0], -np.pi ** 2 / 3, rtol=1e-12)  # sinc''(0)


def test_hardsigmoid_gradient_is_exactly_a_sixth_inside():
    x = np.array([-3.0, -2.9999999999999996, -1.0, 0.0, 2.9999999999999996, 3.0, 4.0, np.inf, -np.inf, np.nan])
    t = Tensor(x, requires_grad=True)
    y = t.hardsigmoid()
    np.testing.assert_array_equal(y.data, np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0)  # torch's rounding
    np.testing.assert_array_equal(grad(y.sum(), t), [0, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 0, 0, 0, 0, 0])
    s = t.hardswish()
    with np.errstate(invalid="ignore"):
        ref = x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0
    np.testing.assert_allclose(s.data[:8], ref[:8], rtol=1e-15)
    assert s.data[8] == 0.0 and np.isnan(s.data[9])  # 0 at -inf (torch's formula gives -inf * 0 = NaN)
    gs = grad(s.sum(), t)
    np.testing.assert_allclose(gs[:7], [0, -0.5, 1 / 6, 0.5, 1.5, 1.0, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(gs[7:], [1.0, 0.0, 1.0])  # finite at infinities; NaN passes through (torch)
    check_gradients(lambda a: a.hardsigmoid() + a.hardswish(), Tensor(np.array([-2.5, -0.3, 1.7, 3.5])), order=2)
