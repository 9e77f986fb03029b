"""numpy's own functions called on Tensors (ops/interop.py), the ones added for the op library's
coverage: each gives numpy's result (values, shapes, named tuples) as a Tensor that carries its
gradient; np.linspace with Tensor ends is differentiable in both ends, to second order."""
import numpy as np
import pytest

from tinygrad_trade import Tensor, grad
from tinygrad_trade.testing import check_gradients

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("kw", [{}, {"endpoint": False}, {"num": 1}, {"num": 2}, {"axis": 1}, {"axis": -1}])
def test_linspace_with_tensor_ends(kw):
    start, stop = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    kw = dict({"num": 5}, **kw)
    got = np.linspace(Tensor(start), Tensor(stop), **kw)
    assert isinstance(got, Tensor)
    np.testing.assert_allclose(got.data, np.linspace(start, stop, **kw), rtol=1e-15, atol=1e-15)
    check_gradients(lambda a, b: np.linspace(a, b, **kw), Tensor(start), Tensor(stop), order=2)
    y, step = np.linspace(Tensor(1.0), 3.0, 5, retstep=True)
    assert step.item() == np.linspace(1.0, 3.0, 5, retstep=True)[1]
    a = Tensor(1.0, requires_grad=True)
    # d/da sum(linspace(a, 3, 5)) = sum(1 - k/4) = 2.5
    assert grad(np.linspace(a, 3.0, 5).sum(), a) == pytest.approx(2.5, rel=1e-15)


def test_numpy_linalg_results_are_numpys_named_tuples():
    a = RNG.standard_normal((2, 4, 3))
    res = np.linalg.svd(Tensor(a))
    ref = np.linalg.svd(a)
    assert (res.U.shape, res.S.shape, res.Vh.shape) == (ref.U.shape, ref.S.shape, ref.Vh.shape)
    thin = np.linalg.svd(Tensor(a), full_matrices=False)
    assert thin.U.shape == (2, 4, 3) and thin.Vh.shape == (2, 3, 3)
    np.testing.assert_allclose(np.linalg.svd(Tensor(a), compute_uv=False).data, ref.S, rtol=1e-12)
    s = a[..., :3, :] + np.swapaxes(a[..., :3, :], -1, -2)
    sd = np.linalg.slogdet(Tensor(s))
    np.testing.assert_array_equal(sd.sign.data, np.linalg.slogdet(s).sign)
    np.testing.assert_allclose(np.linalg.eigvalsh(Tensor(s)).data, np.linalg.eigvalsh(s), rtol=1e-12, atol=1e-12)
    tri = np.triu(RNG.standard_normal((3, 3))) + np.diag([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(Tensor(tri)).data), [np.sort(np.linalg.eigvals(tri).real)][0])
    w, v = np.linalg.eig(Tensor(tri))
    np.testing.assert_allclose(tri @ v.data, v.data * w.data, atol=1e-12)
    m = [Tensor(RNG.standard_normal((2, 3))), RNG.standard_normal((3, 3)), Tensor(RNG.standard_normal((3, 2)))]
    np.testing.assert_allclose(np.linalg.multi_dot(m).data, np.linalg.multi_dot([getattr(x, "data", x) for x in m]))


def test_numpy_functions_on_tensors():
    v, w = RNG.standard_normal(3), RNG.standard_normal(3)
    m = RNG.standard_normal((3, 4))
    cases = [
        (lambda a, b: np.cross(a, b), (v, w)), (lambda a, b: np.kron(a, b), (v, w)), (lambda a: np.diag(a, 1), (v,)),
        (lambda a: np.diag(a), (m,)), (lambda a: np.sinc(a), (v,)), (lambda a, b: np.fmax(a, b), (v, w)),
        (lambda a, b: np.fmin(a, b), (v, w)), (lambda a: np.gradient(a, 0.5), (v,)),
        (lambda a, b: np.column_stack([a, b]), (v, w)), (lambda a: np.array_split(a, 3, axis=1)[0], (m,)),
        (lambda a: np.average(a, axis=1, weights=np.arange(1.0, 5.0)), (m,)), (lambda a: np.radians(a), (v,)),
        (lambda a, b: np.meshgrid(a, b)[1], (v, w)), (lambda a: np.atleast_2d(a), (v,)), (lambda a: np.ravel(a), (m,)),
        (lambda a, b: np.dstack([a, b]), (m, m)), (lambda a: np.hsplit(a, 2)[1], (m,)), (lambda a: np.vsplit(a, 3)[0], (m,)),
        (lambda a: np.rollaxis(a, 1), (m,)), (lambda a: np.ptp(a, axis=0), (m,)), (lambda a, b: np.vdot(a, b), (v, w)),
    ]
    for fn, args in cases:
        got = fn(*[Tensor(a) for a in args])
        assert isinstance(got, Tensor), fn
        np.testing.assert_allclose(got.data, fn(*args), rtol=1e-14, atol=1e-15)
        check_gradients(fn, *[Tensor(a) for a in args], order=2)
    assert np.allclose(Tensor(v), v) and np.isclose(Tensor(v), v).all() and np.array_equal(Tensor(m), m)
    assert isinstance(np.zeros_like(Tensor(v)), Tensor)
