"""Tests for tinygrad_trade.expr: grammar, precedence, errors, gradients, and that nothing is
ever handed to Python's evaluator."""

import io
import math
import tokenize
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_trade import Value
from tinygrad_trade.expr import (
    FUNCTIONS,
    ExprDomainError,
    ExprError,
    ExprSyntaxError,
    UnknownFunctionError,
    UnknownNameError,
    evaluate,
    parse,
    parse_bindings,
)


def val(text, **values):
    return evaluate(text, values).data


# --------------------------------------------------------------------------- #
# precedence and associativity
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("text, want", [
    ("2**3**2", 512.0),        # right-associative
    ("-2**2", -4.0),           # ** binds tighter than a unary minus on its left
    ("2**-1", 0.5),            # ... and takes a signed exponent on its right
    ("(-2)**2", 4.0),
    ("1-2-3", -4.0),           # left-associative
    ("8/4/2", 1.0),
    ("2+3*4", 14.0),
    ("(2+3)*4", 20.0),
    ("2*3**2", 18.0),
    ("--3", 3.0),
    ("-+-3", 3.0),
    ("1 - -1", 2.0),
    ("2 ** 0.5", math.sqrt(2.0)),
    (".5e1 + 1.", 6.0),
    ("1e-3*1000", 1.0),
])
def test_precedence_and_associativity(text, want):
    assert math.isclose(val(text), want, rel_tol=1e-15)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_match_the_engine(name):
    x = 0.7
    assert val(f"{name}(x)", x=x) == getattr(Value(x), name)().data


def test_functions_compose():
    assert math.isclose(val("sqrt(abs(-16)) + exp(log(3))"), 7.0, rel_tol=1e-12)
    assert val("relu(-2) + softplus(0) - log(2)") == pytest.approx(0.0, abs=1e-15)
    assert val("sigmoid(0)") == 0.5


def test_constant_expression_is_a_value():
    v = evaluate("2**3**2")
    assert isinstance(v, Value) and v.data == 512.0 and not v._prev


# --------------------------------------------------------------------------- #
# compared with Python's own arithmetic on random token strings
# --------------------------------------------------------------------------- #
numbers = st.sampled_from(["0.0", "1.0", "2.0", "3.0", "0.5", "1.5", "4.0"])
signs = st.sampled_from(["", "-", "--", "+"])
operators = st.sampled_from(["+", "-", "*", "/", "**"])


@st.composite
def flat_expressions(draw):
    """Numbers, unary signs and binary operators with no parentheses: precedence decides."""
    n = draw(st.integers(1, 6))
    parts = [draw(signs) + draw(numbers)]
    for _ in range(n - 1):
        parts.append(draw(operators))
        parts.append(draw(signs) + draw(numbers))
    return " ".join(parts)


@settings(max_examples=400, deadline=None)
@given(flat_expressions())
def test_same_result_as_python(text):
    # the reference is Python itself, on strings made only of digits, dots, signs and operators
    try:
        want = eval(text, {"__builtins__": {}}, {})  # noqa: S307 - test oracle only
    except (ZeroDivisionError, OverflowError):
        with pytest.raises(ExprDomainError):
            evaluate(text)
        return
    if isinstance(want, complex):
        with pytest.raises(ExprDomainError):
            evaluate(text)
        return
    got = evaluate(text).data
    assert got == want or (math.isnan(got) and math.isnan(want))


