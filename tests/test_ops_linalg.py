"""Linear algebra (ops/linalg.py): forward against numpy, gradients and second derivatives by
gradcheck over hypothesis sizes and batch shapes, on well-conditioned matrices built from the drawn
numbers (diagonally dominant, symmetric positive definite, distinct spectra)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor, grad
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats

entries = floats(-1, 1)
batches = st.sampled_from([(), (2,), (1, 2)])


def _dominant(x):
    n = x.shape[-1]
    return x + n * np.eye(n) * 1.5


def _spd(x):
    n = x.shape[-1]
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _sym(t):
    return (t + t.swapaxes(-1, -2)) * 0.5


@st.composite
def square(draw, max_n=3):
    n = draw(st.integers(1, max_n))
    b = draw(batches)
    return draw(arrays(b + (n, n), entries))


@settings(max_examples=budget(12))
@given(a=square(), data=st.data())
def test_solve_inv_det_slogdet(a, data):
    a = _dominant(a)
    n = a.shape[-1]
    rhs_shape = data.draw(st.sampled_from([(n,), (n, 2), a.shape[:-2] + (n, 1)]), label="rhs")
    b = data.draw(arrays(rhs_shape, entries), label="b")
    np.testing.assert_allclose(Tensor(a).solve(b).data, np.linalg.solve(a, b), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Tensor(a).inv().data, np.linalg.inv(a), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Tensor(a).det().data, np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(Tensor(a).slogdet()[1].data, np.linalg.slogdet(a)[1], rtol=1e-12, atol=1e-14)
    check_gradients(lambda x, y: x.solve(y), Tensor(a), Tensor(b), order=2)
    check_gradients(lambda x: x.inv(), Tensor(a), order=2)
    check_gradients(lambda x: x.det(), Tensor(a), order=2)
    check_gradients(lambda x: x.slogdet()[1], Tensor(a), order=2)


@settings(max_examples=budget(12))
@given(a=square(), upper=st.booleans(), k=st.integers(1, 2))
def test_cholesky_and_triangular_solve(a, upper, k):
    s = _spd(a)
    n = s.shape[-1]
    np.testing.assert_allclose(Tensor(s).cholesky().data, np.linalg.cholesky(s), rtol=1e-12, atol=1e-14)
    check_gradients(lambda x: _sym(x).cholesky(), Tensor(s), order=2)
    tri = np.triu(s) if upper else np.tril(s)
    b = np.linspace(-1, 1, n * k).reshape(n, k)
    np.testing.assert_allclose(Tensor(s).solve_triangular(b, upper=upper).data, np.linalg.solve(tri, b),
                               rtol=1e-12, atol=1e-14)
    check_gradients(lambda x, y: x.solve_triangular(y, upper=upper), Tensor(s), Tensor(b), order=2)


def test_cholesky_gradient_is_the_symmetric_one_and_errors_are_clear():
    """torch's convention: a symmetric gradient; its lower-triangular fold (lower part doubled) is the
    derivative of what cholesky reads, the lower triangle: finite differences of the raw input see that."""
    rng = np.random.default_rng(2)
    raw = _spd(rng.uniform(-1, 1, (2, 3, 3)))
    s = Tensor(raw, requires_grad=True)
    w = rng.uniform(0.5, 1.5, raw.shape)
    g = grad((s.cholesky() * w).sum(), s)
    np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), atol=1e-14)
    fold = np.tril(g + np.swapaxes(g, -1, -2)) - g * np.eye(3)  # lower part doubled, diagonal kept
    num = np.zeros_like(raw)
    for i in np.ndindex(raw.shape):
        d = np.zeros_like(raw)
        d[i] = 1e-6
        num[i] = ((np.linalg.cholesky(raw + d) - np.linalg.cholesky(raw - d)) * w).sum() / 2e-6
    np.testing.assert_allclose(fold, num, atol=1e-7)
    with pytest.raises(ValueError, match="not positive definite"):
        Tensor([[1.0, 2.0], [2.0, 1.0]]).cholesky()
    with pytest.raises(ValueError, match="solve: singular"):
        Tensor([[1.0, 2.0], [2.0, 4.0]]).solve([1.0, 1.0])
    with pytest.raises(ValueError, match="square"):
        Tensor(np.ones((2, 3))).inv()


def test_gaussian_loglik_hessian_through_cholesky_and_solve():
    """A multivariate Gaussian log-likelihood: Hessian w.r.t. the covariance factor by create_graph."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3)

    def nll(a):
        cov = a @ a.T + np.eye(3)
        chol = cov.cholesky()
        z = chol.solve_triangular(Tensor(x))
        return 0.5 * (z * z).sum() + chol.diagonal().log().sum()

    check_gradients(nll, Tensor(rng.standard_normal((3, 3)) * 0.5), order=2)


