"""nn layers beyond Linear/GRU: LayerNorm, RMSNorm, BatchNorm1d, LSTMCell/LSTM, Embedding, Conv1d,
MultiheadAttention. Gradients of the input and every parameter against finite differences (second
order where the layer is smooth), the behaviour that defines each layer, and clear errors.
(PyTorch float64 agreement is checked in benchmarks/crosscheck_torch_layers.py, a peer script.)"""
import numpy as np
import pytest

from tinygrad_trade import Tensor, grad
from tinygrad_trade.nn import (LSTM, BatchNorm1d, Conv1d, Embedding, LayerNorm, LSTMCell, Module,
                               MultiheadAttention, RMSNorm)
from tinygrad_trade.nn.recurrent import LSTMSequence
from tinygrad_trade.testing import check_gradients


class _Outputs(Module):
    """A module whose (possibly nested) outputs are flattened to a list, for check_gradients."""

    def __init__(self, inner, pick):
        self.inner, self.pick = inner, pick

    def forward(self, *args):
        return self.pick(self.inner(*args))


class _Fixed(Module):
    """A module called on fixed (non-differentiable) arguments: only its parameters are checked."""

    def __init__(self, inner, *args):
        self.inner, self.args = inner, args

    def forward(self):
        return self.inner(*self.args)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --- normalisation ------------------------------------------------------------------------------

@pytest.mark.parametrize("make, shape", [
    (lambda: LayerNorm(4), (2, 3, 4)), (lambda: LayerNorm((3, 4)), (2, 3, 4)),
    (lambda: RMSNorm(4, eps=1e-6), (2, 3, 4)), (lambda: RMSNorm((3, 4)), (2, 3, 4)),
    (lambda: BatchNorm1d(3), (5, 3)), (lambda: BatchNorm1d(3), (4, 3, 2)),
], ids=["layernorm", "layernorm2d", "rmsnorm", "rmsnorm2d", "batchnorm", "batchnorm3d"])
def test_normalization_gradients_to_second_order(make, shape):
    m = make()
    for p in m.parameters():  # away from the ones/zeros init, so weight and bias really matter
        p.data[...] = _x(*p.shape, seed=3) * 0.5 + 1.0
    assert check_gradients(m, _x(*shape), order=2)


def test_layernorm_and_rmsnorm_normalise_the_last_axes():
    x = Tensor(_x(3, 5) * 4 + 2)
    y = LayerNorm(5)(x).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-4)  # eps = 1e-5 inside the square root
    r = RMSNorm(5, eps=0.0)(x).data
    np.testing.assert_allclose((r * r).mean(axis=-1), 1, rtol=1e-12)
    with pytest.raises(ValueError, match="ending in shape"):
        LayerNorm(4)(x)


def test_batchnorm_running_statistics_train_and_eval():
    bn = BatchNorm1d(2, momentum=0.25)
    x = _x(6, 2) * np.array([2.0, 0.5]) + np.array([1.0, -3.0])
    y = bn(Tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, 0.25 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.75 + 0.25 * x.var(axis=0, ddof=1), rtol=1e-12)
    bn.eval()
    z = bn(Tensor(x)).data
    expected = (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5)
    np.testing.assert_allclose(z, expected, rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, 0.25 * x.mean(axis=0), rtol=1e-12)  # eval: no update
    assert check_gradients(bn, x, order=2)  # eval mode is affine in x: the running stats are constants
    with pytest.raises(ValueError, match="more than one value"):
        bn.train()(Tensor(_x(1, 2)))


def test_batchnorm_running_stats_are_saved_and_loaded(tmp_path):
    bn = BatchNorm1d(3)
    bn(Tensor(_x(8, 3)))
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]
    bn.save(tmp_path / "bn.npz")
    fresh = BatchNorm1d(3)
    fresh.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(fresh.running_var.data, bn.running_var.data)
    assert [n for n, _ in fresh.named_parameters()] == ["weight", "bias"]  # buffers are not trained


# --- recurrent ----------------------------------------------------------------------------------

def test_lstm_cell_gradients_to_second_order():
    cell = LSTMCell(2, 2, rng=0)
    h0, c0 = Tensor(_x(2, 2, seed=1), requires_grad=True), Tensor(_x(2, 2, seed=2), requires_grad=True)
    assert check_gradients(_Outputs(cell, lambda hc: list(hc)), _x(2, 2), order=2)
    assert check_gradients(lambda x, h, c: list(cell(x, (h, c))), _x(2, 2), h0, c0, order=2)


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_gradients_of_input_state_and_parameters(fused):
    lstm = LSTM(2, 3, rng=0, fused=fused)
    pick = _Outputs(lstm, lambda out: [out[0], out[1][0], out[1][1]])
    assert check_gradients(pick, _x(2, 4, 2))
    h0, c0 = Tensor(_x(2, 3, seed=1), requires_grad=True), Tensor(_x(2, 3, seed=2), requires_grad=True)
    assert check_gradients(lambda x, h, c: [lstm(x, (h, c))[0], lstm(x, (h, c))[1][1]], _x(2, 4, 2), h0, c0)


