"""tinygrad_trade.testing: check_gradients passes right derivatives and names wrong ones; the public
strategies stay inside their domains and exercise what they promise."""
import math
import operator
import re

import numpy as np
import pytest
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st

from tinygrad_trade import CustomOp, Tensor, Value, grad, no_grad
from tinygrad_trade.engine import _make
from tinygrad_trade.graph import Op
from tinygrad_trade.nn import MLP, Linear
from tinygrad_trade.nn import scalar as snn
from tinygrad_trade.testing import GradcheckError, check_gradients
from tinygrad_trade.testing.strategies import (ALIASES, DISTINCT, DOMAINS, broadcastable_shapes, budget, expressions, op_domain,
                                               programs, register_domain, tensors, values)

QUICK = settings(database=None, phases=[Phase.generate], max_examples=5000, derandomize=True)


class Cube(CustomOp):
    """x ** 3 with a backward off by ``factor`` (1.0 is right)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, g):
        return (self.factor * 3 * self.x ** 2 * g,)


def flat_hessian_cube(v):
    """v ** 3 whose rule reads v's float data: right first derivative, second derivative 0."""
    def vjp(g, y, x):
        d = x.data if isinstance(x, Value) else x
        return (g * 3.0 * d * d,)
    return _make(v.data ** 3, (v,), Op("cube", vjp))


# --------------------------------------------------------------------------------------------
# check_gradients
# --------------------------------------------------------------------------------------------
def test_accepts_values_numbers_tensors_and_arrays():
    assert check_gradients(lambda x, y: (x * y).tanh() + y.exp(), Value(0.3), -1.2, order=2) is True
    assert check_gradients(lambda t, u: (t @ u).softplus(), np.ones((2, 3)) * 0.4, Tensor([0.1, -0.2, 0.3])) is True
    t = Tensor([0.5, 1.5], dtype=np.float32)  # no requires_grad, float32: checked through a float64 copy
    assert check_gradients(lambda x: (x * x).sum(), t) and t.requires_grad is False and t.dtype == np.float32


def test_a_custom_op_class_is_checked_through_apply():
    assert check_gradients(Cube, Tensor([0.5, -1.5, 2.0])) is True
    with pytest.raises(AssertionError) as info:
        check_gradients(lambda x: Cube.apply(x, factor=0.5), Tensor([[0.5, -1.0], [2.0, 1.0]], label="x"))
    msg = str(info.value)
    # worst element: |error| = 1.5 x^2 w is largest where x = 2 (index [1, 0]); both arrays shown
    assert "x: 4 of 4 elements disagree; worst at index [1, 0]" in msg
    assert re.search(r"x\[1, 0\]: analytic \S+, numeric \S+, error", msg)
    assert "analytic [[" in msg and "numeric  [[" in msg


def test_non_scalar_output_is_checked_in_every_element():
    """A wrong derivative of a single output element is caught (random weights, no cancelling)."""
    class SwapGrad(CustomOp):  # identity whose backward swaps the two elements' gradients
        def forward(self, x):
            return x.copy()

        def backward(self, g):
            return (g[::-1].copy(),)

    with pytest.raises(GradcheckError, match="input 0: 2 of 2 elements disagree"):
        check_gradients(SwapGrad, np.array([1.0, 2.0]))


def test_second_derivatives():
    x = Value(1.3, label="x")
    assert check_gradients(flat_hessian_cube, x)  # first order is right
    with pytest.raises(GradcheckError, match=r"second derivative mismatch[\s\S]*x\[0\]: analytic 0, numeric 7.8"):
        check_gradients(flat_hessian_cube, x, order=2)
    with pytest.raises(ValueError, match="order"):
        check_gradients(flat_hessian_cube, x, order=3)


def test_modules_check_their_parameters_by_name():
    rng = np.random.default_rng(0)
    net = MLP([3, 4, 2], activation="tanh", rng=rng)
    assert check_gradients(net, rng.normal(size=(5, 3)), order=2, atol=1e-4)
    snet = snn.MLP(2, [3, 1])
    assert check_gradients(lambda a, b: snet([a, b]), 0.4, -0.7)

    class Broken(Linear):  # a layer whose bias gradient is doubled by a custom op
        def forward(self, x):
            return x @ self.weight + Cube.apply(self.bias, factor=2.0)

    layer = Broken(2, 3, rng=rng)
    layer.bias.data[:] = [0.5, -1.0, 1.5]
    with pytest.raises(GradcheckError) as info:
        check_gradients(layer, rng.normal(size=(4, 2)))
    msg = str(info.value)
    assert "parameter bias: 3 of 3 elements disagree" in msg
    assert "parameter weight" not in msg and "input 0" not in msg


def test_gradient_penalty_is_checked_through_the_inner_grad():
    def penalty(x, w):
        (gx,) = grad((w * x ** 3).sum(), [x], create_graph=True)
        return (gx * gx).sum()
    assert check_gradients(penalty, Tensor([0.3, -0.8]), Tensor([1.1, 0.7]), order=2, atol=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="input 1 is a str"):
        check_gradients(lambda a, b: a, 1.0, "x")
    with pytest.raises(TypeError, match="f returned a float"):
        check_gradients(lambda a: 1.0, 1.0)
    with pytest.raises(ValueError, match="nothing to differentiate"):
        check_gradients(lambda: Value(1.0))


