"""The numpy engine `Tensor`: every op by gradcheck over hypothesis shapes (all broadcasting
patterns), reductions, shape ops, indexing, cat/stack/where, backward/grad semantics, higher order,
custom ops, random programs, errors, no_grad and float32."""
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade.testing.strategies import (BINARY, BROADCAST_CASES, UNARY, arrays, axes_for, broadcast_pairs, budget, exponents,
                        floats, grid, indices, matmul_shapes, nonzero, permutations_with_negatives, positives,
                        reals, reshape_targets, shapes, tensor_programs)
from tinygrad_trade import CustomOp, Tensor, enable_grad, grad, no_grad
from tinygrad_trade.gradcheck import gradcheck, gradgradcheck
from tinygrad_trade.graph import toposort

weights = floats(0.5, 1.5)


def T(a, **kw):
    return Tensor(a, requires_grad=True, **kw)


def _draw_weights(data, shape):
    return data.draw(arrays(shape, weights), label="w")


# --------------------------------------------------------------------------------------------
# construction and properties
# --------------------------------------------------------------------------------------------
def test_construction_defaults_and_properties():
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.dtype == np.float64 and t.data.dtype == np.float64
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    assert t.grad is None and t.requires_grad is False
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])
    assert Tensor(2.5).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    with pytest.raises(ValueError, match="item"):
        t.item()
    assert T([1.0]).requires_grad is True
    f = Tensor([1, 2], dtype=np.float32)
    assert f.dtype == np.float32 and Tensor([1.0], dtype="float32").dtype == np.float32
    with pytest.raises(TypeError):
        Tensor([1, 2], dtype=np.int64)
    with pytest.raises(TypeError):
        Tensor("abc")


def test_detach_copies_and_cuts_the_graph():
    x = T([1.0, 2.0], dtype=np.float32)
    y = x * 3
    d = y.detach()
    assert d.requires_grad is False and d._prev == () and d.dtype == np.float32
    np.testing.assert_array_equal(d.data, [3.0, 6.0])
    d.data[0] = 100.0
    assert y.data[0] == 3.0  # a copy, not a view
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [100.0, 6.0])


def test_zeros_ones_randn():
    assert Tensor.zeros(2, 3).shape == (2, 3) and not Tensor.zeros(2, 3).data.any()
    assert Tensor.ones((3,)).data.tolist() == [1.0, 1.0, 1.0]
    assert Tensor.ones(2, dtype=np.float32).dtype == np.float32
    assert Tensor.zeros(1, requires_grad=True).requires_grad
    a, b = Tensor.randn(3, 4, rng=42), Tensor.randn(3, 4, rng=42)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, Tensor.randn(3, 4, rng=43).data)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(Tensor.randn(5, rng=g1).data, Tensor.randn(5, rng=g2).data)
    assert Tensor.randn((2, 2), rng=0, dtype=np.float32).dtype == np.float32


# --------------------------------------------------------------------------------------------
# elementwise unary ops
# --------------------------------------------------------------------------------------------
NP_UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0.0),
    "softplus": lambda x: np.log1p(np.exp(x)), "sqrt": np.sqrt, "abs": np.abs,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_ops(name, data):
    fn, dom = UNARY[name]
    x = data.draw(arrays(data.draw(shapes), dom))
    w = _draw_weights(data, x.shape)
    t = T(x)
    y = fn(t)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.data, NP_UNARY[name](x), rtol=1e-13, atol=1e-300)
    assert gradcheck(lambda t: (fn(t) * w).sum(), [t])


def test_unary_extremes():
    x = T([-1000.0, 0.0, 1000.0])
    assert x.exp().data.tolist() == [0.0, 1.0, np.inf]
    assert x.sigmoid().data.tolist() == [0.0, 0.5, 1.0]
    assert x.softplus().data.tolist() == [0.0, np.log(2.0), 1000.0]
    assert x.tanh().data.tolist() == [-1.0, 0.0, 1.0]
    (x.sigmoid() + x.softplus() + x.tanh()).sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, [0.0, 0.25 + 0.5 + 1.0, 1.0])
    z = T([0.0, -0.0, 2.0])
    (z.relu() + z.abs()).sum().backward()
    assert z.grad.tolist() == [0.0, 0.0, 2.0]  # derivative 0 at the kinks


