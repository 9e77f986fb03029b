"""The op families of `Tensor`, one module each, every op's forward beside its derivative rule.

- ``elementwise``: trigonometric/hyperbolic, log1p/expm1/log2/log10, erf/erfc, normal cdf and
  log-pdf, flat ops (sign, floor, ...), logaddexp/hypot/arctan2/mod, comparisons;
- ``activations``: leaky_relu, elu, selu, silu, gelu, mish, softsign, logsigmoid, hardtanh, ...;
- ``losses``: logsumexp, softmax, log_softmax and the classification/regression losses;
- ``statistics``: std, prod, norm, argmax/argmin, sort/argsort/topk, median/quantile;
- ``cumulative``: cumsum/cumprod/cummax/cummin/logcumsumexp, diff, roll, flip, pad, unfold;
- ``shapes``: expand, tile/repeat, split/chunk, stacking, gathers/scatters, constructors;
- ``linalg``: solve, inv, det, slogdet, cholesky, einsum and their compositions (kron, cross, diag, ...);
- ``spectral``: eigh/eigvalsh, eig/eigvals (real eigenvalues), svd (full or thin), pinv;
- ``special``: i0/i1, bessel_j0/bessel_j1, gammainc (scipy.special's);
- ``layers``: conv_transpose1d, scaled_dot_product_attention, normalize (torch.nn.functional's);
- ``interop``: numpy ufuncs and functions on Tensors.

Each family is a mixin class of `Tensor` (in ``tensor.py``, which keeps the core: construction,
arithmetic, exp/log/tanh/..., sum/mean/var/max/min, reshape/transpose/getitem/cat/stack/where
and the backward). Rules are written with :data:`~._base.F` so they also work under
``create_graph=True``.
"""
from .activations import Activations
from .cumulative import Cumulative
from .elementwise import Elementwise
from .interop import NumpyInterop
from .linalg import Linalg
from .losses import Losses
from .shapes import Shapes
from .spectral import Spectral
from .special import Special
from .layers import Layers
from .statistics import Statistics

FAMILIES = (Elementwise, Activations, Losses, Statistics, Cumulative, Shapes, Linalg, Spectral, Layers, Special,
            NumpyInterop)

__all__ = ["FAMILIES"]
