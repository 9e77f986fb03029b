"""The job behind ``tinygrad-trade journal``: open a journal, score it on price files, print, export, report.

    from tinygrad_trade.vol.jobs.journal import JournalConfig, run_journal
    run = run_journal(JournalConfig(db="desk.journal", csv=("spx.csv",), walkforward=("report/metrics.json",)))
    print(run.text)        # flags first, then the live record (run.json with json=True)

Why a separate job: the command line only parses flags; everything it does is here, callable from Python and
tested without a subprocess. Prices are read as ``predict`` reads them (:func:`tinygrad_trade.vol.assets.load_universe`:
one asset per file, named after the file, or a long file with an asset column; none: the embedded S&P 500), so
the asset names match the journal's. Bad input is one ``ValueError`` line, checked before anything is written:
a journal path that is not a journal or does not exist, an ``--export`` file that exists, a ``--since`` that is
not a date, a ``--walkforward`` file that is not a metrics.json or names another asset's data, and a journal none
of whose predictions the price files cover (nothing can be scored; predictions still pending are fine).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Optional

import pandas as pd

from ..data import loading as vdata
from ..data.assets import asset_name, load_universe
from ..evaluation.journal_scoring import JournalScore, score
from ..report.journal import format_text, write_journal_files
from ..runs.journal import Journal
from .outdir import output_dir

__all__ = ["JournalConfig", "JournalRun", "run_journal", "load_walkforward"]


@dataclass
class JournalConfig:
    """Every option of ``tinygrad-trade journal`` (the CLI flags have the same names)."""

    db: str                              # --db: the journal file (must exist)
    csv: tuple = ()                      # --csv: price files; none: the embedded S&P 500
    json: bool = False                   # --json: the result as JSON (run.json)
    export: Optional[str] = None         # --export: every stored prediction as CSV (a new file)
    since: Optional[str] = None          # --since: predictions made on or after this date
    walkforward: tuple = ()              # --walkforward: metrics.json files of `forecast` (one per asset)
    report: Optional[str] = None         # --report: folder for journal.md / journal.html
    timeout: float = 30.0                # --timeout: seconds to wait for a locked journal
    force: bool = False                  # --force: write --report into a folder holding other files


@dataclass
class JournalRun:
    result: JournalScore
    text: str                            # the plain-text table (flags first)
    json: Optional[dict]                 # result.to_json() with json=True
    paths: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _prices(csv: tuple) -> dict:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if csv:
            return load_universe(list(csv))
        return {asset_name(vdata.SP500_FILE): vdata.load_sp500()}


def write_journal_report(res: JournalScore, out, events=None, force: bool = False, option: str = "--report") -> dict:
    """Write the journal report (``journal.md``, its plots, ``journal.html``) into the folder ``out`` through
    :func:`~tinygrad_trade.vol.jobs.outdir.output_dir` (staged, locked, never replacing files the tool did not
    write unless ``force``); the paths as they are once written."""
    with output_dir(out, force=force, option=option) as od:
        written = write_journal_files(res, od.dir, events=events)
        return {k: ([od.final(x) for x in v] if isinstance(v, list) else od.final(v)) for k, v in written.items()}


def load_walkforward(paths, assets) -> dict:
    """``{asset: metrics}`` from metrics.json files of ``forecast``: each belongs to the asset its data file
    names (``config.data.file``); one file and one asset go together whatever the file name."""
    assets = list(assets)
    out = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                metrics = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--walkforward: cannot read {path} ({getattr(exc, 'strerror', None) or exc})") \
                from None
        if not isinstance(metrics, dict) or not isinstance(metrics.get("models"), dict):
            raise ValueError(f"--walkforward: {path} is not a metrics.json of `forecast` (no \"models\")")
        data_file = ((metrics.get("config") or {}).get("data") or {}).get("file")
        name = asset_name(data_file) if isinstance(data_file, str) and data_file else None
        if name not in assets:
            if len(paths) == 1 and len(assets) == 1:
                name = assets[0]
            else:
                raise ValueError(f"--walkforward: {path} is the walk-forward of {data_file!r}, not of one of the "
                                 f"journal's assets ({', '.join(assets) or 'none'})")
        out[name] = metrics
    return out


def run_journal(config: JournalConfig) -> JournalRun:
    """Score the journal ``config.db`` (see the module docstring); writes only ``export`` and ``report``."""
    if config.since is not None:
        try:
            pd.Timestamp(config.since)
        except (TypeError, ValueError):
            raise ValueError(f"--since: {config.since!r} is not a date (use YYYY-MM-DD)") from None
    if config.export is not None and os.path.exists(config.export):
        raise ValueError(f"--export: {config.export} exists; name a new file (the journal never overwrites one)")
    prices = _prices(tuple(config.csv))
    notes = []
    with Journal.open(config.db, timeout=config.timeout, create=False) as j:
        rows = j.predictions(since=config.since)
        wf = load_walkforward(config.walkforward, sorted(rows["asset"].unique())) if config.walkforward else None
        result = score(rows, prices, since=config.since, walkforward=wf)
        if len(rows) and result.scored.empty and "pending" not in result.unscored:
            raise ValueError(f"{config.db}: none of its {len(rows)} prediction(s) is covered by the price data "
                             f"({', '.join(f'{v} {k}' for k, v in result.unscored.items())}); give each asset's "
                             "price file with --csv")
        events = j.events()
        paths = {}
        if config.export is not None:
            paths["export"] = j.export(config.export)
        if config.report is not None:
            written = write_journal_report(result, config.report, events=events, force=config.force)
            paths.update({"report": written["md"], "report_html": written["html"]})
    if not len(rows):
        notes.append(f"{config.db}: no predictions" + (f" made on or after {config.since}" if config.since else ""))
    notes += result.notes
    return JournalRun(result=result, text=format_text(result), json=result.to_json() if config.json else None,
                      paths=paths, notes=notes)
