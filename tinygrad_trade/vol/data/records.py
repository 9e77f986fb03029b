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

__all__ = ["FileFacts", "DataFile"]


@dataclass(frozen=True)
class FileFacts:
    source: str = ""                          # the file's name (with ":ASSET" for an asset of a long file)
    kind: str = "prices"                      # "prices" or "realized_variance"
    close_only: bool = False                  # Date, Close[, Adj Close]: no Open/High/Low
    adjusted: bool = False                    # Open/High/Low/Close were scaled by Adj Close / Close
    stale_open: Optional[pd.Series] = None    # bool per date: Open = previous Close there, not to be used
    data_checks: tuple = field(default_factory=tuple)   # checks.Finding of the file


@dataclass(frozen=True)
class DataFile:
    frame: pd.DataFrame
    facts: FileFacts
