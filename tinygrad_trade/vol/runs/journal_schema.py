"""The journal's schema, its versions and the migrations between them (the store is :mod:`.journal`).

Why apart: the tables a journal holds and how an older file is brought forward change on their own schedule,
and every step must stay exactly as it was released (old journals are migrated by it).

* ``SCHEMA_VERSION`` is the version this package writes; ``PRAGMA user_version`` and the ``journal_meta`` row
  ``schema_version`` hold a file's version, ``PRAGMA application_id`` marks the file as a journal.
* Version 1 (frozen in ``_SCHEMA_V1``): ``journal_meta`` and ``predictions``. Version 2 (``_v1_to_v2``): the
  ``model_version`` column (models updated day by day) and the ``events`` table.
* ``MIGRATIONS[v]`` takes a journal from version ``v`` to ``v + 1`` inside the caller's write transaction, so a
  migration is all or nothing. A new journal is created at version 1 and migrated: every journal takes one path.
"""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd

from ... import __version__

__all__ = ["JournalError", "JournalLocked", "FORMAT", "SCHEMA_VERSION", "APPLICATION_ID", "MIGRATIONS"]

FORMAT = "tinygrad-trade-journal"
SCHEMA_VERSION = 2
APPLICATION_ID = 0x74677472            # "tgtr": marks the SQLite file as a journal


class JournalError(ValueError):
    """The journal cannot be used as asked (one-line message naming the file and what to do)."""


class JournalLocked(JournalError):
    """Another process held the journal's write lock beyond the timeout."""


def _date_text(value, what: str) -> str:
    try:
        return str(np.datetime64(pd.Timestamp(value).date(), "D"))
    except (TypeError, ValueError) as exc:
        raise JournalError(f"journal: {what} {value!r} is not a date ({exc})") from None


_SCHEMA_V1 = """
CREATE TABLE journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE predictions (
    asset TEXT NOT NULL, model TEXT NOT NULL, horizon INTEGER NOT NULL, made_on TEXT NOT NULL,
    first_date TEXT, last_date TEXT, variance REAL NOT NULL, vol_annual REAL, position REAL,
    var_5 REAL, es_5 REAL, var_1 REAL, es_1 REAL, fitted_through TEXT, refit INTEGER, risk_method TEXT,
    params_hash TEXT, package_version TEXT NOT NULL, run_time TEXT NOT NULL,
    PRIMARY KEY (asset, model, horizon, made_on)
);
"""


def _create_v1(conn: sqlite3.Connection) -> None:
    """Version 1 of the schema, frozen: new journals start here and migrate (and tests build old journals)."""
    for statement in _SCHEMA_V1.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.executemany("INSERT INTO journal_meta (key, value) VALUES (?, ?)",
                     [("format", FORMAT), ("schema_version", "1"), ("created_by", __version__)])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: which version of an updated model made each prediction, and the events of a night."""
    conn.execute("ALTER TABLE predictions ADD COLUMN model_version TEXT")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_time TEXT NOT NULL, "
                 "kind TEXT NOT NULL, asset TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '', "
                 "message TEXT NOT NULL, data TEXT, UNIQUE (kind, asset, date, message))")


# MIGRATIONS[v] takes a journal from version v to v + 1 (inside the caller's transaction)
MIGRATIONS: dict = {1: _v1_to_v2}


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection, path: str, run_time: str, note: bool = True) -> list:
    """Bring the journal up to :data:`SCHEMA_VERSION` (caller holds the write transaction); the steps taken."""
    version = _schema_version(conn)
    steps = []
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise JournalError(f"{path}: journal schema version {version} has no migration to {version + 1}")
        step(conn)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("UPDATE journal_meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        steps.append(version)
    if steps and note and version >= 2:
        _insert_event(conn, run_time, "migration",
                      f"journal schema migrated to version {version} by tinygrad-trade {__version__}")
    return steps


def _insert_event(conn, run_time, kind, message, asset=None, date=None, data=None) -> bool:
    cur = conn.execute("INSERT OR IGNORE INTO events (run_time, kind, asset, date, message, data) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (run_time, str(kind), asset or "", _date_text(date, "event date") if date else "",
                        str(message), None if data is None else json.dumps(data, sort_keys=True)))
    return cur.rowcount == 1


def _check_meta(path: str, meta: dict, version: int) -> None:
    if meta.get("format") != FORMAT or str(version) != meta.get("schema_version"):
        raise JournalError(f"{path}: not a tinygrad-trade journal (its format record is missing or inconsistent); "
                           "name a new file for the journal")
    if version > SCHEMA_VERSION:
        raise JournalError(f"{path}: journal schema version {version} is newer than this tinygrad-trade "
                           f"({__version__}) reads (version {SCHEMA_VERSION}); upgrade tinygrad-trade")