@settings(max_examples=budget(10))
@given(a=square(), data=st.data())
def test_eigh_with_distinct_eigenvalues(a, data):
    n = a.shape[-1]
    s = a + np.swapaxes(a, -1, -2) + np.diag(np.arange(n) * 3.0)
    w, v = Tensor(s).eigh()
    rw, rv = np.linalg.eigh(s)
    np.testing.assert_allclose(w.data, rw, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.abs(v.data), np.abs(rv), rtol=1e-10, atol=1e-12)
    check_gradients(lambda x: _sym(x).eigh()[0], Tensor(s), order=2)
    check_gradients(lambda x: _sym(x).eigh()[1] ** 2, Tensor(s), order=2)  # sign-invariant use of the eigenvectors


@settings(max_examples=budget(10))
@given(m=st.integers(1, 3), n=st.integers(1, 3), b=batches, data=st.data())
def test_svd_pinv(m, n, b, data):
    k = min(m, n)
    a = data.draw(arrays(b + (m, n), entries), label="a")
    a = a + np.eye(m, n) * (np.arange(k) * 2.0 + 2.0).tolist()[0] if k == 1 else a + np.eye(m, n) * 0
    d = np.zeros((m, n))
    d[np.arange(k), np.arange(k)] = 2.0 + 2.0 * np.arange(k)
    a = a * 0.3 + d
    u, s, vh = Tensor(a).svd(full_matrices=False)
    np.testing.assert_allclose(s.data, np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose((u.data * s.data[..., None, :]) @ vh.data, a, rtol=1e-12, atol=1e-13)
    uf, sf, vhf = Tensor(a).svd()  # numpy's default: full matrices, U (m, m) and Vh (n, n) orthogonal
    assert uf.shape == a.shape[:-2] + (m, m) and vhf.shape == a.shape[:-2] + (n, n)
    np.testing.assert_allclose(uf.data @ np.swapaxes(uf.data, -1, -2), np.broadcast_to(np.eye(m), uf.shape), atol=1e-13)
    np.testing.assert_allclose((uf.data[..., :k] * sf.data[..., None, :]) @ vhf.data[..., :k, :], a, rtol=1e-12, atol=1e-13)
    check_gradients(lambda x: x.svd()[1], Tensor(a), order=2)
    check_gradients(lambda x: (x.svd(full_matrices=False)[0] ** 2).sum(axis=-2) + 0 * x.sum(), Tensor(a), order=1)
    check_gradients(lambda x: x.svd(False)[0] @ x.svd(False)[2], Tensor(a), order=2)  # invariant to paired sign flips
    check_gradients(lambda x: x.svd()[0][..., :k] @ x.svd()[2][..., :k, :], Tensor(a), order=2)
    np.testing.assert_allclose(Tensor(a, requires_grad=True).pinv().data, np.linalg.pinv(a), rtol=1e-10, atol=1e-12)
    check_gradients(lambda x: x.pinv(), Tensor(a), order=2)


@settings(max_examples=budget(12))
@given(a=square(), data=st.data())
def test_parts_and_products(a, data):
    n = a.shape[-1]
    k = data.draw(st.integers(-1, 1), label="k")
    np.testing.assert_array_equal(Tensor(a).tril(k).data, np.tril(a, k))
    np.testing.assert_array_equal(Tensor(a).triu(k).data, np.triu(a, k))
    np.testing.assert_array_equal(Tensor(a).diagonal(k, -2, -1).data, np.diagonal(a, k, -2, -1))
    np.testing.assert_allclose(Tensor(a).trace(0, -2, -1).data, np.trace(a, 0, -2, -1), rtol=1e-13)
    check_gradients(lambda x: x.tril(k), Tensor(a), order=2)
    check_gradients(lambda x: x.diagonal(k, -1, -2), Tensor(a), order=2)
    np.testing.assert_array_equal(Tensor(a).diag_embed().data, a[..., None] * np.eye(n))
    check_gradients(lambda x: x.diag_embed(), Tensor(a))
    v = data.draw(arrays((n,), entries), label="v")
    np.testing.assert_allclose(Tensor(v).outer(v * 2).data, np.outer(v, v * 2))
    check_gradients(lambda x, y: x.outer(y), Tensor(v), Tensor(v + 1), order=2)
    mp = data.draw(st.integers(0, 3), label="power")
    np.testing.assert_allclose(Tensor(a).matrix_power(mp).data, np.linalg.matrix_power(a, mp), rtol=1e-12, atol=1e-13)


EINSUMS = [  # spec, operand shapes
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("ij,ij->", [(2, 3), (2, 3)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("ij->j", [(2, 3)]), ("i,j->ij", [(2,), (3,)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("bij,bjk", [(2, 2, 3), (2, 3, 2)]), ("ijk->kji", [(2, 3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("i,i", [(3,), (3,)]), ("ij->", [(2, 2)]), ("iij->j", [(2, 2, 3)]), ("i...->...", [(2, 3, 2)]),
]


@pytest.mark.parametrize("spec, shapes", EINSUMS)
def test_einsum_and_tensordot(spec, shapes):
    rng = np.random.default_rng(len(spec))
    ops = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(Tensor.einsum(spec, *[Tensor(o) for o in ops]).data, np.einsum(spec, *ops),
                               rtol=1e-12, atol=1e-14)
    check_gradients(lambda *ts: Tensor.einsum(spec, *ts), *[Tensor(o) for o in ops], order=2)


@settings(max_examples=budget(10))
@given(data=st.data())
def test_tensordot(data):
    sa = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), label="sa")
    k = data.draw(st.integers(0, len(sa)), label="axes")
    sb = sa[len(sa) - k:] + data.draw(hnp.array_shapes(min_dims=0, max_dims=1, max_side=2), label="rest")
    a, b = data.draw(arrays(sa, entries), label="a"), data.draw(arrays(sb, entries), label="b")
    np.testing.assert_allclose(Tensor(a).tensordot(b, k).data, np.tensordot(a, b, k), rtol=1e-12, atol=1e-14)
    check_gradients(lambda x, y: x.tensordot(y, k), Tensor(a), Tensor(b), order=1)


COMPOSED = {  # name: (function, numpy reference, operand shapes); well-conditioned by construction
    "kron": (lambda a, b: a.kron(b), np.kron, [(2, 3), (3, 2)]),
    "inner": (lambda a, b: a.inner(b), np.inner, [(3, 4), (2, 4)]),
    "dot": (lambda a, b: a.dot(b), np.dot, [(3, 4), (4,)]),
    "matrix_power": (lambda a: (a + 3 * np.eye(3)).matrix_power(-2),
                     lambda a: np.linalg.matrix_power(a + 3 * np.eye(3), -2), [(3, 3)]),
    "logdet": (lambda a: (a @ a.T + np.eye(3)).logdet(), lambda a: np.linalg.slogdet(a @ a.T + np.eye(3))[1], [(3, 3)]),
    "eigvalsh": (lambda a: (a + a.T).eigvalsh(), lambda a: np.linalg.eigvalsh(a + a.T), [(3, 3)]),
    "trace": (lambda a: a.trace(1), lambda a: np.trace(a, 1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_linear_algebra(name):
    fn, ref, shapes = COMPOSED[name]
    rng = np.random.default_rng(len(name))
    ops = [rng.uniform(-1, 1, s) for s in shapes]
    if name == "eigvalsh":
        ops = [ops[0] + np.diag([0.0, 1.5, 3.0])]  # distinct eigenvalues
    np.testing.assert_allclose(fn(*[Tensor(o) for o in ops]).data, ref(*ops), rtol=1e-12, atol=1e-14)
    check_gradients(fn, *[Tensor(o) for o in ops], order=2)


def test_interop_linalg_and_clear_errors():
    a = Tensor(np.eye(2) * 2.0 + 0.1, requires_grad=True)
    x = np.linalg.solve(a, np.ones(2))
    assert isinstance(x, Tensor) and x.requires_grad
    np.testing.assert_allclose(x.data, np.linalg.solve(a.data, np.ones(2)))
    with pytest.raises(ValueError, match="det: the gradient at a singular matrix"):
        Tensor(np.zeros((2, 2)), requires_grad=True).det()
    e = Tensor(np.eye(2), requires_grad=True)
    with pytest.raises(ValueError, match="eigh: the gradient needs distinct values"):
        grad((e.eigh()[1] ** 2).sum(), e)


@settings(max_examples=budget(10))
@given(a=square(), data=st.data())
def test_slogdet_is_numpys_pair_batched(a, data):
    a = _dominant(a) * np.where(data.draw(st.booleans(), label="flip"), -1.0, 1.0)
    res = Tensor(a).slogdet()
    ref = np.linalg.slogdet(a)
    sign, logabsdet = res  # unpacks as numpy's and torch's pair; reads by name too
    assert res.sign is sign and res.logabsdet is logabsdet
    assert isinstance(sign, Tensor) and not sign.requires_grad
    np.testing.assert_array_equal(sign.data, ref.sign)
    np.testing.assert_allclose(logabsdet.data, ref.logabsdet, rtol=1e-12, atol=1e-13)
    check_gradients(lambda x: x.slogdet().logabsdet, Tensor(a), order=2)
    check_gradients(lambda x: x.slogdet()[0] * x.slogdet()[1], Tensor(a), order=2)


KRON_SHAPES = [((3,), (2,)), ((), (2, 3)), ((2, 3), ()), ((2,), (2, 3)), ((2, 1, 2), (2, 3)), ((2, 2), (3,)), ((), ())]


@pytest.mark.parametrize("sa, sb", KRON_SHAPES)
def test_kron_of_any_ranks(sa, sb):
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a, b = rng.uniform(-1, 1, sa), rng.uniform(-1, 1, sb)
    np.testing.assert_allclose(Tensor(a).kron(b).data, np.kron(a, b), rtol=1e-14)
    check_gradients(lambda x, y: x.kron(y), Tensor(a), Tensor(b), order=2)


@settings(max_examples=budget(10))
@given(n=st.integers(1, 4), k=st.integers(-2, 2), data=st.data())
def test_diag_builds_and_reads(n, k, data):
    v = data.draw(arrays((n,), entries), label="v")
    np.testing.assert_array_equal(Tensor(v).diag(k).data, np.diag(v, k))
    check_gradients(lambda x: x.diag(k), Tensor(v), order=2)
    m = data.draw(arrays((n, n + 1), entries), label="m")
    np.testing.assert_array_equal(Tensor(m).diag(k).data, np.diag(m, k))
    check_gradients(lambda x: x.diag(k), Tensor(m), order=2)
    with pytest.raises(ValueError, match="diag: needs a 1-D or 2-D"):
        Tensor(np.zeros((2, 2, 2))).diag()


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors")  # numpy 2 deprecates its 2-vectors
@settings(max_examples=budget(10))
@given(batch=st.sampled_from([(), (2,), (3, 1)]), other=st.sampled_from([(), (1,), (2,)]), n=st.sampled_from([2, 3]),
       data=st.data())
def test_cross_broadcasts_as_numpy(batch, other, n, data):
    a = data.draw(arrays(batch + (3,), entries), label="a")
    b = data.draw(arrays(other + (n,), entries), label="b")
    np.testing.assert_allclose(Tensor(a).cross(b).data, np.cross(a, b), rtol=1e-14, atol=1e-15)
    check_gradients(lambda x, y: x.cross(y), Tensor(a), Tensor(b), order=2)
    c = np.moveaxis(np.broadcast_to(a, (2,) + a.shape), -1, 0)  # vectors along axis 0
    np.testing.assert_allclose(Tensor(c).cross(np.ones_like(c), axis=0).data, np.cross(c, np.ones_like(c), axis=0),
                               rtol=1e-14, atol=1e-15)
    two = data.draw(arrays((2,), entries), label="two")
    np.testing.assert_allclose(Tensor(two).cross(two[::-1]).data, np.cross(two, two[::-1]), atol=1e-15)
    with pytest.raises(ValueError, match="cross: vectors must have 2 or 3"):
        Tensor(np.ones(4)).cross(np.ones(4))
