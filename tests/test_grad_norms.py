"""Per-parameter gradient norms recorded in the nets' fit history (for a gradient-flow plot): one list of
per-member norms per parameter and epoch, equal to the norm of the gradient the optimizer used."""
import warnings

import numpy as np
import pytest

from tinygrad_trade.graph import grad
from tinygrad_trade.tensor import Tensor
from tinygrad_trade.vol.features import chronological_split
from tinygrad_trade.vol.models.neural import GRUForecaster, MLPForecaster


@pytest.fixture(scope="module")
def ds():
    from tinygrad_trade.vol.data import load_sp500
    from tinygrad_trade.vol.dataset import build_dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_dataset(load_sp500())


END = 1500


@pytest.mark.parametrize("cls", [MLPForecaster, GRUForecaster])
def test_grad_norms_per_parameter_member_and_epoch(ds, cls):
    m = cls(seed=0, quick=True, progress=False, epochs=6, patience=100).fit(ds, END)
    m.fit(ds, END + 21)                                       # a warm refit keeps its own record
    names = [n for n, _ in m.params.named_parameters()]
    for h in m.history:
        gn = h["grad_norm"]
        assert list(gn) == names
        for n in names:
            a = np.asarray(gn[n])
            assert a.shape == (len(h["train"]), m.members)
            assert np.all(np.isfinite(a)) and np.all(a >= 0)
    # the first epoch's norms are those of the gradient at initialisation, computed here independently
    # (in float64 from the model's own loss function; training runs in float32)
    first = cls(seed=0, quick=True, progress=False, epochs=0).fit(ds, END)
    prep = first._prepared(ds)
    rows = first._fit_rows(ds, END, 0, prep)
    tr, _, _ = chronological_split(rows.size, first.val_frac, gap=ds.horizon - 1)
    inputs, y = first.batch(ds, rows[tr])
    ps = [Tensor(p.data.astype(np.float64), requires_grad=True) for p in first.params.parameters()]
    gs = grad(first.loss_fn(inputs, y)(*ps), ps)
    for n, g in zip(names, gs):
        want = np.sqrt((np.asarray(g) ** 2).reshape(first.members, -1).sum(axis=1))
        got = np.asarray(m.history[0]["grad_norm"][n][0])
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-7, err_msg=n)
    # the residual net's output layer starts at zero, its gradient does not
    out = "W2" if cls is MLPForecaster else "w_out"
    assert np.all(np.asarray(m.history[0]["grad_norm"][out][0]) > 0)
