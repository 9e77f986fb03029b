"""The scalar engine `Value`: forward values, every op's gradient, random DAGs, edge cases, errors."""
import math
import operator
import sys

import pytest
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st

from tinygrad_trade.testing.strategies import BINARY, UNARY, budget, exponents, floats, positives, pow_const_cases, reals, value_dags
from tinygrad_trade import Value, enable_grad, grad, is_grad_enabled, no_grad
from tinygrad_trade.gradcheck import gradcheck, gradgradcheck

REF = {  # float references for the forward of each unary op
    "neg": operator.neg,
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
    "relu": lambda x: max(x, 0.0),
    "softplus": lambda x: math.log1p(math.exp(x)),
    "sqrt": math.sqrt,
    "abs": abs,
}
DERIV = {  # hand-written first derivatives
    "neg": lambda x: -1.0,
    "exp": math.exp,
    "log": lambda x: 1.0 / x,
    "tanh": lambda x: 1.0 - math.tanh(x) ** 2,
    "sigmoid": lambda x: REF["sigmoid"](x) * (1.0 - REF["sigmoid"](x)),
    "relu": lambda x: 1.0 if x > 0 else 0.0,
    "softplus": lambda x: REF["sigmoid"](x),
    "sqrt": lambda x: 0.5 / math.sqrt(x),
    "abs": lambda x: 1.0 if x > 0 else -1.0,
}


# --------------------------------------------------------------------------------------------
# the object itself
# --------------------------------------------------------------------------------------------
def test_holds_float_data_and_zero_grad():
    v = Value(3)
    assert type(v.data) is float and v.data == 3.0
    assert type(v.grad) is float and v.grad == 0.0
    assert Value(Value(2.5)).data == 2.5


def test_rejects_non_numbers():
    with pytest.raises(TypeError):
        Value("abc")
    with pytest.raises(TypeError):
        Value(1.0) + "abc"


def test_repr_shows_data_grad_and_label():
    v = Value(2.0)
    assert repr(v) == "Value(data=2, grad=0)"
    w = Value(-1.5, label="w")
    assert w.label == "w"
    assert repr(w) == "Value(data=-1.5, grad=0, label='w')"
    (w * 3).backward()
    assert repr(w) == "Value(data=-1.5, grad=3, label='w')"


def test_operators_with_numbers_on_either_side():
    a = Value(3.0)
    cases = {
        "a+2": (a + 2, 5.0), "2+a": (2 + a, 5.0), "a-2": (a - 2, 1.0), "2-a": (2 - a, -1.0),
        "a*2": (a * 2, 6.0), "2*a": (2 * a, 6.0), "a/2": (a / 2, 1.5), "2/a": (2 / a, 2 / 3),
        "a**2": (a ** 2, 9.0), "2**a": (2 ** a, 8.0), "-a": (-a, -3.0),
        "a**Value(2)": (a ** Value(2.0), 9.0), "a+Value": (a + Value(1.0), 4.0),
    }
    for name, (v, expected) in cases.items():
        assert isinstance(v, Value), name
        assert v.data == pytest.approx(expected, rel=1e-15), name
    assert isinstance(a.op, str) and (a * 2).op == "*" and a.op == ""


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_forward_and_derivative(name, data):
    fn, dom = UNARY[name]
    x = data.draw(dom)
    v = Value(x)
    y = fn(v)
    assert y.data == pytest.approx(REF[name](x), rel=1e-13, abs=1e-300)
    y.backward()
    assert v.grad == pytest.approx(DERIV[name](x), rel=1e-12, abs=1e-300)
    assert gradcheck(fn, [v])


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("order", ["value_op_number", "number_op_value", "value_op_value"])
@given(data=st.data())
def test_binary_gradcheck_in_every_operand_order(name, order, data):
    op, left, right = BINARY[name]
    a, b = data.draw(left), data.draw(right)
    if order == "value_op_number":
        xs, f = [Value(a)], lambda x: op(x, b)
    elif order == "number_op_value":
        xs, f = [Value(b)], lambda x: op(a, x)
    else:
        xs, f = [Value(a), Value(b)], op
    y = f(*xs)
    assert isinstance(y, Value)
    assert y.data == pytest.approx(op(a, b), rel=1e-12)
    assert gradcheck(f, xs)