# --------------------------------------------------------------------------------------------
# binary ops with broadcasting, with numbers and arrays on either side
# --------------------------------------------------------------------------------------------
TBIN = {name: (op, op, lo, ro) for name, (op, lo, ro) in BINARY.items()}
TBIN["maximum"] = (lambda a, b: a.maximum(b), np.maximum, grid, grid)
TBIN["minimum"] = (lambda a, b: a.minimum(b), np.minimum, grid, grid)
KINDS = ["tensor_tensor", "tensor_number", "number_tensor", "tensor_array", "array_tensor"]


def _binary_case(name, kind, sa, sb, data):
    top, nop, left, right = TBIN[name]
    a = data.draw(left) if kind == "number_tensor" else data.draw(arrays(sa, left), label="a")
    b = data.draw(right) if kind == "tensor_number" else data.draw(arrays(sb, right), label="b")
    expected = nop(np.asarray(a), np.asarray(b))
    if kind == "tensor_tensor":
        xs, f = [T(a), T(b)], top
    elif kind in ("tensor_number", "tensor_array"):
        xs, f = [T(a)], lambda t: top(t, b)
    else:
        xs, f = [T(b)], lambda t: top(a, t)
    y = f(*xs)
    assert isinstance(y, Tensor) and y.requires_grad
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-14)
    w = _draw_weights(data, expected.shape)
    assert gradcheck(lambda *ts: (f(*ts) * w).sum(), xs)
    for x in xs:  # backward() leaves each input's gradient in the input's own shape
        x.grad = None
    (f(*xs) * w).sum().backward()
    for x in xs:
        assert x.grad.shape == x.shape


# maximum/minimum are methods: the constant can only be their argument
BINARY_CASES = [(name, kind) for name in sorted(TBIN) for kind in KINDS
                if not (name in ("maximum", "minimum") and kind in ("number_tensor", "array_tensor"))]


@pytest.mark.parametrize("name, kind", BINARY_CASES, ids=[f"{k}-{n}" for n, k in BINARY_CASES])
@given(data=st.data())
def test_binary_ops_broadcast(name, kind, data):
    if kind in ("tensor_number", "number_tensor"):
        sa = sb = data.draw(shapes)
    else:
        sa, sb = data.draw(broadcast_pairs).input_shapes
    _binary_case(name, kind, sa, sb, data)


@pytest.mark.parametrize("sa, sb", BROADCAST_CASES, ids=[f"{a}{b}" for a, b in BROADCAST_CASES])
@pytest.mark.parametrize("name", sorted(TBIN))
@settings(max_examples=budget(5))
@given(data=st.data())
def test_binary_ops_every_broadcast_pattern(sa, sb, name, data):
    _binary_case(name, "tensor_tensor", sa, sb, data)


def test_empty_broadcast_gives_zero_gradients():
    a, b = T(np.zeros((0, 3))), T([1.0, 2.0, 3.0])
    y = a * b + b
    assert y.shape == (0, 3)
    y.backward(np.zeros((0, 3)))
    assert a.grad.shape == (0, 3) and b.grad.tolist() == [0.0, 0.0, 0.0]


def test_maximum_minimum_ties_split_the_gradient():
    a, b = T([1.0, 2.0, 3.0]), T([1.0, 5.0, 3.0])
    (a.maximum(b) + 2 * a.minimum(b)).sum().backward()
    assert a.grad.tolist() == [1.5, 2.0, 1.5] and b.grad.tolist() == [1.5, 1.0, 1.5]


@given(data=st.data())
def test_pow_constant_exponent(data):
    base_dom, c = data.draw(st.sampled_from([(positives, exponents), (nonzero, st.integers(-3, 3).map(float)),
                                             (reals, st.sampled_from([0.0, 1.0, 2.0, 3.0]))]))
    x = data.draw(arrays(data.draw(shapes), base_dom))
    c = data.draw(c)
    t = T(x)
    np.testing.assert_allclose((t ** c).data, x ** c, rtol=1e-14)
    assert gradcheck(lambda t: (t ** c).sum(), [t])


@given(data=st.data())
def test_pow_array_exponent(data):
    sa, sc = data.draw(broadcast_pairs).input_shapes
    x = data.draw(arrays(sa, positives))
    c = data.draw(arrays(sc, exponents))
    t = T(x)
    np.testing.assert_allclose((t ** c).data, x ** c, rtol=1e-14)
    w = _draw_weights(data, np.broadcast_shapes(sa, sc))
    assert gradcheck(lambda t: ((t ** c) * w).sum(), [t])


def test_pow_zero_exponent_has_zero_gradient_at_zero():
    x = T([0.0, 2.0, -1.0])
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    y = T([0.0, 0.0])
    (y ** np.array([0.0, 1.0])).sum().backward()
    assert y.grad.tolist() == [0.0, 1.0]


