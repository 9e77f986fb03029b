"""Shape ops added for the op library's coverage (ops/shapes.py): torch's scatter and scatter_reduce
(against a numpy loop spelling torch's documented semantics), select, numpy's array_split,
column_stack and meshgrid (both indexings); 0-d inputs. Gradients to second order by gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor, grad
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats

reals = floats(-3, 3)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def _targets(idx, axis):
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[axis] = idx[pos]
        yield pos, tuple(tgt)


def _reduce_ref(x, axis, idx, src, reduce, include_self):
    """torch.scatter_reduce spelled in numpy."""
    groups = {}
    for pos, tgt in _targets(idx, axis):
        groups.setdefault(tgt, []).append(src[pos])
    out = x.copy()
    for tgt, vals in groups.items():
        vals = vals + ([x[tgt]] if include_self else [])
        out[tgt] = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce](vals)
    return out


@st.composite
def scatter_case(draw):
    shape = draw(shapes)
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    ishape = tuple(draw(st.integers(1, 3)) if d == axis else draw(st.integers(1, s)) for d, s in enumerate(shape))
    idx = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, n - 1)))
    x = draw(arrays(shape, reals))
    src = draw(arrays(ishape, reals))
    return x, axis, idx, src


@settings(max_examples=budget(15))
@given(case=scatter_case(), reduce=st.sampled_from(["sum", "prod", "mean", "amax", "amin"]),
       include_self=st.booleans())
def test_scatter_reduce_against_torchs_definition(case, reduce, include_self):
    x, axis, idx, src = case
    got = Tensor(x).scatter_reduce(axis, idx, src, reduce, include_self=include_self)
    np.testing.assert_allclose(got.data, _reduce_ref(x, axis, idx, src, reduce, include_self), rtol=1e-13, atol=1e-14)
    order = 1 if reduce in ("amax", "amin") else 2  # piecewise linear: the second derivative is 0 away from ties
    values = np.sort(np.concatenate([x.ravel(), src.ravel()]))
    if order == 1 and values.size > 1 and np.diff(values).min() < 1e-3:
        return  # a tie (or near-tie) for the extreme is a kink: its shared gradient is tested below
    check_gradients(lambda t, s: t.scatter_reduce(axis, idx, s, reduce, include_self=include_self),
                    Tensor(x), Tensor(src), order=order)


def test_scatter_reduce_amax_shares_ties_equally_as_torch():
    x = Tensor([1.0, 0.0], requires_grad=True)
    s = Tensor([1.0, 1.0, -2.0], requires_grad=True)
    y = x.scatter_reduce(0, np.array([0, 0, 1]), s, "amax")
    np.testing.assert_array_equal(y.data, [1.0, 0.0])
    gx, gs = grad(y.sum(), [x, s])
    np.testing.assert_allclose(gx, [1 / 3, 1.0])
    np.testing.assert_allclose(gs, [1 / 3, 1 / 3, 0.0])
    with pytest.raises(ValueError, match="reduce must be"):
        x.scatter_reduce(0, np.array([0]), s, "median")


@settings(max_examples=budget(15))
@given(case=scatter_case())
def test_scatter_writes_with_the_last_write_winning(case):
    x, axis, idx, src = case
    ref = x.copy()
    for pos, tgt in _targets(idx, axis):
        ref[tgt] = src[pos]
    np.testing.assert_array_equal(Tensor(x).scatter(axis, idx, src).data, ref)
    check_gradients(lambda t, s: t.scatter(axis, idx, s), Tensor(x), Tensor(src), order=2)
    ref = x.copy()
    for _, tgt in _targets(idx, axis):
        ref[tgt] = 2.5
    np.testing.assert_array_equal(Tensor(x).scatter(axis, idx, 2.5).data, ref)


@settings(max_examples=budget(15))
@given(shape=shapes, data=st.data())
def test_select_and_array_split(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    i = data.draw(st.integers(-shape[axis], shape[axis] - 1), label="index")
    np.testing.assert_array_equal(Tensor(x).select(axis, i).data, np.take(x, i, axis))
    check_gradients(lambda t: t.select(axis, i), Tensor(x), order=2)
    k = data.draw(st.integers(1, 5), label="sections")
    pieces = Tensor(x).array_split(k, axis)
    refs = np.array_split(x, k, axis)
    assert len(pieces) == len(refs)
    for got, ref in zip(pieces, refs):
        np.testing.assert_array_equal(got.data, ref)
    assert [p.shape for p in Tensor(x).tensor_split(k, axis)] == [r.shape for r in refs]
    check_gradients(lambda t: Tensor.cat([p * (j + 1) for j, p in enumerate(t.array_split(k, axis))], axis),
                    Tensor(x), order=2)
    with pytest.raises(IndexError, match="select: index"):
        Tensor(x).select(axis, shape[axis])


@settings(max_examples=budget(10))
@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3), indexing=st.sampled_from(["xy", "ij"]),
       data=st.data())
def test_meshgrid_both_indexings(sizes, indexing, data):
    xs = [data.draw(arrays((n,), reals), label=f"x{i}") for i, n in enumerate(sizes)]
    got = Tensor.meshgrid(*[Tensor(x) for x in xs], indexing=indexing)
    for g, r in zip(got, np.meshgrid(*xs, indexing=indexing)):
        np.testing.assert_array_equal(g.data, r)
    check_gradients(lambda *ts: Tensor.meshgrid(*ts, indexing=indexing), *[Tensor(x) for x in xs], order=2)


def test_column_stack_and_zero_d():
    a, b = np.arange(3.0), np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(Tensor.column_stack([a, b, a]).data, np.column_stack([a, b, a]))
    check_gradients(lambda x, y: Tensor.column_stack([x, y]), Tensor(a), Tensor(b), order=2)
    s = Tensor(2.0)
    np.testing.assert_array_equal(Tensor.column_stack([s, s]).data, np.column_stack([2.0, 2.0]))
    assert [p.shape for p in Tensor(np.arange(7.0)).array_split(3)] == [(3,), (2,), (2,)]
