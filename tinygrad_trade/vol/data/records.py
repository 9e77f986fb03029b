"""What the loaders know about a file besides its numbers, in a typed record next to the frame.

A :class:`DataFile` is ``(frame, facts)``: the checked frame and the :class:`FileFacts` found while reading it
(the file's name, close-only or not, whether the bars were split-adjusted, the stale-open days, the data
checks' findings). The layers above read the facts from the record, never from the frame: pandas drops
a frame's attrs dictionary in many operations, and a fact that can silently vanish is no fact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pandas as pd

__all__ = ["FileFacts", "DataFile", "ReadOptions", "MISSING_CHOICES"]

MISSING_CHOICES = ("error", "skip")


@dataclass(frozen=True)
class ReadOptions:
    """How a price file is read when its layout leaves a choice (the CLI's --missing, --price-column,
    --decimal, --dayfirst; the Python API's keyword arguments of the same names)."""

    missing: str = "error"                    # "error": a missing price stops; "skip": its row is dropped
    price_column: Optional[str] = None        # read the closes from this column (the file is then close-only)
    decimal: Optional[str] = None             # "." or ","; None: detected (a comma only when unambiguous)
    dayfirst: Optional[bool] = None           # dd/mm/yyyy (True) or mm/dd/yyyy (False); None: detected

    def __post_init__(self):
        if self.missing not in MISSING_CHOICES:
            raise ValueError(f"missing must be one of {', '.join(MISSING_CHOICES)} (--missing), "
                             f"got {self.missing!r}")
        if self.decimal not in (None, ".", ","):
            raise ValueError(f"decimal must be '.' or ',' (--decimal), got {self.decimal!r}")
        if self.dayfirst not in (None, True, False):
            raise ValueError(f"dayfirst must be True, False or None (--dayfirst), got {self.dayfirst!r}")


@dataclass(frozen=True)
class FileFacts:
    source: str = ""                          # the file's name (with ":ASSET" for an asset of a long file)
    kind: str = "prices"                      # "prices" or "realized_variance"
    close_only: bool = False                  # Date, Close[, Adj Close]: no Open/High/Low
    adjusted: bool = False                    # Open/High/Low/Close were scaled by Adj Close / Close
    stale_open: Optional[pd.Series] = None    # bool per date: Open = previous Close there, not to be used
    data_checks: tuple = field(default_factory=tuple)   # checks.Finding of the file
    notes: tuple = field(default_factory=tuple)         # how the file was read, when it was a choice (one line each)
    skipped: tuple = field(default_factory=tuple)       # dates (YYYY-MM-DD) of the rows dropped by missing="skip"


@dataclass(frozen=True)
class DataFile:
    frame: pd.DataFrame
    facts: FileFacts
