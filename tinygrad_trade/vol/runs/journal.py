"""The forecast journal: every prediction a desk acted on, kept in an SQLite file, scored once the days are known.

    from tinygrad_trade.vol.runs.journal import Journal, journal_rows
    with Journal.open("desk.journal", timeout=30) as j:
        added = j.append(journal_rows(results))          # results: vol.jobs.predict.PredictResult
        added.new, added.existing                        # rows written, rows a rerun already had
        j.record_event("rescale", "adj close of SPX rescaled by 0.98 before 2024-03-15", asset="SPX")
        j.export("all-predictions.csv")                  # refuses an existing file

Why a database: ``predict`` forgets what it said yesterday; the journal remembers it, so
:mod:`~tinygrad_trade.vol.journal_scoring` can score the live track record (not a backtest) and flag drift.

The store (stdlib ``sqlite3``, WAL mode, one file the user names):

* ``predictions``: one row per ``(asset, model, horizon, made_on)`` (the primary key), ``made_on`` being the
  last date of the data the prediction was made from (predictions.csv's ``as_of``), with every column of
  predictions.csv, the model's parameters hash (SHA-256 of its saved state), the package version, the model
  version (for models updated in place) and the run time (UTC). A rerun of the same night inserts nothing
  (``INSERT OR IGNORE``) and says how many rows were already there, and how many of those differ from what is
  stored (the first stored row is kept: the journal records what was said first).
* ``events``: notes of a night ("adj close rescaled by factor f before date"), unique on their text, so a
  rerun records nothing twice.
* ``journal_meta``: format name, schema version, the package version that created it; the same version in
  ``PRAGMA user_version`` and the file marked by ``PRAGMA application_id``.

Writes run in ``BEGIN IMMEDIATE`` transactions under SQLite's busy timeout and are retried until ``timeout``
seconds have passed; two processes writing at once both land, one after the other. Every refusal is a
:class:`JournalError` (a ``ValueError``: the CLI prints one line, exit status 2): a path that is not a journal
(a text file, another SQLite database), a journal from a newer version, a lock held beyond the timeout
(:class:`JournalLocked`). Nothing is written by a refused call; a row is never dropped silently.

Schema versions migrate forward on open, in one transaction each (``MIGRATIONS`` of :mod:`.journal_schema`):
version 1 held the predictions alone; version 2 added ``model_version`` (models updated day by day, issue 25)
and ``events``. A new journal is created at version 1 and migrated: the path every journal takes.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional

import numpy as np
import pandas as pd

from ... import __version__
from .journal_schema import (APPLICATION_ID, FORMAT, MIGRATIONS, SCHEMA_VERSION, JournalError, JournalLocked,
                             _check_meta, _create_v1, _date_text, _insert_event, _migrate, _schema_version)

__all__ = ["Journal", "JournalError", "JournalLocked", "AppendResult", "SCHEMA_VERSION", "FORMAT",
           "PREDICTION_COLUMNS", "JOURNAL_COLUMNS", "KEY", "MIGRATIONS", "journal_rows", "params_hash"]

SQLITE_HEADER = b"SQLite format 3\x00"
# predictions.csv's columns (vol.predict.COLUMNS; a test keeps them equal), "as_of" being the key's made_on
PREDICTION_COLUMNS = ["asset", "model", "horizon", "first_date", "last_date", "variance", "vol_annual", "position",
                      "var_5", "es_5", "var_1", "es_1", "as_of", "fitted_through", "refit", "risk_method"]
JOURNAL_COLUMNS = ["params_hash", "package_version", "model_version", "run_time"]
KEY = ("asset", "model", "horizon", "made_on")
_FLOATS = ("variance", "vol_annual", "position", "var_5", "es_5", "var_1", "es_1")
_DB_COLUMNS = ["asset", "model", "horizon", "made_on", "first_date", "last_date", "variance", "vol_annual",
               "position", "var_5", "es_5", "var_1", "es_1", "fitted_through", "refit", "risk_method",
               "params_hash", "package_version", "model_version", "run_time"]


@dataclass
class AppendResult:
    """What :meth:`Journal.append` did: ``new`` rows written, ``existing`` rows already there (kept as
    stored), ``differing`` the keys among those whose stored figures differ from the offered ones."""

    new: int
    existing: int
    differing: list = field(default_factory=list)

    def summary(self) -> str:
        text = f"journal: {self.new} new prediction(s), {self.existing} already there"
        if self.differing:
            text += f" ({len(self.differing)} of them differ from the stored figures, which are kept)"
        return text


# ------------------------------------------------------------------------------------ values
def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _float(value):
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def _text(value) -> Optional[str]:
    """``str(value)``; None for None and NaN (a missing cell of a DataFrame)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def params_hash(model) -> Optional[str]:
    """SHA-256 of a fitted model's saved state (``get_state()``: arrays and meta), or None when it has none."""
    try:
        arrays, meta = model.get_state()
    except NotImplementedError:
        return None
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[key]))
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()


