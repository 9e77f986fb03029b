"""Outputs and losses (ops/losses.py), statistics (ops/statistics.py) and cumulative/time-series ops
(ops/cumulative.py): forward against numpy/scipy, gradient and second derivative by gradcheck over
hypothesis shapes and axes, stability at extreme inputs, ties and zeros."""
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor, grad
from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats, grid

small_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
reals = floats(-3, 3)


@st.composite
def shape_and_axis(draw, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=3))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


# --------------------------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(15))
@given(sa=shape_and_axis(), data=st.data())
def test_softmax_log_softmax_logsumexp(sa, data):
    shape, axis = sa
    x = data.draw(arrays(shape, reals), label="x")
    np.testing.assert_allclose(Tensor(x).softmax(axis).data, sp.softmax(x, axis=axis), rtol=1e-13)
    np.testing.assert_allclose(Tensor(x).log_softmax(axis).data, sp.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-14)
    keep = data.draw(st.booleans(), label="keepdims")
    axes = data.draw(st.one_of(st.none(), st.just(axis), hnp.valid_tuple_axes(len(shape), min_size=1)), label="axes")
    np.testing.assert_allclose(Tensor(x).logsumexp(axes, keep).data, sp.logsumexp(x, axis=axes, keepdims=keep),
                               rtol=1e-13)
    check_gradients(lambda t: t.softmax(axis), Tensor(x), order=2)
    check_gradients(lambda t: t.log_softmax(axis), Tensor(x), order=2)
    check_gradients(lambda t: t.logsumexp(axes, keep), Tensor(x), order=2)


def test_softmax_family_is_stable_at_huge_inputs_and_propagates_nan():
    x = Tensor([[1000.0, 1001.0, -1000.0], [-1e308, 0.0, 1e308]], requires_grad=True)
    np.testing.assert_allclose(x.softmax().data, sp.softmax(x.data, axis=-1), rtol=1e-14)
    np.testing.assert_allclose(x.logsumexp(axis=1).data, sp.logsumexp(x.data, axis=1), rtol=1e-14)
    np.testing.assert_allclose(x.log_softmax().data[0], sp.log_softmax(x.data[0]), rtol=1e-14)
    g = grad(x.logsumexp(axis=1).sum(), x)
    assert np.isfinite(g).all()
    assert Tensor([-np.inf, -np.inf]).logsumexp().item() == -np.inf
    assert np.isnan(Tensor([np.nan, 1.0]).logsumexp().item())


def test_logsumexp_second_derivative_is_the_softmax_covariance():
    x = Tensor([0.3, -1.0, 2.0], requires_grad=True)
    (g,) = grad(x.logsumexp(), [x], create_graph=True)
    p = sp.softmax(x.data)
    rows = [grad(g[i], x) for i in range(3)]
    np.testing.assert_allclose(np.array(rows), np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(10))
@given(n=st.integers(1, 4), c=st.integers(2, 4), data=st.data())
def test_cross_entropy_and_nll_match_the_definition(n, c, data):
    logits = data.draw(arrays((n, c), reals), label="logits")
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="t"))
    w = data.draw(arrays((c,), floats(0.5, 2.0)), label="w")
    logp = sp.log_softmax(logits, axis=1)
    picked = -logp[np.arange(n), target]
    np.testing.assert_allclose(Tensor(logits).cross_entropy(target).item(), picked.mean(), rtol=1e-13)
    np.testing.assert_allclose(Tensor(logits).cross_entropy(target, weight=w).item(),
                               (w[target] * picked).sum() / w[target].sum(), rtol=1e-13)
    np.testing.assert_allclose(Tensor(logp).nll_loss(target, reduction="none").data, picked, rtol=1e-13)
    probs = sp.softmax(data.draw(arrays((n, c), reals), label="soft"), axis=1)
    np.testing.assert_allclose(Tensor(logits).cross_entropy(probs, reduction="sum").item(),
                               -(probs * logp).sum(), rtol=1e-12)
    smooth = Tensor(logits).cross_entropy(target, label_smoothing=0.1).item()
    np.testing.assert_allclose(smooth, (0.9 * picked - 0.1 * logp.mean(axis=1)).mean(), rtol=1e-12)
    check_gradients(lambda t: t.cross_entropy(target, weight=w), Tensor(logits), order=2)
    check_gradients(lambda t: t.cross_entropy(probs, label_smoothing=0.2), Tensor(logits), order=2)


