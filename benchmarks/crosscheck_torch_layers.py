"""Cross-check of the nn layers against PyTorch's in float64: outputs and every gradient.

LayerNorm, RMSNorm, BatchNorm1d (training step with running statistics, then evaluation), LSTMCell,
LSTM (fused and step by step), Embedding, Conv1d (causal, dilated, strided, 'same') and
MultiheadAttention (self-attention with a causal mask, and cross-attention). Each layer gets PyTorch's
weights copied in (transposed where our layout is), the same random input, and the same loss
(a fixed random weighting of every output); the table lists the largest absolute difference of
the outputs and of the gradients of the input and of every parameter.

PyTorch is a peer here, never a dependency: without torch installed this prints that it is skipped.
Run it with a venv that has torch: ``PYTHONPATH=. /path/to/venv/bin/python benchmarks/crosscheck_torch_layers.py``.
"""
from __future__ import annotations

import numpy as np
from common import peer_version, table

from tinygrad_trade import Tensor, grad
from tinygrad_trade import nn as ours


def _t(a, grad=False):
    import torch
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _copy(dst, src):
    import torch
    with torch.no_grad():
        dst.copy_(_t(src))


class Transposed:
    """A PyTorch parameter stored transposed in our layout (``Linear``-style ``(in, out)`` weights)."""

    def __init__(self, p):
        self.p = p


def _compare(name, our_outs, their_outs, our_leaves, their_leaves, seed=0):
    """Weighted sum of all outputs on both sides, then the differences of outputs and gradients.
    ``their_leaves`` pairs with ``our_leaves``; a leaf wrapped in :class:`Transposed` is compared transposed."""
    import torch
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, o.shape) for o in our_outs]
    loss = sum(((o * w).sum() for o, w in zip(our_outs, weights)), Tensor(0.0))
    g_ours = grad(loss, our_leaves)
    loss_t = sum((o * _t(w)).sum() for o, w in zip(their_outs, weights))
    g_theirs = torch.autograd.grad(loss_t, [q.p if isinstance(q, Transposed) else q for q in their_leaves])
    g_theirs = [g.numpy().T if isinstance(q, Transposed) else g.numpy() for g, q in zip(g_theirs, their_leaves)]
    out = max(float(np.abs(o.data - t.detach().numpy()).max()) for o, t in zip(our_outs, their_outs))
    gd = max(float(np.abs(np.asarray(a) - b.reshape(np.shape(a))).max()) for a, b in zip(g_ours, g_theirs))
    return [name, f"{out:.1e}", f"{gd:.1e}"]


def normalization_rows(rng):
    import torch
    rows = []
    x = rng.standard_normal((4, 3, 5))
    for name, mine, theirs in [
        ("LayerNorm(5)", ours.LayerNorm(5), torch.nn.LayerNorm(5)),
        ("LayerNorm((3, 5))", ours.LayerNorm((3, 5)), torch.nn.LayerNorm((3, 5))),
        ("RMSNorm(5, eps=1e-6)", ours.RMSNorm(5, eps=1e-6), torch.nn.RMSNorm(5, eps=1e-6)),
        ("RMSNorm((3, 5)), default eps", ours.RMSNorm((3, 5)), torch.nn.RMSNorm((3, 5))),
    ]:
        theirs = theirs.double()
        for p, q in zip(mine.parameters(), theirs.parameters()):
            w = rng.uniform(0.5, 1.5, p.shape)
            p.data[...] = w
            _copy(q, w)
        xo, xt = Tensor(x, requires_grad=True), _t(x, True)
        rows.append(_compare(name, [mine(xo)], [theirs(xt)], [xo] + mine.parameters(), [xt] + list(theirs.parameters())))
    for shape in [(6, 3), (5, 3, 4)]:
        mine, theirs = ours.BatchNorm1d(3, momentum=0.2), torch.nn.BatchNorm1d(3, momentum=0.2).double()
        x = rng.standard_normal(shape) * 2 + 1
        xo, xt = Tensor(x, requires_grad=True), _t(x, True)
        rows.append(_compare(f"BatchNorm1d(3) train {shape}", [mine(xo)], [theirs(xt)],
                             [xo] + mine.parameters(), [xt] + list(theirs.parameters())))
        run = max(float(np.abs(mine.running_mean.data - theirs.running_mean.numpy()).max()),
                  float(np.abs(mine.running_var.data - theirs.running_var.numpy()).max()))
        mine.eval()
        theirs.eval()
        xo, xt = Tensor(x, requires_grad=True), _t(x, True)
        row = _compare(f"BatchNorm1d(3) eval {shape}", [mine(xo)], [theirs(xt)],
                       [xo] + mine.parameters(), [xt] + list(theirs.parameters()))
        row[0] += f" (running stats differ by {run:.1e})"
        rows.append(row)
    return rows


