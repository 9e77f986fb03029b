"""Tests of tinygrad_trade.nn: the scalar and Tensor networks, GRU, Dropout, losses, checkpoints."""
import math
import os

import numpy as np
import pytest

from tinygrad_trade import Tensor, Value
from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.graph import toposort
from tinygrad_trade.nn import (GRU, MLP, CheckpointError, Dropout, Linear, Module, ReLU, Sequential,
                               losses)
from tinygrad_trade.nn import scalar
from tinygrad_trade.optim import Adam, train_step


def _param(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# --- scalar networks -------------------------------------------------------------------------

def test_scalar_mlp_outputs_and_parameters():
    net = scalar.MLP(3, [4, 4, 1], rng=0)
    y = net([1.0, -2.0, 0.5])
    assert isinstance(y, Value)
    assert len(net.parameters()) == (3 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 1
    ys = scalar.MLP(3, [4, 2], rng=0)([Value(1.0), 2.0, 3.0])
    assert isinstance(ys, list) and len(ys) == 2 and all(isinstance(v, Value) for v in ys)
    y.backward()
    assert any(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())


def test_scalar_last_layer_is_linear_and_activation_selectable():
    net = scalar.MLP(2, [3, 1], activation="tanh", rng=1)
    assert [n.activation for n in net.layers[0].neurons] == ["tanh"] * 3
    assert net.layers[-1].neurons[0].activation == "linear"
    with pytest.raises(ValueError, match="activation"):
        scalar.MLP(2, [3, 1], activation="gelu")


def test_scalar_seeded():
    a = [p.data for p in scalar.MLP(4, [5, 1], rng=7).parameters()]
    b = [p.data for p in scalar.MLP(4, [5, 1], rng=np.random.default_rng(7)).parameters()]
    c = [p.data for p in scalar.MLP(4, [5, 1], rng=8).parameters()]
    assert a == b and a != c


def test_scalar_neuron_graph_is_minimal():
    # b + w1*x1 + ... + wn*xn: n products and n sums, no extra "0 +" node; plus the activation
    n = 22
    neuron = scalar.Neuron(n, activation="relu", rng=0)
    xs = [Value(float(i)) for i in range(n)]
    out = neuron(xs)
    leaves = n + n + 1  # weights, inputs, bias
    assert len(toposort(out)) == leaves + 2 * n + 1


def test_scalar_neuron_matches_formula():
    neuron = scalar.Neuron(3, activation="tanh", weights=[0.5, -1.0, 2.0])
    neuron.b.data = 0.25
    assert neuron([1.0, 2.0, 3.0]).data == pytest.approx(math.tanh(0.25 + 0.5 - 2.0 + 6.0))


def test_scalar_and_tensor_mlp_agree():
    rng = np.random.default_rng(3)
    tnet = MLP([3, 5, 4, 2], activation="tanh", rng=rng)
    snet = scalar.MLP(3, [5, 4, 2], activation="tanh", rng=99)  # different init, then copy weights in
    for layer, lin in zip(snet.layers, tnet.layers):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(lin.weight.data[i, j])
            neuron.b.data = float(rng.standard_normal())
            lin.bias.data[j] = neuron.b.data
    X = rng.standard_normal((6, 3))
    tout = tnet(X)
    tout.sum().backward()
    total = Value(0.0)
    for row, trow in zip(X, tout.data):
        outs = snet(list(row))
        np.testing.assert_allclose([o.data for o in outs], trow, rtol=1e-12, atol=1e-14)
        for o in outs:
            total = total + o
    total.backward()
    for layer, lin in zip(snet.layers, tnet.layers):
        for j, neuron in enumerate(layer.neurons):
            np.testing.assert_allclose([w.grad for w in neuron.w], lin.weight.grad[:, j], rtol=1e-10, atol=1e-12)
            assert neuron.b.grad == pytest.approx(lin.bias.grad[j], rel=1e-10, abs=1e-12)


def test_same_seed_same_init_in_both_engines():
    tnet = MLP([3, 4, 1], rng=5)
    snet = scalar.MLP(3, [4, 1], rng=5)
    for layer, lin in zip(snet.layers, tnet.layers):
        W = np.array([[w.data for w in n.w] for n in layer.neurons]).T
        np.testing.assert_array_equal(W, lin.weight.data)


def test_scalar_training_sin():
    # 1-8-8-1 tanh net, 24 points, 300 full-batch Adam steps (about 1.5 s)
    xs = np.linspace(-3, 3, 24)
    ys = np.sin(xs)
    net = scalar.MLP(1, [8, 8, 1], activation="tanh", rng=0)
    opt = Adam(net.parameters(), lr=2e-2)

    def loss_fn():
        total = Value(0.0)
        for xi, yi in zip(xs, ys):
            d = net([xi]) - yi
            total = total + d * d
        return total * (1.0 / len(xs))
    first = loss_fn().data
    for _ in range(300):
        loss = train_step(loss_fn, opt)
    assert first > 0.1
    assert loss < 5e-3


def test_scalar_training_deterministic():
    def run():
        net = scalar.MLP(2, [4, 1], rng=11)
        opt = Adam(net.parameters(), lr=0.05)
        for x in ([1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]) * 5:
            train_step(lambda: (net(x) - x[0] * x[1]) ** 2, opt)
        return [p.data for p in net.parameters()]
    assert run() == run()


# --- Linear, MLP, Sequential, Module ---------------------------------------------------------------

@pytest.mark.parametrize("init,bound", [("kaiming", math.sqrt(6 / 200)), ("xavier", math.sqrt(6 / 300))])
def test_linear_init(init, bound):
    lin = Linear(200, 100, init=init, rng=0)
    w = lin.weight.data
    assert w.shape == (200, 100) and lin.bias.shape == (100,)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.03)  # U(-b, b) has variance b^2 / 3
    assert np.all(lin.bias.data == 0)
    # documented: one rng.uniform(-bound, bound, size=(in, out)) call
    np.testing.assert_array_equal(w, np.random.default_rng(0).uniform(-bound, bound, size=(200, 100)))
    with pytest.raises(ValueError, match="init"):
        Linear(2, 3, init="orthogonal")


def test_linear_forward_and_gradcheck():
    lin = Linear(4, 3, rng=1)
    lin.bias.data[:] = [0.1, -0.2, 0.3]
    x = _param(5, 4, seed=2)
    np.testing.assert_allclose(lin(x).data, x.data @ lin.weight.data + lin.bias.data)
    r = np.random.default_rng(3).standard_normal((5, 3))
    assert gradcheck(lambda x, w, b: (lin(x) * r).sum(), [x, lin.weight, lin.bias])
    nobias = Linear(4, 3, bias=False, rng=1)
    assert [n for n, _ in nobias.named_parameters()] == ["weight"]
    assert gradcheck(lambda x, w: (nobias(x) * r).sum(), [x, nobias.weight])


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_gradcheck(activation):
    net = MLP([3, 6, 5, 2], activation=activation, rng=4)
    for lin in net.layers:
        lin.bias.data[:] = np.random.default_rng(5).standard_normal(lin.bias.shape) * 0.3
    x = _param(7, 3, seed=6)
    r = np.random.default_rng(7).standard_normal((7, 2))
    ps = net.parameters()
    assert len(ps) == 6
    assert gradcheck(lambda *xs: (net(x) * r).sum(), [x, *ps])


def test_mlp_structure():
    net = MLP([3, 4, 1], activation="tanh", rng=0)
    assert [n for n, _ in net.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert net(np.ones((2, 3))).shape == (2, 1)
    # the last layer is linear: outputs are not squashed into (-1, 1)
    net.layers[1].bias.data[:] = 5.0
    assert np.all(net(np.ones((2, 3))).data > 1.0)
    with pytest.raises(ValueError, match="activation"):
        MLP([3, 1], activation="sigmoid")


def test_module_names_order_dedupe_and_modes():
    class Net(Module):
        def __init__(self):
            self.scale = Tensor(1.0, requires_grad=True)
            self.body = Sequential(Linear(2, 3, rng=0), ReLU(), Dropout(0.5, rng=0))
            self.heads = [Linear(3, 1, rng=1), Linear(3, 1, rng=2)]
            self.shared = self.heads[0]            # the same Tensors again: listed once
            self.constant = Tensor([1.0, 2.0])     # requires_grad=False: not a parameter

        def forward(self, x):
            return self.heads[0](self.body(x)) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "body.0.weight", "body.0.bias", "heads.0.weight", "heads.0.bias",
        "heads.1.weight", "heads.1.bias"]
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert net.body[2].training
    net(np.ones((4, 2))).sum().backward()
    assert net.scale.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_is_a_copy():
    net = MLP([2, 3, 1], rng=0)
    sd = net.state_dict()
    sd["layers.0.weight"][:] = 0
    assert not np.all(net.layers[0].weight.data == 0)
    other = MLP([2, 3, 1], rng=1)
    other.load_state_dict(net.state_dict())
    for (_, a), (_, b) in zip(net.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)


# --- checkpoints --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip_bit_exact(tmp_path, dtype):
    net = MLP([3, 5, 2], rng=0, dtype=dtype)
    gru = GRU(2, 3, rng=1, dtype=dtype)
    for mod in (net, gru):
        path = tmp_path / f"{type(mod).__name__}.npz"
        mod.save(path)
        assert os.listdir(tmp_path).count(path.name) == 1
        fresh = type(mod)(*([[3, 5, 2]] if mod is net else [2, 3]), rng=42, dtype=dtype)
        fresh.load(path)
        for (na, a), (nb, b) in zip(mod.named_parameters(), fresh.named_parameters()):
            assert na == nb and b.dtype == dtype
            assert a.data.tobytes() == b.data.tobytes()
    assert sorted(os.listdir(tmp_path)) == ["GRU.npz", "MLP.npz"]  # no temporary files left


def test_save_keeps_exact_name_and_is_atomic(tmp_path, monkeypatch):
    net = MLP([2, 2], rng=0)
    path = tmp_path / "model.ckpt"
    net.save(path)
    assert os.listdir(tmp_path) == ["model.ckpt"]
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed while saving")
    monkeypatch.setattr(np, "savez", crash)
    other = MLP([2, 2], rng=1)
    with pytest.raises(KeyboardInterrupt):
        other.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.ckpt"]


def _one_line(excinfo):
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_load_refuses_mismatches(tmp_path):
    net = MLP([3, 4, 1], rng=0)
    before = net.state_dict()
    good = net.state_dict()

    wrong_shape = dict(good, **{"layers.0.weight": np.zeros((3, 5))})
    np.savez(tmp_path / "shape.npz", **wrong_shape)
    with pytest.raises(CheckpointError) as e:
        net.load(tmp_path / "shape.npz")
    msg = _one_line(e)
    assert "layers.0.weight" in msg and "(3, 5)" in msg and "(3, 4)" in msg

    renamed = {("layers.0.kernel" if k == "layers.0.weight" else k): v for k, v in good.items()}
    np.savez(tmp_path / "name.npz", **renamed)
    with pytest.raises(CheckpointError) as e:
        net.load(tmp_path / "name.npz")
    assert "layers.0.weight" in _one_line(e) and "missing" in str(e.value)

    extra = dict(good, extra=np.zeros(2))
    np.savez(tmp_path / "extra.npz", **extra)
    with pytest.raises(CheckpointError) as e:
        net.load(tmp_path / "extra.npz")
    assert "'extra'" in _one_line(e) and "unexpected" in str(e.value)

    with pytest.raises(CheckpointError, match="layers.1.bias"):
        net.load_state_dict({k: v for k, v in good.items() if k != "layers.1.bias"})

    # nothing changed by the refused loads
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_refuses_pickles(tmp_path):
    net = MLP([2, 1], rng=0)
    obj = dict(net.state_dict())
    obj["layers.0.weight"] = np.array([{"evil": 1}], dtype=object)
    np.savez(tmp_path / "objects.npz", **obj)  # an object array inside the zip is pickled
    with pytest.raises(CheckpointError) as e:
        net.load(tmp_path / "objects.npz")
    assert "pickled" in _one_line(e) and "layers.0.weight" in str(e.value)

    np.save(tmp_path / "plain.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="pickled"):
        net.load(tmp_path / "plain.npy")

    import pickle
    (tmp_path / "raw.pkl").write_bytes(pickle.dumps(net.state_dict()))
    with pytest.raises(CheckpointError, match="pickled"):
        net.load(tmp_path / "raw.pkl")

    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError):
        net.load(tmp_path / "junk.npz")


# --- Dropout --------------------------------------------------------------------------------------

def test_dropout():
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    d = Dropout(0.3, rng=0)
    y = d(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)  # inverted dropout: survivors scaled up
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7)
    d.eval()
    assert d(x) is x
    assert np.all(Dropout(1.0, rng=0)(x).data == 0)
    a = Dropout(0.5, rng=3)(x).data
    b = Dropout(0.5, rng=3)(x).data
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        Dropout(1.5)


