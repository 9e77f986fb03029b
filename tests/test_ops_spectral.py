"""Spectral decompositions (ops/spectral.py): eigh/eigvalsh with the symmetric (torch's) gradient,
batched and broadcast; real eig/eigvals; svd as numpy returns it (full or thin, batched); pinv with
numpy's cutoff on low-rank matrices. Forward against numpy, gradients to second order by gradcheck
over hypothesis sizes, on matrices built to be well-conditioned (distinct spectra)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_trade import Tensor, grad
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats

entries = floats(-1, 1)
batches = st.sampled_from([(), (2,), (1, 2)])


def _sym(t):
    return (t + t.swapaxes(-1, -2)) * 0.5


def _spread(n):
    return np.diag(np.arange(n) * 3.0)  # distinct eigenvalues after a small perturbation


@settings(max_examples=budget(10))
@given(n=st.integers(1, 3), b=batches, data=st.data())
def test_eigh_batched_and_broadcast_gradients(n, b, data):
    a = data.draw(arrays(b + (n, n), entries), label="a") + _spread(n)
    c = data.draw(arrays((n, n), entries), label="c")  # broadcast against the batch
    s = a + np.swapaxes(a, -1, -2)
    res = Tensor(s).eigh()
    assert res.eigenvalues is res[0] and res.eigenvectors is res[1]  # numpy's EighResult names
    rw, rv = np.linalg.eigh(s)
    np.testing.assert_allclose(res.eigenvalues.data, rw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.abs(res.eigenvectors.data), np.abs(rv), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(Tensor(s).eigvalsh().data, np.linalg.eigvalsh(s), rtol=1e-12, atol=1e-12)
    check_gradients(lambda x, y: _sym(x + 0.1 * y).eigvalsh(), Tensor(s), Tensor(c), order=2)
    check_gradients(lambda x, y: _sym(x + 0.1 * y).eigh()[1] ** 2, Tensor(s), Tensor(c), order=2)


def test_eigvalsh_gradient_is_the_symmetric_one():
    """torch's convention: d(sum w)/dA = I; d w_k / dA = v_k v_k^T, symmetric, also batched."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4))
    s = x + np.swapaxes(x, -1, -2)
    t = Tensor(s, requires_grad=True)
    np.testing.assert_allclose(grad(t.eigvalsh().sum(), t), np.broadcast_to(np.eye(4), s.shape), atol=1e-12)
    _, v = np.linalg.eigh(s)
    g = grad(t.eigvalsh()[..., -1].sum(), t)
    np.testing.assert_allclose(g, v[..., :, -1:] * v[..., None, :, -1], atol=1e-12)
    np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), atol=1e-15)
    # repeated eigenvalues: the eigenvalue gradient is still defined (eigenvectors are not)
    e = Tensor(np.eye(3), requires_grad=True)
    np.testing.assert_allclose(grad(e.eigvalsh().sum(), e), np.eye(3), atol=1e-15)
    with pytest.raises(ValueError, match="eigh: the gradient needs distinct values"):
        grad((e.eigh()[1] ** 2).sum(), e)
    u = Tensor(np.triu(s[0]) + np.triu(s[0], 1).T)  # UPLO="U" reads the upper triangle
    np.testing.assert_allclose(Tensor(np.triu(s[0])).eigvalsh("U").data, np.linalg.eigvalsh(u.data), rtol=1e-12)


