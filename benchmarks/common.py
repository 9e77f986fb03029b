"""Shared helpers for the benchmarks: timing, machine description, Markdown tables."""
from __future__ import annotations

import gc
import os
import platform
import time

import numpy as np


def best_of(fn, repeat=5, number=1, pause_gc=True):
    """Best wall time per call in seconds over `repeat` rounds of `number` calls (after one warm-up).

    Garbage is collected before each round and, with ``pause_gc``, the cyclic collector is paused
    inside it, so that a timing measures the code, not how many other objects the process happens
    to hold (micrograd's closures make reference cycles; with the collector on, its time per sample
    swings from 4 ms in a fresh process to 20 ms in one that has imported torch and pandas).
    """
    fn()
    best = float("inf")
    enabled = gc.isenabled()
    try:
        for _ in range(repeat):
            gc.collect()
            if pause_gc:
                gc.disable()
            t = time.perf_counter()
            for _ in range(number):
                fn()
            best = min(best, (time.perf_counter() - t) / number)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
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
