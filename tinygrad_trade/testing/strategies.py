"""Hypothesis strategies for gradient tests: the ones the project's own tests use.

    from hypothesis import given
    from tinygrad_trade.testing import check_gradients
    from tinygrad_trade.testing.strategies import expressions, programs, tensors, values

    @given(x=values(domain="log"))            # a Value inside log's domain
    def test_log(x):
        check_gradients(lambda v: v.log(), x)

    @given(p=programs())                      # a random Tensor program
    def test_programs(p):
        check_gradients(p, *p.tensors())

- :func:`values`, :func:`tensors`: leaf Values and Tensors with elements from a domain;
- :func:`broadcastable_shapes`: ``n`` shapes that broadcast together;
- :func:`expressions`: random Value DAGs over every Value op, with shared sub-expressions;
- :func:`programs`: random Tensor programs with broadcasting, reductions, matmul, indexing;
- :func:`op_domain`: each op's valid inputs, from the :data:`DOMAINS` table
  (:func:`register_domain` adds an op).

The lower-level pieces (``floats``, ``grid``, ``arrays``, ``indices``, ``matmul_shapes``, the
``UNARY``/``BINARY`` op tables, ...) are re-exported from :mod:`.elements` and :mod:`.programs`.
Needs hypothesis (``pip install 'tinygrad_trade[testing]'``).
"""
from __future__ import annotations

import numpy as np

from ..engine import Value
from ..graph import no_grad
from ..tensor import Tensor
from .elements import (ALIASES, BINARY, BROADCAST_CASES, DISTINCT, DOMAINS, UNARY, arrays, as_elements, axes_for,  # noqa: F401
                       broadcast_pairs, budget, exponents, floats, grid, hnp, indices, matmul_shapes, nonzero,
                       op_domain, permutations_with_negatives, positives, pow_const_cases, reals, register_domain,
                       reshape_targets, shapes, st, unit_open)
from .programs import DAG_OPS, TensorProgram, ValueDag, tensor_programs, value_dags  # noqa: F401

__all__ = ["values", "tensors", "broadcastable_shapes", "expressions", "programs", "op_domain",
           "register_domain", "DOMAINS", "DISTINCT", "floats", "reals", "positives", "nonzero", "grid", "budget"]


def values(domain="reals", label: str = "") -> st.SearchStrategy[Value]:
    """Leaf Values whose data comes from ``domain``: a name (``"reals"`` [-3, 3], ``"positives"``
    [0.1, 4], ``"nonzero"``, ``"grid"`` (off kinks), ``"unit"`` (-0.95, 0.95)), an op (``"log"``:
    its first operand's domain), a ``(lo, hi)`` pair or a strategy of floats."""
    return as_elements(domain).map(lambda x: Value(x, label=label))


def tensors(shape=None, elements="reals", requires_grad: bool = True, dtype=np.float64,
            unique: bool = False) -> st.SearchStrategy[Tensor]:
    """Leaf Tensors of ``shape`` (a tuple, or a strategy of shapes; default 0-3 dims of 1-4) with
    elements from ``elements`` (anything :func:`values` takes as a domain); ``unique`` makes the
    elements distinct (for ops in :data:`DISTINCT`, whose gradient jumps at ties)."""
    if shape is None:
        shape_st = shapes
    elif isinstance(shape, st.SearchStrategy):
        shape_st = shape
    else:
        shape_st = st.just(tuple(shape))
    el = as_elements(elements)
    return shape_st.flatmap(lambda s: hnp.arrays(np.float64, s, elements=el, unique=unique)).map(
        lambda a: Tensor(a.astype(dtype), requires_grad=requires_grad))


def broadcastable_shapes(n: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                         max_side: int = 3) -> st.SearchStrategy[tuple]:
    """Tuples of ``n`` shapes that broadcast together: scalars, missing leading dims and size-1
    dims on any side (``min_side=0`` adds empty arrays)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                             max_side=max_side).map(lambda b: b.input_shapes)


def expressions(ops=DAG_OPS, max_nodes: int = 8, max_inputs: int = 3) -> st.SearchStrategy[ValueDag]:
    """Random Value DAGs: up to ``max_nodes`` operations drawn from ``ops`` (default: every Value
    op) over 1 to ``max_inputs`` inputs, reusing earlier nodes (shared sub-expressions). Every node
    stays finite and inside its op's domain. Call ``dag(*dag.values())`` for the output."""
    unknown = set(ops) - set(DAG_OPS)
    if unknown:
        raise ValueError(f"expressions: unknown ops {sorted(unknown)}; known: {', '.join(DAG_OPS)}")
    return value_dags(max_inputs=max_inputs, max_ops=max_nodes, ops=tuple(ops)).filter(_off_kinks)


def _off_kinks(dag) -> bool:
    """No relu/abs input within 1e-3 of its kink (finite differences would straddle it)."""
    with no_grad():
        return all(abs(k) > 1e-3 for k in dag.kink_inputs(*dag.values()))


def programs(max_ops: int = 6, kinds=None) -> st.SearchStrategy[TensorProgram]:
    """Random Tensor programs of 1 to ``max_ops`` ops from 1-2 inputs: broadcasting binary ops,
    unary ops, reductions, matmul, reshapes/transposes, indexing, cat/stack and where (``kinds``
    restricts them). ``program(*program.tensors())`` is a scalar: a weighted sum of every result
    no later step uses."""
    kinds = TensorProgram.KINDS if kinds is None else tuple(kinds)
    unknown = set(kinds) - set(TensorProgram.KINDS)
    if unknown:
        raise ValueError(f"programs: unknown kinds {sorted(unknown)}; known: {', '.join(TensorProgram.KINDS)}")
    return tensor_programs(max_ops=max_ops, kinds=kinds)
