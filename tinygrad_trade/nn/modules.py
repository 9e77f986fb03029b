"""Neural-network modules on the `Tensor` engine.

A :class:`Module` finds its parameters by looking at its attributes, in the order they were
assigned: a ``Tensor`` with ``requires_grad=True`` is a parameter, a ``Module`` is a child,
and a list or tuple of Modules holds children named by position. Names are dotted paths
(``"layers.0.weight"``); a Tensor reachable twice is listed once, under its first name.

Layout: ``Linear.weight`` has shape ``(in_features, out_features)`` and the layer computes
``x @ weight + bias`` (PyTorch stores the transpose). Initialisation: see
:mod:`tinygrad_trade.nn.init`.

Checkpoints are ``.npz`` files mapping parameter names to arrays, written atomically and read
without trusting anything in the file: see :mod:`tinygrad_trade.nn.checkpoint`.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .checkpoint import CheckpointError, load_arrays, save
from .init import as_rng, check_activation, default_init, init_weight

__all__ = ["Module", "Linear", "MLP", "Sequential", "GRU", "Dropout", "ReLU", "Tanh", "Sigmoid",
           "CheckpointError"]


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Module:
    """Base class of the Tensor modules. Subclasses set attributes and write ``forward``."""

    training = True  # class default, so subclasses need not call super().__init__()
    _buffers: tuple = ()  # attributes holding state that is saved with the parameters but not trained

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- structure ------------------------------------------------------------------------
    def _members(self):
        """(name, value) pairs to scan for parameters and children, in order."""
        return vars(self).items()

    def named_children(self) -> list:
        out = []
        for name, v in self._members():
            if isinstance(v, Module):
                out.append((name, v))
            elif isinstance(v, (list, tuple)):
                out.extend((f"{name}.{i}", m) for i, m in enumerate(v) if isinstance(m, Module))
        return out

    def named_parameters(self, prefix: str = "") -> list:
        """``[(dotted name, Tensor), ...]`` in attribute order, each Tensor once."""
        out, seen = [], set()
        self._collect(prefix, out, seen)
        return out

    def _collect(self, prefix, out, seen):
        for name, v in self._members():
            if isinstance(v, Tensor):
                if v.requires_grad and id(v) not in seen:
                    seen.add(id(v))
                    out.append((prefix + name, v))
            elif isinstance(v, Module):
                v._collect(f"{prefix}{name}.", out, seen)
            elif isinstance(v, (list, tuple)):
                for i, m in enumerate(v):
                    if isinstance(m, Module):
                        m._collect(f"{prefix}{name}.{i}.", out, seen)

    def parameters(self) -> list:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> list:
        """``[(dotted name, Tensor), ...]`` of the non-trained state (BatchNorm's running statistics)."""
        out = [(prefix + n, getattr(self, n)) for n in self._buffers if isinstance(getattr(self, n, None), Tensor)]
        for name, m in self.named_children():
            out.extend(m.named_buffers(f"{prefix}{name}."))
        return out

    def _state_items(self) -> list:
        return self.named_parameters() + self.named_buffers()

    def modules(self) -> list:
        """This module and all modules below it, depth first."""
        out = [self]
        for _, m in self.named_children():
            out.extend(m.modules())
        return out

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True):
        """Training mode (Dropout active) for this module and all below it; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode (Dropout is the identity); returns self."""
        return self.train(False)

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{name: copy of the array}`` for every parameter (in ``named_parameters()`` order), then
        every buffer."""
        return {name: p.data.copy() for name, p in self._state_items()}

    def load_state_dict(self, state: dict, _where: str = "load_state_dict"):
        """Copy arrays into the parameters. Names and shapes must match exactly; on a mismatch
        nothing is changed and :class:`CheckpointError` names the first offending parameter."""
        params = self._state_items()
        names = [n for n, _ in params]
        for n in names:
            if n not in state:
                raise CheckpointError(f"{_where}: missing parameter {n!r}")
        for n in state:
            if n not in names:
                raise CheckpointError(f"{_where}: unexpected parameter {n!r} (not in {type(self).__name__})")
        state = {n: (a.data if isinstance(a, Tensor) else np.asarray(a)) for n, a in state.items()}
        for n, p in params:
            a = state[n]
            if a.dtype.kind not in "fiu":
                raise CheckpointError(f"{_where}: parameter {n!r} has non-numeric dtype {a.dtype}")
            if a.shape != p.shape:
                raise CheckpointError(f"{_where}: parameter {n!r} has shape {a.shape}, expected {p.shape}")
        for n, p in params:
            np.copyto(p.data, state[n])

    def save(self, path):
        """Write the parameters to the ``.npz`` file ``path`` (exactly that name), atomically."""
        save(self.state_dict(), path)

    def load(self, path):
        """Load parameters saved by :meth:`save`. Never unpickles; refuses a file that does not fit
        the model (names, shapes, sizes, corruption, NaN) before reading its data or changing anything."""
        expected = {name: p.data for name, p in self._state_items()}
        self.load_state_dict(load_arrays(path, expected), _where=str(path))

    def __repr__(self):
        kids = self.named_children()
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "".join(f"\n  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in kids)
        return f"{type(self).__name__}({body}\n)"

    def extra_repr(self) -> str:
        return ""

    def _repr_mimebundle_(self, include=None, exclude=None):  # Jupyter: repr + the module tree as SVG
        from ..viz.notebook import mimebundle
        return mimebundle(self, include, exclude)


class Linear(Module):
    """``y = x @ weight + bias`` with ``weight`` of shape ``(in_features, out_features)``.

    ``init="kaiming"``: weight ~ U(-sqrt(6/in), sqrt(6/in)) (He uniform, for relu);
    ``init="xavier"``: weight ~ U(-sqrt(6/(in+out)), sqrt(6/(in+out))) (Glorot, for tanh/linear).
    The bias starts at zero. ``rng`` is a ``numpy.random.Generator`` or a seed.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "kaiming",
                 rng=None, dtype=None):
        self.in_features, self.out_features = in_features, out_features
        w = init_weight(in_features, out_features, init, as_rng(rng))
        self.weight = Tensor(w, requires_grad=True, dtype=dtype)
        self.bias = Tensor(np.zeros(out_features), requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x):
        y = _as_tensor(x) @ self.weight
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


