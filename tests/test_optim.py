"""Tests of tinygrad_trade.optim against the update equations written out in numpy."""
import math

import numpy as np
import pytest

from tinygrad_trade import Tensor, Value
from tinygrad_trade.nn import MLP, losses
from tinygrad_trade.nn import scalar
from tinygrad_trade.optim import (SGD, Adam, AdamW, CosineAnnealingLR, NonFiniteError, StepLR,
                                  check_finite, clip_grad_norm, train_step)

STEPS = 6


def _grads(shape, seed=0):
    """A fixed sequence of gradients, fed to the optimiser one per step."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * (1 + t) for t in range(STEPS)]


# --- the equations, written out -------------------------------------------------------------------

def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    p, b, out = np.array(p, dtype=float), None, []
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return out


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    b1, b2 = betas
    p = np.array(p, dtype=float)
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
        vhat = vmax if amsgrad else v
        p = p - lr / (1 - b1 ** t) * m / (np.sqrt(vhat) / np.sqrt(1 - b2 ** t) + eps)
        out.append(p)
    return out


def _run_tensor(make_opt, p0, grads):
    p = Tensor(p0.copy(), requires_grad=True)
    opt = make_opt([p])
    data_id = id(p.data)
    out = []
    for g in grads:
        opt.zero_grad()
        assert p.grad is None
        p.grad = g.copy()
        opt.step()
        out.append(p.data.copy())
    assert id(p.data) == data_id  # updated in place
    return out


def _run_values(make_opt, p0, grads):
    ps = [Value(float(x)) for x in p0.reshape(-1)]
    opt = make_opt(ps)
    out = []
    for g in grads:
        opt.zero_grad()
        assert all(p.grad == 0.0 for p in ps)
        for p, gi in zip(ps, g.reshape(-1)):
            p.grad = float(gi)
        opt.step()
        out.append(np.array([p.data for p in ps]).reshape(p0.shape))
    return out


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.02, momentum=0.9, dampening=0.1, weight_decay=0.05),
    dict(lr=0.02, momentum=0.7, nesterov=True, weight_decay=0.2),
]

ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, weight_decay=0.05, amsgrad=True),
]


@pytest.mark.parametrize("run", [_run_tensor, _run_values], ids=["tensor", "value"])
@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_equations(kw, run):
    p0 = np.random.default_rng(1).standard_normal((3, 4))
    grads = _grads((3, 4))
    got = run(lambda ps: SGD(ps, **kw), p0, grads)
    for a, b in zip(got, ref_sgd(p0, grads, **kw)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("run", [_run_tensor, _run_values], ids=["tensor", "value"])
@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_matches_equations(kw, run):
    p0 = np.random.default_rng(2).standard_normal((4, 3))
    grads = _grads((4, 3), seed=3)
    # make v shrink at some steps so that amsgrad's max matters
    grads[3] *= 0.01
    got = run(lambda ps: Adam(ps, **kw), p0, grads)
    for a, b in zip(got, ref_adam(p0, grads, **kw)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("run", [_run_tensor, _run_values], ids=["tensor", "value"])
@pytest.mark.parametrize("kw", [dict(), dict(lr=0.01, weight_decay=0.3), dict(lr=0.01, weight_decay=0.1, amsgrad=True)])
def test_adamw_matches_equations(kw, run):
    p0 = np.random.default_rng(4).standard_normal(5)
    grads = _grads(5, seed=5)
    grads[2] *= 0.01
    got = run(lambda ps: AdamW(ps, **kw), p0, grads)
    ref_kw = dict(kw, weight_decay=kw.get("weight_decay", 1e-2))  # AdamW's default decay is 1e-2
    for a, b in zip(got, ref_adam(p0, grads, decoupled=True, **ref_kw)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_adam_first_step_is_lr_times_sign():
    # with bias correction, the first Adam step moves each weight by ~lr against its gradient
    p = Tensor(np.zeros(4), requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = np.array([3.0, -0.002, 50.0, -1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1, 0.1], rtol=1e-5)


def test_adamw_and_adam_decay_differ():
    p0, grads = np.ones(3), [np.full(3, 0.5)] * 3
    a = _run_tensor(lambda ps: Adam(ps, lr=0.1, weight_decay=0.5), p0, grads)[-1]
    w = _run_tensor(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.5), p0, grads)[-1]
    assert not np.allclose(a, w)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.1),
                                  lambda ps: AdamW(ps, lr=0.1)])
def test_params_without_grad_are_skipped(make):
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    v = Value(1.0)
    opt = make([a, b, v])
    a.grad = np.full(3, 0.5)
    opt.step()                      # b.grad is None and v.grad is 0.0: untouched
    np.testing.assert_array_equal(b.data, np.ones(3))
    assert v.data == 1.0
    b.grad, v.grad = np.full(3, 0.5), 0.5
    opt.step()                      # now b's and v's first step: same as a's first step
    a_first = _run_tensor(make, np.ones(3), [np.full(3, 0.5)])[0]
    np.testing.assert_allclose(b.data, a_first, rtol=1e-15)
    assert v.data == pytest.approx(a_first[0], rel=1e-15)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.1, amsgrad=True),
                                  lambda ps: AdamW(ps, lr=0.1)])
def test_step_never_writes_into_grad(make):
    p = Tensor(np.ones((2, 2)), requires_grad=True)
    opt = make([p])
    for _ in range(3):
        g = np.full((2, 2), 0.25)
        p.grad = g
        opt.step()
        np.testing.assert_array_equal(g, 0.25)


def test_optimizer_errors():
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="beta"):
        Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(TypeError):
        SGD([np.ones(2)], lr=0.1)
    opt = SGD(MLP([2, 1], rng=0), lr=0.1)  # a Module's parameters() are taken
    assert len(opt.params) == 2


# --- clip_grad_norm ------------------------------------------------------------------------------

def test_clip_grad_norm():
    a = Tensor(np.zeros((2, 2)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    c = Value(0.0)
    unused = Tensor(np.zeros(2), requires_grad=True)
    ga, gb = np.full((2, 2), 3.0), np.array([4.0, 0.0, 0.0])
    a.grad, b.grad, c.grad = ga, gb, 12.0
    total = clip_grad_norm([a, b, c, unused], max_norm=1.0)
    expect = math.sqrt(4 * 9 + 16 + 144)
    assert total == pytest.approx(expect)
    coef = 1.0 / (expect + 1e-6)
    np.testing.assert_allclose(a.grad, 3.0 * coef)
    np.testing.assert_allclose(b.grad, gb * coef)
    assert c.grad == pytest.approx(12.0 * coef)
    assert unused.grad is None
    # new arrays were assigned: the originals (maybe shared with other nodes) are untouched
    np.testing.assert_array_equal(ga, 3.0)
    np.testing.assert_array_equal(gb, [4.0, 0.0, 0.0])
    norm_after = math.sqrt(float((a.grad ** 2).sum() + (b.grad ** 2).sum()) + c.grad ** 2)
    assert norm_after == pytest.approx(1.0, rel=1e-5)
    # below the threshold nothing changes
    a.grad = ga
    assert clip_grad_norm([a], max_norm=100.0) == pytest.approx(6.0)
    assert a.grad is ga


# --- schedules -------------------------------------------------------------------------------------

def test_step_lr():
    opt = SGD([Tensor(np.ones(1), requires_grad=True)], lr=1.0)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(8):
        lrs.append(opt.lr)
        sched.step()
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_cosine_lr():
    opt = Adam([Tensor(np.ones(1), requires_grad=True)], lr=0.1)
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    lrs = [opt.lr]
    for _ in range(10):
        sched.step()
        lrs.append(opt.lr)
    expect = [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(lrs, expect, rtol=1e-14)
    assert lrs[-1] == pytest.approx(0.001) and sched.get_last_lr() == lrs[-1]


# --- resuming --------------------------------------------------------------------------------------

OPTS = {
    "sgd": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: Adam(ps, lr=0.01, weight_decay=1e-3, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01),
}


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (n, 1))
    return x, np.sin(x)


@pytest.mark.parametrize("name", sorted(OPTS))
def test_resume_is_bit_identical(name, tmp_path):
    x, y = _data()

    def setup(seed):
        net = MLP([1, 8, 1], activation="tanh", rng=seed)
        opt = OPTS[name](net.parameters())
        return net, opt, CosineAnnealingLR(opt, T_max=30)

    def steps(net, opt, sched, n):
        for _ in range(n):
            train_step(lambda: losses.mse(net(x), y), opt)
            sched.step()

    net, opt, sched = setup(0)
    steps(net, opt, sched, 10)
    net.save(tmp_path / "ckpt.npz")
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    steps(net, opt, sched, 10)
    uninterrupted = net.state_dict()

    net2, opt2, sched2 = setup(123)  # different init: everything must come from the checkpoint
    net2.load(tmp_path / "ckpt.npz")
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    steps(net2, opt2, sched2, 10)
    for k, v in net2.state_dict().items():
        assert v.tobytes() == uninterrupted[k].tobytes(), k


def test_resume_values_bit_identical():
    def setup():
        net = scalar.MLP(2, [3, 1], rng=0)
        return net, Adam(net.parameters(), lr=0.05, amsgrad=True)

    def steps(net, opt, n):
        for i in range(n):
            x = [math.sin(i), math.cos(i)]
            train_step(lambda: (net(x) - x[0] * x[1]) ** 2, opt)

    net, opt = setup()
    steps(net, opt, 5)
    weights, state = [p.data for p in net.parameters()], opt.state_dict()
    steps(net, opt, 5)
    net2, opt2 = setup()
    for p, w in zip(net2.parameters(), weights):
        p.data = w
    opt2.load_state_dict(state)
    steps(net2, opt2, 5)
    assert [p.data for p in net2.parameters()] == [p.data for p in net.parameters()]


def test_optimizer_state_dict_is_a_copy_and_checked():
    p = Tensor(np.ones(3), requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    p.grad = np.ones(3)
    opt.step()
    assert sd["state"][0]["step"] == 1
    np.testing.assert_allclose(sd["state"][0]["exp_avg"], 0.1)
    with pytest.raises(ValueError, match="SGD"):
        SGD([p], lr=0.1).load_state_dict(sd)
    q = Tensor(np.ones(4), requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        Adam([q]).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameters"):
        Adam([p, q]).load_state_dict(sd)


# --- the NaN guard ----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0 in the backward sweep
def test_nan_guard_stops_with_last_good_parameters():
    x, y = _data(32)
    net = MLP([1, 8, 1], activation="tanh", rng=0)
    opt = Adam(net.parameters(), lr=0.01)
    blow_up_at = 7
    snapshot = None
    with pytest.raises(NonFiniteError, match="loss is (inf|nan)") as e:
        for step in range(20):
            scale = np.inf if step == blow_up_at else 1.0
            train_step(lambda: losses.mse(net(x), y) * scale, opt)
            snapshot = net.state_dict()
    assert isinstance(e.value, FloatingPointError)
    assert "last good step" in str(e.value)
    assert step == blow_up_at
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, snapshot[k])
    assert opt.state[0]["step"] == blow_up_at  # the optimiser's state did not advance either


def test_nan_guard_on_gradient_and_values():
    p = Tensor(np.ones(2), requires_grad=True)
    p.grad = np.array([1.0, np.nan])
    with pytest.raises(NonFiniteError, match="gradient of w of shape"):
        check_finite(Tensor(1.0), [("w", p)])
    with pytest.raises(NonFiniteError, match="parameter 0"):
        check_finite(1.0, [p])
    check_finite(1.0, [Tensor(np.ones(2), requires_grad=True)])  # grad None is fine
    net = MLP([1, 2], rng=0)
    net.layers[0].bias.grad = np.array([0.0, np.inf])
    with pytest.raises(NonFiniteError, match="layers.0.bias"):
        check_finite(0.5, net)
    snet = scalar.MLP(1, [1], rng=0)
    snet.parameters()[0].grad = float("inf")
    with pytest.raises(NonFiniteError, match="parameter 0"):
        check_finite(0.5, snet)

    v = Value(2.0)
    opt = SGD([v], lr=0.1)
    before = v.data
    with pytest.raises(NonFiniteError, match="nan"):
        train_step(lambda: (v - v) * float("nan"), opt)
    assert v.data == before
    train_step(lambda: v * v, opt)
    assert v.data == pytest.approx(before - 0.1 * 2 * before)


def test_train_step_clips():
    p = Tensor(np.zeros(2), requires_grad=True)
    opt = SGD([p], lr=1.0)
    loss = train_step(lambda: (p * np.array([30.0, 40.0])).sum(), opt, max_grad_norm=5.0)
    assert loss == 0.0
    np.testing.assert_allclose(p.data, [-3.0, -4.0], rtol=1e-6)
