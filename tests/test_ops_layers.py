"""The functional layers (ops/layers.py) and GroupNorm: conv_transpose1d against a numpy loop of its
definition (every stride, padding, output_padding, dilation and groups), scaled_dot_product_attention
against numpy (masks, causal, scale), normalize and softmin against numpy; GroupNorm's statistics per
sample and group. Gradients to second order by gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_trade import Tensor
from tinygrad_trade.nn import GroupNorm
from tinygrad_trade.testing import check_gradients
from tinygrad_trade.testing.strategies import arrays, budget, floats

reals = floats(-2, 2)


def _conv_t_ref(x, w, b, stride, padding, output_padding, groups, dilation):
    n, cin, length = x.shape
    _, cout_g, k = w.shape
    full = (length - 1) * stride + dilation * (k - 1) + 1 + output_padding
    out = np.zeros((n, cout_g * groups, full))
    cg = cin // groups
    for c in range(cin):
        g = c // cg
        for o in range(cout_g):
            for i in range(length):
                for j in range(k):
                    out[:, g * cout_g + o, i * stride + j * dilation] += x[:, c, i] * w[c, o, j]
    out = out[:, :, padding:full - padding] if padding else out
    out = out[:, :, :(length - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1]
    return out + (0 if b is None else b[None, :, None])


@settings(max_examples=budget(12))
@given(stride=st.integers(1, 3), dilation=st.integers(1, 2), groups=st.sampled_from([1, 2]), k=st.integers(1, 3),
       length=st.integers(1, 4), bias=st.booleans(), data=st.data())
def test_conv_transpose1d_against_its_definition(stride, dilation, groups, k, length, bias, data):
    padding = data.draw(st.integers(0, (dilation * (k - 1)) // 2), label="padding")
    output_padding = data.draw(st.integers(0, max(stride, dilation) - 1), label="output_padding")
    x = data.draw(arrays((2, 2 * groups, length), reals), label="x")
    w = data.draw(arrays((2 * groups, 2, k), reals), label="w")
    b = data.draw(arrays((2 * groups,), reals), label="b") if bias else None
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    got = Tensor(x).conv_transpose1d(w, b, **kw)
    np.testing.assert_allclose(got.data, _conv_t_ref(x, w, b, **kw), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(Tensor(x[0]).conv_transpose1d(w, b, **kw).data, got.data[0], rtol=1e-14)  # unbatched
    if bias:
        check_gradients(lambda t, u, c: t.conv_transpose1d(u, c, **kw), Tensor(x), Tensor(w), Tensor(b), order=2)
    else:
        check_gradients(lambda t, u: t.conv_transpose1d(u, **kw), Tensor(x), Tensor(w), order=2)


def test_conv_transpose1d_errors():
    x = Tensor(np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        x.conv_transpose1d(np.ones((3, 1, 2)))
    with pytest.raises(ValueError, match="output_padding must be smaller"):
        x.conv_transpose1d(np.ones((2, 1, 2)), output_padding=1)


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@settings(max_examples=budget(12))
@given(batch=st.sampled_from([(), (2,), (2, 1)]), ls=st.integers(1, 3), ss=st.integers(1, 3), e=st.integers(1, 3),
       mask=st.sampled_from(["none", "bool", "float", "causal"]), scale=st.sampled_from([None, 0.7]), data=st.data())
def test_scaled_dot_product_attention(batch, ls, ss, e, mask, scale, data):
    q = data.draw(arrays(batch + (ls, e), reals), label="q")
    k = data.draw(arrays(batch + (ss, e), reals), label="k")
    v = data.draw(arrays(batch + (ss, 2), reals), label="v")
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(e) if scale is None else scale)
    kw = {"scale": scale}
    if mask == "bool":
        m = data.draw(hnp.arrays(bool, (ls, ss)), label="mask")
        m[:, 0] = True  # every query sees something
        s, kw["attn_mask"] = np.where(m, s, -np.inf), m
    elif mask == "float":
        m = data.draw(arrays((ls, ss), reals), label="mask")
        s, kw["attn_mask"] = s + m, m
    elif mask == "causal":
        s, kw["is_causal"] = np.where(np.tril(np.ones((ls, ss), dtype=bool)), s, -np.inf), True
    got = Tensor(q).scaled_dot_product_attention(k, v, **kw)
    np.testing.assert_allclose(got.data, _softmax(s) @ v, rtol=1e-12, atol=1e-13)
    check_gradients(lambda a, b, c: a.scaled_dot_product_attention(b, c, **kw), Tensor(q), Tensor(k), Tensor(v),
                    order=2)


def test_attention_refuses_dropout_and_two_masks():
    q = Tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match="dropout_p must be 0"):
        q.scaled_dot_product_attention(q, q, dropout_p=0.1)
    with pytest.raises(ValueError, match="not both"):
        q.scaled_dot_product_attention(q, q, attn_mask=np.ones((2, 2), dtype=bool), is_causal=True)


@settings(max_examples=budget(12))
@given(shape=st.sampled_from([(3,), (2, 3), (2, 3, 2)]), p=st.sampled_from([1.0, 2.0, 3.0]), data=st.data())
def test_normalize_and_softmin(shape, p, data):
    x = data.draw(arrays(shape, floats(0.2, 2)), label="x") * np.where(np.arange(shape[-1]) % 2, -1, 1)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    norm = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
    np.testing.assert_allclose(Tensor(x).normalize(p, dim).data, x / np.maximum(norm, 1e-12), rtol=1e-13)
    check_gradients(lambda t: t.normalize(p, dim), Tensor(x), order=2)
    np.testing.assert_allclose(Tensor(x).softmin(dim).data, np.moveaxis(_softmax(np.moveaxis(-x, dim, -1)), -1, dim),
                               rtol=1e-13)
    check_gradients(lambda t: t.softmin(dim), Tensor(x), order=2)
    z = Tensor(np.zeros(shape), requires_grad=True)
    np.testing.assert_array_equal(z.normalize(p, dim).data, np.zeros(shape))  # 0 / eps, as torch


@settings(max_examples=budget(10))
@given(groups=st.sampled_from([1, 2, 4]), tail=st.sampled_from([(), (3,), (2, 2)]), affine=st.booleans(),
       data=st.data())
def test_group_norm(groups, tail, affine, data):
    x = data.draw(arrays((2, 4) + tail, reals), label="x") + np.arange(4).reshape((1, 4) + (1,) * len(tail))
    m = GroupNorm(groups, 4, affine=affine)
    if affine:
        m.weight.data[:] = np.linspace(0.5, 2.0, 4)
        m.bias.data[:] = np.linspace(-1.0, 1.0, 4)
    g = x.reshape(2, groups, -1)
    ref = ((g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + 1e-5)).reshape(x.shape)
    if affine:
        shape = (1, 4) + (1,) * len(tail)
        ref = ref * m.weight.data.reshape(shape) + m.bias.data.reshape(shape)
    np.testing.assert_allclose(m(Tensor(x)).data, ref, rtol=1e-12, atol=1e-12)
    check_gradients(m, Tensor(x), order=2)
    with pytest.raises(ValueError, match="multiple of num_groups"):
        GroupNorm(3, 4)