# --- GRU ------------------------------------------------------------------------------------------

def _gru_reference(x, h0, Wih, Whh, bih, bhh):
    """PyTorch's GRU equations in numpy, with PyTorch's (3H, in) weight layout."""
    Wih, Whh = Wih.T, Whh.T  # ours is (in, 3H); PyTorch's is (3H, in)
    H = Whh.shape[1]
    W_ir, W_iz, W_in = Wih[:H], Wih[H:2 * H], Wih[2 * H:]
    W_hr, W_hz, W_hn = Whh[:H], Whh[H:2 * H], Whh[2 * H:]
    b_ir, b_iz, b_in = bih[:H], bih[H:2 * H], bih[2 * H:]
    b_hr, b_hz, b_hn = bhh[:H], bhh[H:2 * H], bhh[2 * H:]
    sig = lambda a: 1 / (1 + np.exp(-a))
    h, hs = h0, []
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = sig(xt @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = sig(xt @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(xt @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, axis=1), h


def test_gru_matches_equations():
    gru = GRU(3, 4, rng=0)
    assert [(n, p.shape) for n, p in gru.named_parameters()] == [
        ("weight_ih", (3, 12)), ("weight_hh", (4, 12)), ("bias_ih", (12,)), ("bias_hh", (12,))]
    k = 1 / math.sqrt(4)
    assert all(np.abs(p.data).max() <= k for p in gru.parameters())
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    h0 = np.random.default_rng(2).standard_normal((2, 4)) * 0.5
    hs, h = gru(x, h0)
    ref_hs, ref_h = _gru_reference(x, h0, *(p.data for p in gru.parameters()))
    assert hs.shape == (2, 5, 4) and h.shape == (2, 4)
    np.testing.assert_allclose(hs.data, ref_hs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.data, ref_h, rtol=1e-12, atol=1e-14)
    hs0, _ = gru(x)
    np.testing.assert_allclose(hs0.data, _gru_reference(x, np.zeros((2, 4)), *(p.data for p in gru.parameters()))[0])


def test_gru_gradcheck_bptt():
    # 4 time steps: gradients flow through every gate (r, z, n) and back through time
    gru = GRU(2, 3, rng=0)
    x = _param(2, 4, 2, seed=1)
    h0 = Tensor(np.random.default_rng(2).standard_normal((2, 3)) * 0.5, requires_grad=True)
    r1 = np.random.default_rng(3).standard_normal((2, 4, 3))
    r2 = np.random.default_rng(4).standard_normal((2, 3))

    def f(*xs):
        hs, h = gru(x, h0)
        return (hs * r1).sum() + (h * r2).sum()
    assert gradcheck(f, [x, h0, *gru.parameters()])
    # the first input matters to the last state (backprop through time)
    gru.zero_grad()
    x.grad = None
    _, h = gru(x, h0)
    h.sum().backward()
    assert np.abs(x.grad[:, 0]).max() > 1e-4
    assert all(p.grad is not None and np.abs(p.grad).max() > 0 for p in gru.parameters())


def test_gru_rejects_bad_input():
    with pytest.raises(ValueError, match="batch, time"):
        GRU(3, 2, rng=0)(np.zeros((4, 3)))


# --- losses ---------------------------------------------------------------------------------------

def test_loss_values():
    rng = np.random.default_rng(0)
    p, y = rng.standard_normal(20) * 2, rng.standard_normal(20)
    d = p - y
    assert losses.mse(Tensor(p), y).item() == pytest.approx(np.mean(d ** 2))
    assert losses.mae(Tensor(p), Tensor(y)).item() == pytest.approx(np.mean(np.abs(d)))
    for delta in (0.5, 1.0, 2.0):
        ref = np.where(np.abs(d) <= delta, 0.5 * d ** 2, delta * (np.abs(d) - 0.5 * delta))
        assert losses.huber(Tensor(p), y, delta=delta).item() == pytest.approx(ref.mean())
    s, v = rng.standard_normal(20), rng.random(20)
    assert losses.qlike(v, Tensor(s)).item() == pytest.approx(np.mean(v * np.exp(-s) + s))
    assert losses.gaussian_nll(y, Tensor(p), Tensor(s)).item() == pytest.approx(
        np.mean(0.5 * (s + (y - p) ** 2 * np.exp(-s))))
    assert losses.gaussian_nll(y, Tensor(p), Tensor(s), full=True).item() == pytest.approx(
        np.mean(0.5 * (s + (y - p) ** 2 * np.exp(-s))) + 0.5 * math.log(2 * math.pi))


def test_qlike_minimum_at_log_y():
    y = np.array([0.5, 2.0, 3.0])
    s = Tensor(np.log(y), requires_grad=True)
    loss = losses.qlike(y, s)
    assert loss.item() == pytest.approx(np.mean(1 + np.log(y)))
    loss.backward()
    np.testing.assert_allclose(s.grad, 0.0, atol=1e-15)


def test_losses_gradcheck():
    rng = np.random.default_rng(1)
    p, y = _param(8, seed=2), rng.standard_normal(8)
    y_t = Tensor(y, requires_grad=True)
    assert gradcheck(lambda p, y: losses.mse(p, y), [p, y_t])
    assert gradcheck(lambda p: losses.mae(p, y), [p])
    assert gradcheck(lambda p: losses.huber(p, y, delta=0.7), [p])
    s = Tensor(rng.standard_normal(8), requires_grad=True)
    v = rng.random(8)
    assert gradcheck(lambda s: losses.qlike(v, s), [s])
    assert gradcheck(lambda m, s: losses.gaussian_nll(y, m, s), [p, s])


def test_qlike_extreme_log_variance_is_finite():
    y = np.array([0.0, 1e-12, 1.0, 1e6, 0.0, 1e6])
    for extreme in (-1e6, -800.0, -60.0, 60.0, 800.0, 1e6):
        s = Tensor(np.full(6, extreme), requires_grad=True)
        loss = losses.qlike(y, s)
        loss.backward()
        assert np.isfinite(loss.item())
        assert np.all(np.isfinite(s.grad))
    # at the edge of the clip the gradient is still the true one
    for edge, y_edge in ((-49.0, 1e-3), (49.0, 2.0)):
        s = Tensor(np.array([edge]), requires_grad=True)
        assert gradcheck(lambda s: losses.qlike(np.array([y_edge]), s), [s])
    m = Tensor(np.zeros(2), requires_grad=True)
    s = Tensor(np.array([-1e5, 1e5]), requires_grad=True)
    loss = losses.gaussian_nll(np.ones(2), m, s)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(s.grad)) and np.all(np.isfinite(m.grad))


def test_loss_shape_mismatch_refused():
    with pytest.raises(ValueError, match="shapes"):
        losses.mse(Tensor(np.zeros((5, 1))), np.zeros(5))
    assert losses.mse(Tensor(np.zeros((5, 1))), 1.0).item() == 1.0  # a scalar target broadcasts


# --- training the Tensor engine ---------------------------------------------------------------------

def _train_tensor(seed, steps=600, dropout=0.0):
    x = np.linspace(-3, 3, 128).reshape(-1, 1)
    y = np.sin(x)
    rng = np.random.default_rng(seed)
    net = Sequential(MLP([1, 32, 32], activation="tanh", rng=rng), Dropout(dropout, rng=rng), Linear(32, 1, rng=rng))
    opt = Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = train_step(lambda: losses.mse(net(x), y), opt)
    return net, loss


def test_tensor_training_sin():
    net, loss = _train_tensor(0)
    assert loss < 1e-3
    xt = np.linspace(-2.9, 2.9, 50).reshape(-1, 1)  # between the training points
    net.eval()
    assert losses.mse(net(xt), np.sin(xt)).item() < 1e-3


def test_tensor_training_deterministic():
    a, _ = _train_tensor(5, steps=50, dropout=0.1)
    b, _ = _train_tensor(5, steps=50, dropout=0.1)
    c, _ = _train_tensor(6, steps=50, dropout=0.1)
    for (_, pa), (_, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not all(np.array_equal(pa.data, pc.data) for pa, pc in zip(a.parameters(), c.parameters()))


def test_mul_add_makes_the_same_nodes_as_the_operators():
    from tinygrad_trade.engine import mul_add
    from tinygrad_trade import detect_anomaly, no_grad
    ws = [Value(0.5), Value(-1.5), Value(2.0)]
    xs = [Value(3.0), Value(0.25), Value(-4.0)]
    b = Value(0.1) * 1.0  # depth 1: the chain's depths must start from it
    fused, loop = mul_add(b, ws, xs), b
    for w, x in zip(ws, xs):
        loop = loop + w * x
    a_nodes, b_nodes = toposort(fused), toposort(loop)
    for n in a_nodes + b_nodes:
        n._g = None  # toposort marks the nodes it visits (for a sweep); unmark them
    assert len(a_nodes) == len(b_nodes)
    for p, q in zip(a_nodes, b_nodes):
        assert (p.data, p.op, p._d, p._n) == (q.data, q.op, q._d, q._n)
    fused.backward()
    grads = [v.grad for v in ws + xs]
    for v in ws + xs:
        v.grad = 0.0
    loop.backward()
    assert grads == [v.grad for v in ws + xs]
    with no_grad():
        assert mul_add(b, ws, xs).data == loop.data and not mul_add(b, ws, xs)._prev
    with detect_anomaly():
        assert mul_add(b, ws, xs).data == loop.data
