"""Gradient hooks, PyTorch's rule (torch.Tensor.register_hook): during backward, once a node's
gradient is complete, each hook is called with it in registration order; a hook that returns
something replaces the gradient (the next hook, ``.grad`` and the inputs all see the replacement);
``handle.remove()`` takes it off. Expected values below are worked by hand from that rule."""
import gc

import numpy as np
import pytest

from tinygrad_trade import Tensor, Value, grad
from tinygrad_trade.graph import _Sweep


def test_value_hooks_run_in_order_and_replace_the_gradient():
    x = Value(2.0)
    y = x * x
    z = y * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(("double", g)) or g * 2.0)
    y.register_hook(lambda g: seen.append(("look", g)))  # returns None: the gradient stays
    y.register_hook(lambda g: seen.append(("plus", g)) or g + 1.0)
    z.backward()
    assert seen == [("double", 3.0), ("look", 6.0), ("plus", 6.0)]
    assert y.grad == 7.0 and x.grad == 7.0 * 2 * 2.0  # the replacement flows on: dz/dx = 7 * 2x


def test_handle_remove_and_a_second_remove_does_nothing():
    x = Value(2.0)
    y = x * x
    h = y.register_hook(lambda g: g * 10.0)
    other = y.register_hook(lambda g: g + 1.0)
    (y * 1.0).backward()
    assert x.grad == 11.0 * 4.0
    h.remove()
    h.remove()
    x.grad = y.grad = 0.0
    (y * 1.0).backward()
    assert x.grad == 2.0 * 4.0
    other.remove()
    x.grad = y.grad = 0.0
    (y * 1.0).backward()
    assert x.grad == 4.0
    assert _Sweep.hooks == 0 and _Sweep.plain  # back on the fast path


def test_tensor_hook_on_a_leaf_changes_what_grad_receives():
    w = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    got = []
    w.register_hook(lambda g: got.append(g.copy()) or np.clip(g, -1.0, 1.0))
    (w * w).sum().backward()
    np.testing.assert_array_equal(got[0], [2.0, -4.0, 6.0])
    np.testing.assert_array_equal(w.grad, [1.0, -1.0, 1.0])


def test_tensor_hook_on_an_intermediate_reaches_the_inputs():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x @ x
    h.register_hook(lambda g: np.zeros_like(g) + np.array([[1.0, 0.0], [0.0, 0.0]]))
    h.sum().backward()
    # d/dx of sum(G * (x @ x)) with G = e11: G @ x.T + x.T @ G
    G = np.array([[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(x.grad, G @ x.data.T + x.data.T @ G)


def test_hook_with_create_graph_stays_differentiable():
    x = Tensor([3.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * x)  # a hook made of Tensor ops: part of the gradient's graph
    (g,) = grad(y.sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.data, [2 * 3.0 ** 2])  # (1 * x) * 2x
    (gg,) = grad(g.sum(), [x])
    np.testing.assert_allclose(gg, [4 * 3.0])  # d/dx 2x^2
    v = Value(3.0)
    w = v * v
    w.register_hook(lambda g: g * v)
    (gv,) = grad(w, [v], create_graph=True)
    assert gv.data == 18.0 and grad(gv, [v])[0] == 12.0


def test_grad_returns_the_hooked_gradient():
    x = Value(1.5)
    x.register_hook(lambda g: -g)
    assert grad(x * 2.0, [x])[0] == -2.0


def test_bad_hooks_and_tensors_that_need_no_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="function"):
        Value(1.0).register_hook(3)
    t = Tensor([1.0, 2.0], requires_grad=True)
    t.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(3,\) for a Tensor of shape \(2,\)"):
        (t * 2.0).sum().backward()


def test_a_collected_node_releases_its_hook():
    before = _Sweep.hooks
    t = Tensor([1.0], requires_grad=True)
    t.register_hook(lambda g: g)
    assert _Sweep.hooks == before + 1 and not _Sweep.plain
    del t
    gc.collect()
    assert _Sweep.hooks == before