def _load_lstm(mine, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's (4H, in) rows [i|f|g|o] into our (in, 4H) columns [i|f|g|o]."""
    mine.weight_ih.data[...] = w_ih.detach().numpy().T
    mine.weight_hh.data[...] = w_hh.detach().numpy().T
    mine.bias_ih.data[...] = b_ih.detach().numpy()
    mine.bias_hh.data[...] = b_hh.detach().numpy()


def recurrent_rows(rng):
    import torch
    torch.manual_seed(0)
    B, T, D, H = 3, 6, 4, 5
    rows = []
    cell_t = torch.nn.LSTMCell(D, H).double()
    cell = ours.LSTMCell(D, H)
    _load_lstm(cell, cell_t.weight_ih, cell_t.weight_hh, cell_t.bias_ih, cell_t.bias_hh)
    x, h0, c0 = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    leaves = [Tensor(a, requires_grad=True) for a in (x, h0, c0)]
    leaves_t = [_t(a, True) for a in (x, h0, c0)]
    h, c = cell(leaves[0], (leaves[1], leaves[2]))
    ht, ct = cell_t(leaves_t[0], (leaves_t[1], leaves_t[2]))
    rows.append(_compare("LSTMCell(4, 5), with (h0, c0)", [h, c], [ht, ct], leaves + cell.parameters(),
                         leaves_t + [Transposed(cell_t.weight_ih), Transposed(cell_t.weight_hh), cell_t.bias_ih, cell_t.bias_hh]))
    lstm_t = torch.nn.LSTM(D, H, batch_first=True).double()
    tp = [lstm_t.weight_ih_l0, lstm_t.weight_hh_l0, lstm_t.bias_ih_l0, lstm_t.bias_hh_l0]
    x = rng.standard_normal((B, T, D))
    for fused in (True, False):
        lstm = ours.LSTM(D, H, fused=fused)
        _load_lstm(lstm, *tp)
        leaves = [Tensor(a, requires_grad=True) for a in (x, h0, c0)]
        leaves_t = [_t(a, True) for a in (x, h0, c0)]
        hs, (h, c) = lstm(leaves[0], (leaves[1], leaves[2]))
        hst, (ht, ct) = lstm_t(leaves_t[0], (leaves_t[1][None], leaves_t[2][None]))
        rows.append(_compare(f"LSTM(4, 5) over 6 steps, {'fused' if fused else 'step by step'}", [hs, h, c],
                             [hst, ht[0], ct[0]], leaves + lstm.parameters(), leaves_t + [Transposed(tp[0]), Transposed(tp[1])] + tp[2:]))
    return rows


def sequence_rows(rng):
    import torch
    rows = []
    emb, emb_t = ours.Embedding(7, 3), torch.nn.Embedding(7, 3).double()
    emb.weight.data[...] = emb_t.weight.detach().numpy()
    idx = rng.integers(0, 7, (4, 5))
    rows.append(_compare("Embedding(7, 3), repeated indices", [emb(idx)], [emb_t(torch.tensor(idx))],
                         [emb.weight], [emb_t.weight]))
    for kw, pad in [(dict(kernel_size=3, dilation=2), "causal"), (dict(kernel_size=3, stride=2), "causal"),
                    (dict(kernel_size=4), "same"), (dict(kernel_size=3, dilation=2), "same"), (dict(kernel_size=3), 1)]:
        tkw = {k: v for k, v in kw.items() if k != "padding"}
        conv = ours.Conv1d(3, 4, padding=pad, **tkw)
        span = kw.get("dilation", 1) * (kw["kernel_size"] - 1)
        theirs = torch.nn.Conv1d(3, 4, padding=0 if pad == "causal" else pad, **tkw).double()
        conv.weight.data[...] = theirs.weight.detach().numpy()
        conv.bias.data[...] = theirs.bias.detach().numpy()
        x = rng.standard_normal((2, 3, 11))
        xo, xt = Tensor(x, requires_grad=True), _t(x, True)
        yt = theirs(torch.nn.functional.pad(xt, (span, 0)) if pad == "causal" else xt)
        args = ", ".join(f"{k}={v}" for k, v in kw.items())
        rows.append(_compare(f"Conv1d(3, 4, {args}, padding={pad!r})", [conv(xo)], [yt],
                             [xo, conv.weight, conv.bias], [xt, theirs.weight, theirs.bias]))
    return rows


def attention_rows(rng):
    import torch
    E, heads = 6, 3
    mha = ours.MultiheadAttention(E, heads)
    ref = torch.nn.MultiheadAttention(E, heads, batch_first=True).double()
    mha.in_proj_weight.data[...] = ref.in_proj_weight.detach().numpy().T
    mha.in_proj_bias.data[...] = ref.in_proj_bias.detach().numpy()
    mha.out_proj.weight.data[...] = ref.out_proj.weight.detach().numpy().T
    mha.out_proj.bias.data[...] = ref.out_proj.bias.detach().numpy()
    theirs_p = [Transposed(ref.in_proj_weight), ref.in_proj_bias, Transposed(ref.out_proj.weight), ref.out_proj.bias]
    rows = []
    x = rng.standard_normal((2, 5, E))
    xo, xt = Tensor(x, requires_grad=True), _t(x, True)
    out, w = mha(xo, is_causal=True)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    out_t, w_t = ref(xt, xt, xt, attn_mask=causal)
    rows.append(_compare("MultiheadAttention(6, 3 heads), causal self-attention", [out, w], [out_t, w_t],
                         [xo] + mha.parameters(), [xt] + theirs_p))
    q, kv = rng.standard_normal((2, 4, E)), rng.standard_normal((2, 7, E))
    qo, kvo, qt, kvt = Tensor(q, requires_grad=True), Tensor(kv, requires_grad=True), _t(q, True), _t(kv, True)
    out, w = mha(qo, kvo, kvo)
    out_t, w_t = ref(qt, kvt, kvt)
    rows.append(_compare("MultiheadAttention, cross-attention 4 <- 7", [out, w], [out_t, w_t],
                         [qo, kvo] + mha.parameters(), [qt, kvt] + theirs_p))
    return rows


def run() -> str:
    version = peer_version("torch")
    head = "### nn layers against PyTorch (float64): largest absolute differences"
    if not version:
        return head + "\n\nPyTorch is not installed: skipped (`pip install torch` to run it; it is a peer only)."
    import torch
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = normalization_rows(rng) + recurrent_rows(rng) + sequence_rows(rng) + attention_rows(rng)
    return "\n".join([head, "", f"PyTorch {version}. Same weights, same inputs, loss = a fixed random weighting of "
                      "every output; gradients of the input and of every parameter.", "",
                      table(["layer", "outputs", "gradients"], rows)])


if __name__ == "__main__":
    print(run())
