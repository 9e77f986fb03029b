"""Learning from each day: the update of a fitted MLP or GRU forecaster from the new days (``predict --update``).

A refit re-standardises the inputs, refits the HAR path and trains with early stopping on a validation slice;
an update does none of that. It continues the saved optimizers (Adam's moments and step counts, saved with the
weights by :mod:`.neural_state`) for a few full-batch steps on the QLIKE of every complete row up to the new
last known target, the new days included, with the scalers and HAR coefficients of the last fit held, so the
inputs of the old rows do not move and the gradient that moves the weights is the one the new days' errors add.
Nothing is random: the same nights give the same weights, bit for bit.
"""
from __future__ import annotations

import numpy as np

from ...graph import no_grad
from ...optim import NonFiniteError, check_finite
from ...tensor import Tensor
from ..features.dataset import Dataset
from .har import FLOOR
from .runtime import lean_runtime

__all__ = ["UPDATE_EPOCHS", "update"]

UPDATE_EPOCHS = 5      # optimizer steps of one update unless told otherwise


def update(model, ds: Dataset, end: int, begin: int, epochs: int, s_clip: float):
    """``epochs`` optimizer steps of ``model`` (fitted) on the rows ``begin <= t < ds.last_known(end)``; returns
    the model. A step that makes a weight non-finite is undone and the update stops there."""
    if model.params is None:
        raise RuntimeError(f"{model.name}.update: call fit first")
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 0:
        raise ValueError(f"{model.name}.update: epochs must be a non-negative integer, got {epochs!r}")
    with lean_runtime(model.lean):
        prep = model._prepared(ds)
        rows = model._fit_rows(ds, end, begin, prep)
        y_all = np.asarray(ds.target, dtype=float)
        lh = np.log(np.maximum(prep["har"][rows] @ model.har_coef_, FLOOR))
        inp = model._rows_inputs(prep, rows, lh, model.dtype)
        y = Tensor(model._loss_target(y_all[rows]), dtype=model.dtype)
        P = model.params.as_dict()
        losses, stopped = [], "epochs"
        for epoch in range(1, int(epochs) + 1):
            before = {n: P[n].data.copy() for n in P}
            for opt in model.optimizers:
                opt.zero_grad()
            loss = model._loss(model._forward(P, inp), y)
            loss.backward()
            try:
                check_finite(loss, model.params.named_parameters())
            except NonFiniteError:
                stopped = f"non-finite at epoch {epoch}"
                break
            for opt in model.optimizers:
                opt.step()
            if not all(np.isfinite(P[n].data).all() for n in P):
                for n in P:
                    np.copyto(P[n].data, before[n])
                stopped = f"non-finite at epoch {epoch}"
                break
            losses.append(float(loss.item()))
        if model.loss == "mse_log":       # the QLIKE-optimal scale of the log forecasts, as a fit sets it
            with no_grad():
                s = model._forward(model.params.as_dict(np.float64),
                                   model._rows_inputs(prep, rows, lh, np.float64)).data
            model.shift_ = np.log(np.mean(y_all[rows] * np.exp(-np.clip(s, -s_clip, s_clip)), axis=1))
    model.history.append({"update": True, "end": int(end), "begin": int(begin), "rows": int(rows.size),
                          "train": losses, "stopped": stopped})
    return model
