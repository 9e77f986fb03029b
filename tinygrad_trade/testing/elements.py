"""Building blocks of the test strategies: each op's valid inputs, scalars, shapes, indices.

Domains are kept safe by construction, never by hoping: smooth ops get plain floats inside their
domain (``reals``, ``positives``, ...); ops with a kink (relu, abs, maximum/minimum, clip, max/min
reductions) get values on ``grid``, a lattice 0.01 apart that never comes closer than 0.003 to a
multiple of 0.01, so central differences (eps = 1e-6) never straddle a kink or a near-tie.

:data:`DOMAINS` is the table of each op's valid inputs (one element strategy per operand);
:func:`register_domain` adds a row. Use them through :mod:`tinygrad_trade.testing.strategies`.
"""
from __future__ import annotations

import operator

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError("the strategies in tinygrad_trade.testing need hypothesis: "
                      "pip install 'tinygrad_trade[testing]'") from e


# --------------------------------------------------------------------------------------------
# scalars
# --------------------------------------------------------------------------------------------
def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi] (no NaN, infinity or subnormals)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


reals = floats(-3.0, 3.0)
positives = floats(0.1, 4.0)
nonzero = floats(0.05, 3.0) | floats(-3.0, -0.05)
exponents = floats(-2.5, 2.5)
# a lattice 0.01 apart, at least 0.003 from every multiple of 0.01 (so from 0 and from the
# clip bounds used in the tests): kinks and ties are either exact or far from eps
grid = st.integers(-300, 300).map(lambda k: k / 100 + 0.003)
unit_open = floats(-0.95, 0.95)  # inside (-1, 1), away from the ends


# --------------------------------------------------------------------------------------------
# each op's valid inputs: one element strategy per operand
# --------------------------------------------------------------------------------------------
divisors = st.sampled_from([0.7, 1.3, 2.9, -1.7])  # with grid dividends, x / d is never near an integer

DOMAINS: dict[str, tuple] = {
    # -- core unary (Value and Tensor) -----------------------------------------------------------
    "neg": (reals,), "exp": (floats(-5.0, 5.0),), "log": (positives,), "tanh": (reals,),
    "sigmoid": (floats(-8.0, 8.0),), "softplus": (floats(-8.0, 8.0),), "sqrt": (positives,),
    "relu": (grid,), "abs": (grid,), "clip": (grid,),       # kinks at 0 (and the clip bounds)
    # -- core binary -----------------------------------------------------------------------------
    "+": (reals, reals), "-": (reals, reals), "*": (reals, reals), "/": (reals, nonzero),
    "**": (positives, exponents), "maximum": (grid, grid), "minimum": (grid, grid), "@": (reals, reals),
    # -- core reductions -------------------------------------------------------------------------
    "sum": (reals,), "mean": (reals,), "var": (reals,), "max": (grid,), "min": (grid,),
    # -- elementwise: trigonometric, hyperbolic, logs, special functions --------------------------
    "sin": (reals,), "cos": (reals,), "tan": (floats(-1.2, 1.2),), "arctan": (reals,),
    "arcsin": (unit_open,), "arccos": (unit_open,), "sinh": (reals,), "cosh": (reals,),
    "arcsinh": (reals,), "arccosh": (floats(1.1, 4.0),), "arctanh": (unit_open,),
    "log1p": (floats(-0.9, 4.0),), "expm1": (floats(-5.0, 5.0),), "log2": (positives,), "log10": (positives,),
    "erf": (reals,), "erfc": (reals,), "normal_cdf": (floats(-6.0, 6.0),), "normal_logpdf": (reals,),
    "exp2": (reals,), "rsqrt": (positives,), "deg2rad": (reals,), "rad2deg": (reals,),
    "logit": (floats(0.05, 0.95),), "normal_ppf": (floats(0.02, 0.98),), "erfinv": (unit_open,),
    "gammaln": (positives,), "lgamma": (positives,), "digamma": (positives,), "polygamma": (positives,),
    "nan_to_num": (reals,), "student_t_logpdf": (reals, floats(1.0, 30.0)),
    # flat ops: derivative 0 away from their jumps (at integers, half-integers for round)
    "sign": (grid,), "floor": (grid,), "ceil": (grid,), "round": (grid,), "trunc": (grid,),
    # -- elementwise binary ------------------------------------------------------------------------
    "logaddexp": (reals, reals), "hypot": (nonzero, nonzero), "arctan2": (nonzero, reals),  # y != 0: off the branch cut
    "mod": (grid, divisors), "fmod": (grid, divisors), "floordiv": (grid, divisors),
    "logaddexp2": (reals, reals), "copysign": (grid, nonzero), "lerp": (reals, reals, floats(0.0, 1.0)),
    # -- activations (kinked ones on the grid; their kinks sit at 0, ±1, ±3, 6) -------------------
    "leaky_relu": (grid,), "elu": (grid,), "selu": (grid,), "celu": (grid,), "hardtanh": (grid,),
    "relu6": (grid,), "hardsigmoid": (grid,), "hardswish": (grid,), "softsign": (grid,),
    "silu": (floats(-5.0, 5.0),), "gelu": (floats(-4.0, 4.0),), "mish": (floats(-5.0, 5.0),),
    "logsigmoid": (floats(-30.0, 30.0),), "tanhshrink": (reals,), "quick_gelu": (floats(-5.0, 5.0),),
    # -- reductions, softmax, statistics -----------------------------------------------------------
    "logsumexp": (reals,), "softmax": (reals,), "log_softmax": (reals,), "std": (grid,),
    "prod": (nonzero,), "norm": (nonzero,), "median": (grid,), "quantile": (grid,),
    "sort": (grid,), "topk": (grid,), "std_mean": (grid,),
    # -- losses (prediction, target; kinked ones need the two apart) -------------------------------
    "mse_loss": (reals, reals), "l1_loss": (grid, grid), "huber_loss": (grid, grid),
    "smooth_l1_loss": (grid, grid), "binary_cross_entropy": (floats(0.05, 0.95), floats(0.0, 1.0)),
    "binary_cross_entropy_with_logits": (reals, floats(0.0, 1.0)),
    # -- cumulative --------------------------------------------------------------------------------
    "cumsum": (reals,), "cumprod": (nonzero,), "logcumsumexp": (reals,), "cummax": (grid,),
    "cummin": (grid,), "diff": (reals,),
}
# ops whose gradient jumps (or blows up) where inputs tie: draw their elements unique
# (tensors(unique=True); on the grid, unique elements are at least 0.01 apart), and for two
# operands keep them apart too
DISTINCT = {"max", "min", "maximum", "minimum", "median", "quantile", "sort", "topk", "cummax", "cummin", "std",
            "std_mean", "l1_loss", "huber_loss", "smooth_l1_loss"}
