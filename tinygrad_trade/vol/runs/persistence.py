"""Saved models: ``tinygrad-trade predict --save DIR`` and ``--load DIR``.

A model folder holds, for every asset and model, one ``.npz`` per distinct fit (numeric arrays only,
read back with ``allow_pickle=False``: :meth:`Forecaster.get_state <tinygrad_trade.vol.base.Forecaster.get_state>`),
one ``data__ASSET.npz`` per asset with a 64-bit hash of every row of the data used (pandas'
``hash_pandas_object`` of the dates and prices: ``row_hash``), the price columns themselves (``prices``,
one column per name of ``price_columns``) and a hash of the other columns (``row_hash_rest``: the volume),
and ``manifest.json``::

    {"format": "tinygrad-trade-models", "format_version": 1, "package_version": "0.1.0",
     "assets": {ASSET: {"data_file", "price_columns", "first_date", "last_date", "rows", "rows_sha256", "file"}},
     "models": [{"asset", "model", "options", "horizon_free", "fits": {"1": FILE, ...},
                 "meta": {"1": {...}}, "fitted_through", "version"}],
     "files": {FILE: sha256 of its bytes}}

``version`` counts the parameter changes of a model: 1 for a first fit, one more at every refit or update
(``predict --load --update``); ``fitted_through`` is the last date of the last full fit, from which the
refit rule counts new days (so a chain of nights, each loading yesterday's folder, still refits every
``refit_every`` days). Folders written before ``prices``/``version`` existed load as before (version 1);
their history must then repeat exactly.

**A vendor's rescaling.** Yahoo-style Adj Close is rewritten backwards at every dividend and split: every row
before the ex-date multiplied by one factor (and the loader puts Open, High, Low and Close on the Adj Close
scale, so all price columns move together). :meth:`SavedFolder.check_data` accepts a history that differs from
the saved one only so: every price column equal to ``factor * saved`` on the same leading stretch of rows
(within ``RESCALE_RTOL``, the vendor's rounding) and unchanged after it, the dates and volumes unchanged,
``factor > 0``. It returns a :class:`Rescale` (one line: the factor and the last rescaled date) that
``predict`` reports and ``predict --journal`` records (``Journal.record_rescale``). Any other change is refused.

``predict --save`` writes the folder through :mod:`tinygrad_trade.vol.outdir` (staged beside it and
moved into place at the end, so a failed run leaves the old folder whole; a folder holding files the
tool did not write is refused without ``--force``). Loading checks everything before anything is used or
written: the manifest (format and version, known model names), every file's SHA-256 (a truncated or
edited file is refused), that no array is an object array, and that the new data file repeats the
saved rows up to the saved last date, exactly or but for a vendor's rescaling (else the first differing date
is named). Every problem
is one ``ValueError`` line naming the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile

import numpy as np
import pandas as pd
from dataclasses import dataclass
from typing import Optional

from ... import __version__
from ..models.base import StateError
from ..models.registry import available_models, get_model
from ..models.runtime import one_blas_thread

__all__ = ["FittedModel", "Rescale", "find_rescale", "price_columns", "RESCALE_RTOL", "FORMAT", "FORMAT_VERSION", "MANIFEST", "row_hashes", "save_models", "open_folder", "SavedFolder"]

@dataclass
class FittedModel:
    """One fitted model of one asset: ``fits[h]`` the model for horizon ``h`` (``fits[1]`` always)."""

    asset: str
    name: str
    options: dict
    fits: dict                           # horizon -> Forecaster
    fitted_through: str                  # last date of the data of the latest fit
    refit: bool = True                   # fitted in this run (False: a loaded fit, filtered forward)
    version: Optional[int] = None        # parameter version: 1 for a first fit, +1 at every refit or update
                                         # (None: a fit of this run that was never saved)
    updated: bool = False                # updated in this run from the new days (predict --update)


FORMAT = "tinygrad-trade-models"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


PRICE_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume")
RESCALE_RTOL = 1e-6     # a rescaled row: |new - factor * old| <= RESCALE_RTOL * |new| (the vendor's rounding)


PRICES = ("open", "high", "low", "close", "adj_close")    # the columns a vendor's adjustment rescales


def row_hashes(df: pd.DataFrame, without=()) -> np.ndarray:
    """One uint64 per row of a price frame: a hash of its date and every price column (but those ``without``)."""
    cols = [c for c in PRICE_COLUMNS if c in df and c not in without]
    return pd.util.hash_pandas_object(df[cols], index=True).to_numpy(dtype=np.uint64)


def price_columns(df: pd.DataFrame) -> list:
    """The frame's price columns (the loader puts Open, High, Low and Close on the Adj Close scale, so a
    dividend or split in the vendor's Adj Close rescales all of them by the same factor)."""
    return [c for c in PRICES if c in df]