@given(data=st.data())
def test_clip(data):
    x = data.draw(arrays(data.draw(shapes), grid))
    lo, hi = data.draw(st.sampled_from([(-0.5, 0.5), (None, 1.0), (-1.0, None), (0.0, 2.0)]))
    t = T(x)
    np.testing.assert_array_equal(t.clip(lo, hi).data, np.clip(x, lo, hi))
    w = _draw_weights(data, x.shape)
    assert gradcheck(lambda t: (t.clip(lo, hi) * w).sum(), [t])


def test_clip_passes_the_gradient_on_the_bounds():
    x = T([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = x.clip(-1.0, 1.0)
    assert y.data.tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


# --------------------------------------------------------------------------------------------
# matmul
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(200))
@given(data=st.data())
def test_matmul_all_ranks_and_batch_broadcasting(data):
    sa, sb = data.draw(matmul_shapes())
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    expected = a @ b
    ta, tb = T(a), T(b)
    y = ta @ tb
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-13, atol=1e-13)
    w = _draw_weights(data, expected.shape)
    assert gradcheck(lambda x, z: ((x @ z) * w).sum(), [ta, tb])
    # a constant numpy array on either side
    assert gradcheck(lambda x: ((x @ b) * w).sum(), [ta])
    assert gradcheck(lambda z: ((a @ z) * w).sum(), [tb])


def test_matmul_errors():
    with pytest.raises(ValueError, match="@"):
        T([1.0, 2.0]) @ T([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="@"):
        T([2.0]) @ T([1.0, 2.0, 3.0])  # numpy refuses this too: no broadcasting of vectors in @
    with pytest.raises(ValueError, match="@"):
        T(np.ones((2, 3))) @ T(np.ones((2, 3)))
    with pytest.raises(ValueError, match="@"):
        T(2.0) @ T([1.0])


def test_matmul_forms_no_gradient_for_a_constant_operand():
    from tinygrad_trade.tensor import MATMUL
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 5, 4)), rng.standard_normal((4, 2))
    g = rng.standard_normal((3, 5, 2))
    full = MATMUL.vjp(g, None, x, w)
    only_w = MATMUL.vjp(g, None, x, w, need=[False, True])
    assert only_w[0] is None and np.array_equal(only_w[1], full[1])
    assert MATMUL.vjp(g, None, x, w, need=[True, False])[1] is None
    # end to end: the data operand gets no gradient, the weights the same one as with both wanted
    W = Tensor(w, requires_grad=True)
    (Tensor(x) @ W).sum().backward()
    W2, X2 = Tensor(w, requires_grad=True), Tensor(x, requires_grad=True)
    (X2 @ W2).sum().backward()
    assert np.array_equal(W.grad, W2.grad) and X2.grad is not None
    # second order still takes the whole rule
    W3 = Tensor(w, requires_grad=True)
    (gw,) = grad(((Tensor(x) @ W3) ** 2).sum(), [W3], create_graph=True)
    (gw.sum()).backward()
    assert np.allclose(W3.grad, 2 * np.einsum("bij,bik->jk", x, x).sum(axis=1, keepdims=True) @ np.ones((1, 2)))


# --------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var"])
@settings(max_examples=budget(150))
@given(data=st.data())
def test_reductions(name, data):
    shape = data.draw(shapes)
    extreme = name in ("max", "min")
    # max/min get distinct values 0.01 apart: no ties, no near-ties for finite differences
    x = data.draw(arrays(shape, grid if extreme else reals, unique=extreme))
    axis = data.draw(axes_for(len(shape)), label="axis")
    keep = data.draw(st.booleans(), label="keepdims")
    t = T(x)
    y = getattr(t, name)(axis=axis, keepdims=keep)
    ref = getattr(np, name)(x, axis=axis, keepdims=keep)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.data, ref, rtol=1e-12, atol=1e-12)
    w = _draw_weights(data, ref.shape)
    assert gradcheck(lambda t: (getattr(t, name)(axis=axis, keepdims=keep) * w).sum(), [t])


