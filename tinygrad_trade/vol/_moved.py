"""The import paths of round 2, kept working: each old module name is an alias of its new home in the layers.

``tinygrad_trade.vol.walkforward`` is ``tinygrad_trade.vol.runs.walkforward`` (the same module object, so
``monkeypatch`` and ``isinstance`` behave), and so on for every file that moved (docs/api.md lists them). An old
module whose names now live in two places (``vol.api``, ``vol.base``, ``vol.pipeline``, ``vol.predict``) is a
small read-only module that looks each name up in its new homes, in order. Nothing in the package imports these
old paths; they are for users' code, notebooks and docs of earlier rounds.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

PACKAGE = "tinygrad_trade.vol"
MOVED = {
    "api": ("models.results", "features.dataset"),
    "base": ("models.base", "features.dataset"),
    "dataset": ("features.dataset",),
    "checks": ("data.checks",),
    "assets": ("data.assets",),
    "html_tables": ("models.html_tables",),
    "comparison": ("evaluation.comparison",),
    "risk": ("evaluation.risk",),
    "backtest": ("evaluation.backtest",),
    "walkforward": ("runs.walkforward",),
    "universe": ("runs.universe",),
    "sweep": ("runs.sweep",),
    "cluster": ("runs.cluster",),
    "persistence": ("runs.persistence",),
    "report_universe": ("report.universe",),
    "risk_report": ("report.risk",),
    "report_html": ("report.html",),
    "pipeline": ("jobs.forecast", "jobs.config", "jobs.demo"),
    "universe_run": ("jobs.forecast",),
    "predict": ("jobs.predict", "features.calendar"),
    "demo": ("jobs.demo",),
    "outdir": ("jobs.outdir",),
}


class _Merged(types.ModuleType):
    """An old module whose names moved to several new ones: each attribute is looked up in ``_homes``."""

    def __getattr__(self, name):
        for home in self.__dict__["_homes"]:
            module = importlib.import_module(f"{PACKAGE}.{home}")
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self):
        names = set()
        for home in self.__dict__["_homes"]:
            names.update(dir(importlib.import_module(f"{PACKAGE}.{home}")))
        return sorted(names)


class _Loader(importlib.abc.Loader):
    def __init__(self, homes):
        self.homes = homes

    def create_module(self, spec):
        if len(self.homes) == 1:
            return importlib.import_module(f"{PACKAGE}.{self.homes[0]}")
        module = _Merged(spec.name, f"old path of {', '.join(self.homes)}")
        module._homes = self.homes
        return module

    def exec_module(self, module):
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.rpartition(".")
        if package != PACKAGE or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Loader(MOVED[old]))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (after the normal finders: real modules win)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
