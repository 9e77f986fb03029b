"""A small multi-head attention layer (PyTorch's ``nn.MultiheadAttention``, batch-first).

    q = query W_q + b_q,  k = key W_k + b_k,  v = value W_v + b_v      (split into heads of size E / h)
    attention = softmax(q k^T / sqrt(E / h) + mask) per head,  out = (attention v, heads joined) W_o + b_o

Composed from Tensor ops (matmul, softmax), so it is twice differentiable.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .init import as_rng
from .modules import Linear, Module, _as_tensor

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention of ``query`` ``(batch, target, embed_dim)`` over ``key``/``value`` ``(batch, source,
    embed_dim)`` (both default to ``query``: self-attention) with ``num_heads`` heads.

    Parameters: ``in_proj_weight`` ``(embed_dim, 3*embed_dim)`` (columns ``[q | k | v]``, transposed
    relative to PyTorch, as ``Linear``) and ``in_proj_bias``, then ``out_proj`` (a ``Linear``).
    Initialisation as PyTorch: Glorot-uniform in-projection, zero biases, ``out_proj.weight``
    ``U(-1/sqrt(E), 1/sqrt(E))``.

    ``forward(query, key=None, value=None, attn_mask=None, is_causal=False)`` returns
    ``(output, weights)``: the output ``(batch, target, embed_dim)`` and the attention weights
    averaged over heads ``(batch, target, source)`` (PyTorch's default). ``attn_mask`` is a boolean
    array ``(target, source)`` (or ``(batch, target, source)``) where True means "may not attend";
    ``is_causal`` masks every source position after the target's. A row with nothing to attend
    to is an error.
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, rng=None, dtype=None):
        if int(embed_dim) < 1 or int(num_heads) < 1 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                             f"num_heads ({num_heads})")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        E = self.embed_dim
        rng = as_rng(rng)
        a = np.sqrt(6.0 / (E + 3 * E))  # Glorot on PyTorch's (3E, E) in_proj_weight
        self.in_proj_weight = Tensor(rng.uniform(-a, a, (E, 3 * E)), requires_grad=True, dtype=dtype)
        self.in_proj_bias = Tensor(np.zeros(3 * E), requires_grad=True, dtype=dtype) if bias else None
        self.out_proj = Linear(E, E, bias=bias, init="xavier", rng=rng, dtype=dtype)
        k = 1.0 / np.sqrt(E)
        self.out_proj.weight.data[...] = rng.uniform(-k, k, (E, E))

    def _project(self, x, part):
        E = self.embed_dim
        y = x @ self.in_proj_weight[:, part * E:(part + 1) * E]
        if self.in_proj_bias is not None:
            y = y + self.in_proj_bias[part * E:(part + 1) * E]
        B, T, _ = x.shape
        return y.reshape(B, T, self.num_heads, E // self.num_heads).transpose(0, 2, 1, 3)  # (B, h, T, d)

    def forward(self, query, key=None, value=None, attn_mask=None, is_causal: bool = False):
        q_in = _as_tensor(query)
        k_in = q_in if key is None else _as_tensor(key)
        v_in = k_in if value is None else _as_tensor(value)
        E = self.embed_dim
        for name, t in (("query", q_in), ("key", k_in), ("value", v_in)):
            if t.ndim != 3 or t.shape[2] != E:
                raise ValueError(f"MultiheadAttention: {name} must have shape (batch, length, {E}), got {t.shape}")
        if k_in.shape != v_in.shape or k_in.shape[0] != q_in.shape[0]:
            raise ValueError(f"MultiheadAttention: key {k_in.shape} and value {v_in.shape} must match, "
                             f"and share the batch of query {q_in.shape}")
        B, T, S = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        q, k, v = self._project(q_in, 0), self._project(k_in, 1), self._project(v_in, 2)
        scores = (q @ k.swapaxes(-1, -2)) * (1.0 / np.sqrt(E // self.num_heads))   # (B, h, T, S)
        mask = self._mask(attn_mask, is_causal, B, T, S)
        if mask is not None:
            scores = scores + np.where(mask, -np.inf, 0.0)[:, None]
        weights = scores.softmax(axis=-1)
        out = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, E)
        return self.out_proj(out), weights.mean(axis=1)

    @staticmethod
    def _mask(attn_mask, is_causal, B, T, S):
        mask = None
        if attn_mask is not None:
            m = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
            if m.dtype != bool:
                raise TypeError(f"MultiheadAttention: attn_mask must be boolean (True = masked), got {m.dtype}")
            try:
                mask = np.broadcast_to(m, (B, T, S))
            except ValueError:
                raise ValueError(f"MultiheadAttention: attn_mask of shape {m.shape} does not fit "
                                 f"(target, source) = ({T}, {S})") from None
        if is_causal:
            causal = np.broadcast_to(np.triu(np.ones((T, S), dtype=bool), k=1), (B, T, S))
            mask = causal if mask is None else (mask | causal)
        if mask is not None and mask.all(axis=-1).any():
            raise ValueError("MultiheadAttention: a query position has every key masked (nothing to attend to)")
        return mask

    def extra_repr(self):
        return f"{self.embed_dim}, num_heads={self.num_heads}"
