"""Neural networks on the scalar `Value` engine, micrograd-style.

    from tinygrad_trade.nn.scalar import MLP
    net = MLP(3, [16, 16, 1], activation="tanh", rng=0)
    y = net([1.0, -2.0, 0.5])          # a Value (one output) or a list of Values

Weights are drawn as in :mod:`tinygrad_trade.nn.init` (a layer's ``(nin, nout)`` matrix in
one ``rng.uniform`` call, neuron ``j`` taking column ``j``; biases zero), so the same seed gives
the same weights as the Tensor ``tinygrad_trade.nn.MLP([nin, *nouts], ...)``.

A neuron's pre-activation is built as ``b + w1*x1 + w2*x2 + ...``: it starts from the bias, so
``n`` inputs cost exactly ``2n`` graph nodes (no ``0 + ...`` node as Python's ``sum`` would add).
"""
from __future__ import annotations

from .. import engine
from ..engine import Value
from .init import as_rng, check_activation, default_init, init_weight

__all__ = ["Module", "Neuron", "Layer", "MLP"]

_ACTS = ("relu", "tanh", "linear")


def _as_values(x) -> list:
    """Inputs as Values, converting plain numbers once (not once per neuron)."""
    return [xi if xi.__class__ is Value else Value(xi) for xi in x]


class Module:
    """Base class: ``parameters()`` and ``zero_grad()``."""

    __slots__ = ()

    def parameters(self) -> list:
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """``activation(b + sum_i w_i * x_i)`` with activation ``"relu"``, ``"tanh"`` or ``"linear"``.

    ``weights`` (a sequence of ``nin`` floats) overrides the random init; on its own a neuron
    draws them as a layer with one output would (``init`` defaults to the activation's).
    """

    __slots__ = ("w", "b", "activation")

    def __init__(self, nin: int, activation: str = "relu", init: str | None = None, rng=None,
                 weights=None):
        if activation not in _ACTS:
            raise ValueError(f"activation must be one of {_ACTS}, got {activation!r}")
        if weights is None:
            init = init or default_init(activation)
            weights = init_weight(nin, 1, init, as_rng(rng))[:, 0]
        if len(weights) != nin:
            raise ValueError(f"Neuron: got {len(weights)} weights for {nin} inputs")
        self.w = [Value(float(wi)) for wi in weights]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x):
        return self._forward(_as_values(x))

    def _forward(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        act = engine.mul_add(self.b, self.w, x)  # b + w1*x1 + ..., the same nodes in one loop
        if self.activation == "relu":
            return act.relu()
        if self.activation == "tanh":
            return act.tanh()
        return act

    def parameters(self) -> list:
        return self.w + [self.b]

    def __repr__(self):
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; returns a list of ``nout`` Values."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: str | None = None, rng=None):
        if activation not in _ACTS:
            raise ValueError(f"activation must be one of {_ACTS}, got {activation!r}")
        W = init_weight(nin, nout, init or default_init(activation), as_rng(rng))
        self.neurons = [Neuron(nin, activation, weights=W[:, j]) for j in range(nout)]

    def __call__(self, x) -> list:
        x = _as_values(x)
        return [n._forward(x) for n in self.neurons]

    def parameters(self) -> list:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        n = self.neurons[0]
        return f"Layer({len(n.w)}, {len(self.neurons)}, activation={n.activation!r})"


class MLP(Module):
    """A multi-layer perceptron ``nin -> nouts[0] -> ... -> nouts[-1]``.

    Hidden layers use ``activation`` (``"relu"`` or ``"tanh"``); the last layer is linear. Every
    layer is initialised with ``init`` (default: kaiming for relu, xavier for tanh) from ``rng``
    (a ``numpy.random.Generator`` or a seed). Calling it on a list of floats or Values returns a
    Value when there is one output, else a list of Values. ``parameters()`` lists, layer by
    layer and neuron by neuron, each neuron's weights then its bias.
    """

    def __init__(self, nin: int, nouts, activation: str = "relu", init: str | None = None, rng=None):
        check_activation(activation)
        nouts = [nouts] if isinstance(nouts, int) else list(nouts)
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts")
        rng = as_rng(rng)
        init = init or default_init(activation)
        sizes = [nin] + nouts
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], "linear" if i == last else activation, init, rng)
                       for i in range(len(nouts))]

    def __call__(self, x):
        x = _as_values(x)
        for layer in self.layers:
            x = [n._forward(x) for n in layer.neurons]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP(of [{', '.join(map(repr, self.layers))}])"