def test_reduction_by_hand():
    x = T([[1.0, 5.0, 5.0], [2.0, -1.0, 0.0]])
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]  # ties share
    x.grad = None
    x.min().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    v = T([1.0, 2.0, 4.0])
    y = v.var(ddof=1)
    assert y.item() == pytest.approx(np.var([1.0, 2.0, 4.0], ddof=1))
    y.backward()
    np.testing.assert_allclose(v.grad, 2 * (v.data - v.data.mean()) / 2)
    m = T(np.arange(6.0).reshape(2, 3))
    m.mean(axis=(0, -1), keepdims=True).backward()
    np.testing.assert_allclose(m.grad, np.full((2, 3), 1 / 6))
    with pytest.raises(ValueError):
        T(np.zeros((0, 2))).max()
    e = T(np.zeros((0, 2)))
    got = e.mean(axis=0)              # the mean of no numbers is NaN (numpy, PyTorch), not an error
    assert got.shape == (2,) and np.isnan(got.data).all()
    got.sum().backward()
    assert e.grad.shape == (0, 2)
    one = T(np.array([[3.0], [4.0]]))
    for f in (lambda t: t.var(axis=1, ddof=1), lambda t: t.std(axis=1, ddof=1)):
        one.grad = None
        v = f(one)                      # one number, ddof 1: NaN and NaN gradients, as PyTorch
        assert np.isnan(v.data).all()
        v.sum().backward()
        assert np.isnan(one.grad).all()


# --------------------------------------------------------------------------------------------
# shape ops
# --------------------------------------------------------------------------------------------
@given(data=st.data())
def test_reshape(data):
    shape = data.draw(shapes)
    target = data.draw(reshape_targets(shape))
    x = data.draw(arrays(shape))
    t = T(x)
    assert t.reshape(target).shape == x.reshape(target).shape
    if target:
        assert t.reshape(*target).shape == x.reshape(target).shape
    w = _draw_weights(data, x.reshape(target).shape)
    assert gradcheck(lambda t: (t.reshape(target) * w).sum(), [t])


@given(data=st.data())
def test_transpose_with_any_axes(data):
    shape = data.draw(shapes)
    axes = data.draw(permutations_with_negatives(len(shape)), label="axes")
    x = data.draw(arrays(shape))
    t = T(x)
    y = t.transpose(*axes)
    np.testing.assert_array_equal(y.data, x.transpose(axes))
    w = _draw_weights(data, y.shape)
    assert gradcheck(lambda t: (t.transpose(*axes) * w).sum(), [t])
    # the gradient is the weights moved back by the inverse permutation
    (y * w).sum().backward()
    np.testing.assert_array_equal(t.grad, np.transpose(w, np.argsort([a % len(shape) for a in axes])))


@given(data=st.data())
def test_T_and_default_transpose_reverse_the_axes(data):
    x = data.draw(arrays(data.draw(shapes)))
    t = T(x)
    np.testing.assert_array_equal(t.T.data, x.T)
    np.testing.assert_array_equal(t.transpose().data, x.T)
    w = _draw_weights(data, x.T.shape)
    assert gradcheck(lambda t: (t.T * w).sum(), [t])


def test_transpose_negative_axes_by_hand():
    x = T(np.arange(6.0).reshape(2, 3))
    y = x.transpose(-1, 0)
    assert y.shape == (3, 2)
    g = np.arange(6.0).reshape(3, 2)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, g.T)


@pytest.mark.parametrize("axes", [(1, 2, 0), (2, 0, 1), (-2, -1, 0), (0, 2, 1), (-1, -2, -3)])
def test_transpose_3d_gradient_is_the_inverse_permutation(axes):
    x = T(np.arange(24.0).reshape(2, 3, 4))
    y = x.transpose(*axes)
    g = np.arange(24.0).reshape(y.shape) ** 2
    y.backward(g)
    inverse = np.argsort([a % 3 for a in axes])
    np.testing.assert_array_equal(x.grad, g.transpose(inverse))


@given(data=st.data())
def test_expand_dims_and_squeeze(data):
    shape = data.draw(shapes)
    x = data.draw(arrays(shape))
    ax = data.draw(st.integers(-len(shape) - 1, len(shape)))
    t = T(x)
    assert t.expand_dims(ax).shape == np.expand_dims(x, ax).shape
    assert gradcheck(lambda t: (t.expand_dims(ax) * np.expand_dims(x, ax)).sum(), [t])
    ones = [k for k, n in enumerate(shape) if n == 1]
    sq = data.draw(st.sampled_from([None] + ones + [k - len(shape) for k in ones]))
    assert t.squeeze(sq).shape == np.squeeze(x, sq).shape
    assert gradcheck(lambda t: (t.squeeze(sq) * np.squeeze(x, sq)).sum(), [t])