ALIASES = {"add": "+", "sub": "-", "mul": "*", "div": "/", "truediv": "/", "pow": "**", "matmul": "@",
           "asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
           "atanh": "arctanh", "atan2": "arctan2", "remainder": "mod", "swish": "silu"}
# Ops with no row: linear algebra (solve, inv, det, cholesky, eigh, svd, ...: their inputs need
# well-conditioned matrices, not elementwise domains), shape ops (any reals), integer-valued
# ops (argmax, argsort, comparisons) and losses over class labels (cross_entropy, nll_loss).


def register_domain(name: str, *elements) -> None:
    """Add (or replace) the valid inputs of op ``name``: one element strategy per operand."""
    if not elements or not all(isinstance(e, st.SearchStrategy) for e in elements):
        raise TypeError("register_domain: give one hypothesis strategy per operand")
    DOMAINS[name] = tuple(elements)


def _domain_elements(name: str) -> tuple:
    key = ALIASES.get(name, name)
    if key not in DOMAINS:
        raise KeyError(f"no domain for op {name!r}; known: {', '.join(sorted(DOMAINS))} "
                       "(add one with register_domain)")
    return DOMAINS[key]


def op_domain(name: str, arg: int | None = None) -> st.SearchStrategy:
    """Valid inputs of op ``name`` (``"log"``, ``"/"``, ``"maximum"``, ...): floats inside its
    domain and away from its kinks. With ``arg=k``, the strategy for operand k alone; without,
    a tuple with one float per operand (``op_domain("/")`` draws ``(numerator, denominator)``)."""
    elements = _domain_elements(name)
    if arg is not None:
        return elements[arg]
    return st.tuples(*elements)


def as_elements(domain) -> st.SearchStrategy:
    """A strategy from: a strategy, an op name (its first operand's domain), or (lo, hi)."""
    if isinstance(domain, st.SearchStrategy):
        return domain
    if isinstance(domain, str):
        named = {"reals": reals, "positives": positives, "nonzero": nonzero, "grid": grid,
                 "exponents": exponents, "unit": unit_open}
        return named[domain] if domain in named else op_domain(domain, 0)
    if isinstance(domain, tuple) and len(domain) == 2:
        return floats(float(domain[0]), float(domain[1]))
    raise TypeError(f"domain must be a strategy, an op or domain name, or (lo, hi); got {domain!r}")


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