@dataclass(frozen=True)
class Rescale:
    """The vendor rewrote ``column`` of ``asset`` backwards: every row up to ``through`` multiplied by ``factor``
    (a dividend or split; the returns inside the stretch are unchanged, only the one across the ex-date moves)."""

    asset: str
    columns: tuple
    factor: float
    through: str              # the last rescaled date (the day before the ex-date)
    rows: int                 # rescaled rows

    def line(self) -> str:
        return (f"{self.asset}: the prices ({', '.join(self.columns)}) of the {self.rows} saved row(s) up to "
                f"{self.through} were rescaled by the vendor by factor {self.factor!r} (a dividend or split); "
                f"accepted: the returns inside are unchanged, only the return after {self.through} moves")


def find_rescale(old: np.ndarray, new: np.ndarray, rtol: float = RESCALE_RTOL) -> Optional[tuple]:
    """``(factor, k)`` when ``new`` is ``factor * old`` on its first ``k >= 1`` rows (within ``rtol``) and equal to
    ``old`` after them, with ``factor > 0`` and ``!= 1``; None otherwise (no change, or any other change)."""
    old, new = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    if old.shape != new.shape or old.size == 0 or not (np.isfinite(old).all() and np.isfinite(new).all()):
        return None
    same = new == old
    if same.all() or same[0] or not (old[0] > 0 and new[0] > 0):
        return None
    k = int(np.argmax(same)) if same.any() else old.size       # the first unchanged row
    if not same[k:].all():
        return None                                             # a change after the leading stretch
    factor = float(new[0] / old[0])
    if not np.all(np.abs(new[:k] - factor * old[:k]) <= rtol * np.abs(new[:k])):
        return None
    return factor, k


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _clean_options(options: dict) -> dict:
    return {k: v for k, v in options.items() if k != "progress"}


def save_models(folder, fitted: list, frames: dict, config) -> str:
    """Write every fitted model (list of :class:`FittedModel`) and the data hashes (``frames``: asset ->
    :class:`~tinygrad_trade.vol.data.records.DataFile`) into ``folder``.

    ``predict --save`` passes the staging folder of :func:`tinygrad_trade.vol.outdir.output_dir`, which
    moves the files into place only once all of them are written (and refuses a folder holding other
    files); the manifest is written last.
    """
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    files, assets, models = {}, {}, []
    for asset, data in frames.items():
        df = data.frame
        name = f"data__{_safe(asset)}.npz"
        hashes = row_hashes(df)
        cols = price_columns(df)
        np.savez(os.path.join(folder, name), row_hash=hashes,
                 dates=df.index.values.astype("datetime64[D]").astype(np.int64),
                 prices=df[cols].to_numpy(dtype=float).reshape(len(df), len(cols)),
                 row_hash_rest=row_hashes(df, without=cols))
        files[name] = _sha256(os.path.join(folder, name))
        assets[asset] = {"data_file": str(data.facts.source), "price_columns": cols,
                         "first_date": str(df.index[0].date()),
                         "last_date": str(df.index[-1].date()), "rows": int(len(df)),
                         "rows_sha256": hashlib.sha256(hashes.tobytes()).hexdigest(), "file": name}
    done = {}
    for fm in fitted:
        fits, meta = {}, {}
        pooled = bool(getattr(type(fm.fits[1]), "pooled", False))
        for h, model in sorted(fm.fits.items()):
            if id(model) in done:          # one fit for every horizon (or every asset of a panel)
                fits[str(h)], meta[str(h)] = done[id(model)]
                continue
            arrays, m = model.get_state()
            owner = "panel" if pooled else _safe(fm.asset)
            name = f"{owner}__{_safe(fm.name)}__h{h}.npz"
            np.savez(os.path.join(folder, name), **arrays)
            files[name] = _sha256(os.path.join(folder, name))
            fits[str(h)], meta[str(h)] = name, m
            done[id(model)] = (name, m)
        models.append({"asset": fm.asset, "model": fm.name, "options": _clean_options(fm.options),
                       "horizon_free": bool(getattr(fm.fits[1], "horizon_free", False)), "pooled": pooled,
                       "fits": fits, "meta": meta, "fitted_through": fm.fitted_through,
                       "version": int(fm.version or 1)})
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
                "created_by": "tinygrad-trade predict", "horizons": list(config.horizons),
                "risk_method": config.risk_method, "assets": assets, "models": models, "files": files}
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, allow_nan=False)
        fh.write("\n")
    return folder