def journal_rows(results, model_versions: Optional[dict] = None) -> list:
    """The journal rows of a ``predict`` run (:class:`~tinygrad_trade.vol.jobs.predict.PredictResult`): its table's
    rows plus each horizon's parameters hash and, from ``model_versions[(asset, model)]`` (or the fitted model's
    ``version`` attribute), the model version."""
    fitted = {(fm.asset, fm.name): fm for fm in results.fitted}
    hashes: dict = {}
    rows = []
    for row in results.table.to_dict(orient="records"):
        fm = fitted.get((row["asset"], row["model"]))
        h = int(row["horizon"])
        out = dict(row)
        if fm is not None and h in fm.fits:
            model = fm.fits[h]
            if id(model) not in hashes:
                hashes[id(model)] = params_hash(model)
            out["params_hash"] = hashes[id(model)]
        version = (model_versions or {}).get((row["asset"], row["model"]), getattr(fm, "version", None))
        out["model_version"] = None if version is None else str(version)
        rows.append(out)
    return rows


def _normalise(row: dict, run_time: str, where: str) -> tuple:
    """One offered row as the tuple of ``_DB_COLUMNS`` (checked: one-line JournalError)."""
    try:
        return _normalise_row(dict(row), run_time, where)
    except JournalError:
        raise
    except (TypeError, ValueError) as exc:
        raise JournalError(f"journal: {where} has a value that is not a number ({exc})") from None


def _normalise_row(row: dict, run_time: str, where: str) -> tuple:
    if "made_on" not in row and "as_of" in row:
        row["made_on"] = row["as_of"]
    missing = [c for c in ("asset", "model", "horizon", "made_on", "variance") if row.get(c) is None]
    if missing:
        raise JournalError(f"journal: {where} has no {missing[0]!r} (a row of predictions.csv has every column)")
    horizon = row["horizon"]
    if isinstance(horizon, (bool, np.bool_)) or not float(horizon).is_integer() or int(horizon) < 1:
        raise JournalError(f"journal: {where} has horizon {horizon!r}; a horizon is a positive integer")
    variance = _float(row["variance"])
    if variance is None or not math.isfinite(variance) or variance <= 0:
        raise JournalError(f"journal: {where} has variance {row['variance']!r}; a forecast is a positive number")
    values = {"asset": str(row["asset"]), "model": str(row["model"]), "horizon": int(horizon),
              "made_on": _date_text(row["made_on"], f"{where}: made_on"), "variance": variance,
              "package_version": _text(row.get("package_version")) or __version__,
              "run_time": _text(row.get("run_time")) or run_time}
    for c in _FLOATS[1:]:
        values[c] = _float(row.get(c))
    for c in ("first_date", "last_date", "fitted_through"):
        values[c] = None if _text(row.get(c)) is None else _date_text(row[c], f"{where}: {c}")
    for c in ("risk_method", "params_hash", "model_version"):
        values[c] = _text(row.get(c))
    refit = row.get("refit")
    if isinstance(refit, str):
        refit = refit.strip().lower() in ("true", "1", "yes")
    values["refit"] = None if refit is None or (isinstance(refit, float) and math.isnan(refit)) else int(bool(refit))
    return tuple(values[c] for c in _DB_COLUMNS)


_COMPARED = [c for c in _DB_COLUMNS if c not in ("package_version", "run_time", "params_hash", "model_version")]


def _same(stored: tuple, offered: tuple) -> bool:
    for c in _COMPARED:
        a, b = stored[_DB_COLUMNS.index(c)], offered[_DB_COLUMNS.index(c)]
        if a != b and not (a is None and b is None):
            return False
    return True