def _activate(x: Tensor, activation: str) -> Tensor:
    return x.relu() if activation == "relu" else x.tanh()


class MLP(Module):
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``, ``activation`` between them,
    the last layer linear. Every layer uses ``init`` (default: kaiming for relu, xavier for
    tanh), drawn in order from one ``rng``. Parameters: ``layers.{i}.weight``, ``layers.{i}.bias``."""

    def __init__(self, sizes, activation: str = "relu", init: str | None = None, rng=None, dtype=None):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least two sizes (in and out), got {sizes}")
        self.activation = check_activation(activation)
        rng = as_rng(rng)
        init = init or default_init(activation)
        self.layers = [Linear(a, b, init=init, rng=rng, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        x = _as_tensor(x)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = _activate(x, self.activation)
        return x


class Sequential(Module):
    """Apply modules (or parameter-free callables) in turn. Children are named ``"0"``, ``"1"``, ..."""

    def __init__(self, *mods):
        self.mods = list(mods)

    def _members(self):
        return [(str(i), m) for i, m in enumerate(self.mods)]

    def forward(self, x):
        for m in self.mods:
            x = m(x)
        return x

    def __getitem__(self, i):
        return self.mods[i]

    def __len__(self):
        return len(self.mods)


class ReLU(Module):
    def forward(self, x):
        return _as_tensor(x).relu()


class Tanh(Module):
    def forward(self, x):
        return _as_tensor(x).tanh()


class Sigmoid(Module):
    def forward(self, x):
        return _as_tensor(x).sigmoid()


class Dropout(Module):
    """Inverted dropout: in training mode each element is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``, so evaluation mode is the identity. The mask is
    drawn from ``rng`` (a ``numpy.random.Generator`` or a seed)."""

    def __init__(self, p: float = 0.5, rng=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = as_rng(rng)

    def forward(self, x):
        x = _as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = self.rng.random(x.shape) >= self.p
        return x * (keep * (1.0 / (1.0 - self.p))).astype(x.dtype)

    def extra_repr(self):
        return f"p={self.p}"


class GRU(Module):
    """A one-layer GRU over ``x`` of shape ``(batch, time, input_size)``, with PyTorch's equations::

        r  = sigmoid(x_t W_ir + b_ir + h W_hr + b_hr)
        z  = sigmoid(x_t W_iz + b_iz + h W_hz + b_hz)
        n  = tanh(x_t W_in + b_in + r * (h W_hn + b_hn))
        h' = (1 - z) * n + z * h

    Parameters (columns ordered ``[r | z | n]``, transposed relative to PyTorch):
    ``weight_ih`` ``(input_size, 3*hidden)``, ``weight_hh`` ``(hidden, 3*hidden)``,
    ``bias_ih`` and ``bias_hh`` ``(3*hidden,)``, all drawn from ``U(-1/sqrt(hidden), 1/sqrt(hidden))``
    (PyTorch's init) in that order from ``rng``.

    ``forward(x, h0=None)`` returns ``(hs, h)``: all hidden states ``(batch, time, hidden)`` and
    the last one ``(batch, hidden)``; ``h0`` defaults to zeros.
    """

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None):
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = as_rng(rng)
        k = 1.0 / np.sqrt(hidden_size)
        H3 = 3 * hidden_size

        def u(*shape):
            return Tensor(rng.uniform(-k, k, size=shape), requires_grad=True, dtype=dtype)
        self.weight_ih = u(input_size, H3)
        self.weight_hh = u(hidden_size, H3)
        self.bias_ih = u(H3)
        self.bias_hh = u(H3)

    def forward(self, x, h0=None):
        x = _as_tensor(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"GRU expects x of shape (batch, time, {self.input_size}), got {x.shape}")
        B, T, _ = x.shape
        H = self.hidden_size
        h = Tensor(np.zeros((B, H), dtype=self.weight_hh.dtype)) if h0 is None else _as_tensor(h0)
        xp = x @ self.weight_ih + self.bias_ih  # input projections of all steps at once
        hs = []
        for t in range(T):
            xt = xp[:, t]
            hp = h @ self.weight_hh + self.bias_hh
            r = (xt[:, :H] + hp[:, :H]).sigmoid()
            z = (xt[:, H:2 * H] + hp[:, H:2 * H]).sigmoid()
            n = (xt[:, 2 * H:] + r * hp[:, 2 * H:]).tanh()
            h = (1.0 - z) * n + z * h
            hs.append(h)
        return Tensor.stack(hs, axis=1), h

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"
