"""The local conventions of a CSV export, found from the cells themselves: decimal commas, day-first dates, missing
values.

Spreadsheets and vendors outside the US write ``1.234,56`` for 1234.56 and ``03.04.2020`` for 3 April; FRED and
others mark a holiday with ``.``. These helpers turn such cells into what the loader parses (``1234.56``,
``2020-04-03``) when the file says so unambiguously, and otherwise stop with one line naming the option that
decides (``--decimal``, ``--dayfirst``, ``--missing``). Kept apart from :mod:`.loading` (which reads and checks)
because they decide a reading, not validate one.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import data_error, show_value

__all__ = ["MISSING_CELLS", "missing_mask", "detect_decimal", "apply_decimal", "detect_dayfirst", "iso_dates"]

# cells that mean "no value": empty, FRED's "." and the usual words (compared lower-cased)
MISSING_CELLS = frozenset({"", ".", "nan", "na", "n/a", "#n/a", "null", "none", "-"})
_COMMA_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)?,\d+")             # 12,5  1.234,56  ,5
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}((,\d{3})+\.\d+|(,\d{3}){2,})")      # 1,234.56, 1,234,567 (US)
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(.*)")  # 03.04.2020, 4/3/20 10:00


def missing_mask(text: pd.Series) -> np.ndarray:
    """True where a cell means "no value" (empty, ``.``, NA, null, ...)."""
    return text.str.lower().isin(MISSING_CELLS).to_numpy()


def detect_decimal(columns: list, sep: str, file: str) -> str:
    """``","`` when the number cells use a decimal comma (only possible when the separator is not a comma), else
    ``"."``. A cell like ``1,234.5`` is a US thousands separator, so the two conventions in one file are an error
    naming ``--decimal``."""
    if sep == ",":
        return "."
    comma = dot = False
    for text in columns:
        cells = text[~missing_mask(text)]
        comma = comma or bool(cells.str.fullmatch(_COMMA_NUMBER).any())
        dot = dot or bool(cells.str.fullmatch(_DOT_THOUSANDS).any())
    if comma and dot:
        raise data_error(file, "numbers are written both as 1,5 (decimal comma) and 1,234.5 (thousands comma); "
                               "add --decimal , or --decimal . to say which")
    return "," if comma else "."


def apply_decimal(text: pd.Series, decimal: str) -> pd.Series:
    """Cells in a decimal-comma convention as the loader parses them: ``1.234,56`` -> ``1234.56``."""
    if decimal != ",":
        return text
    return text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)


def _parts(text: pd.Series):
    return text.str.fullmatch(_NUMERIC_DATE), text.str.extract(_NUMERIC_DATE)


def detect_dayfirst(text: pd.Series, file: str, column: str):
    """For dates like ``03.04.2020`` / ``04/03/2020``: True (day first), False (month first), or None when the
    column holds other dates (ISO ``2020-04-03``, names of months: pandas reads those unambiguously).

    Day first when some first field is above 12, month first when some second field is; when every field is 12 or
    less, the order that makes the dates increase; if both or neither do, one line asking for ``--dayfirst`` or
    ``--no-dayfirst``."""
    matched, parts = _parts(text)
    if len(text) == 0 or not bool(matched.all()):
        return None
    first, second = parts[0].astype(int).to_numpy(), parts[2].astype(int).to_numpy()
    if (first > 12).any() and (second > 12).any():
        i = int(np.flatnonzero(second > 12)[0]) if (first > 12).any() else 0
        raise data_error(file, f"dates {show_value(text.iloc[int(np.flatnonzero(first > 12)[0])])} and "
                               f"{show_value(text.iloc[i])} disagree on the order of day and month",
                         column=column)
    if (first > 12).any():
        return True
    if (second > 12).any():
        return False
    increasing = []
    for dayfirst in (True, False):
        dates = pd.to_datetime(iso_dates(text, dayfirst), errors="coerce")
        increasing.append(bool(dates.notna().all() and dates.is_monotonic_increasing and dates.is_unique))
    if increasing == [True, False]:
        return True
    if increasing == [False, True]:
        return False
    raise data_error(file, f"dates like {show_value(text.iloc[0])} read either day-first or month-first; "
                           f"add --dayfirst (dd/mm/yyyy) or --no-dayfirst (mm/dd/yyyy)", column=column)


def iso_dates(text: pd.Series, dayfirst: bool) -> pd.Series:
    """Numeric dates rewritten as ``yyyy-mm-dd[rest]`` in the given order (two-digit years: 19xx from 70)."""
    matched, parts = _parts(text)
    day, month = (parts[0], parts[2]) if dayfirst else (parts[2], parts[0])
    year = parts[3].where(parts[3].str.len() == 4,
                          parts[3].map(lambda y: ("19" if isinstance(y, str) and int(y) >= 70 else "20") + str(y)))
    iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[4].fillna("")
    return iso.where(matched, text)