# ------------------------------------------------------------------------------------ the journal
class Journal:
    """An open journal (use :meth:`open`; a context manager that closes the connection)."""

    def __init__(self, path: str, conn: sqlite3.Connection, timeout: float, migrated: list):
        self.path = path
        self._conn = conn
        self.timeout = float(timeout)
        self.migrated = migrated            # schema versions reached by migrations at open (usually [])

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, path, timeout: float = 30.0, create: bool = True, run_time: Optional[str] = None) -> "Journal":
        """Open the journal at ``path`` (created when missing and ``create``), migrating an older schema.

        Refuses (one-line :class:`JournalError`) a folder, a file that is not SQLite, an SQLite database with
        other tables, a journal of a newer schema, or a missing file with ``create=False``; a lock beyond
        ``timeout`` seconds is :class:`JournalLocked`.
        """
        path = os.fspath(path)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise JournalError(f"journal: the timeout must be a number of seconds >= 0, got {timeout!r}")
        _sniff(path, create)
        try:
            conn = sqlite3.connect(path, timeout=float(timeout), isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"{path}: cannot open the journal ({exc})") from None
        journal = cls(path, conn, timeout, [])
        try:
            if journal._check_foreign():      # new, or an older schema: set up under the write lock
                journal.migrated = journal._transaction(lambda c: journal._setup(c, run_time or _now()))
            if journal._retry(lambda: conn.execute("PRAGMA journal_mode").fetchone()[0]) != "wal":
                journal._retry(lambda: _set_wal(conn))
        except BaseException:
            conn.close()
            raise
        return journal

    def _check_foreign(self) -> bool:
        """Refuse, without writing anything, an SQLite database that is not a journal; True when the journal
        needs writing before use (new, or an older schema version)."""
        try:
            tables = self._retry(lambda: [r[0] for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")])
            app = self._retry(lambda: self._conn.execute("PRAGMA application_id").fetchone()[0])
            version = self._retry(lambda: _schema_version(self._conn))
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: not a journal (not a readable SQLite database: {exc})") from None
        if tables and (app != APPLICATION_ID or "journal_meta" not in tables):
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise JournalError(f"{self.path}: an SQLite database with other tables ({shown}), not a tinygrad-trade "
                               "journal; name a new file for the journal")
        if tables:
            meta = dict(self._retry(lambda: self._conn.execute("SELECT key, value FROM journal_meta").fetchall()))
            _check_meta(self.path, meta, version)
        return not tables or version != SCHEMA_VERSION

    def _setup(self, conn: sqlite3.Connection, run_time: str) -> list:
        """Inside the write transaction: create a new journal, or check and migrate an existing one."""
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if not tables:
            _create_v1(conn)
            _migrate(conn, self.path, run_time, note=False)
            return []
        version = _schema_version(conn)
        _check_meta(self.path, dict(conn.execute("SELECT key, value FROM journal_meta").fetchall()), version)
        return _migrate(conn, self.path, run_time)

    # ---------------------------------------------------------------- locking
    def _retry(self, fn: Callable):
        """``fn()``, retried while the database is locked, until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + self.timeout
        wait = 0.01
        while True:
            remaining = deadline - time.monotonic()
            self._conn.execute(f"PRAGMA busy_timeout = {max(int(remaining * 1000), 0)}")
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc):
                    raise JournalError(f"{self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise JournalLocked(f"{self.path}: the journal stayed locked by another process for more than "
                                        f"{self.timeout:g} s; nothing was written (try again, or raise the "
                                        "journal timeout)") from None
                time.sleep(min(wait, max(deadline - time.monotonic(), 0.0)))
                wait = min(wait * 2, 0.5)

    def _transaction(self, fn: Callable):
        """``fn(conn)`` in one ``BEGIN IMMEDIATE`` transaction (the write lock from the start), retried when locked."""
        def attempt():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return out
        return self._retry(attempt)

    # ---------------------------------------------------------------- writing
    def append(self, rows, run_time: Optional[str] = None) -> AppendResult:
        """Insert predictions (a DataFrame of predictions.csv's columns, or dicts; ``as_of`` or ``made_on``).

        All rows are checked first, then written in one transaction: a key already stored is left as it is
        (counted in ``existing``; ``differing`` lists those whose figures differ). ``run_time`` (UTC, ISO)
        defaults to now; a row's own ``run_time``/``package_version`` win.
        """
        records = rows.to_dict(orient="records") if isinstance(rows, pd.DataFrame) else list(rows)
        run_time = run_time or _now()
        values = [_normalise(r, run_time, f"row {i + 1}") for i, r in enumerate(records)]
        placeholders = ", ".join("?" * len(_DB_COLUMNS))
        sql = f"INSERT OR IGNORE INTO predictions ({', '.join(_DB_COLUMNS)}) VALUES ({placeholders})"
        get = f"SELECT {', '.join(_DB_COLUMNS)} FROM predictions WHERE asset = ? AND model = ? AND horizon = ? " \
              "AND made_on = ?"

        def write(conn):
            new, existing, differing = 0, 0, []
            for v in values:
                if conn.execute(sql, v).rowcount == 1:
                    new += 1
                    continue
                existing += 1
                if not _same(conn.execute(get, v[:4]).fetchone(), v):
                    differing.append(v[:4])
            return AppendResult(new, existing, differing)
        return self._transaction(write)

    def record_event(self, kind: str, message: str, asset: Optional[str] = None, date=None,
                     data: Optional[dict] = None, run_time: Optional[str] = None) -> bool:
        """Record a note of the night (True when new; the same kind, asset, date and message is kept once)."""
        return self._transaction(lambda c: _insert_event(c, run_time or _now(), kind, message, asset, date, data))

    def record_rescale(self, asset: str, factor: float, through, run_time: Optional[str] = None) -> bool:
        """Record that the vendor rescaled ``asset``'s Adj Close on every row up to ``through`` by ``factor``
        (a dividend or split rewrites the past): kind ``"rescale"``, data ``{"factor", "through"}``."""
        factor = float(factor)
        if not (math.isfinite(factor) and factor > 0):
            raise JournalError(f"journal: a rescaling factor is a positive number, got {factor!r}")
        day = _date_text(through, "rescale date")
        return self.record_event("rescale", f"adj close of {asset} rescaled by factor {factor!r} on every row up to "
                                 f"{day}", asset=asset, date=day, data={"factor": factor, "through": day},
                                 run_time=run_time)

    # ---------------------------------------------------------------- reading
    def predictions(self, since=None, assets: Optional[Iterable] = None) -> pd.DataFrame:
        """Every stored prediction (``made_on >= since`` when given), sorted by asset, model, horizon, made_on."""
        sql = f"SELECT {', '.join(_DB_COLUMNS)} FROM predictions"
        args: list = []
        if since is not None:
            sql += " WHERE made_on >= ?"
            args.append(_date_text(since, "--since"))
        sql += " ORDER BY asset, model, horizon, made_on"
        rows = self._retry(lambda: self._conn.execute(sql, args).fetchall())
        df = pd.DataFrame(rows, columns=_DB_COLUMNS)
        if assets is not None:
            df = df[df["asset"].isin(list(assets))].reset_index(drop=True)
        for c in _FLOATS:
            df[c] = df[c].astype(float)
        df["horizon"] = df["horizon"].astype(int)
        df["refit"] = df["refit"].map(lambda v: None if v is None else bool(v)).astype(object)
        return df

    def events(self) -> pd.DataFrame:
        """The recorded events, oldest first (columns run_time, kind, asset, date, message, data)."""
        rows = self._retry(lambda: self._conn.execute(
            "SELECT run_time, kind, asset, date, message, data FROM events ORDER BY id").fetchall())
        return pd.DataFrame(rows, columns=["run_time", "kind", "asset", "date", "message", "data"])

    def count(self) -> int:
        return int(self._retry(lambda: self._conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]))

    def export(self, path) -> str:
        """Write every stored prediction as CSV: predictions.csv's columns (``as_of`` = made_on) then
        params_hash, package_version, model_version, run_time. Refuses a file that exists (never overwrites)."""
        path = os.fspath(path)
        df = self.predictions()
        df["as_of"] = df["made_on"]
        out = df[PREDICTION_COLUMNS + JOURNAL_COLUMNS]
        try:
            with open(path, "x", encoding="utf-8", newline="") as fh:   # "x": fails if the file exists
                out.to_csv(fh, index=False)                             # shortest round-trip floats: exact
        except FileExistsError:
            raise JournalError(f"--export: {path} exists; name a new file (the journal never overwrites one)") \
                from None
        except OSError as exc:
            raise JournalError(f"--export: cannot write {path} ({exc.strerror or exc})") from None
        return path

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return _schema_version(self._conn)


def _set_wal(conn: sqlite3.Connection) -> None:
    """WAL mode (persistent in the file); SQLite answers with the old mode when another connection holds it."""
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise sqlite3.OperationalError("database is locked (switching to WAL mode)")


def _sniff(path: str, create: bool) -> None:
    """Refuse, before SQLite sees it, a path that cannot be a journal (one line each)."""
    if os.path.isdir(path):
        raise JournalError(f"{path}: is a folder; name a file for the journal")
    if not os.path.exists(path):
        if not create:
            raise JournalError(f"{path}: no such journal (check --db)")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise JournalError(f"{path}: folder {parent} does not exist; create it or name another journal file")
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal ({exc.strerror or exc})") from None
    if head and head != SQLITE_HEADER:
        raise JournalError(f"{path}: not a journal (not an SQLite database); name a new file or an existing journal")