def test_cross_entropy_class_axis_is_one_for_sequences_and_errors_are_clear():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    ref = -np.take_along_axis(sp.log_softmax(x, axis=1), t[:, None, :], axis=1).mean()
    np.testing.assert_allclose(Tensor(x).cross_entropy(t).item(), ref, rtol=1e-13)
    with pytest.raises(ValueError, match="class index out of range"):
        Tensor(x[:, :, 0]).cross_entropy(np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        Tensor(x[:, :, 0]).nll_loss(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        Tensor(x[:, :, 0]).cross_entropy(np.array([0, 1]), reduction="avg")


@settings(max_examples=budget(10))
@given(shape=small_shapes, data=st.data())
def test_binary_and_regression_losses(shape, data):
    x = data.draw(arrays(shape, floats(-4, 4)), label="x")
    t = data.draw(arrays(shape, floats(0, 1)), label="t")
    p = sp.expit(x)
    bce = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    np.testing.assert_allclose(Tensor(x).binary_cross_entropy_with_logits(t).item(), bce.mean(), rtol=1e-12)
    np.testing.assert_allclose(Tensor(p).binary_cross_entropy(t, reduction="sum").item(), bce.sum(), rtol=1e-10)
    pw = 1.7
    ref = -(pw * t * np.log(p) + (1 - t) * np.log1p(-p))
    np.testing.assert_allclose(Tensor(x).binary_cross_entropy_with_logits(t, pos_weight=pw).item(), ref.mean(),
                               rtol=1e-12)
    check_gradients(lambda a: a.binary_cross_entropy_with_logits(t, pos_weight=pw), Tensor(x), order=2)
    check_gradients(lambda a: a.sigmoid().binary_cross_entropy(t), Tensor(x), order=2)
    y = data.draw(arrays(shape, grid), label="y")
    d = x - y
    hub = np.where(np.abs(d) <= 0.7, 0.5 * d * d, 0.7 * (np.abs(d) - 0.35))
    np.testing.assert_allclose(Tensor(x).huber_loss(y, delta=0.7).item(), hub.mean(), rtol=1e-13)
    np.testing.assert_allclose(Tensor(x).smooth_l1_loss(y, beta=0.7).item(), hub.mean() / 0.7, rtol=1e-13)
    np.testing.assert_allclose(Tensor(x).mse_loss(y).item(), (d * d).mean(), rtol=1e-13)
    check_gradients(lambda a, b: a.huber_loss(b, delta=0.7), Tensor(x), Tensor(y), order=1)
    check_gradients(lambda a, b: a.l1_loss(b, reduction="sum"), Tensor(x), Tensor(y), order=1)


def test_bce_is_stable_for_huge_logits_and_refuses_probabilities_outside_the_open_interval():
    x = Tensor([800.0, -800.0], requires_grad=True)
    loss = x.binary_cross_entropy_with_logits(np.array([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [800.0, 800.0])
    np.testing.assert_allclose(grad(loss.sum(), x), [1.0, -1.0])
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        Tensor([0.0, 0.5]).binary_cross_entropy(np.array([0.0, 1.0]))


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(15))
@given(shape=small_shapes, data=st.data())
def test_var_std_prod_norm(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    n = x.size if axis is None else shape[axis]
    ddof = data.draw(st.integers(0, min(1, n - 1)), label="ddof")
    keep = data.draw(st.booleans(), label="keepdims")
    np.testing.assert_allclose(Tensor(x).std(axis, keep, ddof).data, np.std(x, axis, keepdims=keep, ddof=ddof),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Tensor(x).var(axis, keep, ddof).data, np.var(x, axis, keepdims=keep, ddof=ddof),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Tensor(x).prod(axis, keep).data, np.prod(x, axis, keepdims=keep), rtol=1e-13)
    if n > 1 and np.std(x, axis).min() > 1e-2:
        check_gradients(lambda t: t.std(axis, keep, ddof), Tensor(x), order=2)
    # scaled to |x| <= 1.5: a product of 36 numbers up to 3 would drown the differences in rounding
    check_gradients(lambda t: (t * 0.5).prod(axis, keep), Tensor(x), order=2 if bool((np.abs(x) > 1e-3).all()) else 1)
    ords = [None, 1, 3, np.inf] if axis is not None or len(shape) == 1 else [None]
    for o in ords:
        np.testing.assert_allclose(Tensor(x).norm(o, axis, keep).data, np.linalg.norm(x, o, axis, keep), rtol=1e-13)
    if (np.abs(x) > 1e-3).all():
        check_gradients(lambda t: t.norm(None, axis, keep), Tensor(x), order=2)
        if 3 in ords:
            check_gradients(lambda t: t.norm(3, axis, keep), Tensor(x), order=2)


def test_std_mean_pairs_the_two():
    x = np.random.default_rng(3).standard_normal((3, 4))
    s, m = Tensor(x).std_mean(axis=1, ddof=1)
    np.testing.assert_allclose(s.data, x.std(axis=1, ddof=1), rtol=1e-13)
    np.testing.assert_allclose(m.data, x.mean(axis=1), rtol=1e-13)


def test_subgradients_at_zero_spread_zero_norm_and_prod_with_zeros():
    x = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    assert x.std().item() == 0.0
    np.testing.assert_array_equal(grad(x.std(), x), [0.0, 0.0, 0.0])
    z = Tensor([0.0, 0.0], requires_grad=True)
    np.testing.assert_array_equal(grad(z.norm(), z), [0.0, 0.0])
    p = Tensor([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0]], requires_grad=True)
    np.testing.assert_allclose(grad(p.prod(axis=1).sum(), p), [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert gradcheck(lambda t: (t.prod(axis=1) * np.array([1.0, 2.0])).sum(), [p])


@settings(max_examples=budget(10))
@given(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3), data=st.data())
def test_matrix_norms(shape, data):
    x = data.draw(arrays(shape, floats(-3, 3)), label="x")
    for o in ("fro", 1, -1, np.inf, -np.inf, 2, "nuc"):
        np.testing.assert_allclose(Tensor(x).norm(o, (-2, -1)).data, np.linalg.norm(x, o, (-2, -1)), rtol=1e-12)


@settings(max_examples=budget(15))
@given(sa=shape_and_axis(), data=st.data())
def test_sort_topk_argmax_quantile(sa, data):
    shape, axis = sa
    x = data.draw(arrays(shape, grid, unique=True), label="x")
    t = Tensor(x)
    np.testing.assert_array_equal(t.sort(axis).data, np.sort(x, axis))
    np.testing.assert_array_equal(t.sort(axis, descending=True).data, -np.sort(-x, axis))
    np.testing.assert_array_equal(t.argsort(axis), np.argsort(x, axis))
    part = t.partition(0, axis).data  # a valid numpy partition: the sorted values
    np.testing.assert_array_equal(np.sort(part, axis), np.sort(np.partition(x, 0, axis), axis))
    assert t.argmax(axis).tolist() == np.argmax(x, axis).tolist() and t.argmin().tolist() == np.argmin(x)
    k = data.draw(st.integers(0, shape[axis]), label="k")
    vals, idx = t.topk(k, axis)
    np.testing.assert_array_equal(vals.data, np.take(-np.sort(-x, axis), np.arange(k), axis))
    np.testing.assert_array_equal(np.take_along_axis(x, idx, axis), vals.data)
    q = data.draw(st.one_of(floats(0, 1), st.lists(floats(0, 1), min_size=1, max_size=3)), label="q")
    keep = data.draw(st.booleans(), label="keepdims")
    for ax in (axis, None):
        np.testing.assert_allclose(t.quantile(q, ax, keep).data, np.quantile(x, q, ax, keepdims=keep), rtol=1e-13)
        np.testing.assert_allclose(t.median(ax, keep).data, np.median(x, ax, keepdims=keep), rtol=1e-13)
        for m in ("lower", "higher", "nearest", "midpoint"):
            np.testing.assert_allclose(t.quantile(q, ax, keep, method=m).data,
                                       np.quantile(x, q, ax, keepdims=keep, method=m), rtol=1e-13)
    check_gradients(lambda a: a.sort(axis, descending=True), Tensor(x), order=1)
    check_gradients(lambda a: a.topk(k, axis)[0], Tensor(x), order=1)
    check_gradients(lambda a: a.quantile(q, axis), Tensor(x), order=1)


def test_sort_ties_are_stable_and_send_each_gradient_to_one_element():
    x = Tensor([1.0, 3.0, 1.0, 3.0], requires_grad=True)
    assert x.argsort().tolist() == [0, 2, 1, 3] and x.argsort(descending=True).tolist() == [1, 3, 0, 2]
    np.testing.assert_array_equal(grad((x.sort() * np.array([1.0, 2.0, 3.0, 4.0])).sum(), x), [1, 3, 2, 4])
    np.testing.assert_array_equal(grad(x.topk(1)[0].sum(), x), [0, 1, 0, 0])
    with pytest.raises(ValueError, match="topk"):
        x.topk(5)


# --------------------------------------------------------------------------------------------
# cumulative and time series
# --------------------------------------------------------------------------------------------
@settings(max_examples=budget(15))
@given(sa=shape_and_axis(), data=st.data())
def test_cumulative_ops(sa, data):
    shape, axis = sa
    x = data.draw(arrays(shape, reals), label="x")
    t = Tensor(x)
    np.testing.assert_allclose(t.cumsum(axis).data, np.cumsum(x, axis), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(t.cumprod(axis).data, np.cumprod(x, axis), rtol=1e-13)
    np.testing.assert_allclose(t.logcumsumexp(axis).data, np.logaddexp.accumulate(x, axis), rtol=1e-13)
    np.testing.assert_allclose(t.cumsum().data, np.cumsum(x), rtol=1e-13, atol=1e-14)
    check_gradients(lambda a: a.cumsum(axis), Tensor(x), order=2)
    check_gradients(lambda a: a.cumprod(axis), Tensor(x), order=2 if bool((np.abs(x) > 1e-3).all()) else 1)
    check_gradients(lambda a: a.logcumsumexp(axis), Tensor(x), order=2)
    g = data.draw(arrays(shape, grid, unique=True), label="g")
    np.testing.assert_array_equal(Tensor(g).cummax(axis).data, np.maximum.accumulate(g, axis))
    np.testing.assert_array_equal(Tensor(g).cummin(axis).data, np.minimum.accumulate(g, axis))
    check_gradients(lambda a: a.cummax(axis), Tensor(g), order=1)
    check_gradients(lambda a: a.cummin(axis), Tensor(g), order=1)


def test_cumprod_with_zeros_is_exact_and_cummax_ties_go_to_the_latest():
    x = Tensor([2.0, 0.0, 3.0, 0.0, 5.0], requires_grad=True)
    assert gradcheck(lambda t: (t.cumprod() * np.array([1.0, 2.0, 3.0, 4.0, 5.0])).sum(), [x])
    y = Tensor([1.0, 3.0, 2.0, 3.0, 0.0], requires_grad=True)
    np.testing.assert_array_equal(grad(y.cummax().sum(), y), [1, 2, 0, 2, 0])  # arg: 0 1 1 3 3
    drawdown = Tensor([100.0, 120.0, 90.0, 130.0]) / Tensor([100.0, 120.0, 90.0, 130.0]).cummax() - 1
    np.testing.assert_allclose(drawdown.data, [0.0, 0.0, -0.25, 0.0])


@settings(max_examples=budget(15))
@given(sa=shape_and_axis(), data=st.data())
def test_diff_roll_flip_pad_unfold(sa, data):
    shape, axis = sa
    x = data.draw(arrays(shape, reals), label="x")
    t = Tensor(x)
    n = data.draw(st.integers(1, 2), label="n")
    s = data.draw(st.integers(-4, 4), label="shift")
    np.testing.assert_allclose(t.diff(n, axis).data, np.diff(x, n, axis), rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(t.roll(s, axis).data, np.roll(x, s, axis))
    np.testing.assert_array_equal(t.roll(s).data, np.roll(x, s))
    np.testing.assert_array_equal(t.flip(axis).data, np.flip(x, axis))
    np.testing.assert_array_equal(t.flip().data, np.flip(x))
    width = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=len(shape),
                               max_size=len(shape)), label="pad")
    mode = data.draw(st.sampled_from(["constant", "edge", "reflect"]), label="mode")
    if mode == "reflect":
        width = [(min(b, m - 1), min(a, m - 1)) for (b, a), m in zip(width, shape)]
    kw = {"constant_values": 1.5} if mode == "constant" else {}
    np.testing.assert_array_equal(t.pad(width, mode, 1.5).data, np.pad(x, width, mode, **kw))
    size = data.draw(st.integers(1, shape[axis]), label="size")
    step = data.draw(st.integers(1, 2), label="step")
    win = np.lib.stride_tricks.sliding_window_view(x, size, axis)
    ax = axis % len(shape)
    win = np.take(win, np.arange(0, win.shape[ax], step), ax)
    np.testing.assert_array_equal(t.unfold(axis, size, step).data, win)
    check_gradients(lambda a: a.diff(n, axis), Tensor(x), order=2)
    check_gradients(lambda a: a.roll(s, axis), Tensor(x), order=1)
    check_gradients(lambda a: a.pad(width, mode, 1.5), Tensor(x), order=1)
    check_gradients(lambda a: a.unfold(axis, size, step), Tensor(x), order=1)


def test_topk_returns_torchs_pair():
    x = Tensor(np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]]), requires_grad=True)
    res = x.topk(2, axis=1)
    values, indices = res
    assert res.values is values and res.indices is indices
    np.testing.assert_array_equal(values.data, [[3.0, 2.0], [4.0, 0.5]])
    np.testing.assert_array_equal(indices, [[0, 2], [1, 0]])
    np.testing.assert_array_equal(grad(values.sum(), x), [[1, 0, 1], [1, 1, 0]])
    np.testing.assert_array_equal(x.topk(1, 0, largest=False).values.data, [[0.5, 1.0, -1.0]])


@settings(max_examples=budget(10))
@given(x=arrays((), reals), axis=st.sampled_from([0, -1]))
def test_zero_d_cumulative_ops_keep_their_shape(x, axis):
    t = Tensor(x)
    for name in ("cumsum", "cumprod"):
        y = getattr(t, name)(axis)
        assert y.shape == () and y.item() == float(x)  # torch's: a 0-d input stays 0-d
        assert getattr(t, name)().shape == (1,)  # numpy's axis=None flattens
        order = 1 if name == "cumprod" and x == 0 else 2  # cumprod's documented limit at exact zeros
        check_gradients(lambda a, n=name: getattr(a, n)(axis), Tensor(x), order=order)
    with pytest.raises(ValueError, match="out of range"):
        t.cumsum(1)


def test_unfold_with_window_zero_and_on_0d():
    x = Tensor(np.arange(5.0), requires_grad=True)
    assert x.unfold(0, 0, 2).shape == (3, 0)  # torch: (5 - 0) // 2 + 1 empty windows
    assert x.unfold(0, 0, 1).shape == (6, 0)
    y = Tensor(np.ones((2, 4))).unfold(1, 0, 3)
    assert y.shape == (2, 2, 0)
    s = Tensor(2.5)
    assert s.unfold(0, 1, 1).shape == (1,) and s.unfold(0, 1, 1).item() == 2.5
    with pytest.raises(ValueError, match="unfold: need 0 <= size"):
        x.unfold(0, 6, 1)


@settings(max_examples=budget(15))
@given(sa=shape_and_axis(min_side=3), edge=st.sampled_from([1, 2]), coords=st.booleans(), data=st.data())
def test_numpy_gradient(sa, edge, coords, data):
    shape, axis = sa
    x = data.draw(arrays(shape, reals), label="x")
    n = shape[axis]
    h = np.cumsum(data.draw(arrays((n,), floats(0.2, 1.5)), label="steps")) if coords else 0.7
    got = Tensor(x).gradient(h, axis=axis, edge_order=edge)
    np.testing.assert_allclose(got.data, np.gradient(x, h, axis=axis, edge_order=edge), rtol=1e-12, atol=1e-12)
    check_gradients(lambda t: t.gradient(h, axis=axis, edge_order=edge), Tensor(x), order=2)
    every = Tensor(x).gradient()
    refs = np.gradient(x)
    refs = refs if isinstance(refs, (tuple, list)) else [refs]
    every = every if isinstance(every, tuple) else (every,)
    for g, r in zip(every, refs):
        np.testing.assert_allclose(g.data, r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.gradient(Tensor(x), axis=axis).data, np.gradient(x, axis=axis), rtol=1e-12)
