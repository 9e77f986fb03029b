"""Models for the cluster tests: a user's own module, found on Dask workers by import path
(``"cluster_models:Noisy"``), since the workers have this folder on their path."""
import os
import time

import numpy as np

from tinygrad_trade.vol.base import Forecaster
from tinygrad_trade.vol.models import HAR


class Noisy(Forecaster):
    """Draws from the global numpy RNG (seeded by the walk-forward per block): results follow the seed."""

    def __init__(self, pause=0.0):
        self.pause, self.level = float(pause), None

    def fit(self, ds, end, begin=0):
        if self.pause:
            time.sleep(self.pause)   # room to kill a worker mid-run; never changes a result
        y = ds.target[begin:ds.last_known(end)]
        self.level = float(np.nanmean(y) * (1 + 0.1 * self.rng.standard_normal()))
        return self

    def predict(self, ds, start, stop):
        return np.full(stop - start, self.level)


class Boom(HAR):
    """HAR that raises in the fit of block ``at`` (counted from the fit date, so the same wherever it runs)."""

    def __init__(self, at_day=0):
        super().__init__(proxy="parkinson")
        self.at_day = int(at_day)

    def fit(self, ds, end, begin=0):
        if end >= self.at_day:
            raise ValueError(f"no convergence at day {end}")
        return super().fit(ds, end, begin)


def har_factory(**opts):
    """A module-level factory: pickles by reference, so register_model() of it reaches the workers."""
    return HAR(proxy="parkinson", **opts)


def worker_pid():
    return os.getpid()
