"""The backward machinery shared by both engines (`Value` and `Tensor`).

A node of either engine has these slots:

- ``data``   the forward value (a float, or a numpy array);
- ``grad``   what ``backward()`` accumulated into it;
- ``_prev``  the tuple of input nodes (empty for a leaf or under ``no_grad``);
- ``_op``    the :class:`Op` that made it (its name and its vector-Jacobian rule);
- ``_g``     scratch space: the adjoint of this node during one backward sweep.

and one method, ``_vjp(g, create_graph)``, that returns the gradients of its inputs given the
gradient ``g`` of its output (``None`` for an input that needs none). Everything else, the
topological order, the sweep in reverse order and the accumulation into ``.grad``, lives here,
once, for both engines.

A scalar node may also carry ``_d``, its local partial derivatives as floats (one per input),
computed when the node was made, and ``_n``, its depth (0 for a leaf, else one more than its
deepest input). A plain ``backward()`` from such a node needs no rule calls: it collects the
nodes, orders them by depth, and runs a loop of multiply-adds (:func:`_sweep_local`).

With ``create_graph=True`` the sweep runs on graph-recording nodes instead of raw floats or
arrays, so the gradients it returns are themselves differentiable: that is all higher-order
gradients need.

Gradient hooks (:func:`register_hook`) and anomaly mode (:mod:`.anomaly`) run in a checking sweep,
:func:`_sweep_checked`; ``backprop`` takes it only while some node has a hook or the mode is on (one
flag, ``_Sweep.plain``), so the plain sweeps pay nothing for them. The core draws nothing itself:
notebook display goes through the slot :func:`set_display_hook`.
"""
from __future__ import annotations

import gc
import operator
import weakref
from contextlib import contextmanager

from . import anomaly

__all__ = ["Op", "no_grad", "enable_grad", "is_grad_enabled", "toposort", "backprop", "grad", "set_display_hook",
           "display", "register_hook", "HookHandle", "find_anomaly"]

_depth = operator.attrgetter("_n")  # a scalar node's depth: 0 for a leaf, 1 + its deepest input's



class Op:
    """An operation: a name (for pictures and errors) and its derivative rule, in one of two forms.

    ``vjp(g, y, *xs)`` receives the gradient ``g`` of the output, the output ``y`` and the
    inputs ``xs`` and returns one gradient per input. In a plain sweep these are floats or numpy
    arrays; with ``create_graph`` they are graph nodes, so a rule must only use operations both
    support (arithmetic, ``@``, ``sum``, ``reshape``, and the engine's dispatch helpers).

    ``partials(y, *xs)`` returns the local partial derivatives ``dy/dx_i``, one per input, for
    elementwise ops: the engine evaluates it on floats when the node is made and on graph nodes
    under ``create_graph``. A tuple of constants may stand in for the function (``+``: ``(1, 1)``).
    An Op given only ``partials`` gets the matching ``vjp`` (``g * dy/dx_i``) for free.

    ``selective=True`` says that ``vjp`` also takes ``need=`` (one bool per input) and may skip the inputs
    that need no gradient (``@`` with a constant operand: its gradient is a product as large as the data).
    """

    __slots__ = ("name", "vjp", "partials", "selective")

    def __init__(self, name, vjp=None, partials=None, selective=False):
        if vjp is None and partials is None:
            raise TypeError(f"Op {name!r} needs a vjp or partials rule")
        self.name = name
        self.partials = partials
        self.vjp = vjp if vjp is not None else self._vjp_from_partials
        self.selective = selective

    def local(self, y, *xs) -> tuple:
        """The partial derivatives at (y, xs): the constants, or the rule evaluated there."""
        p = self.partials
        return p if p.__class__ is tuple else p(y, *xs)

    def _vjp_from_partials(self, g, y, *xs):
        p = self.partials
        ds = p if p.__class__ is tuple else p(y, *xs)
        if len(ds) == 1:  # the common case, without a generator (it shows on small arrays)
            return (g * ds[0],)
        return tuple(None if d is None else g * d for d in ds)

    def __repr__(self):
        return f"Op({self.name!r})"


