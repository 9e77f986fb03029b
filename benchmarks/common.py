"""Shared helpers for the benchmarks: timing, machine description, Markdown tables."""
from __future__ import annotations

import os
import platform
import time

import numpy as np


def best_of(fn, repeat=5, number=1):
    """Best wall time per call in seconds over `repeat` rounds of `number` calls (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def peer_version(module_name):
    """The installed version of a peer package, or None when it is not installed."""
    from importlib import metadata
    try:
        __import__(module_name)
        return metadata.version(module_name)
    except Exception:
        return None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
            f"{platform.system()} {platform.release()}")


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