# --------------------------------------------------------------------------------------------
# op tables shared by both engines (same method names on Value and Tensor)
# --------------------------------------------------------------------------------------------
_UNARY_FN = {
    "neg": operator.neg, "exp": lambda x: x.exp(), "log": lambda x: x.log(), "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(), "relu": lambda x: x.relu(), "softplus": lambda x: x.softplus(),
    "sqrt": lambda x: x.sqrt(), "abs": lambda x: x.abs(),
}
UNARY = {name: (fn, DOMAINS[name][0]) for name, fn in _UNARY_FN.items()}  # name: (function, domain)

_BINARY_FN = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
BINARY = {name: (fn,) + DOMAINS[name] for name, fn in _BINARY_FN.items()}  # name: (op, left, right domain)

# (base, constant exponent) pairs where x ** c and its derivative are defined
pow_const_cases = st.one_of(
    st.tuples(positives, exponents),                                    # any real power of x > 0
    st.tuples(nonzero, st.integers(-3, 4).map(float)),                  # integer powers of x != 0
    st.tuples(reals, st.sampled_from([1.0, 2.0, 3.0])),                 # x ** n, n >= 1, any x
)


# --------------------------------------------------------------------------------------------
# tensor shapes and arrays
# --------------------------------------------------------------------------------------------
def arrays(shape, elements=reals, unique=False):
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


# two shapes that broadcast together: every pattern (scalar, missing leading dims, size-1 on
# either side), and with min_side=0 also empty arrays where numpy allows them
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=0, max_side=3)

# the same patterns spelled out, so each is certainly exercised
BROADCAST_CASES = [
    ((), ()), ((), (2, 3)), ((2, 3), ()), ((3,), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)),
    ((1, 3), (2, 1)), ((2, 3), (2, 1)), ((1, 3), (2, 3)), ((4, 1, 3), (2, 1)), ((2, 1, 1), (3, 4)),
    ((1,), (2, 3)), ((0, 3), (3,)), ((0, 3), (1, 3)), ((2, 0), (2, 1)), ((0,), ()),
]


@st.composite
def matmul_shapes(draw):
    """Operand shapes for @: 1-D/1-D, 1-D/2-D, 2-D/1-D, 2-D/2-D and batched with batch broadcasting."""
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched", "batched_v"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "mm":
        return (n, k), (k, m)
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    ba, bb = batch.input_shapes
    if kind == "batched":
        return ba + (n, k), bb + (k, m)
    return draw(st.sampled_from([(ba + (n, k), (k,)), ((k,), bb + (k, m))]))


@st.composite
def axes_for(draw, ndim):
    """A reduction axis: None, an int (possibly negative) or a tuple of distinct axes."""
    choices = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
    return draw(st.one_of(*choices))


@st.composite
def permutations_with_negatives(draw, ndim):
    """A permutation of range(ndim), each axis written as a or a - ndim at random."""
    perm = draw(st.permutations(range(ndim)))
    return tuple(p - ndim if draw(st.booleans()) else p for p in perm)


@st.composite
def reshape_targets(draw, shape):
    """Another shape of the same size: the dims shuffled, some 1s added, maybe one written -1."""
    dims = [d for d in shape if d != 1]
    dims = list(draw(st.permutations(dims)))
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


def _small_nonempty(shape, index):
    out = np.empty(shape)[index]
    return out.size > 0 and out.ndim <= 4 and max(out.shape, default=1) <= 4


@st.composite
def indices(draw, shape, nonempty=False):
    """An index for an array of ``shape``: basic (ints, slices incl. negative steps, None,
    Ellipsis), integer arrays with repeated entries, or a boolean mask. With ``nonempty`` the
    result is not empty and has at most 4 dims of at most 4 (for random programs)."""
    ndim = len(shape)
    kinds = ["basic"] + (["int_array", "int_list", "mask", "row_mask", "mixed"] if ndim else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        ix = hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True)
    elif kind in ("int_array", "int_list"):
        axis = draw(st.integers(0, ndim - 1))
        n = shape[axis]
        arr = st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)
        if kind == "int_array":
            arr = arr.map(np.array)
        ix = arr.map(lambda a, axis=axis: (slice(None),) * axis + (a,))
    elif kind == "mixed":  # integer arrays on two axes at once (broadcast together), if ndim >= 2
        ix = hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2,
                                                                            max_side=3))
    elif kind == "mask":
        ix = hnp.arrays(bool, shape)
    else:  # a mask over the first axis only
        ix = hnp.arrays(bool, shape[:1])
    if nonempty:
        ix = ix.filter(lambda i: _small_nonempty(shape, i))
    return draw(ix)


def budget(n: int) -> int:
    """``max_examples`` for a test that wants ``n`` under the default profile (100 examples),
    scaled with the active profile (so ``HYPOTHESIS_PROFILE=ci`` shrinks every test alike)."""
    from hypothesis import settings
    return max(1, n * settings().max_examples // 100)