# ------------------------------------------------------------------------------------ loading
def _load_npz(path: str) -> dict:
    shown = path
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"{shown}: holds object (pickled) arrays; refused") from None
        raise ValueError(f"{shown}: not a readable .npz file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{shown}: not a readable .npz file (truncated? {exc})") from None


def _need(d, key, kind, where):
    if not isinstance(d, dict) or key not in d or not isinstance(d[key], kind):
        raise ValueError(f"{where}: missing or malformed field {key!r}")
    return d[key]


def open_folder(path) -> "SavedFolder":
    """Read and check a model folder (manifest, checksums, arrays); one-line ValueError naming the file."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ValueError(f"--load {path}: no such folder")
    mpath = os.path.join(path, MANIFEST)
    if not os.path.isfile(mpath):
        raise ValueError(f"{mpath}: missing (not a folder written by predict --save)")
    try:
        with open(mpath, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{mpath}: not valid JSON (truncated or edited? {exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{mpath}: not a tinygrad-trade model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{mpath}: format version {manifest.get('format_version')!r}; this version "
                         f"({__version__}) reads version {FORMAT_VERSION}")
    files = _need(manifest, "files", dict, mpath)
    assets = _need(manifest, "assets", dict, mpath)
    models = _need(manifest, "models", list, mpath)
    known = set(available_models())
    for m in models:
        name = _need(m, "model", str, mpath)
        if name not in known:
            raise ValueError(f"{mpath}: unknown model {name!r} (this version has {', '.join(sorted(known))})")
        for key, kind in (("asset", str), ("options", dict), ("fits", dict), ("meta", dict),
                          ("fitted_through", str), ("horizon_free", bool)):
            _need(m, key, kind, mpath)
        if "1" not in m["fits"]:
            raise ValueError(f"{mpath}: model {name!r} has no one-day fit")
        if m["asset"] not in assets:
            raise ValueError(f"{mpath}: model {name!r} is saved for an asset {m['asset']!r} the manifest does not list")
        for h, f in m["fits"].items():
            if not (str(h).isdigit() and isinstance(f, str) and isinstance(m["meta"].get(h), dict)):
                raise ValueError(f"{mpath}: malformed fit {h!r} of model {name!r}")
    for asset, info in assets.items():
        for key, kind in (("file", str), ("rows", int), ("first_date", str), ("last_date", str)):
            _need(info, key, kind, f"{mpath} (asset {asset!r})")
    arrays = {}
    for name, digest in files.items():
        fpath = os.path.join(path, name)
        if os.path.basename(name) != name or not name.endswith(".npz"):
            raise ValueError(f"{mpath}: bad file name {name!r}")
        if not os.path.isfile(fpath):
            raise ValueError(f"{fpath}: missing")
        if _sha256(fpath) != digest:
            raise ValueError(f"{fpath}: contents differ from the manifest's SHA-256 (truncated or edited)")
        arrays[name] = _load_npz(fpath)
    needed = [a["file"] for a in assets.values() if isinstance(a, dict) and "file" in a]
    needed += [f for m in models for f in m["fits"].values()]
    for f in needed:
        if f not in arrays:
            raise ValueError(f"{mpath}: lists {f!r} without a checksum")
    return SavedFolder(path, manifest, arrays)


class SavedFolder:
    """A checked model folder: restores fits, checks new data against the saved rows."""

    def __init__(self, path: str, manifest: dict, arrays: dict):
        self.path, self.manifest, self.arrays = path, manifest, arrays
        self.models = manifest["models"]

    def _where(self) -> str:
        return os.path.join(self.path, MANIFEST)

    def check_request(self, models, horizons) -> tuple:
        """The models to use (default: all in the folder); every one must be saved with every horizon."""
        saved = list(dict.fromkeys(m["model"] for m in self.models))
        if models is None:
            models = tuple(saved)
        missing = [m for m in models if m not in saved]
        if missing:
            raise ValueError(f"--load {self.path}: model {missing[0]!r} is not in the folder "
                             f"(it holds {', '.join(saved)})")
        for m in self.models:
            if m["model"] in models and not m["horizon_free"]:
                lack = [h for h in horizons if str(h) not in m["fits"]]
                if lack:
                    have = ", ".join(sorted(m["fits"], key=int))
                    raise ValueError(f"--load {self.path}: {m['model']} of {m['asset']} was saved for horizon(s) "
                                     f"{have}, not {lack[0]}")
        return tuple(models)

    def check_data(self, assets: list) -> list:
        """Each asset must be in the folder and its file must repeat the saved rows up to the saved last date,
        or differ from them only by a vendor's backward rescaling of the price column (one positive factor on a
        leading stretch of rows, every other column unchanged). Returns the :class:`Rescale` s found."""
        saved = self.manifest["assets"]
        found = []
        for name, data in assets:
            df = data.frame
            if name not in saved:
                raise ValueError(f"--load {self.path}: asset {name!r} is not in the folder "
                                 f"(it holds {', '.join(saved)})")
            info = saved[name]
            src = data.facts.source or name
            arr = self.arrays[info["file"]]
            old_hash, old_dates = arr.get("row_hash"), arr.get("dates")
            if old_hash is None or old_dates is None or old_hash.shape != old_dates.shape:
                raise ValueError(f"{os.path.join(self.path, info['file'])}: no row hashes")
            n = old_hash.size
            dates = df.index.values.astype("datetime64[D]").astype(np.int64)
            if dates.size < n or dates[-1] < old_dates[-1]:
                raise ValueError(f"{src} ends on {df.index[-1].date()}, before the saved last date "
                                 f"{info['last_date']} of {self.path}")
            new_hash = row_hashes(df)
            bad_date = dates[:n] != old_dates
            diff = np.flatnonzero(bad_date | (new_hash[:n] != old_hash))
            if not diff.size:
                continue
            rescale = None if bad_date.any() else self._rescale(name, df, arr, info, n)
            if rescale is None:
                i = int(diff[0])
                day = np.datetime64(int(old_dates[i]), "D")
                why = ""
                if arr.get("prices") is None:
                    why = (" (the folder was saved without its prices, by an older version, so a vendor's "
                           "rescaling cannot be told from an edit)")
                raise ValueError(f"{src}: the row of {day} differs from the data the saved models were fitted on "
                                 f"(history was rewritten, not by one factor on the rows before a date){why}; "
                                 f"fit again without --load")
            found.append(rescale)
        return found

    @staticmethod
    def _rescale(name: str, df: pd.DataFrame, arr: dict, info: dict, n: int):
        """The :class:`Rescale` that explains every difference of the first ``n`` rows, or None: every price
        column rescaled by the same factor on the same leading rows, every other column unchanged."""
        prices, rest, cols = arr.get("prices"), arr.get("row_hash_rest"), info.get("price_columns")
        if prices is None or rest is None or not isinstance(cols, list) or cols != price_columns(df) \
                or prices.shape != (n, len(cols)) or rest.shape != (n,) or not cols:
            return None
        if not np.array_equal(row_hashes(df, without=cols)[:n], rest):
            return None                              # the volume (or the dates) changed too
        new = df[cols].to_numpy(dtype=float)[:n]
        found = [find_rescale(prices[:, j], new[:, j]) for j in range(len(cols))]
        if any(f is None for f in found) or len({k for _, k in found}) != 1:
            return None
        factor, k = found[cols.index("adj_close") if "adj_close" in cols else cols.index("close")]
        if any(abs(f - factor) > RESCALE_RTOL * factor for f, _ in found):
            return None
        return Rescale(name, tuple(cols), factor, str(df.index[k - 1].date()), k)

    def _restore_fits(self, entry: dict, spec, options: dict, horizons) -> dict:
        """``{h: model}`` restored from the entry's files (one model per distinct file)."""
        fits, built = {}, {}
        for h in sorted(set(horizons) | {1}):
            key = str(h) if str(h) in entry["fits"] else "1"
            fname = entry["fits"][key]
            if fname not in built:
                try:
                    model = get_model(spec.name, **options)
                    model.set_state(self.arrays[fname], entry["meta"][key])
                except (StateError, TypeError, KeyError, ValueError) as exc:
                    raise ValueError(f"{os.path.join(self.path, fname)}: {exc}") from None
                built[fname] = model
            fits[h] = built[fname]
        return fits

    @staticmethod
    def _new_days(ds, entry: dict) -> int:
        """Days of ``ds`` after the entry's last fit (``fitted_through``): the refit rule counts from the fit, so a
        chain of nights that load yesterday's folder and save tonight's still refits every ``refit_every`` days."""
        through = np.datetime64(entry["fitted_through"], "D")
        return int(np.count_nonzero(np.asarray(ds.dates, dtype="datetime64[D]") > through))

    def restore_panel(self, assets: list, spec, dsets: dict, config):
        """``([FittedModel], note)`` for a pooled model: one saved fit per horizon shared by the assets; refitted
        on every asset together after ``refit_every`` new days, else updated from the new days with ``update``
        (Newton steps from the saved coefficients), else the new days are filtered through."""
        entries = [m for m in self.models if m["model"] == spec.name and m["asset"] in assets]
        have = {m["asset"] for m in entries}
        missing = [a for a in assets if a not in have]
        if missing:
            raise ValueError(f"--load {self.path}: no saved {spec.name} for asset {missing[0]!r}")
        entry = entries[0]
        options = dict(entry["options"])
        fits = self._restore_fits(entry, spec, options, config.horizons)
        by_asset = {m["asset"]: m for m in entries}
        new = {a: self._new_days(dsets[a][1], by_asset[a]) for a in assets}
        most = max(new.values())
        refit = most >= config.refit_every
        update = bool(getattr(config, "update", False)) and not refit and most > 0 and hasattr(fits[1], "update_panel")
        done = set()
        with one_blas_thread():
            for h, model in fits.items():
                if id(model) in done:
                    continue
                done.add(id(model))
                if refit:
                    model.fit_panel([(a, dsets[a][h], len(dsets[a][h]), 0) for a in assets])
                elif update:
                    model.update_panel([(a, dsets[a][h], len(dsets[a][h])) for a in assets])
        version = int(entry.get("version", 1)) + (1 if refit or update else 0)
        fms = []
        for a in assets:
            e = by_asset[a]
            through = str(dsets[a][1].dates[-1]) if refit else e["fitted_through"]
            fms.append(FittedModel(a, spec.name, options, fits, through, refit=refit, version=version,
                                   updated=update))
        what = ("refitted on every asset together (warm start)" if refit
                else f"updated by Newton steps from the saved coefficients on the longer window (version {version})"
                if update else "saved parameters, new days filtered through (no refit)")
        note = (f"{spec.name} (pooled, {len(assets)} asset(s)): up to {most} new day(s) since the saved fit "
                f"{'>=' if refit else '<'} refit every {config.refit_every}: {what}")
        return fms, note

    def restore(self, asset: str, spec, dsets: dict, config):
        """``(FittedModel, note)``: the saved fits of ``spec.name`` for ``asset``: refitted after ``refit_every``
        new days, else updated from the new days with ``update`` (engine-trained models: optimizer steps from
        the saved state), else filtered forward."""
        entry = next((m for m in self.models if m["asset"] == asset and m["model"] == spec.name), None)
        if entry is None:
            raise ValueError(f"--load {self.path}: no saved {spec.name} for asset {asset!r}")
        n = len(dsets[1])
        new_days = self._new_days(dsets[1], entry)
        refit = new_days >= config.refit_every
        options = dict(entry["options"])
        if config.quiet and spec.name in ("mlp", "gru"):
            options["progress"] = False
        fits = self._restore_fits(entry, spec, options, config.horizons)
        update = bool(getattr(config, "update", False)) and not refit and new_days > 0 \
            and hasattr(fits[1], "update") and not getattr(type(fits[1]), "pooled", False)
        with one_blas_thread():
            for h, model in fits.items():
                if h == 1 or fits[h] is not fits[1]:
                    if refit:
                        model.fit(dsets[h], n)
                    elif update:
                        model.update(dsets[h], n)
        version = int(entry.get("version", 1)) + (1 if refit or update else 0)
        through = str(dsets[1].dates[-1]) if refit else entry["fitted_through"]
        fm = FittedModel(asset, spec.name, options, fits, through, refit=refit, version=version, updated=update)
        if refit:
            note = (f"{spec.name} ({asset}): {new_days} new day(s) since the saved fit >= refit every "
                    f"{config.refit_every}: refitted on all data (warm start from the saved state)")
        elif update:
            note = (f"{spec.name} ({asset}): {new_days} new day(s) since the saved fit < refit every "
                    f"{config.refit_every}: updated from the new days' errors by the saved optimizer (version "
                    f"{version})")
        else:
            note = (f"{spec.name} ({asset}): {new_days} new day(s) since the saved fit < refit every "
                    f"{config.refit_every}: saved parameters, new days filtered through (no refit)")
        return fm, note