@given(factor=st.floats(1.01, 3.0) | st.floats(-3.0, 0.99), x=values(domain="nonzero"))
@settings(max_examples=budget(50))
def test_any_relative_error_above_one_percent_is_caught(factor, x):
    with pytest.raises(AssertionError):
        check_gradients(lambda t: Cube.apply(t, factor=factor), np.array([x.data]))


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------
@given(v=values(domain="log"), p=values(domain=(0.2, 0.3)), t=tensors(shape=(2, 3), elements="positives"))
def test_values_and_tensors_respect_their_domain(v, p, t):
    assert isinstance(v, Value) and v.data > 0
    assert 0.2 <= p.data <= 0.3
    assert t.shape == (2, 3) and t.requires_grad and t.dtype == np.float64 and (t.data >= 0.1).all()


@given(shapes=broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


def test_broadcastable_shapes_cover_the_patterns():
    find(broadcastable_shapes(2), lambda s: len(s[0]) != len(s[1]) and min(s[0] + s[1], default=2) == 1,
         settings=QUICK)


_OPERATORS = {"neg": operator.neg, "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "**": operator.pow, "@": operator.matmul}
_ARGS = {"clip": (-0.5, 0.7), "quantile": (0.3,), "polygamma": (1,), "topk": (2,)}  # the ops' other arguments


def _apply(name, args):
    if name in _OPERATORS:
        return _OPERATORS[name](*args)
    out = getattr(args[0], name)(*args[1:], *_ARGS.get(name, ()))
    return out[0] if name == "topk" and isinstance(out, tuple) else out


def _check_domain(name, draw_operand):
    n = len(DOMAINS[name])
    xs = [draw_operand(k) for k in range(n)]
    if name in DISTINCT and n == 2:  # no tie between the operands either
        assume(not np.isin(np.ravel(xs[0].data), np.ravel(xs[1].data)).any())
    with no_grad():
        out = _apply(name, xs)
        assert all(np.isfinite(o.data).all() for o in (out if isinstance(out, tuple) else (out,)))
    check_gradients(lambda *ts: _apply(name, ts), *xs)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_op_domain_gives_inputs_the_op_differentiates(name):
    """Each op's domain, on Tensors of 2x2 (matmul) or 3 elements and on Values where Value has the op:
    finite results, right gradients (so the table stays right as ops are added)."""
    on_tensor = name in _OPERATORS or hasattr(Tensor, name)
    on_value = name != "@" and (name in _OPERATORS or hasattr(Value, name))
    if not (on_tensor or on_value):
        pytest.skip(f"{name}: neither a Tensor nor a Value op")

    @settings(max_examples=budget(10), database=None)
    @given(data=st.data())
    def run(data):
        shape = (2, 2) if name == "@" else (3,)
        if on_tensor:
            _check_domain(name, lambda k: data.draw(tensors(shape=shape, elements=op_domain(name, k),
                                                            unique=name in DISTINCT)))
        if on_value:
            _check_domain(name, lambda k: data.draw(values(domain=op_domain(name, k))))
    run()


def test_every_tensor_op_with_a_restricted_domain_is_in_the_table():
    """Ops that fail or jump somewhere on the reals need a row in DOMAINS (or an alias)."""
    restricted = {"log", "sqrt", "log1p", "log2", "log10", "arcsin", "arccos", "arccosh", "arctanh", "relu", "abs"}
    assert all(n in DOMAINS for n in restricted)
    for alias, name in ALIASES.items():
        assert name in DOMAINS and op_domain(alias) is not None


def test_op_domain_tuples_aliases_and_register():
    find(op_domain("/"), lambda t: len(t) == 2 and t[1] != 0, settings=QUICK)
    assert op_domain("div") is not None
    with pytest.raises(KeyError, match="no domain for op 'nope'"):
        op_domain("nope")
    register_domain("test_only_op", st.just(0.5))
    try:
        assert find(values(domain="test_only_op"), lambda v: True, settings=QUICK).data == 0.5
    finally:
        del DOMAINS["test_only_op"]
    with pytest.raises(TypeError):
        register_domain("x", 1.0)


@settings(max_examples=budget(60))
@given(dag=expressions(max_nodes=8))
def test_expressions_are_finite_and_differentiate_right(dag):
    xs = dag.values()
    assert math.isfinite(dag(*xs).data)
    check_gradients(dag, *xs)


def test_expressions_share_sub_expressions():
    dag = find(expressions(), lambda d: d.n_shared() >= 3, settings=QUICK)
    assert dag.n_shared() >= 3 and "out =" in repr(dag)
    with pytest.raises(ValueError, match="unknown ops"):
        expressions(ops=("nope",))


@settings(max_examples=budget(60))
@given(prog=programs())
def test_programs_differentiate_right(prog):
    xs = prog.tensors()
    y = prog(*xs)
    assert y.shape == () and np.isfinite(y.data)
    check_gradients(prog, *xs)


@pytest.mark.parametrize("kind, text", [("matmul", "@"), ("reduce", "axis="), ("index", "["),
                                        ("binary", None)])
def test_programs_cover_each_kind(kind, text):
    if kind == "binary":  # a broadcast between two inputs of different shapes
        prog = find(programs(max_ops=2, kinds=("binary",)),
                    lambda p: len(p.inputs) == 2 and p.inputs[0].shape != p.inputs[1].shape
                    and any("x0" in s and "x1" in s for s in p.ops()), settings=QUICK)
    else:
        prog = find(programs(max_ops=2, kinds=(kind,)), lambda p: any(text in s for s in p.ops()), settings=QUICK)
    assert repr(prog).startswith("TensorProgram:")
    with pytest.raises(ValueError, match="unknown kinds"):
        programs(kinds=("nope",))
