"""Anomaly mode: find the op, and the line of the user's code, where a NaN or an infinity is born.

    with tinygrad_trade.detect_anomaly():      # or set_detect_anomaly(True)
        loss = model(x)                        # forward: the first op that turns finite inputs
        loss.backward()                        # into NaN/inf raises AnomalyError; so does backward

While the mode is on, every node (`Value` or `Tensor`) records where it was made: the file and
line of the first stack frame outside the ``tinygrad_trade`` package (``node._where``). The first
op whose output is NaN or infinite although all its inputs are finite raises :class:`AnomalyError`:
its message names the op, that ``file:line``, the shapes and the first offending values, and its
``.node`` is the culprit (draw it with ``draw_dot(root, highlight=err.node)``). In the backward pass
the culprit is the node whose vector-Jacobian rule turned a finite gradient (and finite data)
into a non-finite gradient for one of its inputs.

Off by default, and free when off: the engines keep their plain constructors and backward() its
fast path. Turning the mode on swaps in checking constructors (each engine registers its switch
here, :func:`on_switch`) and sends backward() through the checking sweep of :mod:`.graph`; the cost
when on is in docs/engine.md. This file imports nothing from the package (the engines import it).
"""
from __future__ import annotations

import math
import os
import sys
from contextlib import contextmanager

import numpy as np

__all__ = ["AnomalyError", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "where_made",
           "describe"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_switches = []  # one function per engine: switch(on) swaps its checking constructors in or out


class _Mode:
    on = False


class AnomalyError(FloatingPointError):
    """The first op that made a NaN or inf from finite inputs (anomaly mode).

    ``node`` the culprit node, ``op`` its op name, ``where`` the user's ``file:line`` that made it
    (``"?"`` when it was made before the mode was on), ``phase`` ``"forward"`` or ``"backward"``.
    """

    def __init__(self, message, node=None, op="", where="?", phase="forward"):
        super().__init__(message)
        self.node, self.op, self.where, self.phase = node, op, where, phase


def is_anomaly_enabled() -> bool:
    return _Mode.on


def on_switch(fn) -> None:
    """Register ``fn(on)``, called (also now, with the current state) when the mode changes."""
    _switches.append(fn)
    fn(_Mode.on)


def set_detect_anomaly(on: bool) -> None:
    """Turn anomaly mode on or off for both engines (see the module docstring)."""
    on = bool(on)
    if on == _Mode.on:
        return
    _Mode.on = on
    for fn in _switches:
        fn(on)


@contextmanager
def detect_anomaly(on: bool = True):
    """Anomaly mode inside the block (``detect_anomaly(False)`` turns it off there)."""
    prev = _Mode.on
    set_detect_anomaly(on)
    try:
        yield
    finally:
        set_detect_anomaly(prev)


def where_made() -> str:
    """``file:line`` of the first frame outside the package (the user's line), relative to the
    current directory when it lies below it."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    if f is None:
        return "?"
    path = f.f_code.co_filename
    try:
        rel = os.path.relpath(path)
        path = path if rel.startswith("..") else rel
    except ValueError:  # another drive (Windows)
        pass
    return f"{path}:{f.f_lineno}"


# --- the checks --------------------------------------------------------------------------------
def _raw(x):
    """The number or array inside ``x`` (a float, an array, or a graph node under create_graph)."""
    return x.data if hasattr(x, "_prev") else x


def finite(x) -> bool:
    x = _raw(x)
    if x.__class__ is float:
        return math.isfinite(x)
    if x is None:
        return True
    return bool(np.isfinite(x).all())


def _shape(x):
    return tuple(np.shape(_raw(x)))


def _offending(x, limit=3) -> str:
    """The first few non-finite entries: ``nan at (1,), inf at (4,)`` (or ``nan`` for a scalar)."""
    a = np.asarray(_raw(x), dtype=float)
    if a.ndim == 0:
        return str(float(a))
    idx = np.argwhere(~np.isfinite(a))
    shown = [f"{a[tuple(i)]} at {tuple(int(j) for j in i)}" for i in idx[:limit]]
    more = f" (and {len(idx) - limit} more)" if len(idx) > limit else ""
    return ", ".join(shown) + more


def _inputs_text(xs) -> str:
    def one(x):
        a = np.asarray(_raw(x), dtype=float)
        return f"{float(a):.6g}" if a.ndim == 0 else f"shape {a.shape}"
    return ", ".join(one(x) for x in xs)


def check_forward(node, inputs, op_name: str) -> None:
    """Record where ``node`` was made; raise if it is non-finite while its inputs are finite."""
    node._where = where = where_made()
    if finite(node.data) or not all(finite(x) for x in inputs):
        return
    raise AnomalyError(
        f"anomaly in the forward pass: {op_name} made {_offending(node.data)} from finite inputs "
        f"({_inputs_text(inputs)}) at {where}; output shape {_shape(node.data)}, input shapes "
        f"{[_shape(x) for x in inputs]}", node, op_name, where, "forward")


def check_backward(node, g, grads) -> None:
    """After ``node`` passed gradient ``g`` back as ``grads``: raise if one of them is non-finite
    while ``g``, the node's data and its inputs' data are finite."""
    if all(finite(pg) for pg in grads):
        return
    prev = node._prev
    if not (finite(g) and finite(node.data) and all(finite(p.data) for p in prev)):
        return
    k = next(i for i, pg in enumerate(grads) if not finite(pg))
    where = getattr(node, "_where", None) or "?"
    op_name = node.op or "?"
    raise AnomalyError(
        f"anomaly in the backward pass: the gradient of {op_name} (made at {where}) for its input "
        f"{k + 1} is {_offending(grads[k])} although the incoming gradient and the data are finite "
        f"(inputs {_inputs_text(prev)}); output shape {_shape(node.data)}, input shapes "
        f"{[_shape(p.data) for p in prev]}", node, op_name, where, "backward")


def forward_culprit(node):
    """An AnomalyError (not raised) for a node already made that is non-finite from finite inputs,
    else None: for a search after the fact (:func:`tinygrad_trade.graph.find_anomaly`)."""
    prev = node._prev
    if not prev or finite(node.data) or not all(finite(p.data) for p in prev):
        return None
    where = getattr(node, "_where", None) or "?"
    return AnomalyError(f"{node.op} made {_offending(node.data)} from finite inputs ({_inputs_text(prev)}) "
                        f"at {where}", node, node.op, where, "forward")


def describe(err) -> str:
    """One phrase for a culprit: ``the backward of log (made at model.py:12)``."""
    where = "" if err.where in ("?", None) else f" (made at {err.where})"
    return f"the {err.phase} of {err.op}{where}"
