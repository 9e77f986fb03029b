"""Saving and restoring a fitted neural forecaster (MLP or GRU) as plain arrays.

The state of :class:`~tinygrad_trade.vol.models.neural.MLPForecaster` /
:class:`~tinygrad_trade.vol.models.neural.GRUForecaster` is its ensemble weights (``p.<name>``, in the
training dtype), each optimizer's Adam moments (``opt<i>.<j>.exp_avg`` / ``exp_avg_sq``, steps in the
meta), the input scalers (``scaler.mean`` / ``scaler.scale``; the GRU's ``day_scaler.*``), the HAR-PK
coefficients of the skip path (``har_coef``) and the log-scale shift (``shift``). Restored, the net
predicts bit for bit as before and a later ``fit`` continues (warm start) exactly where it left off.
"""
from __future__ import annotations

import numpy as np

from .base import StateError, state_array
from ..features.proxies import StandardScaler

__all__ = ["get_state", "set_state"]


def _scaler_arrays(prefix: str, sc: StandardScaler) -> dict:
    return {f"{prefix}.mean": np.asarray(sc.mean_, dtype=float).copy(),
            f"{prefix}.scale": np.asarray(sc.scale_, dtype=float).copy()}


def _scaler(arrays: dict, prefix: str, who: str) -> StandardScaler:
    sc = StandardScaler()
    sc.mean_ = state_array(arrays, f"{prefix}.mean", None, who).astype(float)
    sc.scale_ = state_array(arrays, f"{prefix}.scale", sc.mean_.shape, who).astype(float)
    return sc


def get_state(model) -> tuple[dict, dict]:
    if model.params is None:
        raise RuntimeError(f"{model.name}.get_state: call fit first")
    arrays, steps = {}, []
    names = [n for n, _ in model.params.named_parameters()]
    for n, p in model.params.named_parameters():
        arrays[f"p.{n}"] = p.data.copy()
    for i, opt in enumerate(model.optimizers):
        steps.append([int(st.get("step", 0)) for st in opt.state])
        for j, st in enumerate(opt.state):
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    arrays[f"opt{i}.{j}.{key}"] = np.asarray(st[key]).copy()
    arrays.update(_scaler_arrays("scaler", model.scaler_))
    if getattr(model, "day_scaler_", None) is not None:
        arrays.update(_scaler_arrays("day_scaler", model.day_scaler_))
    arrays["har_coef"] = np.asarray(model.har_coef_, dtype=float).copy()
    arrays["shift"] = np.asarray(model.shift_, dtype=float).copy()
    meta = {"params": names, "opt_steps": steps, "n_fits": int(model.n_fits)}
    return arrays, meta


def set_state(model, arrays: dict, meta: dict):
    who = model.name
    names = meta.get("params")
    if not isinstance(names, list) or not names:
        raise StateError(f"{who}: the saved state lists no parameters")
    params = {n: state_array(arrays, f"p.{n}", None, who) for n in names}
    K = model.members
    bad = [n for n, a in params.items() if a.ndim < 1 or a.shape[0] != K]
    if bad:
        raise StateError(f"{who}: saved parameter {bad[0]!r} is not for {K} ensemble members")
    model._set_params({n: a.astype(model.dtype, copy=False) for n, a in params.items()})
    got = [n for n, _ in model.params.named_parameters()]
    if got != names:
        raise StateError(f"{who}: saved parameters {names} do not match the model's {got}")
    steps = meta.get("opt_steps", [])
    if len(steps) != len(model.optimizers):
        raise StateError(f"{who}: saved state has {len(steps)} optimizer(s), the model has {len(model.optimizers)}")
    for i, (opt, st_i) in enumerate(zip(model.optimizers, steps)):
        if len(st_i) != len(opt.params):
            raise StateError(f"{who}: optimizer {i} saved for {len(st_i)} parameters, has {len(opt.params)}")
        for j, (p, t) in enumerate(zip(opt.params, st_i)):
            st = {}
            if int(t) > 0:
                st["step"] = int(t)
                for key in ("exp_avg", "exp_avg_sq"):
                    st[key] = state_array(arrays, f"opt{i}.{j}.{key}", p.data.shape, who).astype(p.data.dtype)
            opt.state[j] = st
    model.scaler_ = _scaler(arrays, "scaler", who)
    if hasattr(model, "day_scaler_"):
        model.day_scaler_ = _scaler(arrays, "day_scaler", who)
    model.har_coef_ = state_array(arrays, "har_coef", None, who).astype(float)
    model.shift_ = state_array(arrays, "shift", (K,), who).astype(float)
    model.n_fits = int(meta.get("n_fits", 1))
    return model