class _GradMode:
    enabled = True


# --- the display slot: how a node shows itself in Jupyter -------------------------------------
# The core draws nothing itself (it imports nothing above it); the picture layer, or the package
# face on its behalf, registers a function here and ``Value``/``Tensor._repr_mimebundle_`` call it.
_display_hook = [None]


def set_display_hook(fn) -> None:
    """Register ``fn(node, include, exclude) -> dict`` (a Jupyter MIME bundle) as the way Values and
    Tensors show themselves in a notebook; ``None`` removes it (notebooks then show the repr)."""
    _display_hook[0] = fn


def display(node, include=None, exclude=None):
    """The MIME bundle of ``node`` from the registered display hook, or None when there is none."""
    fn = _display_hook[0]
    return None if fn is None else fn(node, include, exclude)


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block."""
    return _GradMode.enabled


@contextmanager
def no_grad():
    """Record no graph inside the block: results are plain leaves with no history."""
    prev = _GradMode.enabled
    _GradMode.enabled = False
    try:
        yield
    finally:
        _GradMode.enabled = prev


@contextmanager
def enable_grad():
    """Record the graph inside the block even within an outer ``no_grad()``."""
    prev = _GradMode.enabled
    _GradMode.enabled = True
    try:
        yield
    finally:
        _GradMode.enabled = prev


def toposort(root, mark=None) -> list:
    """Nodes reachable from ``root``, inputs before outputs, built without recursion.

    Every visited node's scratch slot ``_g`` is set to ``mark`` (a fresh object for each sweep),
    which both records the visit and means "no gradient yet".
    """
    mark = object() if mark is None else mark
    order = []
    root._g = mark
    stack = [(root, iter(root._prev))]
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if p._g is not mark:
                p._g = mark
                push((p, iter(p._prev)))
                break
        else:
            pop()
            emit(node)
    return order


# --- gradient hooks and anomaly mode: the checking sweep ----------------------------------------
class _Sweep:
    """Which sweep backward() may take: ``plain`` (the fast paths) unless anomaly mode is on or
    some node carries a gradient hook; ``hooks`` counts the live hooks."""
    plain = True
    hooks = 0
    anomaly = False


def _update():
    _Sweep.plain = not _Sweep.anomaly and _Sweep.hooks == 0


def _anomaly_switch(on):
    _Sweep.anomaly = on
    _update()


anomaly.on_switch(_anomaly_switch)


class HookHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off (a second call does nothing)."""

    __slots__ = ("_hooks", "_entry")

    def __init__(self, hooks, entry):
        self._hooks, self._entry = weakref.ref(hooks), entry  # the handle does not keep the hooks alive

    def remove(self) -> None:
        hooks = self._hooks()
        if hooks is not None and any(e is self._entry for e in hooks):
            hooks[:] = [e for e in hooks if e is not self._entry]
            _Sweep.hooks -= 1
            _update()


class _Hooks(list):
    """A node's hooks, ``[fn]`` entries in registration order. It lives and dies with its node (only
    the node holds it), and gives its count back when it dies: the fast sweep returns by itself."""

    def __del__(self):
        if self and _Sweep is not None:  # (None only while the interpreter shuts down)
            _Sweep.hooks -= len(self)
            _update()


def register_hook(node, fn) -> HookHandle:
    """Call ``fn(grad)`` when ``node``'s gradient is complete during a backward pass; a non-None
    return value replaces that gradient (what ``.grad`` receives and what flows on to the inputs).

    PyTorch's rule: several hooks run in registration order, each given the previous one's result.
    ``grad`` is what ``.grad`` would receive (a float or a numpy array; a graph node under
    ``create_graph=True``, so a hook made of differentiable ops keeps higher orders right).
    Returns a :class:`HookHandle`; ``handle.remove()`` takes the hook off.
    """
    if not callable(fn):
        raise TypeError(f"register_hook needs a function of the gradient, got {type(fn).__name__}")
    if getattr(node, "requires_grad", True) is False:
        raise RuntimeError("register_hook: this Tensor does not require grad, so no gradient will reach it "
                           "(create it with requires_grad=True)")
    hooks = getattr(node, "_hooks", None)
    if hooks is None:
        hooks = node._hooks = _Hooks()
    entry = [fn]  # a fresh list per registration: the same fn may be registered twice
    hooks.append(entry)
    _Sweep.hooks += 1
    _update()
    return HookHandle(hooks, entry)


