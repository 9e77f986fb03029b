"""Shapes and indexing (ops/shapes.py): forward against numpy (or torch's documented semantics
spelled in numpy), gradients by gradcheck over hypothesis shapes; the strict squeeze; constructors."""
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


@settings(max_examples=budget(15))
@given(shape=shapes, data=st.data())
def test_expand_tile_repeat(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    target = data.draw(hnp.array_shapes(min_dims=len(shape), max_dims=len(shape) + 1, max_side=3)
                       .filter(lambda s: all(a in (1, b) for a, b in zip(shape[::-1], s[::-1]))), label="target")
    np.testing.assert_array_equal(Tensor(x).expand(target).data, np.broadcast_to(x, target))
    np.testing.assert_array_equal(Tensor(x).expand((2,) + (-1,) * len(shape)).data, np.stack([x, x]))
    reps = tuple(data.draw(st.lists(st.integers(1, 2), min_size=1, max_size=3), label="reps"))
    np.testing.assert_array_equal(Tensor(x).tile(reps).data, np.tile(x, reps))
    r = data.draw(st.integers(1, 3), label="repeats")
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    np.testing.assert_array_equal(Tensor(x).repeat(r, axis).data, np.repeat(x, r, axis))
    check_gradients(lambda t: t.expand(target), Tensor(x), order=2)
    check_gradients(lambda t: t.tile(reps), Tensor(x), order=2)
    check_gradients(lambda t: t.repeat(r, axis), Tensor(x))


@settings(max_examples=budget(15))
@given(shape=shapes, data=st.data())
def test_split_chunk_stacks(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    n = shape[axis]
    points = sorted(data.draw(st.lists(st.integers(0, n), max_size=3), label="points"))
    for got, ref in zip(Tensor(x).split(points, axis), np.split(x, points, axis)):
        np.testing.assert_array_equal(got.data, ref)
    k = data.draw(st.integers(1, 4), label="chunks")
    pieces = Tensor(x).chunk(k, axis)
    size = -(-n // k)
    assert [p.shape[axis] for p in pieces] == [min(size, n - lo) for lo in range(0, n, size)]
    np.testing.assert_array_equal(Tensor.cat(pieces, axis).data, x)
    check_gradients(lambda t: Tensor.cat([p * (i + 1) for i, p in enumerate(t.chunk(k, axis))], axis), Tensor(x))
    np.testing.assert_array_equal(Tensor.vstack([x, x]).data, np.vstack([x, x]))
    np.testing.assert_array_equal(Tensor.hstack([x, x]).data, np.hstack([x, x]))
    check_gradients(lambda a, b: Tensor.hstack([a, b * 2]), Tensor(x), Tensor(x))


def test_split_errors_and_sizes():
    t = Tensor(np.arange(6.0))
    with pytest.raises(ValueError, match="equal sections"):
        t.split(4)
    assert [p.shape for p in t.split(3)] == [(2,)] * 3
    assert [p.shape for p in t.split_sizes([1, 5])] == [(1,), (5,)]
    assert [p.shape for p in t.split_sizes(4)] == [(4,), (2,)]
    with pytest.raises(ValueError, match="add up"):
        t.split_sizes([1, 2])


@settings(max_examples=budget(15))
@given(shape=shapes, data=st.data())
def test_gathers_and_scatter_add(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    n = shape[axis]
    ishape = tuple(data.draw(st.integers(1, 3)) if d == axis % len(shape) else data.draw(st.integers(1, s))
                   for d, s in enumerate(shape))
    idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, n - 1)), label="idx")
    # torch.gather: out[i][j] = x[idx[i][j]][j] (axis 0), idx may be smaller along the other axes
    ref = np.take_along_axis(x[tuple(slice(0, m) if d != axis % len(shape) else slice(None)
                                     for d, m in enumerate(ishape))], idx, axis)
    np.testing.assert_array_equal(Tensor(x).gather(axis, idx).data, ref)
    check_gradients(lambda t: t.gather(axis, idx), Tensor(x), order=2)
    full = np.broadcast_to(idx[tuple(slice(0, 1) if d != axis % len(shape) else slice(None)
                                     for d in range(len(shape)))], ishape[:0] + tuple(
        ishape[d] if d == axis % len(shape) else 1 for d in range(len(shape))))
    np.testing.assert_array_equal(Tensor(x).take_along_axis(full, axis).data, np.take_along_axis(x, full, axis))
    src = data.draw(arrays(ishape, reals), label="src")
    ref = x.copy()
    for pos in np.ndindex(*ishape):
        tgt = list(pos)
        tgt[axis % len(shape)] = idx[pos]
        ref[tuple(tgt)] += src[pos]
    np.testing.assert_allclose(Tensor(x).scatter_add(axis, idx, src).data, ref, rtol=1e-14)
    check_gradients(lambda t, s: t.scatter_add(axis, idx, s), Tensor(x), Tensor(src), order=2)
    flat = data.draw(hnp.arrays(np.int64, (3,), elements=st.integers(-n, n - 1)), label="take")
    np.testing.assert_array_equal(Tensor(x).take(flat, axis).data, np.take(x, flat, axis))
    check_gradients(lambda t: t.take(flat, axis), Tensor(x))


def test_repeated_gather_indices_sum_their_gradients():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.testing.assert_array_equal(grad(x.gather(0, np.array([2, 2, 0])).sum(), x), [1, 0, 2])
    with pytest.raises(TypeError, match="integers"):
        x.gather(0, np.array([0.0]))


def test_squeeze_of_a_non_unit_axis_is_an_error_as_in_numpy():
    t = Tensor(np.zeros((1, 3, 1)))
    assert t.squeeze().shape == (3,) and t.squeeze(0).shape == (3, 1) and t.squeeze((0, -1)).shape == (3,)
    with pytest.raises(ValueError, match="squeeze: axis 1 has size 3, not 1"):
        t.squeeze(1)
    assert t.unsqueeze(0).shape == (1, 1, 3, 1)
    assert t.flatten().shape == (3,) and Tensor(np.zeros((2, 3, 4))).flatten(1).shape == (2, 12)
    assert Tensor(np.zeros((2, 3, 4))).moveaxis(0, -1).shape == (3, 4, 2)
    assert Tensor(np.zeros((2, 3, 4))).permute(2, 0, 1).shape == (4, 2, 3)


def test_constructors():
    np.testing.assert_array_equal(Tensor.eye(3, 2, k=-1).data, np.eye(3, 2, k=-1))
    np.testing.assert_array_equal(Tensor.arange(1, 7, 2).data, [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(Tensor.linspace(0, 1, 5).data, np.linspace(0, 1, 5))
    f = Tensor.full((2, 2), 3.5, dtype=np.float32)
    assert f.dtype == np.float32 and (f.data == 3.5).all()
    np.testing.assert_array_equal(Tensor.one_hot(np.array([2, 0]), 4).data, [[0, 0, 1, 0], [1, 0, 0, 0]])
    with pytest.raises(ValueError, match="one_hot"):
        Tensor.one_hot(np.array([4]), 4)
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert t.zeros_like().shape == (1, 2) and (t.ones_like().data == 1).all()
    assert (t.full_like(7.0).data == 7).all() and not t.full_like(7.0).requires_grad


@settings(max_examples=budget(10))
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), data=st.data())
def test_numpy_shape_helpers(shape, data):
    x = data.draw(arrays(shape, reals), label="x")
    for name in ("ravel", "atleast_1d", "atleast_2d", "atleast_3d"):
        np.testing.assert_array_equal(getattr(Tensor(x), name)().data, getattr(np, name)(x))
    np.testing.assert_array_equal(Tensor(x).append(x).data, np.append(x, x))
    if len(shape) >= 2:
        k = data.draw(st.integers(-1, 4), label="k")
        np.testing.assert_array_equal(Tensor(x).rot90(k, (1, 0)).data, np.rot90(x, k, (1, 0)))
        check_gradients(lambda t: t.rot90(k, (1, 0)), Tensor(x))
        np.testing.assert_array_equal(Tensor(x).append(x, axis=-1).data, np.append(x, x, axis=-1))