@given(ab=st.tuples(positives, exponents))
def test_value_pow_value_differentiates_base_and_exponent(ab):
    a, b = Value(ab[0]), Value(ab[1])
    (a ** b).backward()
    assert a.grad == pytest.approx(ab[1] * ab[0] ** (ab[1] - 1), rel=1e-12)
    assert b.grad == pytest.approx(ab[0] ** ab[1] * math.log(ab[0]), rel=1e-12, abs=1e-15)


@given(case=pow_const_cases)
def test_pow_constant_exponent(case):
    base, c = case
    x = Value(base)
    y = x ** c
    assert y.data == pytest.approx(base ** c, rel=1e-14)
    y.backward()
    assert x.grad == pytest.approx(c * base ** (c - 1), rel=1e-12, abs=1e-300)
    assert gradcheck(lambda v: v ** c, [x])
    assert gradgradcheck(lambda v: v ** c, [x])


@given(x=reals)
def test_number_pow_value(x):
    v = Value(x)
    (2.5 ** v).backward()
    assert v.grad == pytest.approx(2.5 ** x * math.log(2.5), rel=1e-12)


# --------------------------------------------------------------------------------------------
# random expression DAGs with shared sub-expressions: gradients and Hessians
# --------------------------------------------------------------------------------------------
def _dag_inputs(dag):
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(dag.inputs)]
    with no_grad():
        assume(all(abs(k) > 1e-3 for k in dag.kink_inputs(*xs)))  # no relu/abs input at a kink
    return xs


@settings(max_examples=budget(300))
@given(dag=value_dags())
def test_random_dag_gradients_match_finite_differences(dag):
    xs = _dag_inputs(dag)
    y = dag(*xs)
    assert math.isfinite(y.data)
    assert gradcheck(dag, xs)
    # backward() agrees with grad() and fills every input's .grad
    y.backward()
    assert [x.grad for x in xs] == pytest.approx(grad(dag(*xs), xs), rel=1e-12, abs=1e-12)


@settings(max_examples=budget(200))
@given(dag=value_dags(max_ops=6))
def test_random_dag_hessians_match_finite_differences(dag):
    xs = _dag_inputs(dag)
    assert gradgradcheck(dag, xs, atol=1e-4)


def test_dag_strategy_really_shares_nodes():
    """The DAG strategy builds diamonds and reuses nodes (a*a, shared sub-expressions)."""
    quick = settings(database=None, phases=[Phase.generate])
    dag = find(value_dags(), lambda d: d.n_shared() >= 3, settings=quick)
    assert dag.n_shared() >= 3
    square = find(value_dags(ops=("mul",)), lambda d: any(op == "sq" for op, *_ in d.steps), settings=quick)
    assert any(a == b for _, a, b, _ in square.steps)


# --------------------------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [Value.relu, Value.abs])
def test_kinks_have_zero_derivative_at_zero(fn):
    x = Value(0.0)
    y = fn(x)
    assert y.data == 0.0
    y.backward()
    assert x.grad == 0.0


def test_exp_of_huge_and_tiny_numbers():
    lo, hi = Value(-1000.0), Value(1000.0)
    a, b = lo.exp(), hi.exp()
    assert a.data == 0.0 and b.data == math.inf
    a.backward()
    b.backward()
    assert lo.grad == 0.0 and hi.grad == math.inf


def test_sigmoid_softplus_tanh_at_plus_minus_1000_are_exact_and_finite():
    for x, sig, sp, th in [(1000.0, 1.0, 1000.0, 1.0), (-1000.0, 0.0, 0.0, -1.0)]:
        for fn, expected in [(Value.sigmoid, sig), (Value.softplus, sp), (Value.tanh, th)]:
            v = Value(x)
            y = fn(v)
            assert y.data == expected, (fn.__name__, x)
            y.backward()
            assert math.isfinite(v.grad), (fn.__name__, x)
    v = Value(1000.0)
    v.softplus().backward()
    assert v.grad == 1.0
    v = Value(-1000.0)
    v.softplus().backward()
    assert v.grad == 0.0
    assert Value(-30.0).softplus().data == pytest.approx(math.exp(-30.0), rel=1e-12)