# --------------------------------------------------------------------------------------------
# indexing
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(300))
@given(data=st.data())
def test_indexing(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    ix = data.draw(indices(shape), label="index")
    x = data.draw(arrays(shape))
    t = T(x)
    y = t[ix]
    np.testing.assert_array_equal(y.data, x[ix])
    w = _draw_weights(data, x[ix].shape)
    assert gradcheck(lambda t: (t[ix] * w).sum(), [t])
    # the gradient scatters the weights back, summing over repeated indices
    expected = np.zeros_like(x)
    np.add.at(expected, ix, w)
    (y * w).sum().backward()
    np.testing.assert_allclose(t.grad, expected, rtol=1e-15)


def test_repeated_integer_indices_sum_their_gradients():
    x = T([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    m = T(np.zeros((3, 3)))
    (m[np.array([1, 1, 2]), np.array([2, 2, 0])] * np.array([1.0, 2.0, 5.0])).sum().backward()
    assert m.grad[1, 2] == 3.0 and m.grad[2, 0] == 5.0 and m.grad.sum() == 8.0
    r = T(np.ones((2, 3)))
    r[:, [2, 2]].sum().backward()
    assert r.grad.tolist() == [[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]]


def test_boolean_mask_none_and_ellipsis():
    x = T([[1.0, -2.0], [3.0, -4.0]])
    y = x[x > 0]  # a Tensor comparison gives a boolean mask
    assert y.data.tolist() == [1.0, 3.0]
    (y * 2).sum().backward()
    assert x.grad.tolist() == [[2.0, 0.0], [2.0, 0.0]]
    x.grad = None
    x[None, ..., 1].sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    x.grad = None
    x[np.array([[True, False], [False, True]])].sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]


# --------------------------------------------------------------------------------------------
# cat, stack, where
# --------------------------------------------------------------------------------------------
@given(data=st.data())
def test_cat(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    ax = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3), label="sizes")
    parts = []
    for n in sizes:
        s = list(shape)
        s[ax] = n
        parts.append(data.draw(arrays(tuple(s))))
    as_tensor = data.draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    as_tensor[0] = True
    xs = [T(p) for p, keep in zip(parts, as_tensor) if keep]

    def f(*ts):
        it = iter(ts)
        return Tensor.cat([next(it) if keep else p for p, keep in zip(parts, as_tensor)], axis=ax)
    expected = np.concatenate(parts, axis=ax)
    np.testing.assert_array_equal(f(*xs).data, expected)
    w = _draw_weights(data, expected.shape)
    assert gradcheck(lambda *ts: (f(*ts) * w).sum(), xs)


@given(data=st.data())
def test_stack(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    ax = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    k = data.draw(st.integers(1, 3))
    parts = [data.draw(arrays(shape)) for _ in range(k)]
    xs = [T(p) for p in parts]
    expected = np.stack(parts, axis=ax)
    np.testing.assert_array_equal(Tensor.stack(xs, axis=ax).data, expected)
    w = _draw_weights(data, expected.shape)
    assert gradcheck(lambda *ts: (Tensor.stack(list(ts), axis=ax) * w).sum(), xs)


@given(data=st.data())
def test_where(data):
    sc, sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                             max_side=3)).input_shapes
    cond = data.draw(hnp.arrays(bool, sc), label="cond")
    mode = data.draw(st.sampled_from(["tt", "tn", "nt", "ta"]))
    a = data.draw(arrays(sa)) if mode != "nt" else data.draw(reals)
    b = data.draw(arrays(sb)) if mode in ("tt", "nt", "ta") else data.draw(reals)
    expected = np.where(cond, a, b)
    if mode == "tt":
        xs, f = [T(a), T(b)], lambda x, z: Tensor.where(cond, x, z)
    elif mode == "nt":
        xs, f = [T(b)], lambda z: Tensor.where(cond, a, z)
    else:  # a Tensor and a number or a plain array
        xs, f = [T(a)], lambda x: Tensor.where(cond, x, b)
    y = f(*xs)
    np.testing.assert_array_equal(y.data, expected)
    w = _draw_weights(data, expected.shape)
    assert gradcheck(lambda *ts: (f(*ts) * w).sum(), xs)


# --------------------------------------------------------------------------------------------
# backward() and grad()
# --------------------------------------------------------------------------------------------
def test_backward_on_single_element_tensors():
    x = T([[2.0, 3.0]])
    y = (x * x).sum(axis=1, keepdims=True)  # shape (1, 1)
    assert y.shape == (1, 1)
    y.backward()
    assert x.grad.tolist() == [[4.0, 6.0]]
    y.backward()  # accumulates
    assert x.grad.tolist() == [[8.0, 12.0]]
    assert x.grad.dtype == np.float64 and isinstance(x.grad, np.ndarray)