@settings(max_examples=budget(10))
@given(n=st.integers(1, 3), b=batches, data=st.data())
def test_real_eig_and_eigvals(n, b, data):
    # a dense invertible q (numpy's eig reorders its output discontinuously at triangular matrices,
    # which would fool the finite differences)
    base = 2 * np.eye(n) + 0.6 * np.tri(n, k=-1) - 0.4 * np.tri(n, k=-1).T
    q = data.draw(arrays(b + (n, n), entries), label="q") * 0.3 + base
    d = np.arange(n) * 2.0 + 1.0
    a = q @ (d[:, None] * np.linalg.inv(q))  # similar to diag(d): real distinct eigenvalues
    w, v = Tensor(a).eig()
    rw, rv = np.linalg.eig(a)
    np.testing.assert_allclose(w.data, rw.real, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.abs(v.data), np.abs(rv.real), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(Tensor(a).eigvals().data, np.linalg.eigvals(a).real, rtol=1e-9, atol=1e-9)
    check_gradients(lambda x: x.eigvals(), Tensor(a), order=2)
    check_gradients(lambda x: x.eig()[1] ** 2, Tensor(a), order=2)  # unit eigenvectors, sign-free


def test_eig_refuses_complex_eigenvalues():
    with pytest.raises(ValueError, match="complex eigenvalues"):
        Tensor([[0.0, -1.0], [1.0, 0.0]]).eigvals()


@settings(max_examples=budget(10))
@given(m=st.integers(1, 4), n=st.integers(1, 4), b=batches, full=st.booleans(), data=st.data())
def test_svd_as_numpy_returns_it(m, n, b, full, data):
    k = min(m, n)
    d = np.zeros((m, n))
    d[np.arange(k), np.arange(k)] = 2.0 + 2.0 * np.arange(k)
    a = data.draw(arrays(b + (m, n), entries), label="a") * 0.3 + d
    res = Tensor(a).svd(full_matrices=full)
    ru, rs, rvh = np.linalg.svd(a, full_matrices=full)
    assert (res.U.shape, res.S.shape, res.Vh.shape) == (ru.shape, rs.shape, rvh.shape)
    np.testing.assert_allclose(res.S.data, rs, rtol=1e-12)
    np.testing.assert_allclose(np.abs(res.U.data[..., :k]), np.abs(ru[..., :k]), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.abs(res.Vh.data[..., :k, :]), np.abs(rvh[..., :k, :]), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(Tensor(a).svd(compute_uv=False).data, rs, rtol=1e-12)
    check_gradients(lambda x: x.svd(full)[0][..., :k] @ x.svd(full)[2][..., :k, :], Tensor(a), order=2)
    check_gradients(lambda x: x.svdvals(), Tensor(a), order=2)


def test_svd_full_matrices_ignores_the_extra_columns_as_torch():
    a = Tensor(np.array([[3.0, 0.5], [0.2, 1.0], [0.1, -0.4]]), requires_grad=True)
    u_full = a.svd()[0]
    g_extra = grad((u_full[:, 2:] ** 2).sum() + u_full[:, :2].sum() * 0.0, a)
    np.testing.assert_array_equal(g_extra, np.zeros((3, 2)))


@settings(max_examples=budget(10))
@given(m=st.integers(2, 4), n=st.integers(2, 4), r=st.integers(1, 2), b=batches, data=st.data())
def test_pinv_of_low_rank_matrices(m, n, r, b, data):
    r = min(r, m - 1, n - 1)  # rank below full
    left = data.draw(arrays(b + (m, r), entries), label="left") * 0.3 + np.eye(m, r)   # full column rank r
    right = data.draw(arrays(b + (r, n), entries), label="right") * 0.3 + np.eye(r, n)  # full row rank r
    a = left @ right
    np.testing.assert_allclose(Tensor(a).pinv().data, np.linalg.pinv(a), rtol=1e-9, atol=1e-10)
    # the rank stays r under perturbations of the factors: the constant-rank gradient applies
    check_gradients(lambda x, y: (x @ y).pinv(), Tensor(left), Tensor(right), order=2)


def test_pinv_full_rank_and_cutoff():
    rng = np.random.default_rng(3)
    for shape in [(4, 3), (3, 4), (2, 3, 3)]:
        a = rng.standard_normal(shape)
        np.testing.assert_allclose(Tensor(a).pinv().data, np.linalg.pinv(a), rtol=1e-10, atol=1e-12)
        check_gradients(lambda x: x.pinv(), Tensor(a), order=2)
    tiny = np.diag([1.0, 1e-17])  # below numpy's rcond: treated as zero, as numpy does
    np.testing.assert_array_equal(Tensor(tiny).pinv().data, np.linalg.pinv(tiny))
    np.testing.assert_allclose(Tensor(np.diag([1.0, 1e-3])).pinv(rcond=1e-2).data, np.diag([1.0, 0.0]))