# --------------------------------------------------------------------------- #
# errors: one-line ExprError (a ValueError) with a clear message
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("text, error, words", [
    ("__import__('os')", ExprSyntaxError, "unexpected character"),
    ("__import__(x)", UnknownFunctionError, "unknown function '__import__'"),
    ("x.__class__", ExprSyntaxError, "unexpected character '.'"),
    ("1 +", ExprSyntaxError, "at the end"),
    ("(", ExprSyntaxError, "at the end"),
    ("(1", ExprSyntaxError, "expected ')'"),
    ("1)", ExprSyntaxError, "got ')'"),
    ("", ExprSyntaxError, "empty"),
    ("   ", ExprSyntaxError, "empty"),
    ("2 x", ExprSyntaxError, "got 'x'"),
    ("x y", ExprSyntaxError, "got 'y'"),
    ("1 ** * 2", ExprSyntaxError, "got '*'"),
    ("foo(1)", UnknownFunctionError, "unknown function 'foo'"),
    ("tanh", ExprSyntaxError, "tanh is a function"),
    ("tanh()", ExprSyntaxError, "takes one argument"),
    ("tanh(1, 2)", ExprSyntaxError, "takes one argument"),
    ("z + 1", UnknownNameError, "unknown name 'z'"),
    ("a * b", UnknownNameError, "unknown names 'a', 'b'"),
    ("1 ; 2", ExprSyntaxError, "unexpected character ';'"),
    ("x[0]", ExprSyntaxError, "unexpected character '['"),
    ("lambda: 1", ExprSyntaxError, "unexpected character ':'"),
    ("1e999", ExprSyntaxError, "too large"),
    ("x ** ** 2", ExprSyntaxError, "got '**'"),
])
def test_bad_expressions(text, error, words):
    with pytest.raises(error, match=None) as info:
        evaluate(text, {"x": 1.0})
    msg = str(info.value)
    assert words in msg and "\n" not in msg
    assert isinstance(info.value, ExprError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("text, words", [
    ("log(x - 1)", "log"),
    ("sqrt(-x)", "sqrt"),
    ("1 / (x - 1)", "division by zero"),
    ("(x - 2) ** 0.5", "not real"),
    ("0 ** -1", "undefined"),
    ("10 ** 400", "too large"),
    ("(-x) ** x", "positive base"),
])
def test_domain_errors(text, words):
    with pytest.raises(ExprDomainError, match=words):
        evaluate(text, {"x": 1.0})


def test_unknown_name_lists_every_missing_name():
    with pytest.raises(UnknownNameError) as info:
        evaluate("a*x + b", {"x": 1.0})
    assert info.value.names == ("a", "b")


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        evaluate("(" * 2000 + "1" + ")" * 2000)
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        evaluate("-" * 2000 + "1")
    with pytest.raises(ExprSyntaxError, match="too long"):
        evaluate("1+" * 20_000 + "1")
    assert val("+".join(["1"] * 3000)) == 3000.0  # long but flat is fine


def test_never_evaluated_as_python():
    src = Path(__file__).resolve().parents[1] / "tinygrad_trade" / "expr.py"
    toks = list(tokenize.generate_tokens(io.StringIO(src.read_text()).readline))
    # names used bare (not as an attribute such as re.compile): no way into Python's evaluator
    bare = {t.string for prev, t in zip(toks, toks[1:]) if t.type == tokenize.NAME and prev.string != "."}
    assert not bare & {"eval", "exec", "compile", "__import__", "ast", "literal_eval", "getattr", "vars"}


# --------------------------------------------------------------------------- #
# the graph it builds
# --------------------------------------------------------------------------- #
def test_gradients_equal_the_hand_built_graph():
    x1, x2, w1, w2, b = 2.0, 0.0, -3.0, 1.0, 6.8813735870195432
    leaves = {k: Value(v, label=k) for k, v in dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b).items()}
    o = evaluate("tanh(x1*w1 + x2*w2 + b)", leaves)
    o.backward()

    h = {k: Value(v) for k, v in dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b).items()}
    ref = (h["x1"] * h["w1"] + h["x2"] * h["w2"] + h["b"]).tanh()
    ref.backward()
    assert o.data == ref.data
    for k in h:
        assert leaves[k].grad == h[k].grad
    assert leaves["x1"].grad == pytest.approx(-1.5)


@pytest.mark.parametrize("text, build", [
    ("x**2 - 3*x*y + y**3 / (1 + x**2)", lambda x, y: x ** 2 - 3 * x * y + y ** 3 / (1 + x ** 2)),
    ("-x**2 + 2**y", lambda x, y: -(x ** 2) + 2 ** y),
    ("sigmoid(x) * softplus(y) - relu(x - y) + abs(y)",
     lambda x, y: x.sigmoid() * y.softplus() - (x - y).relu() + y.abs()),
    ("exp(x/4) * sqrt(y*y + 1) + log(1 + y*y)",
     lambda x, y: (x / 4).exp() * (y * y + 1).sqrt() + (1 + y * y).log()),
])
def test_gradients_of_more_expressions(text, build):
    x, y = Value(-1.3, label="x"), Value(0.7, label="y")
    out = evaluate(text, {"x": x, "y": y})
    out.backward()
    hx, hy = Value(-1.3), Value(0.7)
    ref = build(hx, hy)
    ref.backward()
    assert out.data == pytest.approx(ref.data, rel=1e-14)
    assert x.grad == pytest.approx(hx.grad, rel=1e-12)
    assert y.grad == pytest.approx(hy.grad, rel=1e-12)


def test_a_name_is_one_shared_leaf():
    x = Value(3.0, label="x")
    out = evaluate("x*x + x", {"x": x})
    out.backward()
    assert x.grad == 7.0
    o2 = evaluate("x*x", {"x": 3.0})
    a, b = o2._prev
    assert a is b and a.label == "x"


def test_constant_exponent_works_for_negative_bases():
    x = Value(-2.0)
    out = evaluate("x**2 + x**3", {"x": x})
    out.backward()
    assert out.data == -4.0 and x.grad == 2 * -2.0 + 3 * 4.0


def test_nodes_are_labelled_with_their_source_text():
    o = evaluate("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.88})
    assert o.label == "tanh(x*w + b)"
    (s,) = o._prev
    assert s.label == "x*w + b"
    assert sorted(p.label for p in s._prev) == ["b", "x*w"]
    plain = evaluate("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.88}, labels=False)
    assert plain.label == "" and plain._prev[0].label == ""


def test_parse_reports_names_in_order():
    assert parse("w*x + b + w").names == ("w", "x", "b")
    assert parse("tanh(2)").names == ()


def test_parse_bindings():
    assert parse_bindings("x=2, w=-3,b=6.88") == {"x": 2.0, "w": -3.0, "b": 6.88}
    assert parse_bindings("a=1e-3,") == {"a": 0.001}
    for bad in ("x", "x=", "=1", "x=1=2", "x=abc", "1x=2", "x=1,x=2", "exp=1", "x=nan", "x=1e999"):
        with pytest.raises(ExprError):
            parse_bindings(bad)