def test_backward_needs_grad_output_for_non_scalars():
    x = T([1.0, 2.0, 3.0])
    y = x * x
    with pytest.raises(ValueError, match="grad_output"):
        y.backward()
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 0.5, -1.0]))
    assert x.grad.tolist() == [2.0, 2.0, -6.0]
    y.backward(Tensor([1.0, 1.0, 1.0]))
    assert x.grad.tolist() == [4.0, 6.0, 0.0]
    with pytest.raises(RuntimeError, match="requires"):
        Tensor([1.0]).sum().backward()


def test_constants_get_no_gradient():
    x, c = T([1.0, 2.0]), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [3.0, 4.0]


def test_grad_functional_does_not_touch_dot_grad():
    x, w = T([1.0, 2.0]), T([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
    y = (x @ w).tanh().sum()
    gx, gw = grad(y, [x, w])
    assert x.grad is None and w.grad is None
    assert isinstance(gx, np.ndarray) and gx.shape == (2,) and gw.shape == (2, 3)
    y.backward()
    np.testing.assert_allclose(x.grad, gx, rtol=1e-15)
    np.testing.assert_allclose(w.grad, gw, rtol=1e-15)
    unused = T([5.0])
    assert grad(y, unused).tolist() == [0.0]
    np.testing.assert_allclose(grad((x * x), x, grad_output=np.array([1.0, 3.0])), [2.0, 12.0])


def test_grad_create_graph_second_derivatives_by_hand():
    x = T([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, 3.0])
    g = grad((x ** 3).sum(), x, create_graph=True)
    assert isinstance(g, Tensor) and g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    h = grad((g * v).sum(), x)
    np.testing.assert_allclose(h, 6 * x.data * v)
    # third order
    g2 = grad((g * v).sum(), x, create_graph=True)
    np.testing.assert_allclose(grad(g2.sum(), x), 6 * v)
    assert x.grad is None


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A = np.array([[1.0, 2.0, 0.0], [0.0, 3.0, -1.0], [4.0, 0.5, 2.0]])
    x = T([0.3, -0.7, 1.1])
    g = grad(x @ (A @ x), x, create_graph=True)
    np.testing.assert_allclose(g.data, (A + A.T) @ x.data)
    H = np.stack([grad(g[i], x) for i in range(3)])
    np.testing.assert_allclose(H, A + A.T)


_rng = np.random.default_rng(2024)
_P = lambda *s: _rng.uniform(0.3, 1.5, s)  # noqa: E731
_R = lambda *s: _rng.uniform(-1.5, 1.5, s)  # noqa: E731
HIGHER_ORDER = {
    "tanh_times_x": (lambda x: (x.tanh() * x).sum(), [_R(2, 3)]),
    "mlp": (lambda x, W: (x @ W).sigmoid().mean(), [_R(2, 3), _R(3, 2)]),
    "var_log_softplus": (lambda x: x.var() + (x.softplus() + 0.5).log().sum(), [_R(4)]),
    "broadcast_div": (lambda x, y: ((x - y) ** 2).sum() / y.exp().sum(), [_R(2, 3), _R(3)]),
    "cat_index_repeat": (lambda x: (Tensor.cat([x, x * x], axis=0)[[0, 2, 2, 3]] ** 2).sum(), [_R(2, 2)]),
    "max_reduction": (lambda x: x.max(axis=0).sum() * x.sum(), [_R(3, 2)]),
    "pow_tensor_tensor": (lambda x, y: (x ** y).sum(), [_P(3), _R(3)]),
    "rpow_sqrt_div": (lambda x: (2.0 ** x).sum() + (x * x + 1).sqrt().sum() / (1 + x.abs()).sum(), [_R(3)]),
    "reshape_transpose": (lambda x: (x.reshape(3, 2).T.expand_dims(0).squeeze(0) ** 3).mean(axis=-1).sum(),
                          [_R(2, 3)]),
    "batched_matmul": (lambda a, b: (a @ b).tanh().sum(), [_R(2, 2, 3), _R(3, 2)]),
    "where_stack_min": (lambda x: Tensor.stack([Tensor.where(x.data > 0, x.exp(), -x), x.minimum(0.2)]).var(),
                        [_R(4)]),
}


@pytest.mark.parametrize("name", sorted(HIGHER_ORDER))
def test_gradgradcheck(name):
    f, arrays_ = HIGHER_ORDER[name]
    xs = [T(a) for a in arrays_]
    assert gradcheck(f, xs)
    assert gradgradcheck(f, xs)


# --------------------------------------------------------------------------------------------
# custom ops
# --------------------------------------------------------------------------------------------
class Cumsum(CustomOp):
    """Cumulative sum along an axis, forward and backward in numpy."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, g):
        return (np.flip(np.cumsum(np.flip(g, self.axis), axis=self.axis), self.axis),)


class ScaledProduct(CustomOp):
    """x * s with a gradient for x only (s is treated as a constant)."""

    name = "scaled"

    def forward(self, x, s):
        self.s = s
        return x * s

    def backward(self, g):
        return g * self.s, None


def test_custom_op_in_a_graph_passes_gradcheck():
    rng = np.random.default_rng(0)
    x = T(rng.normal(size=(3, 4)))
    w = rng.normal(size=(3, 4))
    y = Cumsum.apply(x.tanh(), axis=1)
    assert y.op == "Cumsum" and y.requires_grad
    np.testing.assert_allclose(y.data, np.cumsum(np.tanh(x.data), axis=1))
    for axis in (0, 1, -1):
        assert gradcheck(lambda t: (Cumsum.apply(t.tanh() * 2, axis=axis) * w).sum(), [x])
    s = T(rng.normal(size=4))
    z = ScaledProduct.apply(x, s)
    assert z.op == "scaled"
    (z * w).sum().backward()
    np.testing.assert_allclose(x.grad, w * s.data)
    assert s.grad is None


def test_custom_op_refuses_create_graph_clearly():
    x = T([1.0, 2.0, 3.0])
    y = (Cumsum.apply(x) ** 2).sum()
    with pytest.raises(NotImplementedError, match="Cumsum.*second derivatives"):
        grad(y, x, create_graph=True)
    np.testing.assert_allclose(grad(y, x), [2 * (1 + 3 + 6), 2 * (3 + 6), 2 * 6])  # still fine to first order


def test_custom_op_wrong_number_of_gradients():
    class Bad(CustomOp):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g, g
    with pytest.raises(ValueError, match="2 gradients for 1 input"):
        Bad.apply(T([1.0])).sum().backward()


# --------------------------------------------------------------------------------------------
# random programs: chains of 1-6 ops checked against finite differences
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(600))
@given(prog=tensor_programs())
def test_random_programs_match_finite_differences(prog):
    xs = [T(x.copy(), label=f"x{i}") for i, x in enumerate(prog.inputs)]
    y = prog(*xs)
    assert y.shape == () and np.isfinite(y.data)
    assert gradcheck(prog, xs)


@settings(max_examples=budget(150))
@given(prog=tensor_programs(max_ops=4))
def test_random_programs_second_derivatives(prog):
    xs = [T(x.copy(), label=f"x{i}") for i, x in enumerate(prog.inputs)]
    assert gradgradcheck(prog, xs, atol=1e-4)


# --------------------------------------------------------------------------------------------
# errors, no_grad, float32
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, op, value", [
    (lambda: T([1.0, 0.0]).log(), "log", "0.0"),
    (lambda: T([[1.0], [-2.5]]).log(), "log", "-2.5"),
    (lambda: T([4.0, -1.0]).sqrt(), "sqrt", "-1.0"),
    (lambda: T([0.0]).sqrt(), "sqrt", "0.0"),
    (lambda: T([2.0, 0.0]) ** -1, "**", "0.0"),
    (lambda: T([2.0, -3.0]) ** 0.5, "**", "-3.0"),
    (lambda: T([2.0, -3.0]) ** np.array([2.0, 1.5]), "**", "-3.0"),
    (lambda: T([2.0, -3.0]) ** T([1.0, 2.0]), "**", "-3.0"),
    (lambda: np.array([2.0, -1.0]) ** T([1.0, 1.0]), "**", "-1.0"),
    (lambda: 0.0 ** T([1.0]), "**", "0.0"),
], ids=["log0", "log-", "sqrt-", "sqrt0", "0**-1", "neg**frac", "neg**array", "T**T", "array**T", "0**T"])
def test_domain_errors_name_the_op_and_the_value(make, op, value):
    with pytest.raises(ValueError) as info:
        make()
    msg = str(info.value)
    assert msg.startswith(op + ":"), msg
    assert value in msg, msg


def test_sqrt_at_zero_is_refused_only_when_a_gradient_is_wanted():
    from tinygrad_trade import Value, no_grad
    x = T([0.0, 4.0])
    with no_grad():
        np.testing.assert_array_equal(x.sqrt().data, [0.0, 2.0])
        np.testing.assert_array_equal((x ** 0.5).data, [0.0, 2.0])
        assert Value(0.0).sqrt().data == 0.0 and (Value(0.0) ** 0.5).data == 0.0
    np.testing.assert_array_equal(Tensor([0.0, 4.0]).sqrt().data, [0.0, 2.0])  # requires_grad=False
    np.testing.assert_array_equal((Tensor([0.0, 4.0]) ** 0.5).data, [0.0, 2.0])
    for make in (lambda: x.sqrt(), lambda: x ** 0.5, lambda: Value(0.0).sqrt(), lambda: Value(0.0) ** 0.5):
        with pytest.raises(ValueError, match="derivative .*infinite"):
            make()
    with pytest.raises(ValueError, match=r"^sqrt: input must be non-negative"):
        with no_grad():
            T([-1.0]).sqrt()


@pytest.mark.parametrize("make", [
    lambda: T([1.0, 2.0]) / T([1.0, 0.0]), lambda: 1.0 / T([0.0]), lambda: T([1.0]) / 0,
    lambda: T([[1.0, 2.0]]) / np.array([[3.0], [0.0]]),
], ids=["T/T", "number/T", "T/number", "T/array"])
def test_division_by_zero_raises_like_value(make):
    with pytest.raises(ZeroDivisionError, match=r"^/: division by zero.*0\.0"):
        make()


def test_no_grad_keeps_no_graph():
    x = T([1.0, 2.0])
    with no_grad():
        y = ((x * 2).exp() @ x).tanh()
        z = Tensor.cat([x, x])[::-1].sum()
        with enable_grad():
            e = x * 2
    for t in (y, z):
        assert t.requires_grad is False and t._prev == () and t.op == ""
    assert e.requires_grad and e._prev[0] is x
    with pytest.raises(RuntimeError):
        y.backward()


def F32_PROGRAM(x, w):
    """Most ops at once, on a (2, 3) x and a (3, 3) w."""
    terms = [
        (Tensor.cat([(x @ w).tanh(), (x * 1.5).maximum(0.1) * 2.0], axis=1).sigmoid() ** 2).sum(),
        Tensor.where(x.data > 0, x.softplus(), x.abs().clip(0.0, 1.0)).mean(axis=0).sum(),
        (x.exp() / (x * x + 1.0)).var(axis=-1, keepdims=True).sum(),
        x[[0, 0, 1]].max(axis=0).sum() + (2.0 ** x).sqrt().min(),
        (x.T.reshape(3, 2) ** 3).sum() - (1.5 / (x.relu() + 1.0)).sum() + (((x - 0.2).minimum(0.5) + 3.0).log() * x.sigmoid()).sum(),
    ]
    return Tensor.stack(terms).sum()


def test_float32_forward_and_grads_stay_float32():
    rng = np.random.default_rng(3)
    x = T(rng.normal(size=(2, 3)), dtype=np.float32)
    w = T(rng.normal(size=(3, 3)), dtype=np.float32)
    y = F32_PROGRAM(x, w)
    nodes = toposort(y)
    assert len(nodes) > 30
    for n in nodes:
        assert n.dtype == np.float32, n.op
    y.backward()
    for n in nodes:
        if n.requires_grad:
            assert n.grad.dtype == np.float32, f"grad of {n.op or 'leaf'} is {n.grad.dtype}"
    for g in grad(y, [x, w]):
        assert g.dtype == np.float32
    for g in grad(y, [x, w], create_graph=True):
        assert g.dtype == np.float32
    # gradcheck promotes to float64 for the check and restores the inputs' dtype
    assert gradcheck(F32_PROGRAM, [x, w], atol=1e-4)
    assert x.dtype == np.float32 and w.dtype == np.float32
    # a float64 numpy operand promotes the result (as numpy does), but a leaf's .grad keeps its dtype
    x.grad = None
    y64 = x * np.array([1.0, 2.0, 3.0])
    assert y64.dtype == np.float64
    y64.sum().backward()
    assert x.grad.dtype == np.float32
    x.grad = None
    # and the float32 gradient agrees with the float64 one to float32 precision
    F32_PROGRAM(x, w).backward()
    x64, w64 = T(x.data.astype(np.float64)), T(w.data.astype(np.float64))
    F32_PROGRAM(x64, w64).backward()
    np.testing.assert_allclose(x.grad, x64.grad, rtol=1e-4, atol=1e-5)