def _run_hooks(node, hooks, g):
    for (fn,) in list(hooks):
        r = fn(g)
        if r is not None:
            g = node._hook_grad(r, g)
    return g


def find_anomaly(root):
    """The op where a non-finite ``root`` or non-finite gradients were born, found after the fact
    (also when anomaly mode was off): an :class:`~tinygrad_trade.anomaly.AnomalyError`, not raised,
    or None. The forward graph is scanned inputs first for a node that is non-finite from finite
    inputs; failing that, a backward sweep from ``root`` that touches no ``.grad`` runs with the
    anomaly check. Used by ``optim.check_finite`` to name the op behind a NaN gradient."""
    order = toposort(root)
    _clear(order)
    for node in order:
        err = anomaly.forward_culprit(node)
        if err is not None:
            return err
    if not anomaly.finite(root.data):
        return None
    seed = root._seed(None, False) if getattr(root.data, "size", 1) == 1 else root.data * 0.0 + 1.0
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        _sweep_checked(root, seed, False, False, set(), None, True)
    except anomaly.AnomalyError as e:
        return e
    finally:
        if gc_enabled:
            gc.enable()
    return None


def _sweep_checked(root, seed, create_graph, accumulate, keep_ids, on_step, check):
    """:func:`_sweep` with gradient hooks and, when ``check``, anomaly mode's backward check."""
    mark = object()
    order = toposort(root, mark)
    root._g = seed
    try:
        for node in reversed(order):
            g = node._g
            node._g = None
            if g is mark:
                continue
            hooks = getattr(node, "_hooks", None)
            if hooks:
                g = _run_hooks(node, hooks, g)
            if accumulate:
                node._accumulate(g)
            prev = node._prev
            if prev:
                grads = node._vjp(g, create_graph)
                if check:
                    anomaly.check_backward(node, g, grads)
                for p, pg in zip(prev, grads):
                    if pg is not None:
                        p._g = pg if p._g is mark else p._g + pg
            if on_step is not None:
                on_step(node, order)
            if keep_ids and id(node) in keep_ids:
                node._g = g
    except BaseException:
        _clear(order)
        raise
    return order


def backprop(root, seed, *, create_graph=False, accumulate=True, keep=(), on_step=None):
    """One reverse sweep from ``root`` with output gradient ``seed``.

    - ``accumulate``: add each node's gradient into its ``.grad`` (what ``backward()`` does).
    - ``keep``: nodes whose adjoint must survive the sweep in ``_g`` (what ``grad()`` reads).
    - ``on_step(node, order)``: called after each node has passed its gradient on (used by the
      backward-pass walkthrough picture).

    Gradient hooks run, and anomaly mode checks every rule's output, in :func:`_sweep_checked`.

    Returns the topological order that was swept.
    """
    gc_enabled = gc.isenabled()
    gc.disable()  # the sweep makes no cycles; collecting while it walks millions of nodes is waste
    try:
        if not _Sweep.plain:  # anomaly mode, or gradient hooks somewhere
            return _sweep_checked(root, seed, create_graph, accumulate, {id(k) for k in keep}, on_step,
                                  _Sweep.anomaly)
        if (accumulate and not create_graph and not keep and on_step is None
                and getattr(root, "_d", None) is not None):
            return _sweep_local(root, seed)
        return _sweep(root, seed, create_graph, accumulate, {id(k) for k in keep}, on_step)
    finally:
        if gc_enabled:
            gc.enable()