def test_gradient_accumulates_across_backward_calls():
    x = Value(1.5)
    y = x * x + x
    y.backward()
    assert x.grad == 4.0
    y.backward()
    assert x.grad == 8.0


def test_a_times_a_and_a_plus_a():
    a = Value(-1.25)
    (a * a).backward()
    assert a.grad == 2 * -1.25
    b = Value(0.5)
    (b + b).backward()
    assert b.grad == 2.0


def test_diamond_sums_both_paths():
    a = Value(2.0)
    b = a * 3.0      # two paths from a to d, through b and through c
    c = a + 1.0
    d = b * c        # d = 3a(a + 1): d' = 6a + 3
    e = d + b        # and b feeds d and e (another diamond)
    e.backward()
    assert e.data == 24.0
    assert a.grad == 6 * 2.0 + 3.0 + 3.0
    assert b.grad == c.data + 1.0 and c.grad == b.data and d.grad == 1.0


def test_x_pow_zero_has_zero_derivative_even_at_zero():
    x = Value(0.0)
    y = x ** 0
    assert y.data == 1.0
    y.backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("c, d1, d2", [(1.0, 1.0, 0.0), (2.0, 0.0, 2.0), (3.0, 0.0, 0.0)])
def test_integer_powers_at_zero_first_and_second_derivatives(c, d1, d2):
    x = Value(0.0)
    g = grad(x ** c, x, create_graph=True)
    assert g.data == d1
    assert grad(g, x) == d2


# --------------------------------------------------------------------------------------------
# grad(): functional gradients, higher order
# --------------------------------------------------------------------------------------------
def test_grad_returns_list_and_leaves_dot_grad_alone():
    a, b, c = Value(2.0), Value(-3.0), Value(7.0)
    y = a * b + b.exp()
    ga, gb, gc = grad(y, [a, b, c])
    assert ga == -3.0 and gb == pytest.approx(2.0 + math.exp(-3.0), rel=1e-15) and gc == 0.0
    assert all(isinstance(g, float) for g in (ga, gb, gc))
    assert a.grad == b.grad == c.grad == 0.0 and y.grad == 0.0
    assert grad(y, a) == -3.0  # a single x gives a single gradient
    assert grad(y, [a], grad_output=2.0) == [-6.0]
    # with respect to an intermediate node
    m = a * b
    z = m * m
    assert grad(z, [m, a]) == [2 * m.data, 2 * m.data * b.data]


def test_grad_create_graph_gives_values_and_exact_hessian():
    x, y, z = Value(0.7), Value(-1.3), Value(0.4)
    f = x * y * z + x ** 2 * y + z.exp() * x
    gs = grad(f, [x, y, z], create_graph=True)
    assert all(isinstance(g, Value) for g in gs)
    X, Y, Z = x.data, y.data, z.data
    ez = math.exp(Z)
    expected_grad = [Y * Z + 2 * X * Y + ez, X * Z + X ** 2, X * Y + X * ez]
    assert [g.data for g in gs] == pytest.approx(expected_grad, rel=1e-14)
    hessian = [grad(g, [x, y, z]) for g in gs]
    expected = [
        [2 * Y, Z + 2 * X, Y + ez],
        [Z + 2 * X, 0.0, X],
        [Y + ez, X, X * ez],
    ]
    for row, exp_row in zip(hessian, expected):
        assert row == pytest.approx(exp_row, rel=1e-14, abs=1e-15)
    assert x.grad == y.grad == z.grad == 0.0