def test_lstm_fused_equals_step_by_step_and_unfused_is_twice_differentiable():
    x = _x(3, 5, 2)
    a, b = LSTM(2, 4, rng=7), LSTM(2, 4, rng=7, fused=False)
    (ha, (_, ca)), (hb, (_, cb)) = a(x), b(x)
    np.testing.assert_allclose(ha.data, hb.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ca.data, cb.data, rtol=1e-12, atol=1e-14)
    ga = grad((ha * ha).sum() + ca.sum(), a.parameters())
    gb = grad((hb * hb).sum() + cb.sum(), b.parameters())
    for u, v in zip(ga, gb):
        np.testing.assert_allclose(u, v, rtol=1e-11, atol=1e-13)
    small = LSTM(1, 2, rng=0, fused=False)
    assert check_gradients(_Outputs(small, lambda out: out[1][0]), _x(1, 2, 1), order=2)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        x_t = Tensor(x, requires_grad=True)
        grad(grad(a(x_t)[0].sum(), x_t, create_graph=True).sum(), x_t)


def test_lstm_sequence_op_and_shape_errors():
    assert check_gradients(LSTMSequence, _x(2, 3, 2), _x(2, 8) * 0.5, _x(2, 8, seed=1) * 0.5, _x(8) * 0.1,
                           _x(8, seed=2) * 0.1, _x(2, 2, seed=3), _x(2, 2, seed=4))
    with pytest.raises(ValueError, match="batch, time, 2"):
        LSTM(2, 3)(_x(2, 4, 3))
    with pytest.raises(ValueError, match="initial c"):
        LSTM(2, 3)(_x(2, 4, 2), (np.zeros((2, 3)), np.zeros((3, 3))))


# --- sequences: embedding and convolution ----------------------------------------------------------

def test_embedding_lookup_gradients_and_errors():
    emb = Embedding(5, 3, rng=0)
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [2, 1, 1, 0, 2])  # repeated indices add up
    assert check_gradients(_Fixed(_Outputs(emb, lambda y: y * y), idx), order=2)
    with pytest.raises(IndexError, match="index 5 is out of range for 5"):
        emb(np.array([1, 5]))
    with pytest.raises(TypeError, match="integers"):
        emb(np.array([0.5]))


def test_embedding_gradient_is_a_scatter_add():
    emb = Embedding(4, 2, rng=1)
    idx = np.array([3, 1, 3])
    w = emb.weight
    g = grad((emb(idx) * emb(idx)).sum(), w)
    expected = np.zeros_like(w.data)
    np.add.at(expected, idx, 2 * w.data[idx])
    np.testing.assert_allclose(g, expected, rtol=1e-15)


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=2, dilation=2), dict(kernel_size=3, stride=2),
                                dict(kernel_size=3, padding="same"), dict(kernel_size=2, padding="valid"),
                                dict(kernel_size=3, padding=1, bias=False)], ids=str)
def test_conv1d_gradients_to_second_order(kw):
    conv = Conv1d(2, 3, rng=0, **kw)
    assert check_gradients(conv, _x(2, 2, 6), order=2)


def test_conv1d_matches_a_direct_sum_and_causal_output_ignores_the_future():
    conv = Conv1d(2, 3, kernel_size=3, dilation=2, rng=0)
    x = _x(1, 2, 9)
    y = conv(x).data
    assert y.shape == (1, 3, 9)
    W, b = conv.weight.data, conv.bias.data
    xp = np.concatenate([np.zeros((1, 2, 4)), x], axis=2)
    direct = np.array([[sum(W[o, c, j] * xp[0, c, t + 2 * j] for c in range(2) for j in range(3)) + b[o]
                        for t in range(9)] for o in range(3)])
    np.testing.assert_allclose(y[0], direct, rtol=1e-12)
    x2 = x.copy()
    x2[..., 6:] += 10.0  # change the future from t = 6 on
    np.testing.assert_array_equal(conv(x2).data[..., :6], y[..., :6])
    with pytest.raises(ValueError, match="too short"):
        Conv1d(1, 1, kernel_size=4, padding="valid")(np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="padding"):
        Conv1d(1, 1, 2, padding="left")


# --- attention ---------------------------------------------------------------------------------

def test_attention_gradients_to_second_order():
    mha = MultiheadAttention(4, 2, rng=0)
    assert check_gradients(_Outputs(mha, lambda out: out[0]), _x(1, 3, 4), order=2)
    q, kv = _x(2, 2, 4, seed=1), _x(2, 3, 4, seed=2)
    assert check_gradients(_Outputs(mha, lambda out: list(out)), q, kv)


def test_attention_weights_causal_mask_and_errors():
    mha = MultiheadAttention(6, 3, rng=0)
    x = _x(2, 4, 6)
    out, w = mha(x, is_causal=True)
    assert out.shape == (2, 4, 6) and w.shape == (2, 4, 4)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(np.triu(w.data[0], k=1) == 0)
    x2 = x.copy()
    x2[:, 3] += 5.0  # the last position cannot change the outputs before it
    np.testing.assert_allclose(mha(x2, is_causal=True)[0].data[:, :3], out.data[:, :3], rtol=1e-12)
    mask = np.zeros((4, 4), dtype=bool)
    mask[:, 0] = True
    _, wm = mha(x, attn_mask=mask)
    assert np.all(wm.data[..., 0] == 0)
    with pytest.raises(ValueError, match="nothing to attend"):
        mha(x, attn_mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="multiple of"):
        MultiheadAttention(5, 2)