def _sweep(root, seed, create_graph, accumulate, keep_ids, on_step):
    mark = object()
    order = toposort(root, mark)
    root._g = seed
    try:
        for node in reversed(order):
            g = node._g
            node._g = None
            if g is mark:
                continue
            if accumulate:
                node._accumulate(g)
            prev = node._prev
            if prev:
                for p, pg in zip(prev, node._vjp(g, create_graph)):
                    if pg is not None:
                        p._g = pg if p._g is mark else p._g + pg
            if on_step is not None:
                on_step(node, order)
            if keep_ids and id(node) in keep_ids:
                node._g = g
    except BaseException:
        _clear(order)  # a node left marked would look "visited" to the next sweep
        raise
    return order


def _sweep_local(root, seed):
    """``backward()`` for scalar nodes whose local partials ``_d`` are floats: multiply-adds only.

    A node's depth ``_n`` (0 for a leaf, else 1 + its deepest input's) is a topological order,
    so nodes are filed by depth (or sorted by it, for graphs deeper than they are wide) and swept
    deepest first. ``_g`` is None outside a sweep; here it becomes 0.0 when a node is first
    reached, then sums ``g * dy/dnode`` over the node's users. Leaves (depth 0) only collect.
    """
    levels = _by_depth(root)
    leaves = levels.pop()
    root._g = seed
    try:
        for level in levels:
            for node in level:
                g = node._g
                node._g = None
                node.grad += g
                prev = node._prev
                d = node._d
                if d is None:  # an op with only a vjp rule
                    for p, pg in zip(prev, node._vjp(g, False)):
                        if pg is not None:
                            p._g += pg
                elif len(prev) == 2:
                    a, b = prev
                    da, db = d
                    a._g += g * da
                    b._g += g * db
                else:
                    for p, dp in zip(prev, d):
                        p._g += g * dp
        for node in leaves:
            node.grad += node._g
            node._g = None
    except BaseException:
        for level in levels:
            _clear(level)
        _clear(leaves)
        raise
    return None


_WIDE = 4096  # deeper graphs (long chains) are sorted instead: one list per level would be waste


def _by_depth(root) -> list:
    """Every node reachable from ``root`` once, as lists from the deepest level down, leaves last."""
    root._g = 0.0
    depth = root._n
    if depth <= _WIDE:
        levels = [[] for _ in range(depth + 1)]
        levels[depth].append(root)
        for k in range(depth, 0, -1):
            for node in levels[k]:
                for p in node._prev:
                    if p._g is None:
                        p._g = 0.0
                        levels[p._n].append(p)
        levels.reverse()
        return levels
    inner, leaves = [root], []
    for node in inner:  # breadth first (the list grows as we go), then sorted by depth
        for p in node._prev:
            if p._g is None:
                p._g = 0.0
                if p._prev:
                    inner.append(p)
                else:
                    leaves.append(p)
    inner.sort(key=_depth, reverse=True)
    return [inner, leaves]


def _clear(nodes):
    for n in nodes:
        n._g = None


def grad(y, xs, create_graph=False, grad_output=None):
    """Gradients of ``y`` with respect to each of ``xs``, without touching any ``.grad``.

    ``y`` is a Value, or a Tensor (single-element unless ``grad_output`` is given). Returns a
    list, one gradient per x: a float/array, or with ``create_graph=True`` a graph node connected
    to the graph so that it can be differentiated again (Hessian rows, gradient penalties).
    An x that ``y`` does not depend on gets a zero gradient.
    """
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    seed = y._seed(grad_output, create_graph)
    with (enable_grad() if create_graph else no_grad()):
        order = backprop(y, seed, create_graph=create_graph, accumulate=False, keep=xs)
    reached = {id(n) for n in order}
    out = []
    for x in xs:
        g = x._g if id(x) in reached else None
        x._g = None
        out.append(x._zero_grad_like(create_graph) if g is None else x._as_grad(g, create_graph))
    return out[0] if single else out