def test_third_derivative():
    x = Value(1.5)
    g1 = grad(x ** 4, x, create_graph=True)
    g2 = grad(g1, x, create_graph=True)
    g3 = grad(g2, x)
    assert (g1.data, g2.data, g3) == pytest.approx((4 * 1.5 ** 3, 12 * 1.5 ** 2, 24 * 1.5))


def test_gradient_penalty_style_higher_order():
    # d/dw of (df/dx)^2 for f = tanh(w x): the inner gradient is itself differentiated
    def penalty(w, x):
        gx = grad((w * x).tanh(), x, create_graph=True)
        return gx * gx

    w, x = Value(0.8), Value(-0.3)
    gw, gx = grad(penalty(w, x), [w, x])

    def p(wv, xv):  # closed form: (w (1 - tanh(w x)^2))^2
        return (wv * (1.0 - math.tanh(wv * xv) ** 2)) ** 2
    eps = 1e-6
    assert gw == pytest.approx((p(0.8 + eps, -0.3) - p(0.8 - eps, -0.3)) / (2 * eps), rel=1e-7)
    assert gx == pytest.approx((p(0.8, -0.3 + eps) - p(0.8, -0.3 - eps)) / (2 * eps), rel=1e-7)


# --------------------------------------------------------------------------------------------
# no_grad and detach
# --------------------------------------------------------------------------------------------
def test_no_grad_records_no_graph():
    a, b = Value(2.0), Value(3.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (a * b + 1.0).exp().tanh() ** 2
        with enable_grad():
            z = a * b
    assert is_grad_enabled()
    assert y._prev == () and y.op == ""
    assert z._prev == (a, b)
    y.backward()
    assert a.grad == 0.0 and b.grad == 0.0


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()


def test_detach_cuts_the_graph():
    a = Value(3.0, label="a")
    d = (a * 2).detach()
    assert d.data == 6.0 and d._prev == () and d.grad == 0.0
    y = d * a
    y.backward()
    assert a.grad == 6.0  # not 12: no gradient flows through the detached copy


# --------------------------------------------------------------------------------------------
# deep graphs
# --------------------------------------------------------------------------------------------
def test_million_node_chain_backprops_at_default_recursion_limit():
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + x  # a chain of 10^6 nodes, each also fed by x
    y.backward()
    assert x.grad == 1_000_001.0
    assert sys.getrecursionlimit() == limit
    del y  # freeing the chain must not overflow the C stack either


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, op, value", [
    (lambda: Value(0.0).log(), "log", "0.0"),
    (lambda: Value(-1.5).log(), "log", "-1.5"),
    (lambda: Value(0.0).sqrt(), "sqrt", "0.0"),
    (lambda: Value(-4.0).sqrt(), "sqrt", "-4.0"),
    (lambda: Value(0.0) ** -1, "**", "0.0"),
    (lambda: Value(0.0) ** -0.5, "**", "0.0"),
    (lambda: Value(-2.0) ** 0.5, "**", "-2.0"),
    (lambda: Value(-8.0) ** (1 / 3), "**", "-8.0"),
    (lambda: Value(0.0) ** Value(2.0), "**", "0.0"),
    (lambda: Value(-3.0) ** Value(2.0), "**", "-3.0"),
    (lambda: (-2.0) ** Value(1.0), "**", "-2.0"),
], ids=["log0", "log-", "sqrt0", "sqrt-", "0**-1", "0**-0.5", "neg**frac", "neg**third", "0**V", "neg**V",
        "neg_number**V"])
def test_domain_errors_name_the_op_and_the_value(make, op, value):
    with pytest.raises(ValueError) as info:
        make()
    msg = str(info.value)
    assert msg.startswith(op + ":"), msg
    assert value in msg, msg


@pytest.mark.parametrize("make", [
    lambda: Value(1.0) / 0, lambda: Value(1.0) / Value(0.0), lambda: 1 / Value(0.0), lambda: Value(2.0) / -0.0,
])
def test_division_by_zero_raises_with_a_message(make):
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        make()


def test_negative_base_integer_power_is_fine():
    x = Value(-2.0)
    y = x ** 3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0
