"""Volatility forecasting models, by name.

``get_model(name, **opts)`` builds a :class:`~tinygrad_trade.vol.base.Forecaster` from the
registry ``MODELS`` (a plain dict: name -> factory called with the options). To add a model,
add one entry (or call :func:`register_model`)::

    MODELS["mlp"] = lambda **opts: MLPForecaster(**opts)

Classical models: ``"ewma"`` (RiskMetrics, lambda 0.94), ``"garch"`` (GARCH(1,1), constant
mean), ``"gjr"`` (GJR-GARCH(1,1,1)), ``"har"`` (HAR-PK: HAR on Parkinson variance) and
``"har_r2"`` (HAR on squared returns). Neural models (:mod:`.neural`): ``"mlp"`` and ``"gru"``.
``"pooled"`` (:mod:`.pooled`): log-linear QLIKE model on scale-free inputs, fitted on many assets at once;
``"pooled_mlp"`` and ``"pooled_gru"`` (:mod:`.pooled_nets`): nets on the same inputs, trained across assets.

The GARCH family (``"garch"``, ``"gjr"``, ``"egarch"``: EGARCH(1,1,1)) takes an error law: ``dist="normal"``
(default), ``"t"``, ``"skewt"`` or ``"ged"`` (``get_model("gjr", dist="skewt")``), also by name: ``"gjr_skewt"``,
``"garch_t"``, ``"egarch_ged"`` ... A named variant does not converge-fail a walk-forward: a refit that does not
converge keeps the previous parameters with a warning (``on_failure="keep"``). Any other model given ``dist=``
is a one-line ``ValueError``.
"""
from __future__ import annotations

from .ewma import EWMA, ewma_variance
from .distributions import DISTRIBUTIONS
from .garch import GARCH, GarchResult, fit_garch
from .har import HAR, fit_har, har_design
from .neural import GRUForecaster, MLPForecaster
from .pooled import PooledForecaster
from .pooled_nets import PooledGRU, PooledMLP

__all__ = ["MODELS", "GARCH_FAMILY", "DISTS", "takes_dist", "get_model", "register_model", "available_models",
           "EWMA", "ewma_variance", "GARCH", "GarchResult", "fit_garch", "HAR", "fit_har", "har_design",
           "MLPForecaster", "GRUForecaster", "PooledForecaster", "PooledMLP", "PooledGRU"]


def _with(cls, **fixed):
    def factory(**opts):
        return cls(**{**fixed, **opts})
    return factory


GARCH_FAMILY = ("garch", "gjr", "egarch")
DISTS = tuple(DISTRIBUTIONS)            # normal, t, skewt, ged

MODELS = {
    "ewma": _with(EWMA),
    "garch": _with(GARCH, vol="garch"),
    "gjr": _with(GARCH, vol="gjr"),
    "egarch": _with(GARCH, vol="egarch"),
    "har": _with(HAR, proxy="parkinson"),
    "har_r2": _with(HAR, proxy="r2"),
    "mlp": _with(MLPForecaster),
    "gru": _with(GRUForecaster),
    "pooled": _with(PooledForecaster),
    "pooled_mlp": _with(PooledMLP),     # the nets trained across the universe (vol/models/pooled_nets.py)
    "pooled_gru": _with(PooledGRU),
}


for _vol in GARCH_FAMILY:
    for _dist in DISTS[1:]:
        MODELS[f"{_vol}_{_dist}"] = _with(GARCH, vol=_vol, dist=_dist, on_failure="keep")


def takes_dist(name: str) -> bool:
    """Whether the model ``name`` takes an error law (``dist=``): the GARCH family without a named law."""
    return name in GARCH_FAMILY


def register_model(name: str, factory) -> None:
    """Add (or replace) a model: ``factory(**opts)`` must return a Forecaster."""
    MODELS[name] = factory


def available_models() -> list[str]:
    return list(MODELS)


def get_model(name: str, **opts):
    """A new Forecaster for ``name`` built with ``opts``; ValueError for an unknown name."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
    if "dist" in opts and not takes_dist(name):
        raise ValueError(f"model {name!r} cannot take an error law (dist={opts['dist']!r}); "
                         f"only {', '.join(GARCH_FAMILY)} can")
    return factory(**opts)
